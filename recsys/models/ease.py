"""EASE (Steck 2019): the closed-form item-item autoencoder, a strong non-visual baseline."""

from __future__ import annotations

import numpy as np

from .base import Recommender
from .linalg import binary, sparse_dense


def spd_inverse(G: np.ndarray) -> np.ndarray:
    """Inverse of a symmetric positive definite float32 matrix by Cholesky (LAPACK potrf/potri),
    about 4x faster than a float64 LU inverse; falls back to ``numpy.linalg.inv`` in float64."""
    from scipy.linalg import lapack
    c, info = lapack.spotrf(G, lower=False, clean=False, overwrite_a=True)
    if info == 0:
        P, info = lapack.spotri(c, lower=False, overwrite_c=True)
        if info == 0:
            upper = np.triu(P)
            return upper + np.triu(upper, 1).T
    return np.linalg.inv(G.astype(np.float64)).astype(np.float32)


class EASERecommender(Recommender):
    """Embarrassingly Shallow Autoencoder: ``B = I - P / diag(P)``, ``P = (X^T X + lambda I)^-1``.

    Cannot rank items without interactions: the inverse is taken over the items that have
    interactions only (``active_``), and every other item scores 0 -- exactly what EASE over the
    whole catalog gives them -- so catalog items with only a photo cost nothing. Memory and time grow
    with ``n_active^2`` and ``n_active^3``: ``max_items`` guards against more items with interactions
    than a dense inverse can hold.

    Parameters
    ----------
    lambda_ : float
        L2 regularisation (500 is a good start for MovieLens-1M).
    max_items : int
        The most items with interactions (the dense inverse needs ``4 * max_items^2`` bytes, twice).

    Attributes
    ----------
    weights_ : ndarray of shape (n_active, n_active)
        ``B`` over the items with interactions.
    active_ : ndarray of int
        Their item indices.
    """

    name = "ease"
    scores_cold_items = False

    def __init__(self, lambda_: float = 500.0, max_items: int = 20000):
        self.lambda_ = lambda_
        self.max_items = max_items

    def _fit(self, user_items, features):
        X = binary(user_items)
        active = np.flatnonzero(np.diff(X.tocsc().indptr)).astype(np.int64)
        n = len(active)
        if n > self.max_items:
            gb = 2 * 4 * n * n / 2**30
            raise ValueError(f"EASE needs a dense {n}x{n} inverse (about {gb:.1f} GB) for the {n} items with "
                             f"interactions, more than max_items={self.max_items}. Use als, or raise max_items "
                             f"(--param ease.max_items={n}) if memory allows.")
        X = X[:, active]
        G = (X.T @ X).toarray().astype(np.float32)
        G[np.diag_indices(n)] += self.lambda_
        P = spd_inverse(G)
        B = -P / np.diag(P)[None, :]
        B[np.diag_indices(n)] = 0.0
        self.weights_ = B.astype(np.float32)
        self.active_ = active

    def _score_history(self, X, R):
        X = binary(X)
        if len(self.active_) == X.shape[1]:
            return sparse_dense(X, self.weights_)
        out = np.zeros((X.shape[0], X.shape[1]), np.float32)
        out[:, self.active_] = sparse_dense(X[:, self.active_], self.weights_)
        return out

    def _get_state(self):
        return {"weights": self.weights_, "active": self.active_}

    def _set_state(self, state):
        self.weights_ = state["weights"]
        # models saved before the active items were kept hold a full catalog x catalog matrix
        self.active_ = np.asarray(state.get("active", np.arange(len(self.weights_))), np.int64)
