"""First hybrid: "visually similar and you may like" -- collaborative and visual scores blended."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from recsys.data import item_user_counts

from .als import ALSRecommender, _normalise
from .base import Recommender, topk
from .visual_content import VisualContentRecommender


def _zscore(s: np.ndarray) -> np.ndarray:
    mu = s.mean(axis=1, keepdims=True)
    sd = s.std(axis=1, keepdims=True)
    return (s - mu) / np.maximum(sd, 1e-6)


class HybridRecommender(Recommender):
    """Blend of implicit ALS and the visual content model, with a visual prior for cold items.

    ``score = alpha * z(ALS) + (1 - alpha) * z(visual)``, each standardised per user over the
    catalog. Items without interactions get ALS factors borrowed from their visually nearest
    items with history (softmax over the ``cold_neighbours`` nearest), so a new item with only a
    photo is scored by both parts.

    Parameters
    ----------
    alpha : float in [0, 1] or "auto"
        Weight of the collaborative part. ``"auto"`` picks it from ``alpha_grid`` by NDCG@10 on
        a validation split of the training data (10% of each user's items), then refits on all.
    alpha_grid : tuple of float
    factors, regularization, als_alpha, iterations : ALS hyper-parameters.
    cold_neighbours : int
        Visual neighbours used to place a cold item in the ALS factor space.
    temperature : float
        Softmax temperature over the neighbours' cosine similarities.
    """

    name = "hybrid"
    uses_visual = True
    requires_features = True

    def __init__(self, alpha="auto", alpha_grid=(0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 1.0), factors: int = 64,
                 regularization: float = 10.0, als_alpha: float = 2.0, iterations: int = 15, cold_neighbours: int = 50,
                 temperature: float = 0.05, random_state: int = 0, progress: bool = True):
        if alpha != "auto" and not 0.0 <= float(alpha) <= 1.0:
            raise ValueError(f"alpha must be in [0, 1] or 'auto', got {alpha!r}")
        self.alpha = alpha
        self.alpha_grid = tuple(alpha_grid)
        self.factors = factors
        self.regularization = regularization
        self.als_alpha = als_alpha
        self.iterations = iterations
        self.cold_neighbours = cold_neighbours
        self.temperature = temperature
        self.random_state = random_state
        self.progress = progress

    def _parts(self, user_items=None):
        cf = ALSRecommender(self.factors, self.regularization, self.als_alpha, self.iterations,
                            random_state=self.random_state, progress=self.progress)
        vis = VisualContentRecommender()
        cf.user_items_ = vis.user_items_ = self.user_items_ if user_items is None else user_items
        return cf, vis

    def _fit_parts(self, user_items, features):
        self.cf_, self.vis_ = self._parts(user_items)
        self.cf_._fit(user_items, None)
        self.vis_._fit(user_items, features)
        self._impute_cold_factors(user_items)

    def _fit(self, user_items, features):
        if self.alpha == "auto":
            self.alpha_ = self._select_alpha(user_items, features)
        else:
            self.alpha_ = float(self.alpha)
        self._fit_parts(user_items, features)

    def _select_alpha(self, user_items, features, max_users: int = 3000) -> float:
        """Blend weight with the best NDCG@10 on a per-user 10% validation split."""
        from evaluation.metrics import ranking_metrics
        rng = np.random.default_rng(self.random_state)
        X = user_items.tocoo()
        per_user = np.diff(user_items.indptr)[X.row]
        val = (rng.random(len(X.data)) < 0.1) & (per_user >= 5)
        if val.sum() == 0:
            return 0.8
        fit_X = sp.csr_matrix((X.data[~val], (X.row[~val], X.col[~val])), shape=X.shape)
        val_X = sp.csr_matrix((X.data[val], (X.row[val], X.col[val])), shape=X.shape)
        self._fit_parts(fit_X, features)
        users = np.flatnonzero(np.diff(val_X.indptr) > 0)
        if len(users) > max_users:
            users = np.sort(rng.choice(users, max_users, replace=False))
        cf = _zscore(self.cf_._score(users))
        vis = _zscore(self.vis_._score(users))
        seen = fit_X[users]
        rows = np.repeat(np.arange(len(users)), np.diff(seen.indptr))
        best, best_a = -1.0, 0.8
        for a in self.alpha_grid:
            sc = a * cf + (1.0 - a) * vis
            sc[rows, seen.indices] = -np.inf
            idx, _ = topk(sc, 10)
            ndcg = float(ranking_metrics(idx, val_X, users, (10,))["ndcg@10"].mean())
            if ndcg > best:
                best, best_a = ndcg, float(a)
        self.validation_ndcg_ = best
        return best_a

    def _impute_cold_factors(self, user_items):
        counts = item_user_counts(user_items)
        E, present = self.vis_.item_vectors_, self.vis_.present_
        cold = np.flatnonzero((counts == 0) & present)
        warm = np.flatnonzero((counts > 0) & present)
        if len(cold) == 0 or len(warm) == 0:
            return
        V = self.cf_.item_factors_
        for s in range(0, len(cold), 1024):
            c = cold[s:s + 1024]
            nb, sim = topk(E[c] @ E[warm].T, self.cold_neighbours)
            w = np.exp((sim - sim[:, :1]) / self.temperature)
            w /= w.sum(axis=1, keepdims=True)
            V[c] = np.einsum("ck,ckf->cf", w, V[warm[nb]])

    def _score(self, user_index):
        cf = self.cf_._score(user_index)
        vis = self.vis_._score(user_index)
        return self.alpha_ * _zscore(cf) + (1.0 - self.alpha_) * _zscore(vis)

    def _item_vectors(self):
        # inner product = alpha * cos(CF) + (1 - alpha) * cos(visual)
        cf = _normalise(self.cf_.item_factors_) * np.sqrt(self.alpha_)
        vis = self.vis_.item_vectors_ * np.sqrt(1.0 - self.alpha_)
        present = self.vis_.present_ | (np.linalg.norm(self.cf_.item_factors_, axis=1) > 0)
        return np.hstack([cf, vis]).astype(np.float32), present

    def _visual_vectors(self):
        return self.vis_._visual_vectors()

    def _get_state(self):
        st = {f"cf.{k}": v for k, v in self.cf_._get_state().items()}
        st.update({f"vis.{k}": v for k, v in self.vis_._get_state().items()})
        st["alpha"] = np.asarray(self.alpha_, dtype=np.float64)
        return st

    def _set_state(self, state):
        self.cf_, self.vis_ = self._parts()
        self.cf_._set_state({k[3:]: v for k, v in state.items() if k.startswith("cf.")})
        self.vis_._set_state({k[4:]: v for k, v in state.items() if k.startswith("vis.")})
        self.alpha_ = float(state["alpha"])
