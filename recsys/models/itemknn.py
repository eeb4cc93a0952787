"""Item-based collaborative filtering: cosine item-kNN and its sequence variant ("bought next")."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from recsys.io.npz import csr_arrays, csr_from_arrays

from .base import Recommender
from .linalg import binary
from .scoring import topk


class ItemKNNRecommender(Recommender):
    """Item-based collaborative filtering: cosine similarity of item columns, ``k`` nearest kept.

    Parameters
    ----------
    k : int
        Neighbours kept per item.
    shrink : float
        Shrinks similarities of items with few common users: ``sim * n / (n + shrink)``.
    """

    name = "itemknn"
    scores_cold_items = False

    def __init__(self, k: int = 50, shrink: float = 0.0):
        self.k = k
        self.shrink = shrink

    def _cooccurrence(self, user_items) -> tuple[sp.csr_matrix, np.ndarray]:
        """Item x item co-occurrence counts (zero diagonal) and each item's norm."""
        X = binary(user_items).tocsc()
        counts = np.asarray(X.sum(axis=0)).ravel()
        C = (X.T @ X).tocsr().astype(np.float32)  # users in common
        C.setdiag(0)
        C.eliminate_zeros()
        return C, np.sqrt(np.maximum(counts, 1e-12))

    def _fit(self, user_items, features):
        C, norms = self._cooccurrence(user_items)
        C = C.tocoo()
        sim = C.data / (norms[C.row] * norms[C.col]) * (C.data / (C.data + self.shrink))
        S = sp.csr_matrix((sim.astype(np.float32), (C.row, C.col)), shape=C.shape)
        # keep the k largest similarities in each row
        rows, cols, vals = [], [], []
        for i in range(S.shape[0]):
            lo, hi = S.indptr[i], S.indptr[i + 1]
            if hi - lo > self.k:
                top = np.argpartition(-S.data[lo:hi], self.k - 1)[: self.k] + lo
            else:
                top = np.arange(lo, hi)
            rows.append(np.full(len(top), i))
            cols.append(S.indices[top])
            vals.append(S.data[top])
        S = sp.csr_matrix((np.concatenate(vals) if vals else [], (np.concatenate(rows) if rows else [],
                           np.concatenate(cols) if cols else [])), shape=S.shape, dtype=np.float32)
        self.similarity_ = S

    def _score_history(self, X, R):
        return np.asarray((binary(X) @ self.similarity_).todense(), dtype=np.float32)

    def _item_vectors(self):
        return None

    def similar_items_index(self, item_index, k=10, allowed=None):
        self._check_fitted()
        S = self.similarity_[np.asarray(item_index, np.int64)].toarray()
        S[S == 0] = -np.inf
        S[np.arange(len(S)), np.asarray(item_index)] = -np.inf
        if allowed is not None:
            S[:, ~np.asarray(allowed, bool)] = -np.inf
        idx, sc = topk(S, k)
        idx[~np.isfinite(sc)] = -1
        return idx, sc

    def _get_state(self):
        return csr_arrays(self.similarity_, prefix="sim_")

    def _set_state(self, state):
        self.similarity_ = csr_from_arrays(state, prefix="sim_")


class SequenceKNNRecommender(ItemKNNRecommender):
    """Item-based CF on *sequence* neighbours: two items are related when users interact with them
    close together in time (within ``window`` positions of each other in their time-ordered
    history) -- "viewed / bought next", not merely "bought by the same people at some point".

    Similarity: the windowed co-occurrence counts ``C`` normalised as ``C_ij / sqrt(d_i d_j)``
    (``d`` = row sums), ``k`` largest kept per item; a user's scores are the sums of the
    similarities of their items, as in :class:`ItemKNNRecommender`. Needs timestamps.

    Parameters
    ----------
    window : int
        Items up to this many positions apart in a user's history count as neighbours.
    k : int
        Neighbours kept per item.
    shrink : float
        As in :class:`ItemKNNRecommender`.
    """

    name = "sequence-knn"
    uses_recency = True

    def __init__(self, window: int = 5, k: int = 100, shrink: float = 0.0):
        super().__init__(k=k, shrink=shrink)
        self.window = window

    def _check_params(self):
        if int(self.window) < 1:
            raise ValueError(f"window must be >= 1, got {self.window}")

    def _cooccurrence(self, user_items):
        R = getattr(self, "recency_", None)
        if R is None:
            raise ValueError("sequence-knn orders each user's items by time: the interactions need a "
                             "timestamp column (or use itemknn)")
        X = user_items.tocoo()
        Rc = R.tocoo()
        if not (np.array_equal(Rc.row, X.row) and np.array_equal(Rc.col, X.col)):
            raise ValueError("recency and interaction matrices do not align")
        order = np.lexsort((-Rc.data, X.row))  # per user, oldest first (largest age first)
        u, it = X.row[order], X.col[order]
        a, b = [], []
        for d in range(1, int(self.window) + 1):
            same = u[:-d] == u[d:]
            a.append(it[:-d][same])
            b.append(it[d:][same])
        a, b = np.concatenate(a), np.concatenate(b)
        n = user_items.shape[1]
        C = sp.csr_matrix((np.ones(2 * len(a), np.float32), (np.concatenate([a, b]), np.concatenate([b, a]))),
                          shape=(n, n))
        C.setdiag(0)
        C.eliminate_zeros()
        return C, np.sqrt(np.maximum(np.asarray(C.sum(axis=1)).ravel(), 1e-12))
