"""The hybrid's lists on wide catalogs: the union of each part's candidates, blended exactly as the dense
path blends the whole catalog.

The dense path standardises each part's scores over the whole catalog per user (z-scores) and sums
them with the learned weights; collaborative parts are stood in for on items without history by the
mean z-score of the visual parts. Here the catalog mean and spread of each part are estimated per
user on a fixed random sample of items, the same z-scores are computed at the candidate pairs only
(:func:`recsys.models.candidates.pair_scores`), and the best ``k`` of the union are returned. Memory and
time grow with users x candidates, not users x items.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .candidates import candidate_matrix, gather, pair_scores, rows_of
from .scoring import topk

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


def part_z(m, users, C, S) -> np.ndarray:
    """Part ``m``'s z-scores at the entries of ``C``, standardised by its scores on the sample ``S``
    (one scoring pass over the union of both patterns)."""
    U = union_pattern([C, S], C.shape)
    U.data = pair_scores(m, users, U)
    s = gather(U, S).reshape(len(users), -1).astype(np.float64)
    mu, sd = s.mean(axis=1), np.maximum(s.std(axis=1), 1e-6)
    r = rows_of(C)
    return ((gather(U, C) - mu[r]) / sd[r]).astype(np.float32)


def blend_block(parts, weights, cold, users, k, c, masks, blocked, sample, cache):
    """Top-``k`` ``(indices, scores)`` of one block of users."""
    n = len(cold)
    live = [(w, m) for w, m in zip(weights, parts) if w]
    # items left out (seen, excluded) may be among a part's best: ask for as many more as a user has
    c = min(n, c + max((int(np.diff(M[users].indptr).max(initial=0)) for M in masks), default=0))
    C = union_pattern([candidate_matrix(m, users, c, cache) for _, m in live], (len(users), n))
    r, items = rows_of(C), C.indices
    S = sp.csr_matrix((np.ones(len(users) * len(sample), np.float32), np.tile(sample, len(users)),
                       np.arange(len(users) + 1) * len(sample)), shape=(len(users), n))
    Z = {id(m): part_z(m, users, C, S) for _, m in live}
    total = np.zeros(len(items), np.float32)
    on_cold = cold[items]
    proxy = None
    if on_cold.any() and any(not m.scores_cold_items for _, m in live):
        vis = [Z[id(m)] if id(m) in Z else part_z(m, users, C, S) for m in parts if m.uses_visual]
        proxy = sum(vis) / len(vis) if vis else None
    for w, m in live:
        z = Z[id(m)]
        if proxy is not None and not m.scores_cold_items:
            z = np.where(on_cold, proxy, z)
        total += np.float32(w) * z
    bad = np.zeros(len(items), bool)
    for M in masks:
        bad |= gather(M[users], C, 0.0) != 0
    if blocked is not None:
        bad |= blocked[items]
    total[bad] = -np.inf
    width = max(1, int(np.diff(C.indptr).max(initial=0)))
    dense = np.full((len(users), width), -np.inf, np.float32)
    slot = np.arange(len(items)) - C.indptr[r]
    dense[r, slot] = total
    col = np.full((len(users), width), -1, np.int64)
    col[r, slot] = items
    pos, val = topk(dense, min(k, width))
    idx = np.take_along_axis(col, pos, axis=1)
    idx[~np.isfinite(val)] = -1
    out_i = np.full((len(users), k), -1, np.int64)
    out_s = np.full((len(users), k), -np.inf, np.float32)
    out_i[:, :idx.shape[1]], out_s[:, :idx.shape[1]] = idx, val
    return out_i, out_s


def blend_topk(parts, weights, cold, user_index, k, *, c: int, masks=(), blocked=None, block_users: int = 1024,
               cache: dict | None = None):
    """Top-``k`` of the hybrid's blend for ``user_index``, from the union of each part's ``c`` candidates.

    Returns ``(indices, scores)`` of shape ``(len(user_index), k)``; ``-1`` / ``-inf`` in empty slots.
    """
    user_index = np.asarray(user_index, np.int64)
    cache = {} if cache is None else cache
    sample = sample_items(len(cold))
    out_i = np.full((len(user_index), k), -1, np.int64)
    out_s = np.full((len(user_index), k), -np.inf, np.float32)
    for s in range(0, len(user_index), block_users):
        u = user_index[s:s + block_users]
        out_i[s:s + len(u)], out_s[s:s + len(u)] = blend_block(parts, weights, cold, u, k, c, masks, blocked,
                                                               sample, cache)
    return out_i, out_s
