"""The hybrid's blend weights: coordinate ascent on validation NDCG@10, over lists blended densely
(every item scored) or, on wide catalogs, from the parts' candidates as the lists themselves are made."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from recsys.data import item_user_counts
from recsys.data.holdout import choose_held, item_entries, random_entries, recent_entries

from .candidate_blend import blended, candidate_blocks, top_entries
from .dense_blend import part_zscores
from .scoring import mask_pairs, topk

LIST_LENGTH = 10


def validation_entries(kind: str, user_items, recency, rng, fraction: float, days: float):
    """Entries of ``user_items.tocoo()`` held out for the blend search, and the held-out items of
    ``kind="cold-items"`` (else None): ``"random"`` a ``fraction`` of each user's items, ``"temporal"`` the
    last ``days`` (needs ``recency``), ``"cold-items"`` a ``fraction`` of the items with all their
    interactions."""
    if kind == "temporal":
        if recency is None:
            raise ValueError("validation='temporal' needs interactions with timestamps")
        return recent_entries(user_items, recency, days), None
    if kind == "cold-items":  # items held out with all their interactions
        held = choose_held(np.flatnonzero(item_user_counts(user_items) > 0), fraction, rng, at_least=1)
        return item_entries(user_items, held), held
    return random_entries(user_items, fraction, rng), None


def coordinate_ascent(score, n: int, grid, sweeps: int = 2) -> tuple[np.ndarray, float]:
    """Weights (starting from all ones) raised or lowered one at a time over ``grid`` while ``score(w)``
    improves; returns ``(w, score(w))``. All-zero weights score -1."""
    def value(w):
        return score(w) if np.any(w) else -1.0

    w = np.ones(n, np.float32)
    best = value(w)
    for _ in range(sweeps):
        improved = False
        for c in range(n):
            for g in tuple(grid):
                trial = w.copy()
                trial[c] = g
                v = value(trial)
                if v > best + 1e-6:
                    best, w, improved = v, trial, True
        if not improved:
            break
    return w, best


def pad(idx: np.ndarray, k: int = LIST_LENGTH) -> np.ndarray:
    if idx.shape[1] >= k:
        return idx[:, :k]
    return np.hstack([idx, np.full((len(idx), k - idx.shape[1]), -1, idx.dtype)])


def dense_lister(Z, seen, cols=None):
    """``lists(w)``: top-10 item indices of ``sum_c w_c Z_c`` (dense users x items z-scores, or x ``cols``)
    with ``seen`` pairs left out."""
    def lists(w):
        sc = mask_pairs(sum(wi * z for wi, z in zip(w, Z) if wi), seen)
        idx, _ = topk(sc, min(LIST_LENGTH, sc.shape[1]))
        return pad(cols[idx] if cols is not None else idx)
    return lists


def wide_lister(parts, cold, users, *, c: int, masks=(), blocked=None):
    """``lists(w)``: top-10 item indices of the candidate blend (:mod:`recsys.models.candidate_blend`) of
    ``users``; every part's candidates and z-scores are computed once, each trial only re-weights them."""
    blocks = candidate_blocks(parts, cold, users, c=c, masks=masks, blocked=blocked)

    def lists(w):
        out = np.full((len(users), LIST_LENGTH), -1, np.int64)
        for sel, C, Z, bad in blocks:
            out[sel] = top_entries(C, blended(Z, w, bad), LIST_LENGTH)[0]
        return out
    return lists


def validation_lister(parts, fit_X, users, held, cold, validation: str, *, wide_candidates: int = 0):
    """The weight search's list maker for the validation ``users`` (see :func:`dense_lister`,
    :func:`wide_lister`): from each part's ``wide_candidates`` candidates when > 0 (wide catalogs, lists
    made as listing makes them), else from dense per-user z-scores. ``validation``: ``"cold-items"`` ranks
    only the ``held`` items, ``"temporal"`` lets users' own items back (repurchases), ``"random"`` masks them.
    """
    if wide_candidates:
        blocked = None
        if validation == "cold-items":  # users rank only the held-out items
            blocked = np.ones(fit_X.shape[1], bool)
            blocked[held] = False
        return wide_lister(parts, cold, users, c=wide_candidates,
                           masks=(fit_X,) if validation == "random" else (), blocked=blocked)
    Z = part_zscores(users, [(1.0, m) for m in parts], cold)
    seen = fit_X[users]
    if validation == "temporal":  # next-period purchases may be repurchases
        seen = sp.csr_matrix(seen.shape, dtype=np.float32)
    cols = None
    if validation == "cold-items":  # users rank only the held-out items, none in their history
        cols = np.sort(held)
        Z = [z[:, cols] for z in Z]
        seen = sp.csr_matrix((len(users), len(cols)), dtype=np.float32)
    return dense_lister(Z, seen, cols)
