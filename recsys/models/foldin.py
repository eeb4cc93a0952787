"""User vectors for histories given at query time ("folding in") for factor models, items fixed."""

from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp


class ALSFoldIn:
    """ALS user vectors of histories with the item factors fixed, solved by implicit's own
    ``recalculate_user`` -- the same least-squares step that trained the user factors. Keeps
    implicit's model (and its cached ``Y'Y``) between calls: build a new one when the item factors change."""

    def __init__(self, item_factors: np.ndarray, regularization: float, alpha: float):
        from implicit.cpu.als import AlternatingLeastSquares
        self.item_factors = item_factors
        with warnings.catch_warnings():  # implicit warns about BLAS threads; its solver here is tiny
            warnings.simplefilter("ignore", RuntimeWarning)
            self._als = AlternatingLeastSquares(factors=item_factors.shape[1], regularization=regularization,
                                                alpha=alpha, dtype=np.float32, num_threads=1)
        self._als.item_factors = np.ascontiguousarray(item_factors, dtype=np.float32)
        _ = self._als.YtY  # computed once, here

    def __call__(self, confidence: sp.csr_matrix) -> np.ndarray:
        """User vectors of the rows of ``confidence`` (weights transformed like the training data)."""
        n, f = confidence.shape[0], self.item_factors.shape[1]
        if n == 0:
            return np.zeros((0, f), np.float32)
        U = self._als.recalculate_user(np.arange(n), sp.csr_matrix(confidence, dtype=np.float32))
        return np.asarray(U, dtype=np.float32).reshape(n, f)


def fold_in_als(item_factors: np.ndarray, confidence: sp.csr_matrix, regularization: float,
                alpha: float) -> np.ndarray:
    """ALS user vectors of the rows of ``confidence`` (see :class:`ALSFoldIn`)."""
    return ALSFoldIn(item_factors, regularization, alpha)(confidence)


def fold_in_bpr(item_repr: np.ndarray, item_bias: np.ndarray, X: sp.csr_matrix, reg: float = 0.01,
                n_negatives: int = 256, iterations: int = 10, random_state: int = 0) -> np.ndarray:
    """User vectors for a BPR-trained factor model (``score = u . q_i + b_i``), items fixed.

    Minimises the model's own objective for each history: the mean over (history item ``i``,
    sampled item ``j``) of ``softplus(-(u . (q_i - q_j) + b_i - b_j)) + reg |u|^2`` by Newton
    steps (the loss is convex in ``u``). The gradient and Hessian over all ``|history| x
    n_negatives`` pairs are formed from the two item blocks without building the pairs. Negatives
    are a fixed seeded sample, so a history always gets the same vector.
    """
    X = sp.csr_matrix(X)
    n_items, d = item_repr.shape
    out = np.zeros((X.shape[0], d), np.float32)
    rng = np.random.default_rng(random_state)
    neg_all = rng.choice(n_items, size=min(n_negatives, n_items), replace=False)
    Q = item_repr.astype(np.float64)
    b = item_bias.astype(np.float64)
    eye = 2 * reg * np.eye(d)
    for r in range(X.shape[0]):
        pos = np.unique(X.indices[X.indptr[r]:X.indptr[r + 1]])
        if len(pos) == 0:
            continue
        neg = np.setdiff1d(neg_all, pos)
        P, N = Q[pos], Q[neg]
        bp, bn = b[pos], b[neg]
        m = len(pos) * len(neg)
        u = np.zeros(d)
        for _ in range(iterations):
            x = (P @ u + bp)[:, None] - (N @ u + bn)[None, :]   # margins of every pair
            S = 1.0 / (1.0 + np.exp(x))                           # sigma(-x): softplus(-x)' weight
            H = S * (1.0 - S)
            g = -(S.sum(1) @ P - S.sum(0) @ N) / m + 2 * reg * u
            cross = P.T @ H @ N
            Hess = ((P.T * H.sum(1)) @ P + (N.T * H.sum(0)) @ N - cross - cross.T) / m + eye
            step = np.linalg.solve(Hess, g)
            u -= step
            if np.abs(step).max() < 1e-6:
                break
        out[r] = u
    return out
