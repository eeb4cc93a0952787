"""Re-ranking of top-k lists: maximal marginal relevance (Carbonell & Goldstein 1998) on item vectors."""

from __future__ import annotations

import numpy as np


def mmr_rerank(items: np.ndarray, scores: np.ndarray, vectors: np.ndarray, k: int,
               diversity: float) -> tuple[np.ndarray, np.ndarray]:
    """Pick ``k`` of each row's candidates greedily by
    ``(1 - diversity) * relevance - diversity * max cos(item, already picked)``.

    Parameters
    ----------
    items : ndarray (n, m) of item indices, best first (``-1`` = empty)
    scores : ndarray (n, m); relevance is min-max scaled per row to [0, 1]
    vectors : ndarray (n_items, d) of L2-normalised item vectors
    k : int
    diversity : float in [0, 1]; 0 keeps the order

    Returns
    -------
    items, scores : the re-ranked ``(n, k)`` lists and the candidates' original scores
    """
    if not 0.0 <= diversity <= 1.0:
        raise ValueError(f"diversity must be in [0, 1], got {diversity}")
    n, m = items.shape
    k = min(k, m)
    if diversity == 0.0 or m == 0:
        return items[:, :k], scores[:, :k]
    valid = items >= 0
    lo = np.where(valid, scores, np.inf).min(axis=1, keepdims=True)
    hi = np.where(valid, scores, -np.inf).max(axis=1, keepdims=True)
    rel = np.where(valid, (scores - lo) / np.maximum(hi - lo, 1e-12), -np.inf)
    V = vectors[np.maximum(items, 0)]                      # (n, m, d)
    sim = np.einsum("nmd,npd->nmp", V, V)                  # candidate-candidate cosine
    picked = np.zeros((n, k), np.int64)
    max_sim = np.zeros((n, m))
    taken = ~valid
    rows = np.arange(n)
    for t in range(k):
        obj = (1.0 - diversity) * rel - diversity * max_sim
        obj[taken] = -np.inf
        j = np.argmax(obj, axis=1)
        picked[:, t] = j
        taken[rows, j] = True
        max_sim = np.maximum(max_sim, sim[rows, :, j])
    out_i = np.take_along_axis(items, picked, axis=1)
    out_s = np.take_along_axis(scores, picked, axis=1)
    empty = ~np.take_along_axis(valid, picked, axis=1)
    out_i[empty], out_s[empty] = -1, -np.inf
    return out_i, out_s
