"""Signals read from item photos and event ages, shared by the time-aware visual models.

- :func:`decay_weights`: a user--item matrix's pattern weighted by how recent each pair is;
- :func:`transferred_sales`: recent sales an item inherits from the selling items it looks like (new
  arrivals without sales get a share of their look-alikes'), and :func:`inherited_sales`: the same for
  photos added after fitting;
- :func:`kernel_taste`: a user's recency-weighted visual taste as a kernel density over their items
  (:func:`taste_from_similarities` when the cosines are at hand).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def decay_weights(R: sp.csr_matrix | None, X: sp.csr_matrix, half_life: float) -> sp.csr_matrix:
    """``X``'s pattern with ``2 ** (-(age - 1) / half_life)`` per pair (``R``: days since the pair's
    latest event + 1, aligned with ``X``); all ones without event times."""
    W = X.astype(np.float32, copy=True).tocsr()
    if R is not None and R.nnz == W.nnz:
        W.data = np.exp2(-(R.data.astype(np.float32) - 1.0) / np.float32(half_life))
    else:
        W.data[:] = 1.0
    return W


def transferred_sales(vectors: np.ndarray, present: np.ndarray, sales: np.ndarray, *, neighbors: int,
                      temperature: float, min_sales: float = 1e-3, block: int = 1024) -> np.ndarray:
    """Sales each item inherits from the selling items whose ``neighbors`` nearest images it is among:
    ``sum_j sales(j) * exp((cos(i, j) - 1) / temperature)`` (an item never passes sales to itself).

    ``vectors``: L2-normalised rows; ``present``: which rows have a vector; items whose sales are below
    ``min_sales`` times the top seller's pass nothing on (speed)."""
    E = vectors
    out = np.zeros(len(sales), np.float64)
    if not present.any() or sales.max() <= 0:
        return out.astype(np.float32)
    src = np.flatnonzero(present & (sales >= min_sales * sales.max()) & (sales > 0))
    k = min(int(neighbors), int(present.sum()) - 1)
    if k < 1:
        return out.astype(np.float32)
    for s in range(0, len(src), block):
        b = src[s:s + block]
        S = E[b] @ E.T
        S[:, ~present] = -np.inf
        S[np.arange(len(b)), b] = -np.inf
        nb = np.argpartition(-S, k - 1, axis=1)[:, :k]
        cos = np.take_along_axis(S, nb, axis=1)
        w = np.exp((cos - 1.0) / temperature) * sales[b][:, None]
        np.add.at(out, nb.ravel(), w.ravel())
    return out.astype(np.float32)


def inherited_sales(query: np.ndarray, gallery: np.ndarray, sales: np.ndarray, *, neighbors: int,
                    temperature: float) -> np.ndarray:
    """Sales new photos inherit from their ``neighbors`` nearest ``gallery`` photos:
    ``sum_j sales(j) * exp((cos(q, j) - 1) / temperature)`` (L2-normalised rows; 0 with an empty gallery)."""
    out = np.zeros(len(query), np.float32)
    k = min(int(neighbors), len(gallery))
    if k < 1 or not len(query):
        return out
    S = query @ gallery.T
    nb = np.argpartition(-S, k - 1, axis=1)[:, :k]
    cos = np.take_along_axis(S, nb, axis=1)
    return (np.exp((cos - 1.0) / temperature) * sales[nb]).sum(axis=1).astype(np.float32)


def taste_weights(X: sp.csr_matrix, R: sp.csr_matrix | None, present: np.ndarray, half_life: float) -> sp.csr_matrix:
    """Each row's items weighted by :func:`decay_weights`, items without a vector dropped, rows summing to 1."""
    W = decay_weights(R, X, half_life).multiply(present[None, :].astype(np.float32)).tocsr()
    W.eliminate_zeros()
    s = np.asarray(W.sum(axis=1)).ravel()
    return sp.csr_matrix(sp.diags(1.0 / np.where(s > 0, s, 1.0)) @ W)


def taste_from_similarities(W: sp.csr_matrix, H: np.ndarray, S: np.ndarray, present: np.ndarray,
                            temperature: float) -> np.ndarray:
    """The kernel taste of :func:`kernel_taste` from the cosines ``S`` (``len(H) x items``) of the rows'
    items ``H`` (every item with a weight in ``W`` must be in ``H``)."""
    out = np.asarray(W[:, H] @ np.exp((S - 1.0) / temperature), dtype=np.float32)
    out[:, ~present] = 0
    return out


def kernel_taste(vectors: np.ndarray, present: np.ndarray, X: sp.csr_matrix, R: sp.csr_matrix | None, *,
                 half_life: float, temperature: float) -> np.ndarray:
    """Dense ``(rows, items)`` recency-weighted kernel density of each row's items, 0 to 1:
    ``sum_j w_j exp((cos(i, j) - 1) / temperature)`` with ``w`` the rows' :func:`decay_weights`
    normalised to sum 1 (0 for items without a vector and rows without any)."""
    E = vectors
    out = np.zeros((X.shape[0], X.shape[1]), np.float32)
    W = taste_weights(X, R, present, half_life)
    per_row = max(1.0, W.nnz / max(1, W.shape[0]))
    step = max(1, int(32e6 // (max(1, E.shape[0]) * per_row)))  # |history| x n_items block <= ~32M floats
    for a in range(0, W.shape[0], step):
        Wb = W[a:a + step]
        H = np.unique(Wb.indices)
        if len(H):
            out[a:a + step] = taste_from_similarities(Wb, H, E[H] @ E.T, present, temperature)
    return out
