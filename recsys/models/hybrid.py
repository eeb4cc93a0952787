"""The visrec hybrid: several collaborative and visual sources, blended by weights learned on validation."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from recsys.data import item_user_counts

from .base import Recommender, topk, widen
from .rerank import mmr_rerank


def _zscore(s: np.ndarray) -> np.ndarray:
    s = np.asarray(s, dtype=np.float32)
    mu = s.mean(axis=1, keepdims=True)
    sd = s.std(axis=1, keepdims=True)
    s = s - mu
    s /= np.maximum(sd, 1e-6)
    return s


#: parts that see only interactions; on items without history the visual parts stand in for them
_COLLABORATIVE = {"als", "ease", "itemknn", "sequence-knn"}

#: the default sources: the strongest collaborative model, ALS whose item factors come from the
#: image for items without history, and the visual taste model (neighbours of the user's items)
DEFAULT_COMPONENTS = ("ease", "als-visual", "visual")


class HybridRecommender(Recommender):
    """"Visually similar and you may like": a learned blend of several models.

    Each component scores the whole catalog for a user; scores are standardised per user and
    summed with weights ``w``: ``score = sum_c w_c * z(score_c)``. Items with only a photo are
    scored by the visual components (``als-visual`` places them in the collaborative factor
    space, ``visual`` and ``vbpr`` read their image), so they compete with items with history.

    With ``weights="auto"`` the weights are learned on a validation split of the training data
    (``validation_fraction`` of each user's items, users with at least 5 items): coordinate
    ascent on NDCG@10 over ``weight_grid``; the components are then refitted on all the data.

    Parameters
    ----------
    components : sequence of str
        Model names from :data:`recsys.models.MODELS` (default ``ease, als-visual, visual``).
    component_params : dict, optional
        ``{name: {param: value}}`` for the components.
    weights : "auto" or sequence of float
    weight_grid : sequence of float
        Candidate weights of each component in the search.
    candidates : int or None
        If set, only the union of each component's top-``candidates`` items is ranked for a
        user (candidate generation from several sources); None ranks the whole catalog.
    diversity : float in [0, 1]
        MMR re-ranking strength on the item image vectors (0: off).
    validation : {"random", "temporal", "cold-items"}
        ``"random"``: ``validation_fraction`` of each user's items are held out and ranked with
        the user's other items excluded (the usual offline protocol). ``"temporal"``: the last
        ``validation_days`` of the training data are held out and ranked *without* excluding
        past items (next-period purchases, repurchases included); needs timestamps.
        ``"cold-items"``: ``validation_fraction`` of the items are held out with all their
        interactions and users rank only those -- weights for new items with only a photo.
    validation_fraction : float
    validation_days : float
    max_validation_users : int
    random_state : int
    progress : bool
    """

    name = "hybrid"
    uses_visual = True
    requires_features = True

    def __init__(self, components=DEFAULT_COMPONENTS, component_params=None, weights="auto",
                 weight_grid=(0.0, 0.25, 0.5, 1.0, 2.0, 4.0), candidates: int | None = None, diversity: float = 0.0,
                 validation: str = "random", validation_fraction: float = 0.1, validation_days: float = 28.0,
                 max_validation_users: int = 3000, random_state: int = 0, progress: bool = True):
        from . import MODELS
        components = tuple(components)
        unknown = [c for c in components if c not in MODELS or c == "hybrid"]
        if not components or unknown:
            raise ValueError(f"unknown hybrid component(s) {unknown}; choose from "
                             f"{', '.join(m for m in MODELS if m != 'hybrid')}")
        if weights != "auto" and len(weights) != len(components):
            raise ValueError(f"weights has {len(weights)} values for {len(components)} components")
        if not 0.0 <= diversity <= 1.0:
            raise ValueError(f"diversity must be in [0, 1], got {diversity}")
        self.components = components
        self.component_params = dict(component_params or {})
        self.weights = weights if weights == "auto" else tuple(float(w) for w in weights)
        self.weight_grid = tuple(weight_grid)
        self.candidates = candidates
        self.diversity = diversity
        if validation not in ("random", "temporal", "cold-items"):
            raise ValueError(f"validation must be 'random', 'temporal' or 'cold-items', got {validation!r}")
        self.validation = validation
        self.validation_fraction = validation_fraction
        self.validation_days = validation_days
        self.max_validation_users = max_validation_users
        self.random_state = random_state
        self.progress = progress

    @property
    def uses_recency(self) -> bool:
        return self.validation == "temporal" or any(m.uses_recency for m in self._make_parts())

    # -- fitting -----------------------------------------------------------------------------
    def _make_parts(self):
        from . import make_model
        parts = []
        for c in self.components:
            p = dict(self.component_params.get(c, {}))
            m = make_model(c, **p)
            if "progress" in m.get_params() and "progress" not in p:
                m.progress = self.progress
            if "random_state" in m.get_params() and "random_state" not in p:
                m.random_state = self.random_state
            parts.append(m)
        return parts

    def _fit_parts(self, user_items, recency, features):
        self.parts_ = self._make_parts()
        for m in self.parts_:
            m.user_items_, m.recency_, m._index = user_items, recency, None
            m._fit(user_items, features if (m.uses_visual or m.requires_features) else None)

    def _fit(self, user_items, features):
        self._features = features
        if self.weights == "auto":
            self.weights_ = self._learn_weights(user_items, features)
        else:
            self.weights_ = np.asarray(self.weights, np.float32)
        self._fit_parts(user_items, self.recency_, features)
        self.item_vectors_, self.present_ = features.vectors, features.present
        self.cold_ = (item_user_counts(user_items) == 0) & features.present
        del self._features

    def _learn_weights(self, user_items, features) -> np.ndarray:
        from evaluation.metrics import ranking_metrics
        rng = np.random.default_rng(self.random_state)
        n = len(self.components)
        X = user_items.tocoo()
        R = self.recency_
        if self.validation == "temporal":
            if R is None:
                raise ValueError("validation='temporal' needs interactions with timestamps")
            Rc = R.tocoo()
            if not (np.array_equal(Rc.row, X.row) and np.array_equal(Rc.col, X.col)):
                raise ValueError("recency and interaction matrices do not align")
            val = Rc.data <= self.validation_days + 1.0
        elif self.validation == "cold-items":  # items held out with all their interactions
            items = np.flatnonzero(item_user_counts(user_items) > 0)
            held = rng.choice(items, max(1, int(round(len(items) * self.validation_fraction))), replace=False)
            val = np.isin(X.col, held)
        else:
            per_user = np.diff(user_items.indptr)[X.row]
            val = (rng.random(len(X.data)) < self.validation_fraction) & (per_user >= 5)
        if val.sum() == 0 or n == 1:
            return np.ones(n, np.float32)
        fit_X = sp.csr_matrix((X.data[~val], (X.row[~val], X.col[~val])), shape=X.shape)
        val_X = sp.csr_matrix((X.data[val], (X.row[val], X.col[val])), shape=X.shape)
        fit_R = None
        if R is not None:
            Rc = R.tocoo()
            keep = ~val
            shift = self.validation_days if self.validation == "temporal" else 0.0
            fit_R = sp.csr_matrix((Rc.data[keep] - shift, (Rc.row[keep], Rc.col[keep])), shape=X.shape)
        self._fit_parts(fit_X, fit_R, features)
        users = np.flatnonzero(np.diff(val_X.indptr) > 0)
        if len(users) > self.max_validation_users:
            users = np.sort(rng.choice(users, self.max_validation_users, replace=False))
        cold = (item_user_counts(fit_X) == 0) & features.present
        Z = self._part_scores(users, [(1.0, m) for m in self.parts_], cold)
        seen = fit_X[users]
        if self.validation == "temporal":  # next-period purchases may be repurchases
            seen = sp.csr_matrix(seen.shape, dtype=np.float32)
        cols = None
        if self.validation == "cold-items":  # users rank only the held-out items, none in their history
            cols = np.sort(held)
            Z = [z[:, cols] for z in Z]
            seen = sp.csr_matrix((len(users), len(cols)), dtype=np.float32)
        rows = np.repeat(np.arange(len(users)), np.diff(seen.indptr))

        def ndcg(w):
            if not np.any(w):
                return -1.0
            sc = sum(wi * z for wi, z in zip(w, Z) if wi)
            sc[rows, seen.indices] = -np.inf
            idx, _ = topk(sc, min(10, sc.shape[1]))
            if cols is not None:
                idx = cols[idx]
            if idx.shape[1] < 10:
                idx = np.hstack([idx, np.full((len(idx), 10 - idx.shape[1]), -1, idx.dtype)])
            return float(ranking_metrics(idx, val_X, users, (10,))["ndcg@10"].mean())

        w = np.ones(n, np.float32)
        best = ndcg(w)
        for _ in range(2):  # coordinate ascent, two sweeps
            improved = False
            for c in range(n):
                for g in self.weight_grid:
                    trial = w.copy()
                    trial[c] = g
                    v = ndcg(trial)
                    if v > best + 1e-6:
                        best, w, improved = v, trial, True
            if not improved:
                break
        self.validation_ndcg_ = best
        return w

    # -- scoring -----------------------------------------------------------------------------
    def _part_scores(self, user_index, parts, cold) -> list:
        """Per-user z-scores of each part (None for parts with weight 0).

        Collaborative parts cannot score items without history: their z-score on those items
        is replaced by the mean z-score of all visual parts -- those with weight 0 included --
        which place such items from their image, so a new item competes on an equal footing
        instead of sitting at the average."""
        n = len(cold)
        need_proxy = bool(cold.any()) and any(w and m.name in _COLLABORATIVE for w, m in parts)

        def z_of(m):
            s = np.asarray(m._score(user_index), np.float32)
            if s.shape[1] < n:  # items added later that this part cannot score
                s = np.hstack([s, np.repeat(s.mean(axis=1, keepdims=True), n - s.shape[1], axis=1)])
            return _zscore(s)

        Z = [z_of(m) if w else None for w, m in parts]
        if need_proxy:
            vis = [z[:, cold] if z is not None else z_of(m)[:, cold]
                   for z, (w, m) in zip(Z, parts) if m.uses_visual]
            if vis:
                proxy = sum(vis) / len(vis)
                for z, (w, m) in zip(Z, parts):
                    if z is not None and m.name in _COLLABORATIVE:
                        z[:, cold] = proxy
        return Z

    def _score(self, user_index):
        Z = self._part_scores(user_index, list(zip(self.weights_, self.parts_)), self.cold_)
        total = None
        for w, z in zip(self.weights_, Z):
            if z is not None:
                z *= w
                total = z if total is None else total + z
        if total is None:
            return np.zeros((len(user_index), len(self.present_)), np.float32)
        if self.candidates:  # the union of each source's top items
            keep = np.zeros(total.shape, bool)
            rows = np.arange(len(user_index))[:, None]
            for z in Z:
                if z is not None:
                    keep[rows, topk(z, int(self.candidates))[0]] = True
            total[~keep] = -np.inf
        return total

    def recommend_index(self, user_index, k: int = 10, exclude_seen: bool = True, **kw):
        if not self.diversity:
            return super().recommend_index(user_index, k, exclude_seen, **kw)
        idx, sc = super().recommend_index(user_index, 3 * k, exclude_seen, **kw)
        return mmr_rerank(idx, sc, self.item_vectors_, k, self.diversity)

    def _item_vectors(self):
        # similar items: the image vectors joined with the collaborative item vectors of the parts
        blocks, present = [self.item_vectors_], self.present_.copy()
        for w, m in zip(self.weights_, self.parts_):
            iv = m._item_vectors() if w and m.name not in ("visual",) else None
            if iv is not None:
                v, p = iv
                blocks.append(v * np.sqrt(w / max(1.0, float(self.weights_.sum()))))
                present |= p
        return np.hstack(blocks).astype(np.float32), present

    def _visual_vectors(self):
        return self.item_vectors_, self.present_

    def _add_items(self, features):
        n_new = len(self.present_) + features.n_items
        placed = 0
        for m in self.parts_:
            try:
                m._add_items(features)
            except NotImplementedError:  # e.g. EASE: the new items get a neutral score from it
                continue
            m.user_items_ = widen(m.user_items_, n_new)
            if getattr(m, "recency_", None) is not None:
                m.recency_ = widen(m.recency_, n_new)
            m._index = None
            placed += 1
        if not placed:
            raise NotImplementedError("no component of this hybrid can score items without interactions")
        self.item_vectors_ = np.vstack([self.item_vectors_, features.vectors])
        self.present_ = np.concatenate([self.present_, features.present])
        self.cold_ = np.concatenate([self.cold_, features.present])

    # -- persistence -------------------------------------------------------------------------
    def _get_state(self):
        st = {"weights": self.weights_, "item_vectors": self.item_vectors_, "present": self.present_,
              "cold": self.cold_}
        for c, m in zip(self.components, self.parts_):
            st.update({f"{c}.{k}": v for k, v in m._get_state().items()})
        st["part_items"] = np.asarray([m.user_items_.shape[1] for m in self.parts_], np.int64)
        return st

    def _set_state(self, state):
        self.weights_ = state["weights"]
        self.item_vectors_ = state["item_vectors"]
        self.present_ = state["present"].astype(bool)
        self.cold_ = state["cold"].astype(bool)
        self.parts_ = self._make_parts()
        n_part = state.get("part_items", [self.user_items_.shape[1]] * len(self.parts_))
        R = getattr(self, "recency_", None)
        for c, m, n in zip(self.components, self.parts_, n_part):
            m.user_items_ = self.user_items_[:, :int(n)].tocsr()
            m.recency_ = None if R is None else R[:, :int(n)].tocsr()
            m._index = None
            m._set_state({k[len(c) + 1:]: v for k, v in state.items() if k.startswith(c + ".")})
