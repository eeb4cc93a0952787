"""Cold items that look like items that sell: a visual-neighbour popularity prior plus the user's visual taste."""

from __future__ import annotations

import numpy as np

from recsys.data import item_user_counts

from .base import Recommender
from .visual_content import VisualContentRecommender


def neighbour_prior(query: np.ndarray, gallery: np.ndarray, values: np.ndarray, n_neighbors: int,
                    temperature: float, block: int = 2048) -> np.ndarray:
    """Softmax-weighted mean of ``values`` over each query's nearest gallery vectors.

    Parameters
    ----------
    query : ndarray (n_query, dim)
        L2-normalised vectors to estimate a value for.
    gallery : ndarray (n_gallery, dim)
        L2-normalised vectors whose ``values`` are known.
    values : ndarray (n_gallery,)
    n_neighbors : int
        Neighbours per query (all of the gallery when it is smaller).
    temperature : float
        Softmax temperature over the neighbours' cosines.
    block : int
        Queries per matrix product (memory bound: ``block x n_gallery`` floats).

    Returns
    -------
    ndarray (n_query,) of float32
    """
    out = np.zeros(len(query), np.float32)
    if len(gallery) == 0 or len(query) == 0:
        return out
    k = min(int(n_neighbors), len(gallery))
    for s in range(0, len(query), block):
        sim = query[s:s + block] @ gallery.T
        nb = np.argpartition(-sim, k - 1, axis=1)[:, :k] if k < sim.shape[1] else np.tile(np.arange(k), (len(sim), 1))
        top = np.take_along_axis(sim, nb, axis=1)
        w = np.exp((top - top.max(axis=1, keepdims=True)) / temperature)
        out[s:s + block] = (w * values[nb]).sum(axis=1) / w.sum(axis=1)
    return out


class NeighbourPopularityRecommender(Recommender):
    """"Looks like what sells, and like what you bought": a popularity prior read from the image, plus taste.

    ``score(u, i) = z_u(taste(u, i)) + prior_weight * z(prior(i))`` where ``taste`` is the visual
    kernel density of the user's items (:class:`recsys.models.visual_content.VisualContentRecommender`,
    standardised per user over the catalog) and ``prior(i)`` is ``log(1 + n_i)`` (``n_i``: users who
    interacted with item ``i``) for items with history and, for items without history, the
    softmax-weighted mean of ``log(1 + n_j)`` over their ``n_neighbors`` visually nearest items with
    history (standardised over the catalog). A new item that looks like best sellers ranks above one that
    looks like items nobody buys; ``prior_weight=0`` is the visual taste model alone.

    Parameters
    ----------
    n_neighbors : int
        Items with history that estimate a new item's prior.
    temperature : float
        Softmax temperature over the neighbours' cosines.
    prior_weight : float
        Weight of the standardised prior against the standardised taste score (>= 0).
    kernel_temperature : float
        Kernel width of the taste model (cosine units).
    """

    name = "visual-popularity"
    uses_visual = True
    requires_features = True
    similar_by_image = True

    def __init__(self, n_neighbors: int = 50, temperature: float = 0.05, prior_weight: float = 1.0,
                 kernel_temperature: float = 0.05):
        self.n_neighbors = n_neighbors
        self.temperature = temperature
        self.prior_weight = prior_weight
        self.kernel_temperature = kernel_temperature

    def _check_params(self):
        if int(self.n_neighbors) < 1:
            raise ValueError(f"n_neighbors must be >= 1, got {self.n_neighbors}")
        for p in ("temperature", "kernel_temperature"):
            if not getattr(self, p) > 0:
                raise ValueError(f"{p} must be > 0, got {getattr(self, p)}")
        if not self.prior_weight >= 0:
            raise ValueError(f"prior_weight must be >= 0, got {self.prior_weight}")

    def _fit(self, user_items, features):
        self.taste_ = VisualContentRecommender(temperature=self.kernel_temperature).fit_matrix(user_items, features)
        self.log_counts_ = np.log1p(item_user_counts(user_items)).astype(np.float32)
        self.warm_ = self.log_counts_ > 0
        self.prior_ = self._estimate(features.vectors, features.present, self.log_counts_.copy())

    def _estimate(self, vectors, present, prior) -> np.ndarray:
        """Priors of the rows of ``vectors``: given values where ``prior > 0``, else from the neighbours."""
        E, warm = self.taste_.item_vectors_, self.warm_ & self.taste_.present_
        cold = prior <= 0
        mean = float(self.log_counts_[warm].mean()) if warm.any() else 0.0
        prior[cold] = mean  # items without a vector: the average item with history
        q = np.flatnonzero(cold & present)
        prior[q] = neighbour_prior(vectors[q], E[warm], self.log_counts_[warm], self.n_neighbors, self.temperature)
        return prior.astype(np.float32)

    def _prior_z(self) -> np.ndarray:
        p = self.prior_
        return ((p - p.mean()) / max(float(p.std()), 1e-6)).astype(np.float32)

    def _score_history(self, X, R):
        s = np.asarray(self.taste_.score_history(X, R), np.float32)
        s -= s.mean(axis=1, keepdims=True)
        s /= np.maximum(s.std(axis=1, keepdims=True), 1e-6)
        if self.prior_weight:
            s += np.float32(self.prior_weight) * self._prior_z()[None, :]
        return s

    def _item_vectors(self):
        return self.taste_.item_vectors_, self.taste_.present_

    def _visual_vectors(self):
        return self.taste_.item_vectors_, self.taste_.present_

    def _add_items(self, features):
        new = self._estimate(features.vectors, features.present, np.zeros(features.n_items, np.float32))
        self.taste_.extend_items(features)
        self.prior_ = np.concatenate([self.prior_, new])
        self.log_counts_ = np.concatenate([self.log_counts_, np.zeros(features.n_items, np.float32)])
        self.warm_ = np.concatenate([self.warm_, np.zeros(features.n_items, bool)])

    def _get_state(self):
        return {"prior": self.prior_, "log_counts": self.log_counts_,
                **{f"taste.{k}": v for k, v in self.taste_.get_state().items()}}

    def _set_state(self, state):
        self.prior_ = np.asarray(state["prior"], np.float32)
        self.log_counts_ = np.asarray(state["log_counts"], np.float32)
        self.warm_ = self.log_counts_ > 0
        self.taste_ = VisualContentRecommender(temperature=self.kernel_temperature)
        taste = {k[len("taste."):]: v for k, v in state.items() if k.startswith("taste.")}
        self.taste_.restore(None, None, self.user_items_, taste, feature_signature=self.feature_signature_)
