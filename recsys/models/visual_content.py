"""Content-based visual model: a user's taste is read from the images of their items."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from recsys.data import item_user_counts
from recsys.io.npz import csr_arrays, csr_from_arrays
from recsys.vectors import normalize_rows

from .base import Recommender
from .linalg import sparse_dense
from .candidates import BlockScorer, dense_columns, gather, rows_of
from .sparse_items import top_per_row
from .visual_graph import graph_log_density, graph_row_min, neighbour_kernel, sparse_kernel_scores


class VisualContentRecommender(Recommender):
    """Score items by the visual similarity of their image to the images of the user's items.

    Two taste models:

    - ``profile="kernel"`` (default): a kernel density over the user's items,
      ``score(i) = log sum_j w_j exp((cos(i, j) - 1) / temperature)``; it keeps several
      distinct tastes apart (shoes *and* bags) instead of averaging them.
    - ``profile="mean"``: cosine to the weighted mean vector of the user's items.

    Items with only a photo and no interactions (cold items) are ranked like any other.
    Items without a vector rank after all items with one (by popularity); users whose items
    have no vector get popularity.

    Parameters
    ----------
    profile : {"kernel", "mean"}
    temperature : float
        Kernel width (cosine units) for ``profile="kernel"``.
    weighting : {"weight", "binary"}
        Use interaction weights or 1 per item.
    half_life_days : float, optional
        Weigh the user's items by recency: an item last seen ``half_life_days`` before the end
        of the training data counts half (needs timestamps; ignored without).
    exact_items : int
        Catalogs up to this many items compute the kernel between the users' items and every item
        exactly; larger ones (``kernel_`` = ``"graph"``) read it from each item's ``neighbours``
        nearest images (:mod:`recsys.models.visual_graph`, built in ``fit`` through the
        nearest-neighbour index and saved with the model), so memory and time grow with
        ``n * neighbours``, never ``n^2``.
    neighbours : int
        Nearest images per item in the sparse kernel.
    """

    name = "visual"
    uses_visual = True
    requires_features = True
    similar_by_image = True

    def __init__(self, profile: str = "kernel", temperature: float = 0.05, weighting: str = "weight",
                 half_life_days: float | None = None, exact_items: int = 25000, neighbours: int = 200):
        self.profile = profile
        self.temperature = temperature
        self.weighting = weighting
        self.half_life_days = half_life_days
        self.exact_items = exact_items
        self.neighbours = neighbours

    @property
    def uses_recency(self) -> bool:
        return self.half_life_days is not None

    def _check_params(self):
        if self.profile not in ("kernel", "mean"):
            raise ValueError(f"profile must be 'kernel' or 'mean', got {self.profile!r}")
        if self.weighting not in ("weight", "binary"):
            raise ValueError(f"weighting must be 'weight' or 'binary', got {self.weighting!r}")
        if self.temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {self.temperature}")
        if self.exact_items < 1 or self.neighbours < 1:
            raise ValueError(f"exact_items and neighbours must be >= 1, got {self.exact_items} and {self.neighbours}")

    def _fit(self, user_items, features):
        self._kernel = None
        self.item_vectors_ = features.vectors
        self.present_ = features.present
        counts = item_user_counts(user_items).astype(np.float32)
        self.popularity_ = counts / max(1.0, counts.max())
        self.graph_ = None
        if self.profile == "kernel" and len(self.item_vectors_) > self.exact_items:
            self.graph_ = neighbour_kernel(self.item_vectors_, self.present_, self.neighbours, self.temperature)

    @property
    def kernel_(self) -> str:
        """``"graph"`` (sparse nearest-image kernel) or ``"exact"``."""
        return "graph" if getattr(self, "graph_", None) is not None else "exact"

    def _weights(self, X: sp.csr_matrix, R: sp.csr_matrix | None = None) -> sp.csr_matrix:
        X = X.astype(np.float32)
        if R is not None:
            R = R.multiply(self.present_[None, :].astype(np.float32)).tocsr()
        X = X.multiply(self.present_[None, :].astype(np.float32)).tocsr()  # only items with a vector
        if self.weighting == "binary":
            X.data[:] = 1.0
        if R is not None and R.nnz == X.nnz:
            X.data *= np.exp2(-(R.data - 1.0) / self.half_life_days).astype(np.float32)
        s = np.asarray(X.sum(axis=1)).ravel()
        s[s == 0] = 1
        return sp.csr_matrix(sp.diags(1.0 / s) @ X)

    def profiles(self, user_items: sp.csr_matrix) -> np.ndarray:
        """L2-normalised mean taste vectors of the rows of ``user_items``."""
        P = np.asarray(self._weights(user_items) @ self.item_vectors_, dtype=np.float32)
        return normalize_rows(P)

    #: catalogs up to this many items keep the item--item kernel in memory (n^2 float32)
    kernel_cache_items = 8000

    def _kernel_scores(self, W: sp.csr_matrix) -> np.ndarray:
        E = self.item_vectors_
        n = E.shape[0]
        if getattr(self, "graph_", None) is None and n > self.exact_items and self.profile == "kernel":
            self.graph_ = neighbour_kernel(E, self.present_, self.neighbours, self.temperature)  # older saves
        if getattr(self, "graph_", None) is not None:
            return sparse_kernel_scores(W, self.graph_, self.popularity_)
        if n <= self.kernel_cache_items:
            if getattr(self, "_kernel", None) is None:  # computed once, reused by every batch
                K = E @ E.T
                K -= 1.0
                K /= self.temperature
                np.exp(K, out=K)
                self._kernel = K
            dens = sparse_dense(W, self._kernel)
            return np.log(dens + 1e-30)
        out = np.empty((W.shape[0], n), np.float32)
        # sub-batch users so that the |history| x n_items kernel block stays ~<= 64M floats
        step = max(1, int(64e6 // max(1, E.shape[0] * max(1.0, W.getnnz() / max(1, W.shape[0])))))
        for s in range(0, W.shape[0], step):
            Wb = W[s:s + step]
            H = np.unique(Wb.indices)
            if len(H) == 0:
                out[s:s + step] = 0
                continue
            K = np.exp((E[H] @ E.T - 1.0) / self.temperature)
            dens = np.asarray(Wb[:, H] @ K, dtype=np.float32)
            out[s:s + step] = np.log(dens + 1e-30)
        return out

    def _score_history(self, X, R):
        if self.half_life_days is None:
            R = None
        if self.profile == "kernel":
            W = self._weights(X, R)
            sc = self._kernel_scores(W)
            empty = np.diff(W.indptr) == 0
        else:
            P = self.profiles(X)
            sc = P @ self.item_vectors_.T
            empty = ~P.any(axis=1)
        # standardise per user so "no vector" items can be placed below every item with one
        lo = sc[:, self.present_].min(axis=1, keepdims=True) if self.present_.any() else 0
        sc = sc - lo + 1.0
        sc[:, ~self.present_] = self.popularity_[~self.present_]
        if empty.any():
            sc[empty] = self.popularity_ + self.present_
        return sc

    # -- candidates for wide catalogs (recsys.models.candidates): the graph kernel only ----------
    def _graph_parts(self, user_index):
        R = getattr(self, "recency_", None) if self.half_life_days is not None else None
        W = self._weights(self.user_items_[user_index], None if R is None else R[user_index])
        return graph_log_density(W, self.graph_), np.diff(W.indptr) == 0

    def _block_scorer(self, user_index):
        if getattr(self, "graph_", None) is None:
            return None
        D, empty = self._graph_parts(user_index)

        def candidates(c):
            return top_per_row(D, c)

        floor = graph_row_min(D) - 2.0

        def pairs(C):  # the scores _score_history gives at the entries of C
            r = rows_of(C)
            return self._graph_values(gather(D, C, np.nan), floor[r], empty[r], C.indices)

        def columns(cols):
            return self._graph_values(dense_columns(D, cols, np.nan), floor[:, None], empty[:, None], cols)
        return BlockScorer(candidates, pairs, columns)

    def _graph_values(self, covered, floor, empty, items):
        """Scores from log densities ``covered`` (NaN: outside every neighbourhood) of ``items``, with each
        row's ``floor`` (its lowest density - 2) and ``empty`` (no history with a photo); broadcasts."""
        pop, present = self.popularity_, self.present_
        min_pop = float(pop[present].min()) if present.any() else 0.0
        lo = floor + min_pop  # the lowest score of an item with a photo
        out = np.where(np.isnan(covered), pop[items] - min_pop + 1.0, covered - lo + 1.0)
        out = np.where(present[items], out, pop[items])
        out = np.where(empty, pop[items] + present[items], out)
        return out.astype(np.float32)

    def _item_vectors(self):
        return self.item_vectors_, self.present_

    def _visual_vectors(self):
        return self.item_vectors_, self.present_

    def _add_items(self, features):
        self._kernel = None
        self.graph_ = None  # rebuilt over the grown catalog at the next scoring
        self.item_vectors_ = np.vstack([self.item_vectors_, features.vectors])
        self.present_ = np.concatenate([self.present_, features.present])
        self.popularity_ = np.concatenate([self.popularity_, np.zeros(features.n_items, np.float32)])

    def _get_state(self):
        state = {"item_vectors": self.item_vectors_, "present": self.present_, "popularity": self.popularity_}
        if getattr(self, "graph_", None) is not None:
            state.update(csr_arrays(self.graph_, prefix="graph_"))
        return state

    def _set_state(self, state):
        self._kernel = None
        self.item_vectors_ = state["item_vectors"]
        self.present_ = state["present"].astype(bool)
        self.popularity_ = state["popularity"]
        self.graph_ = csr_from_arrays(state, prefix="graph_") if "graph_data" in state else None
