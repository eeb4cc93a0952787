"""Nearest-neighbour search over item vectors with faiss: exact for small catalogs, approximate
(HNSW, IVF, 8-bit codes) above that, with its recall against exact search measured at build time."""

from __future__ import annotations

import time
import warnings

import numpy as np

from .kinds import DEFAULT_MEMORY_BUDGET, KINDS, choose_kind, factory_string, knob_values, search_parameters
from .recall import IndexRecallWarning, exact_topk, recall_at_k, sample_queries, topk_rows

#: quantised kinds fetch this many times k candidates and re-rank them with the raw vectors
REFINE = 3


class VectorIndex:
    """Inner-product index over the items that have a vector.

    Parameters
    ----------
    vectors : ndarray, shape (n_items, dim)
        Normalise rows for cosine similarity.
    present : ndarray of bool, optional
        Items to index (others are never returned).
    exact : bool, optional
        Shorthand: True for ``kind="flat"``, False for ``kind="hnsw"``.
    kind : {"auto", "flat", "hnsw", "hnsw-sq8", "ivf-sq8"}
        ``auto`` chooses by size (:func:`recsys.index.kinds.choose_kind`).
    recall_floor : float
        An approximate index is tuned (efSearch / nprobe) until its recall@10 against exact
        search, measured on ``n_recall_queries`` indexed items, reaches this; an
        :class:`IndexRecallWarning` says when it cannot.
    memory_budget : int
        Bytes the approximate index may take (decides ``auto`` between raw and 8-bit vectors).
    n_recall_queries, random_state :
        Size and seed of the recall sample.

    Attributes
    ----------
    kind_, factory_ : the kind built and its faiss ``index_factory`` string
    knob_ : efSearch (HNSW) or nprobe (IVF) used at search time; None for ``flat``
    recall_ : measured recall@10 against exact search (1.0 for ``flat``)
    build_seconds_ : time to build (and tune)
    """

    def __init__(self, vectors: np.ndarray, present: np.ndarray | None = None, exact: bool | None = None, *,
                 kind: str = "auto", recall_floor: float = 0.95, memory_budget: int = DEFAULT_MEMORY_BUDGET,
                 n_recall_queries: int = 500, random_state: int = 0, prebuilt=None):
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2:
            raise ValueError(f"vectors must be a 2-d array, got shape {vectors.shape}")
        if present is None:
            present = np.ones(len(vectors), bool)
        self.present = np.asarray(present, bool)
        if len(self.present) != len(vectors):
            raise ValueError(f"present has {len(self.present)} entries for {len(vectors)} vectors")
        self.rows = np.flatnonzero(self.present)  # faiss id -> item index
        self.vectors = vectors
        if exact is not None:
            kind = "flat" if exact else "hnsw"
        if kind != "auto" and kind not in KINDS:
            raise ValueError(f"unknown index kind {kind!r}; choose from auto, {', '.join(KINDS)}")
        n, d = len(self.rows), vectors.shape[1]
        self.kind_ = choose_kind(n, d, memory_budget=memory_budget) if kind == "auto" else kind
        if self.kind_ != "flat" and n < 2 * 39:  # too few to train or to be worth a graph
            self.kind_ = "flat"
        self.factory_ = factory_string(self.kind_, n)
        self.recall_floor = float(recall_floor)
        self.knob_, self.recall_ = None, 1.0
        t0 = time.perf_counter()
        if prebuilt is not None:  # (faiss index, knob, recall) read from disk by recsys.index.store
            self.index, self.knob_, self.recall_ = prebuilt
        else:
            self.index = self._build(n_recall_queries, random_state)
        self.build_seconds_ = round(time.perf_counter() - t0, 3)

    # -- building -----------------------------------------------------------------------------
    def _indexed(self, part=slice(None)) -> np.ndarray:
        """Indexed vectors ``part`` (positions in ``rows``): a view, not a copy, when every item has one."""
        return self.vectors[part] if len(self.rows) == len(self.vectors) else self.vectors[self.rows[part]]

    def _build(self, n_queries: int, random_state: int):
        import faiss
        n, d = len(self.rows), self.vectors.shape[1]
        index = faiss.index_factory(d, self.factory_, faiss.METRIC_INNER_PRODUCT)
        if self.kind_ in ("hnsw", "hnsw-sq8"):
            index.hnsw.efConstruction = 80
        if not index.is_trained:
            rng = np.random.default_rng(random_state)
            n_train = min(n, max(50_000, 64 * getattr(index, "nlist", 0)))
            index.train(self._indexed(np.sort(rng.choice(n, n_train, replace=False)) if n_train < n else slice(None)))
        for s in range(0, n, 100_000):  # in blocks: no second copy of a large catalog
            index.add(np.ascontiguousarray(self._indexed(slice(s, s + 100_000))))
        self.index = index
        if self.kind_ != "flat":
            self.tune(n_queries, random_state)
        return index

    def tune(self, n_queries: int = 500, random_state: int = 0) -> float:
        """Measure recall@10 against exact search on ``n_queries`` indexed items and raise the
        search knob until it reaches ``recall_floor``; returns the recall."""
        if self.kind_ == "flat":
            self.recall_ = 1.0
            return 1.0
        q_rows = sample_queries(len(self.rows), n_queries, random_state)
        q = self.vectors[self.rows[q_rows]]
        truth = exact_topk(self.vectors, q, 10, exclude=q_rows,
                           rows=None if len(self.rows) == len(self.vectors) else self.rows)
        best = (-1.0, None)
        for knob in knob_values(self.kind_):
            self.knob_ = knob
            got, _ = self._ann(q, 10, exclude=q_rows)
            r = recall_at_k(got, truth)
            if r > best[0]:
                best = (r, knob)
            if r >= self.recall_floor:
                break
        self.recall_, self.knob_ = best
        if self.recall_ < self.recall_floor:
            warnings.warn(f"the {self.kind_} index reaches recall@10 {self.recall_:.3f} against exact search "
                          f"(floor {self.recall_floor}) at its widest search setting {self.knob_}; use "
                          "kind='hnsw' or 'flat' for better lists", IndexRecallWarning, stacklevel=3)
        return self.recall_

    # -- searching ----------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.rows)

    def describe(self) -> dict:
        """What was built: kind, faiss factory string, size, search knob and measured recall."""
        return {"kind": self.kind_, "factory": self.factory_, "n": int(len(self.rows)),
                "dim": int(self.vectors.shape[1]), "knob": self.knob_, "recall@10": round(float(self.recall_), 4),
                "recall_floor": self.recall_floor, "build_seconds": self.build_seconds_}

    def _ann(self, queries, k: int, exclude=None, selector=None):
        """Faiss ids and scores from the index itself (approximate kinds re-ranked exactly), in
        blocks of queries so that re-ranking holds a bounded candidate block."""
        parts = [self._ann_block(queries[s:s + 512], k, None if exclude is None else exclude[s:s + 512], selector)
                 for s in range(0, len(queries), 512)]
        return np.vstack([p[0] for p in parts]), np.vstack([p[1] for p in parts])

    def _ann_block(self, queries, k: int, exclude, selector):
        extra = 1 if exclude is not None else 0
        fetch = min(len(self.rows), (k + extra) * (REFINE if self.kind_.endswith("sq8") else 1))
        if fetch == 0:
            return np.full((len(queries), 0), -1, np.int64), np.zeros((len(queries), 0), np.float32)
        knob = self.knob_
        if knob is not None and knob < fetch:
            knob = fetch
        params = search_parameters(self.kind_, knob, selector)
        D, ids = self.index.search(queries, fetch, params=params) if params is not None else \
            self.index.search(queries, fetch)
        if self.kind_.endswith("sq8"):  # exact scores of the candidates, re-sorted
            safe = np.maximum(ids, 0)
            D = np.einsum("qd,qkd->qk", queries, self.vectors[self.rows[safe]])
            D[ids < 0] = -np.inf
            order = np.argsort(-D, axis=1, kind="stable")
            ids, D = np.take_along_axis(ids, order, 1), np.take_along_axis(D, order, 1)
        D = np.where(ids >= 0, D, -np.inf)
        if exclude is not None:
            drop = ids == np.asarray(exclude)[:, None]
            order = np.argsort(drop, axis=1, kind="stable")
            ids, D = np.take_along_axis(ids, order, 1), np.take_along_axis(D, order, 1)
            ids[np.take_along_axis(drop, order, 1)] = -1
        return ids[:, :k], D[:, :k]

    def search_coarse(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` item indices and the index's own scores, without re-ranking (8-bit approximations
        for the ``sq8`` kinds) and at efSearch / nprobe just above ``k``: bulk neighbour lists
        (e.g. a kNN graph of the whole catalog) where approximate scores do."""
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        k = min(k, len(self.rows))
        out_i = np.full((len(queries), k), -1, np.int64)
        out_s = np.full((len(queries), k), -np.inf, np.float32)
        if k <= 0 or len(queries) == 0:
            return out_i, out_s
        knob = None if self.knob_ is None else max(self.knob_, k)
        params = search_parameters(self.kind_, knob)
        for s in range(0, len(queries), 4096):
            q = queries[s:s + 4096]
            D, ids = self.index.search(q, k, params=params) if params is not None else self.index.search(q, k)
            out_i[s:s + len(q)] = np.where(ids >= 0, self.rows[np.maximum(ids, 0)], -1)
            out_s[s:s + len(q)] = np.where(ids >= 0, D, -np.inf)
        return out_i, out_s

    def search(self, queries: np.ndarray, k: int, exclude: np.ndarray | None = None,
               allowed: np.ndarray | None = None):
        """Top-``k`` item indices and scores per query (``-1``/``-inf`` where fewer exist).

        ``exclude``: one item index per query to leave out (the query item itself).
        ``allowed``: a boolean mask over all items (in stock, category, not hidden...) applied
        inside the search, so that ``k`` items come back whenever ``k`` are allowed.
        """
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        n = len(queries)
        out_i = np.full((n, k), -1, np.int64)
        out_s = np.full((n, k), -np.inf, np.float32)
        if n == 0 or len(self.rows) == 0 or k <= 0:
            return out_i, out_s
        ex = None if exclude is None else np.searchsorted(self.rows, np.asarray(exclude, np.int64))
        if ex is not None:
            ex = np.where(self.rows[np.minimum(ex, len(self.rows) - 1)] == exclude, ex, -2)
        if allowed is None:
            ids, D = self._search_all(queries, k, ex)
        else:
            ok = np.asarray(allowed, bool)[self.rows]
            ids, D = self._search_allowed(queries, k, ex, ok)
        m = min(k, ids.shape[1])
        items = np.where(ids[:, :m] >= 0, self.rows[np.maximum(ids[:, :m], 0)], -1)
        out_i[:, :m], out_s[:, :m] = items, D[:, :m]
        out_s[out_i < 0] = -np.inf
        return out_i, out_s

    def _search_all(self, queries, k, ex):
        return self._ann(queries, k, exclude=ex)

    def _search_allowed(self, queries, k, ex, ok):
        n_ok = int(ok.sum())
        if n_ok == 0:
            return np.full((len(queries), 0), -1, np.int64), np.zeros((len(queries), 0), np.float32)
        if n_ok * self.vectors.shape[1] <= 4_000_000:  # few allowed: exact over those
            return self._exact(queries, k, ex, np.flatnonzero(ok))
        import faiss
        bitmap = np.packbits(ok, bitorder="little")
        ids, D = self._ann(queries, k, exclude=ex, selector=faiss.IDSelectorBitmap(len(ok), faiss.swig_ptr(bitmap)))
        short = (ids >= 0).sum(axis=1) < min(k, n_ok - (0 if ex is None else 1))
        if short.any():  # the graph ran dry inside a narrow filter: exact for those queries
            e_ids, e_D = self._exact(queries[short], k, None if ex is None else ex[short], np.flatnonzero(ok))
            ids[short], D[short] = e_ids[:, :ids.shape[1]], e_D[:, :ids.shape[1]]
        return ids, D

    def _exact(self, queries, k, ex, subset):
        """Exact top-``k`` over ``subset`` (faiss ids, a few thousand at most) of the indexed rows."""
        X = self.vectors[self.rows[subset]]
        local_ex = None
        if ex is not None:
            local_ex = np.searchsorted(subset, np.maximum(ex, 0))
            hit = (ex >= 0) & (local_ex < len(subset))
            hit[hit] = subset[local_ex[hit]] == ex[hit]
            local_ex = np.where(hit, local_ex, -2)
        ids, D = topk_rows(queries @ X.T, k, local_ex)
        return np.where(ids >= 0, subset[np.maximum(ids, 0)], -1), D

    def search_items(self, item_index: np.ndarray, k: int, allowed: np.ndarray | None = None):
        """Neighbours of indexed items; items without a vector get an empty row."""
        item_index = np.asarray(item_index, np.int64)
        out_i = np.full((len(item_index), k), -1, np.int64)
        out_s = np.full((len(item_index), k), -np.inf, np.float32)
        has = self.present[item_index]
        if has.any():
            q = item_index[has]
            for s in range(0, len(q), 4096):  # bounded score blocks for exact search
                sl = slice(s, s + 4096)
                rows = np.flatnonzero(has)[sl]
                out_i[rows], out_s[rows] = self.search(self.vectors[q[sl]], k, exclude=q[sl], allowed=allowed)
        return out_i, out_s

    def grow(self, vectors: np.ndarray, present: np.ndarray) -> "VectorIndex":
        """The index after the catalog grew by rows at its end (items added with a photo): their
        vectors are added to the index, nothing is rebuilt. Returns a rebuilt index instead when
        the existing rows changed or the index cannot take additions (memory-mapped)."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        present = np.asarray(present, bool)
        n_old = len(self.present)
        same = len(present) >= n_old and np.array_equal(present[:n_old], self.present) and \
            vectors.shape[1] == self.vectors.shape[1] and np.array_equal(vectors[self.rows], self.vectors[self.rows])
        new_rows = n_old + np.flatnonzero(present[n_old:])
        if same:
            try:
                if len(new_rows):
                    self.index.add(vectors[new_rows])
            except RuntimeError:
                same = False
        if not same:
            return VectorIndex(vectors, present, kind=self.kind_, recall_floor=self.recall_floor)
        self.vectors, self.present = vectors, present
        self.rows = np.concatenate([self.rows, new_rows])
        return self

    def save(self, path):
        """Write the index and its description to folder ``path`` (see :mod:`recsys.index.store`)."""
        from .store import save_index
        return save_index(self, path)

    @classmethod
    def load(cls, path, vectors, present=None, *, mmap: bool = True) -> "VectorIndex":
        """The index saved in ``path`` for these vectors (raises :class:`recsys.index.IndexFileError`
        when it is damaged or was built for other vectors)."""
        from .store import load_index
        return load_index(cls, path, vectors, present, mmap=mmap)
