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
                n_negatives: int = 256, max_pairs: int = 8192, iterations: int = 8,
                random_state: int = 0) -> np.ndarray:
    """User vectors for a BPR-trained factor model (``score = u . q_i + b_i``), items fixed.

    Minimises the model's own objective for each history: the mean over (history item ``i``,
    sampled item ``j``) of ``softplus(-(u . (q_i - q_j) + b_i - b_j)) + reg |u|^2`` by Newton
    steps (the loss is convex in ``u``). Negatives are a fixed seeded sample, so a history always
    gets the same vector.
    """
    X = sp.csr_matrix(X)
    n_items, d = item_repr.shape
    out = np.zeros((X.shape[0], d), np.float32)
    rng = np.random.default_rng(random_state)
    neg_all = rng.choice(n_items, size=min(n_negatives, n_items), replace=False)
    Q = item_repr.astype(np.float64)
    b = item_bias.astype(np.float64)
    for r in range(X.shape[0]):
        pos = X.indices[X.indptr[r]:X.indptr[r + 1]]
        if len(pos) == 0:
            continue
        neg = np.setdiff1d(neg_all, pos, assume_unique=False)
        if len(pos) * len(neg) > max_pairs:  # long histories: fewer negatives each
            neg = neg[:max(8, max_pairs // len(pos))]
        D = (Q[pos][:, None, :] - Q[neg][None, :, :]).reshape(-1, d)
        db = (b[pos][:, None] - b[neg][None, :]).ravel()
        u = np.zeros(d)
        m = len(D)
        for _ in range(iterations):
            x = D @ u + db
            s = 1.0 / (1.0 + np.exp(x))          # sigma(-x): the gradient weight of softplus(-x)
            g = -(D.T @ s) / m + 2 * reg * u
            h = s * (1.0 - s)
            H = (D.T * h) @ D / m + 2 * reg * np.eye(d)
            step = np.linalg.solve(H, g)
            u -= step
            if np.abs(step).max() < 1e-6:
                break
        out[r] = u
    return out
