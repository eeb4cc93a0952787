"""Nearest-neighbour search over item vectors with faiss (exact inner product by default)."""

from __future__ import annotations

import numpy as np


class VectorIndex:
    """Inner-product index over the items that have a vector.

    Parameters
    ----------
    vectors : ndarray, shape (n_items, dim)
        Normalise rows for cosine similarity.
    present : ndarray of bool, optional
        Items to index (others are never returned).
    exact : bool
        ``IndexFlatIP`` (exact). Approximate HNSW is used when False.
    """

    def __init__(self, vectors: np.ndarray, present: np.ndarray | None = None, exact: bool = True):
        import faiss
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if present is None:
            present = np.ones(len(vectors), bool)
        self.present = np.asarray(present, bool)
        self.rows = np.flatnonzero(self.present)  # faiss id -> item index
        self.vectors = vectors
        d = vectors.shape[1]
        self.index = faiss.IndexFlatIP(d) if exact else faiss.IndexHNSWFlat(d, 32, faiss.METRIC_INNER_PRODUCT)
        if len(self.rows):
            self.index.add(np.ascontiguousarray(vectors[self.rows]))

    def __len__(self) -> int:
        return len(self.rows)

    def search(self, queries: np.ndarray, k: int, exclude: np.ndarray | None = None):
        """Top-``k`` item indices and scores per query (``-1``/``-inf`` where fewer exist).

        ``exclude``: one item index per query to leave out (the query item itself).
        """
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        n = len(queries)
        k_eff = min(k + (1 if exclude is not None else 0), len(self.rows))
        out_i = np.full((n, k), -1, np.int64)
        out_s = np.full((n, k), -np.inf, np.float32)
        if k_eff == 0 or n == 0:
            return out_i, out_s
        D, found = self.index.search(queries, k_eff)
        items = np.where(found >= 0, self.rows[np.maximum(found, 0)], -1)
        D = np.where(found >= 0, D, -np.inf)
        if exclude is not None:
            drop = items == np.asarray(exclude)[:, None]
            # keep the first k entries that are not the query item itself
            order = np.argsort(drop, axis=1, kind="stable")
            items = np.take_along_axis(items, order, axis=1)
            D = np.take_along_axis(D, order, axis=1)
            items[np.take_along_axis(drop, order, axis=1)] = -1
        m = min(k, items.shape[1])
        out_i[:, :m], out_s[:, :m] = items[:, :m], D[:, :m]
        out_s[out_i < 0] = -np.inf
        return out_i, out_s

    def search_items(self, item_index: np.ndarray, k: int):
        """Neighbours of indexed items; items without a vector get an empty row."""
        item_index = np.asarray(item_index, np.int64)
        out_i = np.full((len(item_index), k), -1, np.int64)
        out_s = np.full((len(item_index), k), -np.inf, np.float32)
        has = self.present[item_index]
        if has.any():
            q = item_index[has]
            out_i[has], out_s[has] = self.search(self.vectors[q], k, exclude=q)
        return out_i, out_s
