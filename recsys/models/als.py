"""Implicit-feedback ALS (Hu, Koren & Volinsky 2008) through the ``implicit`` library."""

from __future__ import annotations

import numpy as np
from threadpoolctl import threadpool_limits

from recsys.data import item_user_counts

from .base import Recommender


def _normalise(v: np.ndarray) -> np.ndarray:
    n = np.linalg.norm(v, axis=1, keepdims=True)
    return np.where(n > 0, v / np.maximum(n, 1e-12), 0).astype(np.float32)


class ALSRecommender(Recommender):
    """Matrix factorisation with implicit ALS (pure collaborative filtering).

    Cannot rank items without interactions (cold items score ~0).

    Parameters
    ----------
    factors, regularization, alpha, iterations : ALS hyper-parameters (``alpha`` scales the
        interaction weights into confidences).
    confidence : {"log", "linear"}
        Confidence of an interaction with weight ``w``: ``1 + alpha * log1p(w) / log(2)``
        (saturating: a purchase worth 5 views is not 5 times the evidence; binary data gives
        ``1 + alpha`` either way) or ``1 + alpha * w``.
    use_gpu : bool
        Use implicit's CUDA solver when it is available.
    random_state : int
    progress : bool
    """

    name = "als"

    def __init__(self, factors: int = 64, regularization: float = 10.0, alpha: float = 2.0,
                 iterations: int = 15, confidence: str = "log", use_gpu: bool = False, random_state: int = 0,
                 progress: bool = True):
        if confidence not in ("log", "linear"):
            raise ValueError(f"confidence must be 'log' or 'linear', got {confidence!r}")
        self.confidence = confidence
        self.factors = factors
        self.regularization = regularization
        self.alpha = alpha
        self.iterations = iterations
        self.use_gpu = use_gpu
        self.random_state = random_state
        self.progress = progress

    def _fit(self, user_items, features):
        import implicit
        gpu = bool(self.use_gpu and implicit.gpu.HAS_CUDA)
        if self.confidence == "log":
            user_items = user_items.copy()
            user_items.data = (np.log1p(user_items.data) / np.log(2.0)).astype(np.float32)
        with threadpool_limits(1, "blas"):  # implicit parallelises itself
            model = implicit.als.AlternatingLeastSquares(
                factors=self.factors, regularization=self.regularization, alpha=self.alpha,
                iterations=self.iterations, random_state=self.random_state, use_gpu=gpu,
                calculate_training_loss=False)
            model.fit(user_items, show_progress=self.progress)
        if gpu:
            model = model.to_cpu()
        self.user_factors_ = np.asarray(model.user_factors, dtype=np.float32)
        self.item_factors_ = np.asarray(model.item_factors, dtype=np.float32)
        # items never interacted with have no collaborative signal
        cold = item_user_counts(user_items) == 0
        self.item_factors_[cold] = 0

    def _score(self, user_index):
        return self.user_factors_[user_index] @ self.item_factors_.T

    def _item_vectors(self):
        present = np.linalg.norm(self.item_factors_, axis=1) > 0
        return _normalise(self.item_factors_), present

    def _get_state(self):
        return {"user_factors": self.user_factors_, "item_factors": self.item_factors_}

    def _set_state(self, state):
        self.user_factors_ = state["user_factors"]
        self.item_factors_ = state["item_factors"]
