"""The hybrid's lists on wide catalogs: the union of each part's candidates, blended exactly as the dense
path blends the whole catalog.

The dense path standardises each part's scores over the whole catalog per user (z-scores) and sums
them with the learned weights; collaborative parts are stood in for on items without history by the
mean z-score of the visual parts. Here the catalog mean and spread of each part are estimated per
user on a fixed random sample of items, the same z-scores are computed at the candidate pairs only
(:class:`recsys.models.candidates.BlockScorer`), and the best ``k`` of the union are returned. Memory and
time grow with users x candidates, not users x items.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .candidates import block_scorer, factor_candidates, gather, rows_of
from .scoring import in_threads, topk

#: items in the sample that estimates each part's catalog mean and spread per user
SAMPLE_ITEMS = 2048


def sample_items(n_items: int, size: int = SAMPLE_ITEMS, random_state: int = 0) -> np.ndarray:
    rng = np.random.default_rng(random_state)
    return np.sort(rng.choice(n_items, min(size, n_items), replace=False))


def union_pattern(mats, shape) -> sp.csr_matrix:
    """The union of the stored entries of ``mats`` (data 1)."""
    U = sp.csr_matrix(shape, dtype=np.float32)
    for M in mats:
        P = sp.csr_matrix(M, copy=True)
        P.data = np.ones(len(P.data), np.float32)
        U = U + P
    U.sum_duplicates()
    U.data[:] = 1
    return U


def part_z(scorer, users, C, sample) -> np.ndarray:
    """A part's z-scores at the entries of ``C``, standardised per user by its mean and spread over the
    ``sample`` items (``scorer``: its block scorer)."""
    s = scorer.columns(sample).astype(np.float64)
    mu, sd = s.mean(axis=1), np.maximum(s.std(axis=1), 1e-6)
    r = rows_of(C)
    return ((scorer.pairs(C) - mu[r]) / sd[r]).astype(np.float32)


def candidate_z(parts, weights, cold, users, c, masks, blocked, sample, cache):
    """The candidate pattern of one block of users and each part's z-scores at its entries.

    Returns ``(C, Z, bad)``: ``C`` the union of the parts' candidates (CSR users x items), ``Z`` a list
    with each part's z-scores at ``C``'s entries (None for parts of weight 0; collaborative parts
    already stood in for on items without history), ``bad`` the entries left out (seen, excluded,
    blocked)."""
    n = len(cold)
    live = [(w, m) for w, m in zip(weights, parts) if w]
    # items left out (seen, excluded) may be among a part's best: ask for as many more as a user has
    c = min(n, c + max((int(np.diff(M[users].indptr).max(initial=0)) for M in masks), default=0))
    scorers = {id(m): block_scorer(m, users, cache) for _, m in live}  # each part's block work, once
    C = union_pattern([scorers[id(m)].candidates(c) for _, m in live], (len(users), n))
    items = C.indices
    Z = {id(m): part_z(scorers[id(m)], users, C, sample) for _, m in live}
    on_cold = cold[items]
    proxy = None
    if on_cold.any() and any(not m.scores_cold_items for _, m in live):
        vis = [Z[id(m)] if id(m) in Z else part_z(block_scorer(m, users, cache), users, C, sample)
               for m in parts if m.uses_visual]
        proxy = sum(vis) / len(vis) if vis else None
    out = []
    for w, m in zip(weights, parts):
        z = Z.get(id(m)) if w else None
        if z is not None and proxy is not None and not m.scores_cold_items:
            z = np.where(on_cold, proxy, z)
        out.append(z)
    bad = np.zeros(len(items), bool)
    for M in masks:
        bad |= gather(M[users], C, 0.0) != 0
    if blocked is not None:
        bad |= blocked[items]
    return C, out, bad


def top_entries(C, total, k):
    """Top-``k`` ``(item indices, scores)`` per row among the entries of ``C`` scored ``total``
    (``-inf``: left out); ``-1`` / ``-inf`` in empty slots."""
    r, items = rows_of(C), C.indices
    width = max(1, int(np.diff(C.indptr).max(initial=0)))
    dense = np.full((C.shape[0], width), -np.inf, np.float32)
    slot = np.arange(len(items)) - C.indptr[r]
    dense[r, slot] = total
    col = np.full((C.shape[0], width), -1, np.int64)
    col[r, slot] = items
    pos, val = topk(dense, min(k, width))
    idx = np.take_along_axis(col, pos, axis=1)
    idx[~np.isfinite(val)] = -1
    out_i = np.full((C.shape[0], k), -1, np.int64)
    out_s = np.full((C.shape[0], k), -np.inf, np.float32)
    out_i[:, :idx.shape[1]], out_s[:, :idx.shape[1]] = idx, val
    return out_i, out_s


def blended(Z, weights, bad) -> np.ndarray:
    """``sum_c w_c z_c`` at the candidate entries, ``-inf`` where left out."""
    total = np.zeros(len(bad), np.float32)
    for w, z in zip(weights, Z):
        if w and z is not None:
            total += np.float32(w) * z
    total[bad] = -np.inf
    return total


def blend_block(parts, weights, cold, users, k, c, masks, blocked, sample, cache):
    """Top-``k`` ``(indices, scores)`` of one block of users."""
    C, Z, bad = candidate_z(parts, weights, cold, users, c, masks, blocked, sample, cache)
    return top_entries(C, blended(Z, weights, bad), k)


def blocks_by_load(user_index, masks, block_users: int):
    """Blocks of positions in ``user_index``, users with as many left-out items together: a block asks
    each part for ``c`` plus its largest count of left-out items, so one heavy user no longer widens
    the candidates of a thousand light ones."""
    order = np.arange(len(user_index))
    if masks:
        load = sum(np.diff(M.indptr)[user_index] for M in masks)
        order = np.argsort(load, kind="stable")
    return [order[s:s + block_users] for s in range(0, len(order), block_users)]


def blend_topk(parts, weights, cold, user_index, k, *, c: int, masks=(), blocked=None, block_users: int = 1024,
               cache: dict | None = None, n_jobs: int | None = None):
    """Top-``k`` of the hybrid's blend for ``user_index``, from the union of each part's ``c`` candidates.

    Blocks of users run in ``n_jobs`` threads (default: the CPU count; sparse products, index searches
    and top-k selection release the GIL). Returns ``(indices, scores)`` of shape ``(len(user_index), k)``;
    ``-1`` / ``-inf`` in empty slots.
    """
    user_index = np.asarray(user_index, np.int64)
    cache = {} if cache is None else cache
    for w, m in zip(weights, parts):  # shared indexes built (or loaded) once, before any thread
        if w:
            factor_candidates(m, cache)
    sample = sample_items(len(cold))
    out_i = np.full((len(user_index), k), -1, np.int64)
    out_s = np.full((len(user_index), k), -np.inf, np.float32)
    blocks = blocks_by_load(user_index, masks, block_users)

    def run(sel):
        out_i[sel], out_s[sel] = blend_block(parts, weights, cold, user_index[sel], k, c, masks, blocked,
                                             sample, cache)
    in_threads(run, blocks, n_jobs)
    return out_i, out_s


def candidate_blocks(parts, cold, user_index, *, c: int, masks=(), blocked=None, block_users: int = 1024):
    """``[(positions, C, Z, bad)]`` of every part (all weighted 1) for ``user_index``, block by block: what
    the hybrid's weight search blends with each trial of weights (:func:`blended`, :func:`top_entries`)."""
    user_index = np.asarray(user_index, np.int64)
    sample, cache, ones = sample_items(len(cold)), {}, np.ones(len(parts), np.float32)
    return [(sel, *candidate_z(parts, ones, cold, user_index[sel], c, masks, blocked, sample, cache))
            for sel in blocks_by_load(user_index, masks, block_users)]
