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
    """The ``k`` largest (non-zero) entries of each column of ``M``, the rest dropped (:func:`top_per_row`
    on the transpose, which is the same arrays)."""
    return top_per_row(sp.csc_matrix(M).T, k).T.tocsc()


#: padded score cells a block of rows may hold in :func:`top_per_row` (2^25 float32: 128 MB)
PAD_CELLS = 1 << 25


def top_per_row(M: sp.spmatrix, k: int) -> sp.csr_matrix:
    """The ``k`` largest (non-zero) entries of each row of ``M`` (which of equal values at the boundary: unspecified).

    Rows are padded into dense blocks and selected by :func:`recsys.models.scoring.topk` (``torch.topk``
    on wide blocks): about 10x faster than one sort of all the entries for a thousand users' sparse
    scores over a million items."""
    from .scoring import topk
    M = sp.csr_matrix(M)  # read only: not copied, not sorted (the small result is)
    counts = np.diff(M.indptr)
    if counts.max(initial=0) <= k:
        out = M.copy()
        out.eliminate_zeros()
        out.sort_indices()
        return out
    keep = np.zeros(M.nnz, bool)
    start = 0
    while start < M.shape[0]:  # blocks of rows whose padded width stays within PAD_CELLS
        stop, width = start, 0
        while stop < M.shape[0] and (stop - start + 1) * max(width, counts[stop]) <= PAD_CELLS or stop == start:
            width = max(width, int(counts[stop]))
            stop += 1
        lo, hi = M.indptr[start], M.indptr[stop]
        r = np.repeat(np.arange(stop - start), counts[start:stop])
        slot = np.arange(lo, hi) - M.indptr[start:stop][r]
        dense = np.full((stop - start, max(width, 1)), -np.inf, np.float32)
        dense[r, slot] = np.where(M.data[lo:hi] != 0, M.data[lo:hi], -np.inf)
        pos, val = topk(dense, min(k, dense.shape[1]))
        ok = np.isfinite(val)
        keep[(M.indptr[start:stop][:, None] + pos)[ok]] = True
        start = stop
    kept = np.r_[0, np.cumsum(keep)]  # kept entries before each position: each row's count, empty rows too
    out = sp.csr_matrix((M.data[keep], M.indices[keep], kept[M.indptr]), shape=M.shape)
    out.sort_indices()
    return out


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
    # the kept entries, written in place as the chunks come (at most k per tail item and direction),
    # already in the order of compressed matrices: columns of the targets part, rows of the history part
    itype = np.int32 if max(n, 2 * k * len(tail)) < 2**31 else np.int64  # indptr counts entries too
    t_idx, t_val, t_cnt = np.empty(k * len(tail), itype), np.empty(k * len(tail), np.float32), np.zeros(n, np.int64)
    h_idx, h_val, h_cnt = np.empty(k * len(tail), itype), np.empty(k * len(tail), np.float32), np.zeros(n, np.int64)
    tp = hp = 0
    for s in range(0, len(tail), chunk):
        C = tail[s:s + chunk]
        G = (Xt @ Xc[:, C]).tocoo()  # n x |C| co-occurrences with the chunk's items
        G.data = G.data.astype(np.float32)
        G.data[G.row == C[G.col]] = 0  # the item itself
        # as targets: W[i, c] = G_ic / d_i, any history item i (column c of W)
        T = top_per_column(sp.csc_matrix((G.data / d[G.row], (G.row, G.col)), shape=(n, len(C))), k)
        t_idx[tp:tp + T.nnz], t_val[tp:tp + T.nnz], t_cnt[C] = T.indices, T.data, np.diff(T.indptr)
        tp += T.nnz
        # as history items, towards the head: W[c, h] = G_ch / d_c (row c of W)
        head = ~is_tail[G.row]
        H = top_per_column(sp.csc_matrix((G.data[head] / d[C[G.col[head]]], (G.row[head], G.col[head])),
                                         shape=(n, len(C))), k)
        h_idx[hp:hp + H.nnz], h_val[hp:hp + H.nnz], h_cnt[C] = H.indices, H.data, np.diff(H.indptr)
        hp += H.nnz
        if progress is not None:
            progress(min(s + chunk, len(tail)), len(tail))

    def compressed(cls, val, idx, cnt, used):
        indptr = np.zeros(n + 1, itype)
        np.cumsum(cnt, out=indptr[1:])
        M = cls((n, n), dtype=np.float32)
        M.data, M.indices, M.indptr = val[:used], idx[:used], indptr  # as built: no copy, sorted, no duplicates
        M.has_sorted_indices = True
        return M

    targets = compressed(sp.csc_matrix, t_val, t_idx, t_cnt, tp).tocsr()  # linear time, no sort
    del t_val, t_idx
    W = compressed(sp.csr_matrix, h_val, h_idx, h_cnt, hp) + targets  # no pair twice: targets end in the tail
    W.eliminate_zeros()
    return W


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
