"""The visual kernel of large catalogs as a sparse graph: each item's ``k`` nearest images (through the
nearest-neighbour index, :class:`recsys.index.VectorIndex`) with the kernel weight
``exp((cos - 1) / temperature)``, never a dense ``n x n`` matrix.

With a temperature of 0.05 an image at cosine 0.8 weighs ``exp(-4) = 0.018`` of an identical one, so
the densities a user's history gives its items' nearest neighbours are what rank the top of a list;
items outside every neighbourhood rank below them, by popularity (:func:`sparse_kernel_scores`).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def neighbour_kernel(vectors: np.ndarray, present: np.ndarray, k: int, temperature: float, *,
                     index_kind: str = "auto") -> sp.csr_matrix:
    """``n x n`` CSR: row ``j`` holds item ``j`` itself (weight 1) and its ``k`` nearest images ``i`` with
    ``exp((cos(i, j) - 1) / temperature)``; rows of items without a vector are empty. Neighbours come from
    the index's own search (:meth:`recsys.index.VectorIndex.search_coarse`: 8-bit cosines on large
    catalogs, no exact re-ranking), which the kernel weights do not need."""
    from recsys.index import VectorIndex
    n = len(vectors)
    rows = np.flatnonzero(present)
    if len(rows) == 0:
        return sp.csr_matrix((n, n), dtype=np.float32)
    index = VectorIndex(vectors, present, kind=index_kind)
    k = min(k, len(rows) - 1)
    idx, cos = np.empty((len(rows), 0), np.int64), np.empty((len(rows), 0), np.float32)
    if k > 0:  # the item itself comes back too (dropped below): k + 1, the index's own scores
        idx, cos = index.search_coarse(vectors[rows], k + 1)
        self_hit = idx == rows[:, None]
        idx, cos = np.where(self_hit, -1, idx), np.where(self_hit, -np.inf, cos)
    ok = idx >= 0
    w = np.exp((np.minimum(cos[ok], 1.0) - 1.0) / temperature).astype(np.float32)
    r = np.concatenate([np.repeat(rows, ok.sum(axis=1)), rows])
    c = np.concatenate([idx[ok], rows])
    v = np.concatenate([w, np.ones(len(rows), np.float32)])
    return sp.csr_matrix((v, (r, c)), shape=(n, n), dtype=np.float32)


def graph_log_density(W: sp.csr_matrix, graph: sp.csr_matrix) -> sp.csr_matrix:
    """Sparse log kernel densities ``log(W @ graph)`` (``W``: users' normalised item weights)."""
    D = (W @ graph).tocsr()
    D.eliminate_zeros()
    D.data = np.log(D.data.astype(np.float64) + 1e-30).astype(np.float32)
    return D


def graph_row_min(D: sp.csr_matrix) -> np.ndarray:
    """Each row's smallest stored value (0 for empty rows)."""
    counts = np.diff(D.indptr)
    out = np.zeros(D.shape[0], np.float32)
    has = counts > 0
    if has.any():
        out[has] = np.minimum.reduceat(D.data, D.indptr[:-1][has])
    return out


def sparse_kernel_scores(W: sp.csr_matrix, graph: sp.csr_matrix, popularity: np.ndarray) -> np.ndarray:
    """Dense ``(users, n)`` log kernel densities of ``W @ graph`` (``W``: users' normalised item weights);
    items outside every neighbourhood of a user's items score below all covered items, by
    ``popularity`` (in [0, 1])."""
    D = graph_log_density(W, graph)
    out = (graph_row_min(D) - 2.0)[:, None] + popularity[None, :].astype(np.float32)
    out[np.repeat(np.arange(D.shape[0]), np.diff(D.indptr)), D.indices] = D.data
    return out
