"""The hybrid's blend weights: coordinate ascent on validation NDCG@10, over lists blended densely
(every item scored) or, on wide catalogs, from the parts' candidates as the lists themselves are made."""

from __future__ import annotations

import numpy as np

from .candidate_blend import blended, candidate_blocks, top_entries
from .scoring import mask_pairs, topk

LIST_LENGTH = 10


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
