"""LightFM (Kula 2015) with compact visual item features."""

from __future__ import annotations

import os

import numpy as np
import scipy.sparse as sp
from tqdm.auto import tqdm

from features.codebook import VisualCodebook, lightfm_item_features
from recsys.vectors import normalize_rows

from .base import Recommender
from .foldin import fold_in_bpr


class LightFMRecommender(Recommender):
    """Hybrid matrix factorisation: an item is the sum of the embeddings of its features.

    Item features are a per-item indicator plus, with ``item_features="visual"``, the item's few
    nearest "visual words" (k-means centroids of the image vectors), so items with only a
    photo share embeddings with visually close items that have history.

    Parameters
    ----------
    item_features : {"visual", "none", "visual-dense"}
        ``"visual"``: compact visual codes (fast); ``"none"``: pure CF; ``"visual-dense"``:
        the raw dense image vectors as features (hundreds of times slower; for comparison).
    no_components, loss, learning_rate, item_alpha, user_alpha, max_sampled, epochs :
        LightFM hyper-parameters.
    n_clusters, n_nearest : visual codebook size and non-zeros per item.
    n_jobs : int, optional
        LightFM's threads (default: all CPUs).
    """

    name = "lightfm"

    def __init__(self, item_features: str = "visual", no_components: int = 64, loss: str = "warp",
                 learning_rate: float = 0.05, item_alpha: float = 0.0, user_alpha: float = 0.0,
                 max_sampled: int = 10, epochs: int = 20, n_clusters: int | None = None, n_nearest: int = 3,
                 n_jobs: int | None = None, random_state: int = 0, progress: bool = True):
        self.item_features = item_features
        self.no_components = no_components
        self.loss = loss
        self.learning_rate = learning_rate
        self.item_alpha = item_alpha
        self.user_alpha = user_alpha
        self.max_sampled = max_sampled
        self.epochs = epochs
        self.n_clusters = n_clusters
        self.n_nearest = n_nearest
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.progress = progress

    def _check_params(self):
        if self.item_features not in ("visual", "none", "visual-dense"):
            raise ValueError(f"item_features must be 'visual', 'none' or 'visual-dense', got {self.item_features!r}")

    @property
    def scores_cold_items(self) -> bool:
        return self.item_features != "none"

    @property
    def uses_visual(self) -> bool:
        return self.item_features != "none"

    @property
    def requires_features(self) -> bool:
        return self.item_features != "none"

    def item_feature_matrix(self, features) -> sp.csr_matrix | None:
        """The LightFM item-feature matrix for these item features (fits the codebook)."""
        n = features.n_items if features is not None else None
        if self.item_features == "none":
            return None
        if self.item_features == "visual":
            self.codebook_ = VisualCodebook(self.n_clusters, self.n_nearest, random_state=self.random_state)
            self.codebook_.fit(features)
            return lightfm_item_features(n, self.codebook_.transform(features))
        dense = sp.csr_matrix(features.vectors)
        return sp.hstack([sp.identity(n, dtype=np.float32, format="csr"), dense], format="csr").astype(np.float32)

    def _fit(self, user_items, features):
        from lightfm import LightFM
        F = self.item_feature_matrix(features)
        X = user_items.tocoo(copy=True)
        X.data[:] = 1.0
        model = LightFM(no_components=self.no_components, loss=self.loss, learning_rate=self.learning_rate,
                        item_alpha=self.item_alpha, user_alpha=self.user_alpha, max_sampled=self.max_sampled,
                        random_state=self.random_state)
        threads = self.n_jobs or os.cpu_count() or 1
        for _ in tqdm(range(self.epochs), desc="lightfm epochs", disable=not self.progress):
            model.fit_partial(X, item_features=F, num_threads=threads)
        n_items = user_items.shape[1]
        if features is not None and self.item_features != "none":
            self.visual_vectors_, self.visual_present_ = features.vectors, features.present
        if F is None:
            F = sp.identity(n_items, dtype=np.float32, format="csr")
        self.item_repr_ = np.asarray(F @ model.item_embeddings, dtype=np.float32)
        self.item_bias_ = np.asarray(F @ model.item_biases, dtype=np.float32)
        self.user_repr_ = model.user_embeddings.astype(np.float32)
        self.feature_embeddings_ = model.item_embeddings.astype(np.float32)
        self.feature_biases_ = model.item_biases.astype(np.float32)

    def _score(self, user_index):
        return self.user_repr_[user_index] @ self.item_repr_.T + self.item_bias_

    def _score_history(self, X, R):
        U = fold_in_bpr(self.item_repr_, self.item_bias_, X, reg=max(float(self.user_alpha), 0.01),
                        random_state=self.random_state)
        return U @ self.item_repr_.T + self.item_bias_

    def _factor_form(self):
        ones = np.ones((len(self.user_repr_), 1), np.float32)
        return np.hstack([self.user_repr_, ones]), np.hstack([self.item_repr_, self.item_bias_[:, None]])

    def _item_vectors(self):
        v, norms = normalize_rows(self.item_repr_, return_norms=True)
        return v, norms > 0

    def _visual_vectors(self):
        if not hasattr(self, "visual_vectors_"):
            return None
        return self.visual_vectors_, self.visual_present_

    def _add_items(self, features):
        if self.item_features != "visual" or not hasattr(self, "codebook_"):
            raise NotImplementedError("LightFMRecommender places new items by their visual codes: only "
                                      "item_features='visual' supports add_items")
        codes = self.codebook_.transform(features)
        n_codes = codes.shape[1]
        # training rows were [identity | codes] normalised to sum 1: a new item has no identity part
        codes = codes * np.float32(0.5)
        emb, bias = self.feature_embeddings_[-n_codes:], getattr(self, "feature_biases_", None)
        self.item_repr_ = np.vstack([self.item_repr_, np.asarray(codes @ emb, np.float32)])
        nb = np.zeros(features.n_items, np.float32) if bias is None else np.asarray(codes @ bias[-n_codes:])
        self.item_bias_ = np.concatenate([self.item_bias_, nb.astype(np.float32)])
        self.visual_vectors_ = np.vstack([self.visual_vectors_, features.vectors])
        self.visual_present_ = np.concatenate([self.visual_present_, features.present])

    def _get_state(self):
        st = {"item_repr": self.item_repr_, "item_bias": self.item_bias_, "user_repr": self.user_repr_,
              "feature_embeddings": self.feature_embeddings_}
        if hasattr(self, "feature_biases_"):
            st["feature_biases"] = self.feature_biases_
        if hasattr(self, "codebook_"):
            st["centroids"] = self.codebook_.centroids_
        if hasattr(self, "visual_vectors_"):
            st["visual_vectors"], st["visual_present"] = self.visual_vectors_, self.visual_present_
        return st

    def _set_state(self, state):
        self.item_repr_ = state["item_repr"]
        self.item_bias_ = state["item_bias"]
        self.user_repr_ = state["user_repr"]
        self.feature_embeddings_ = state["feature_embeddings"]
        if "feature_biases" in state:
            self.feature_biases_ = state["feature_biases"]
        if "visual_vectors" in state:
            self.visual_vectors_ = state["visual_vectors"]
            self.visual_present_ = state["visual_present"].astype(bool)
        if "centroids" in state:
            self.codebook_ = VisualCodebook(self.n_clusters, self.n_nearest, random_state=self.random_state)
            self.codebook_.centroids_ = state["centroids"]
