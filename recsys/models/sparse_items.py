"""Sparse item--item building blocks for catalogs too large for dense ``n x n`` matrices.

- :func:`top_per_column`: keep the ``k`` largest entries of each column of a sparse matrix
  (vectorised: one sort, no Python loop over items);
- :func:`head_tail_weights`: the first-order EASE weights of every pair that involves a *tail*
  item, computed column chunk by column chunk so that no ``n x n`` matrix is ever held.

EASE's ``B = I - P / diag(P)`` with ``P = (G + lambda I)^-1`` (``G = X^T X``) expands, to first order
in the off-diagonal of ``G``, to ``B_ij ~ G_ij / (G_ii + lambda)`` (``i``: the history item, ``j``: the
scored item): the co-occurrence count normalised by the history item's popularity. The head--tail
EASE keeps the exact inverse among the most-interacted items and uses these weights, pruned to each
item's strongest neighbours, for the rest.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def top_per_column(M: sp.spmatrix, k: int) -> sp.csc_matrix:
    """The ``k`` largest (positive) entries of each column of ``M``, the rest dropped."""
    M = sp.csc_matrix(M)
    M.eliminate_zeros()
    counts = np.diff(M.indptr)
    if counts.max(initial=0) <= k:
        return M
    col = np.repeat(np.arange(M.shape[1]), counts)
    order = np.lexsort((-M.data, col))  # by column, largest first
    rank = np.arange(len(order)) - M.indptr[col[order]]
    keep = order[rank < k]
    keep.sort()
    return sp.csc_matrix((M.data[keep], M.indices[keep], np.r_[0, np.cumsum(np.minimum(counts, k))]),
                         shape=M.shape)


def top_per_row(M: sp.spmatrix, k: int) -> sp.csr_matrix:
    """The ``k`` largest entries of each row of ``M``."""
    return top_per_column(sp.csr_matrix(M).T, k).T.tocsr()


def head_tail_weights(X: sp.csr_matrix, tail: np.ndarray, lambda_: float, k: int, *, chunk: int = 2048,
                      progress=None) -> sp.csr_matrix:
    """First-order EASE weights of the pairs that involve a tail item, ``k`` per item and direction.

    Parameters
    ----------
    X : csr_matrix, users x n (binary)
    tail : ndarray of int
        The tail items (column indices of ``X``); the others form the head.
    lambda_ : float
    k : int
        Neighbours kept per tail item as a target (its column) and as a history item (its row).
    chunk : int
        Tail columns per step: memory holds ``X^T X`` for ``chunk`` columns at a time.
    progress : callable, optional
        ``progress(done, total)`` after each chunk.

    Returns
    -------
    csr_matrix, n x n
        ``W[i, j] = G_ij / (G_ii + lambda)`` for ``j`` in the tail (any ``i != j``) and for ``i`` in the
        tail with ``j`` in the head; zero on the head x head block.
    """
    n = X.shape[1]
    Xc = X.tocsc()
    d = np.asarray(Xc.sum(axis=0)).ravel().astype(np.float32) + np.float32(lambda_)
    is_tail = np.zeros(n, bool)
    is_tail[tail] = True
    Xt = X.T.tocsr()
    cols_parts, rows_parts = [], []
    for s in range(0, len(tail), chunk):
        C = tail[s:s + chunk]
        G = (Xt @ Xc[:, C]).tocsc().astype(np.float32)  # n x |C| co-occurrences with the chunk's items
        G = G.tocoo()
        G.data[G.row == C[G.col]] = 0  # the item itself
        # as targets: W[i, c] = G_ic / d_i, any history item i
        T = sp.csc_matrix((G.data / d[G.row], (G.row, G.col)), shape=(n, len(C)))
        cols_parts.append(top_per_column(T, k))
        # as history items, towards the head: W[c, h] = G_ch / d_c
        head = ~is_tail[G.row]
        H = sp.csc_matrix((G.data[head] / d[C[G.col[head]]], (G.row[head], G.col[head])), shape=(n, len(C)))
        rows_parts.append(top_per_column(H, k).T)  # |C| x n
        if progress is not None:
            progress(min(s + chunk, len(tail)), len(tail))
    if not cols_parts:
        return sp.csr_matrix((n, n), dtype=np.float32)
    as_target = sp.hstack(cols_parts).tocsc()  # n x |tail|, columns in tail order
    targets = sp.csr_matrix((n, n), dtype=np.float32)
    if as_target.nnz:
        coo = as_target.tocoo()
        targets = sp.csr_matrix((coo.data, (coo.row, tail[coo.col])), shape=(n, n))
    as_history = sp.vstack(rows_parts).tocoo()  # |tail| x n
    history = sp.csr_matrix((as_history.data, (tail[as_history.row], as_history.col)), shape=(n, n))
    W = (targets + history).tocsr()
    W.sum_duplicates()
    W.eliminate_zeros()
    return W.astype(np.float32)


def first_order_scale(B_rows: np.ndarray, G_rows: np.ndarray, rows: np.ndarray, d_rows: np.ndarray) -> float:
    """The least-squares factor ``a`` with ``B ~ a * G_ij / d_i`` off the diagonal, on sampled rows of the
    head block (``rows``: their positions in it; ``d``: ``G_ii + lambda``): puts the tail's first-order
    weights on the scale of the exact weights."""
    W = G_rows / d_rows[:, None]
    W[np.arange(len(rows)), rows] = 0.0
    B = B_rows.copy()
    B[np.arange(len(rows)), rows] = 0.0
    den = float(np.vdot(W, W))
    return float(np.vdot(W, B) / den) if den > 0 else 1.0
