"""EASE on a time-local Gram matrix: items rated close together in time by the same user count more.

MovieLens users rate in short bursts (median training span under an hour), and items rated within
minutes of each other are more alike than items rated by the same user months apart. This model
keeps EASE's closed form ``B = I - P / diag(P)`` but builds ``P`` from

``G = sum_u W_u^T (1 + mu * K_u) W_u + diag(lambda_i)``, ``K_u[i, j] = exp(-|t_ui - t_uj| / tau)``,

so plain co-occurrence plus a bonus for pairs rated within about ``tau`` seconds; ``W_u`` holds the
user's confidence weights ``1 + alpha * (r - center)`` when the interactions carry ratings, and
``lambda_i = lambda * (n_i / mean n)^gamma`` regularises popular items more. Only training
timestamps are used (``recency_``).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .base import Recommender
from .ease import spd_inverse
from .linalg import sparse_dense


class TimeKernelEASERecommender(Recommender):
    """EASE whose item--item Gram matrix adds a time-proximity kernel over each user's history.

    Parameters
    ----------
    lambda_ : float
        L2 regularisation of an item of average popularity.
    pop_exponent : float
        ``gamma``: item ``i`` is regularised with ``lambda_ * (n_i / mean n)^gamma`` (0: plain EASE's
        constant ``lambda_``).
    time_weight : float
        ``mu``: weight of the time kernel against plain co-occurrence (0: no time term). Without
        timestamps (``recency_`` is None) the time term is left out.
    time_scale : float
        ``tau`` in seconds: pairs rated this far apart get ``exp(-1)`` of the bonus of pairs rated together.
    rating_alpha : float
        ``alpha``: confidence ``1 + alpha * (value - rating_center)`` of each interaction, floored at
        0.1. Needs the interaction weights to be ratings (e.g. ``load_movielens_1m(...,
        weight="rating")``); binary data (all weights equal) get confidence 1.
    rating_center : float
        The rating of confidence 1.
    max_items : int
        The most items with interactions (a dense ``n x n`` inverse is taken, as in EASE).

    Attributes
    ----------
    weights_ : ndarray of shape (n_active, n_active)
        ``B`` over the items with interactions.
    active_ : ndarray of int
        Their item indices.

    Notes
    -----
    MovieLens-1M ``recbole-811``, chosen on the valid part (``lambda_=800, pop_exponent=0.5,
    time_weight=1, time_scale=600, rating_alpha=0.25``): valid NDCG@10 0.2402 against EASE's 0.2318
    (``benchmarks/RESULTS.md``).
    """

    name = "time-ease"
    scores_cold_items = False
    uses_recency = True

    def __init__(self, lambda_: float = 800.0, pop_exponent: float = 0.5, time_weight: float = 1.0,
                 time_scale: float = 600.0, rating_alpha: float = 0.0, rating_center: float = 3.0,
                 max_items: int = 20000):
        self.lambda_ = lambda_
        self.pop_exponent = pop_exponent
        self.time_weight = time_weight
        self.time_scale = time_scale
        self.rating_alpha = rating_alpha
        self.rating_center = rating_center
        self.max_items = max_items

    def _check_params(self):
        if float(self.lambda_) <= 0:
            raise ValueError(f"lambda_ must be > 0, got {self.lambda_}")
        if float(self.time_weight) < 0:
            raise ValueError(f"time_weight must be >= 0, got {self.time_weight}")
        if float(self.time_scale) <= 0:
            raise ValueError(f"time_scale must be > 0 seconds, got {self.time_scale}")
        if float(self.rating_alpha) < 0:
            raise ValueError(f"rating_alpha must be >= 0, got {self.rating_alpha}")

    # -- confidence ------------------------------------------------------------------------------
    def _confidence(self, X) -> sp.csr_matrix:
        """``X`` with each stored value replaced by its confidence (1 for binary data)."""
        C = sp.csr_matrix(X, dtype=np.float32, copy=True)
        C.eliminate_zeros()
        v = C.data
        if float(self.rating_alpha) == 0 or len(v) == 0 or np.all(v == v[0]):
            C.data = np.ones_like(v)
        else:
            conf = 1.0 + float(self.rating_alpha) * (v - float(self.rating_center))
            C.data = np.maximum(conf, 0.1).astype(np.float32)
        return C

    # -- fitting ---------------------------------------------------------------------------------
    def _time_gram(self, C: sp.csr_matrix, amap: np.ndarray, n: int) -> np.ndarray:
        """``sum_u W_u^T K_u W_u`` over the active items (float64)."""
        R = sp.csr_matrix(self.recency_, dtype=np.float64)
        R.sort_indices()
        if not (np.array_equal(R.indptr, C.indptr) and np.array_equal(R.indices, C.indices)):
            R = R.multiply(C > 0).tocsr()  # align with the stored interactions
            R.sort_indices()
            if not (np.array_equal(R.indptr, C.indptr) and np.array_equal(R.indices, C.indices)):
                raise ValueError("recency and interaction matrices do not align")
        tau_days = float(self.time_scale) / 86400.0
        G = np.zeros((n, n))
        for u in range(C.shape[0]):
            s, e = C.indptr[u], C.indptr[u + 1]
            if e - s == 0:
                continue
            it = amap[C.indices[s:e]]
            t = R.data[s:e]
            w = C.data[s:e].astype(np.float64)
            K = np.exp(-np.abs(t[:, None] - t[None, :]) / tau_days)
            K *= w[:, None]
            K *= w[None, :]
            G[np.ix_(it, it)] += K
        return G

    def _fit(self, user_items, features):
        C = self._confidence(user_items)
        counts = np.diff(C.tocsc().indptr)
        active = np.flatnonzero(counts).astype(np.int64)
        n = len(active)
        if n > self.max_items:
            gb = 2 * 8 * n * n / 2**30
            raise ValueError(f"time-ease needs a dense {n}x{n} Gram matrix and inverse (about {gb:.1f} GB) for the "
                             f"{n} items with interactions, more than max_items={self.max_items}. Use ease or als, "
                             f"or raise max_items (--param time-ease.max_items={n}) if memory allows.")
        Ca = C[:, active]
        G = (Ca.T @ Ca).toarray().astype(np.float64)
        if float(self.time_weight) > 0 and getattr(self, "recency_", None) is not None:
            amap = np.full(C.shape[1], -1, np.int64)
            amap[active] = np.arange(n)
            G += float(self.time_weight) * self._time_gram(C, amap, n)
        pop = counts[active].astype(np.float64)
        lam = float(self.lambda_) * (pop / pop.mean()) ** float(self.pop_exponent)
        G[np.diag_indices(n)] += lam
        P = spd_inverse(G.astype(np.float32))
        B = -P / np.diag(P)[None, :]
        B[np.diag_indices(n)] = 0.0
        self.weights_ = B.astype(np.float32)
        self.active_ = active

    # -- scoring ---------------------------------------------------------------------------------
    def _score_history(self, X, R):
        C = self._confidence(X)
        out = np.zeros((C.shape[0], C.shape[1]), np.float32)
        out[:, self.active_] = sparse_dense(C[:, self.active_], self.weights_)
        return out

    def _get_state(self):
        return {"weights": self.weights_, "active": self.active_}

    def _set_state(self, state):
        self.weights_ = np.asarray(state["weights"], np.float32)
        self.active_ = np.asarray(state["active"], np.int64)
