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
                     index_kind: str = "auto", block: int = 16384) -> sp.csr_matrix:
    """``n x n`` CSR: row ``j`` holds item ``j`` itself (weight 1) and its ``k`` nearest images ``i`` with
    ``exp((cos(i, j) - 1) / temperature)``; rows of items without a vector are empty. Neighbours come from
    the index's own search (:meth:`recsys.index.VectorIndex.search_coarse`: 8-bit cosines on large
    catalogs, no exact re-ranking), which the kernel weights do not need.

    Built ``block`` items at a time straight into the CSR arrays (32-bit indices while they fit): memory
    is the graph itself, ``8 (k + 1)`` bytes per item, plus one block's search."""
    from recsys.index import VectorIndex
    n = len(vectors)
    rows = np.flatnonzero(present)
    if len(rows) == 0:
        return sp.csr_matrix((n, n), dtype=np.float32)
    index = VectorIndex(vectors, present, kind=index_kind)
    k = max(0, min(k, len(rows) - 1))
    cap = len(rows) * (k + 1)
    itype = np.int32 if max(cap, n) < 2**31 else np.int64
    indices, data = np.empty(cap, itype), np.empty(cap, np.float32)
    counts = np.zeros(n, np.int64)
    pos = 0
    for s in range(0, len(rows), block):
        r = rows[s:s + block]
        idx, cos = index.search_coarse(vectors[r], k + 1) if k > 0 else \
            (np.empty((len(r), 0), np.int64), np.empty((len(r), 0), np.float32))
        keep = (idx >= 0) & (idx != r[:, None])  # the item itself came back too: it is placed below
        keep &= np.cumsum(keep, axis=1) <= k
        w = np.exp((np.minimum(cos, 1.0) - 1.0) / temperature).astype(np.float32)
        idx = np.hstack([r[:, None], np.where(keep, idx, n)])  # n: no neighbour, sorts last
        w = np.hstack([np.ones((len(r), 1), np.float32), w])
        order = np.argsort(idx, axis=1, kind="stable")
        idx, w = np.take_along_axis(idx, order, 1), np.take_along_axis(w, order, 1)
        ok = idx < n
        m = int(ok.sum())
        indices[pos:pos + m], data[pos:pos + m] = idx[ok], w[ok]
        counts[r] = ok.sum(axis=1)
        pos += m
    indptr = np.zeros(n + 1, itype)
    np.cumsum(counts, out=indptr[1:])
    G = sp.csr_matrix((n, n), dtype=np.float32)
    G.data, G.indices, G.indptr = data[:pos], indices[:pos], indptr  # the arrays as built: no index copy
    G.has_sorted_indices = True
    return G


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
