"""Implicit-feedback ALS (Hu, Koren & Volinsky 2008) through the ``implicit`` library."""

from __future__ import annotations

import numpy as np
from threadpoolctl import threadpool_limits

from recsys.data import item_user_counts

from recsys.vectors import normalize_rows

from .base import Recommender
from .foldin import ALSFoldIn


#: cold x warm item pairs above which the visual neighbours come from an approximate index
INDEX_PAIRS = 1 << 33


def place_by_neighbours(query: np.ndarray, vectors: np.ndarray, anchors: np.ndarray, factors: np.ndarray,
                        k: int = 50, temperature: float = 0.05, batch: int = 1024) -> np.ndarray:
    """Factors for items without history: a softmax-weighted mean of the factors of their ``k``
    visually nearest ``anchors`` (rows of ``vectors`` and ``factors``: items with history), weights
    ``exp((cos - cos_max) / temperature)``. ``query``: vectors, or (1-d) rows of ``vectors``. The anchors'
    and such queries' vectors are read in place, never copied whole;
    beyond ``INDEX_PAIRS`` query x anchor pairs the neighbours come from an approximate index."""
    from recsys.index import VectorIndex
    from recsys.index.recall import chunked_topk
    out = np.zeros((len(query), factors.shape[1]), np.float32)
    k = min(k, len(anchors))
    if len(query) == 0 or k == 0:
        return out
    index = None
    if len(query) * len(anchors) > INDEX_PAIRS:
        mask = np.zeros(len(vectors), bool)
        mask[anchors] = True
        index = VectorIndex(vectors, mask)
    for s in range(0, len(query), batch):
        q = np.ascontiguousarray(vectors[query[s:s + batch]] if query.ndim == 1 else query[s:s + batch], np.float32)
        if index is not None:
            nb, sim = index.search(q, k)
        else:
            pos, sim = chunked_topk(vectors, q, k, rows=anchors)
            nb = np.where(pos >= 0, anchors[np.maximum(pos, 0)], -1)
        w = np.where(nb >= 0, np.exp((sim - sim[:, :1]) / temperature), 0.0).astype(np.float32)
        w /= np.maximum(w.sum(axis=1, keepdims=True), 1e-30)
        out[s:s + batch] = np.einsum("ck,ckf->cf", w, factors[np.maximum(nb, 0)])
    return out


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
    scores_cold_items = False

    def __init__(self, factors: int = 64, regularization: float = 10.0, alpha: float = 2.0,
                 iterations: int = 15, confidence: str = "log", use_gpu: bool = False, random_state: int = 0,
                 progress: bool = True):
        self.confidence = confidence
        self.factors = factors
        self.regularization = regularization
        self.alpha = alpha
        self.iterations = iterations
        self.use_gpu = use_gpu
        self.random_state = random_state
        self.progress = progress

    def _check_params(self):
        if self.confidence not in ("log", "linear"):
            raise ValueError(f"confidence must be 'log' or 'linear', got {self.confidence!r}")

    def _fit(self, user_items, features):
        import implicit
        gpu = bool(self.use_gpu and implicit.gpu.HAS_CUDA)
        user_items = self._confidence_weights(user_items)
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

    def _confidence_weights(self, X):
        if self.confidence == "log":
            X = X.copy()
            X.data = (np.log1p(X.data) / np.log(2.0)).astype(np.float32)
        return X

    def _score(self, user_index):
        return self.user_factors_[user_index] @ self.item_factors_.T

    def _score_history(self, X, R):
        solver = getattr(self, "_fold_in", None)
        if solver is None or solver.item_factors is not self.item_factors_:  # new or grown item factors
            solver = self._fold_in = ALSFoldIn(self.item_factors_, self.regularization, self.alpha)
        return solver(self._confidence_weights(X)) @ self.item_factors_.T

    def _factor_form(self):
        return self.user_factors_, self.item_factors_

    def _item_vectors(self):
        v, norms = normalize_rows(self.item_factors_, return_norms=True)
        return v, norms > 0

    def _get_state(self):
        return {"user_factors": self.user_factors_, "item_factors": self.item_factors_}

    def _set_state(self, state):
        self.user_factors_ = state["user_factors"]
        self.item_factors_ = state["item_factors"]


class ALSVisualRecommender(ALSRecommender):
    """Implicit ALS with a visual prior: items without interactions get factors from their image.

    Warm items keep their ALS factors. Each item with a vector but no history (a cold catalog
    item, or one added later with :meth:`add_items`) is placed in the factor space by

    - ``prior="neighbours"`` (default): the softmax-weighted mean factors of its
      ``prior_neighbours`` visually nearest warm items; or
    - ``prior="ridge"``: a ridge regression from item vector to item factors, fitted on the
      warm items (``ridge_alpha`` is the penalty).

    Parameters
    ----------
    factors, regularization, alpha, iterations, confidence, use_gpu, random_state, progress :
        as :class:`ALSRecommender`.
    prior : {"neighbours", "ridge"}
    prior_neighbours : int
    temperature : float
    ridge_alpha : float
    """

    name = "als-visual"
    uses_visual = True
    scores_cold_items = True
    requires_features = True

    def __init__(self, factors: int = 64, regularization: float = 10.0, alpha: float = 2.0,
                 iterations: int = 15, confidence: str = "log", use_gpu: bool = False, random_state: int = 0,
                 progress: bool = True, prior: str = "neighbours", prior_neighbours: int = 50,
                 temperature: float = 0.05, ridge_alpha: float = 1.0):
        super().__init__(factors, regularization, alpha, iterations, confidence, use_gpu, random_state, progress)
        self.prior = prior
        self.prior_neighbours = prior_neighbours
        self.temperature = temperature
        self.ridge_alpha = ridge_alpha

    def _check_params(self):
        super()._check_params()
        if self.prior not in ("neighbours", "ridge"):
            raise ValueError(f"prior must be 'neighbours' or 'ridge', got {self.prior!r}")

    def _fit(self, user_items, features):
        super()._fit(user_items, features)
        self.item_vectors_, self.present_ = features.vectors, features.present
        self.warm_ = (item_user_counts(user_items) > 0) & self.present_
        if self.prior == "ridge":
            F, V = self.item_vectors_[self.warm_], self.item_factors_[self.warm_]
            A = F.T @ F + self.ridge_alpha * np.eye(F.shape[1], dtype=np.float32)
            self.ridge_ = np.linalg.solve(A, F.T @ V).astype(np.float32)
        cold = np.flatnonzero((item_user_counts(user_items) == 0) & self.present_)
        self.item_factors_[cold] = self._prior(cold)

    def _prior(self, vectors: np.ndarray) -> np.ndarray:
        """Factors placed from images: ``vectors`` are new items' vectors, or (1-d) rows of ``item_vectors_``."""
        if len(vectors) == 0 or not self.warm_.any():
            return np.zeros((len(vectors), self.item_factors_.shape[1]), np.float32)
        if self.prior == "ridge":
            return ((self.item_vectors_[vectors] if vectors.ndim == 1 else vectors) @ self.ridge_).astype(np.float32)
        return place_by_neighbours(vectors, self.item_vectors_, np.flatnonzero(self.warm_), self.item_factors_,
                                   self.prior_neighbours, self.temperature)

    def _add_items(self, features):
        V = self._prior(features.vectors)
        V[~features.present] = 0
        self.item_factors_ = np.vstack([self.item_factors_, V])
        self.item_vectors_ = np.vstack([self.item_vectors_, features.vectors])
        self.present_ = np.concatenate([self.present_, features.present])
        self.warm_ = np.concatenate([self.warm_, np.zeros(features.n_items, bool)])

    def _visual_vectors(self):
        return self.item_vectors_, self.present_

    def _get_state(self):
        st = super()._get_state()
        st.update(item_vectors=self.item_vectors_, present=self.present_, warm=self.warm_)
        if self.prior == "ridge":
            st["ridge"] = self.ridge_
        return st

    def _set_state(self, state):
        super()._set_state(state)
        self.item_vectors_ = state["item_vectors"]
        self.present_ = state["present"].astype(bool)
        self.warm_ = state["warm"].astype(bool)
        if "ridge" in state:
            self.ridge_ = state["ridge"]
