"""The visrec hybrid: several collaborative and visual sources, blended by weights learned on validation."""

from __future__ import annotations

import numpy as np

from recsys.data import item_user_counts
from recsys.data.holdout import split_entries

from .base import Recommender
from .registry import make_model, model_names
from .rerank import mmr_rerank
from .scoring import topk
from .validation import mean_ndcg
from .candidates import attach_saved, factor_indexes
from .dense_blend import part_zscores
from .linalg import first_columns
from .weight_search import coordinate_ascent, validation_entries, validation_lister


#: the default sources: the strongest collaborative model, ALS whose item factors come from the
#: image for items without history, and the visual taste model (neighbours of the user's items)
DEFAULT_COMPONENTS = ("ease", "als-visual", "visual")
#: score cells (validation users x items) each part may hold in the weight search: 2^28 float32 = 1 GiB
VALIDATION_CELLS = 1 << 28
#: candidates per part on catalogs over ``dense_items`` (at least ``k``)
WIDE_CANDIDATES = 200


class HybridRecommender(Recommender):
    """"Visually similar and you may like": a learned blend of several models.

    Each component scores the whole catalog for a user; scores are standardised per user and summed with weights
    ``w``: ``score = sum_c w_c * z(score_c)``. Components that cannot score items without interactions
    (``scores_cold_items`` False: pure collaborative filtering) are stood in for on such items by the visual
    components (``als-visual`` places them in the factor space, ``visual`` and ``vbpr`` read their image).

    With ``weights="auto"`` the weights are learned on a validation split of the training data
    (``validation_fraction`` of each user's items, users with at least 5 items): coordinate ascent on NDCG@10
    over ``weight_grid``; the components are then refitted on all the data.

    Parameters
    ----------
    components : sequence of str
        Model names (:func:`recsys.models.registry.model_names`; default ``ease, als-visual, visual``).
    component_params : dict, optional
        ``{name: {param: value}}`` for the components.
    weights : "auto" or sequence of float
    weight_grid : sequence of float
        Candidate weights of each component in the search.
    candidates : int or None
        If set, only the union of each component's top-``candidates`` items is ranked for a
        user (candidate generation from several sources); None ranks the whole catalog up to
        ``dense_items`` items, and 200 candidates a part beyond.
    dense_items : int
        Catalogs over this many items are listed from candidates (:mod:`recsys.models.candidate_blend`):
        each part proposes its best items cheaply (EASE's exact block and sparse tail, the visual
        nearest-image graph, an inner-product index over factor models' item vectors), only those are
        scored, z-scored against a fixed sample of the catalog, and blended.
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
        Validation users in the weight search. The dense search holds users x items scores per part, so
        it takes fewer users for catalogs over ``VALIDATION_CELLS / max_validation_users`` items (2^28
        cells); over ``dense_items`` the search ranks the users' candidate lists as listing does
        (:mod:`recsys.models.weight_search`) and takes them all.
    random_state : int
    progress : bool
    """

    name = "hybrid"
    uses_visual = True
    requires_features = True

    def __init__(self, components=DEFAULT_COMPONENTS, component_params=None, weights="auto",
                 weight_grid=(0.0, 0.25, 0.5, 1.0, 2.0, 4.0), candidates: int | None = None, diversity: float = 0.0,
                 validation: str = "random", validation_fraction: float = 0.1, validation_days: float = 28.0,
                 max_validation_users: int = 3000, random_state: int = 0, progress: bool = True,
                 dense_items: int = 200_000):
        self.components = components
        self.component_params = component_params
        self.weights = weights
        self.weight_grid = weight_grid
        self.candidates = candidates
        self.diversity = diversity
        self.validation = validation
        self.validation_fraction = validation_fraction
        self.validation_days = validation_days
        self.max_validation_users = max_validation_users
        self.random_state = random_state
        self.progress = progress
        self.dense_items = dense_items

    def _check_params(self):
        names = [m for m in model_names() if m != self.name]
        unknown = [c for c in self.components if c not in names]
        if not len(self.components) or unknown:
            raise ValueError(f"unknown hybrid component(s) {unknown}; choose from {', '.join(names)}")
        if self.weights != "auto" and len(self.weights) != len(self.components):
            raise ValueError(f"weights has {len(self.weights)} values for {len(self.components)} components")
        if not 0.0 <= self.diversity <= 1.0:
            raise ValueError(f"diversity must be in [0, 1], got {self.diversity}")
        if self.validation not in ("random", "temporal", "cold-items"):
            raise ValueError(f"validation must be 'random', 'temporal' or 'cold-items', got {self.validation!r}")

    @property
    def uses_recency(self) -> bool:
        return self.validation == "temporal" or any(m.uses_recency for m in self._make_parts())

    # -- fitting -----------------------------------------------------------------------------
    def _make_parts(self):
        parts = []
        for c in self.components:
            p = dict((self.component_params or {}).get(c, {}))
            m = make_model(c, **p)
            for shared in ("progress", "random_state"):  # the hybrid's own, unless the part's params say
                if shared in m.get_params() and shared not in p:
                    setattr(m, shared, getattr(self, shared))
            parts.append(m)
        return parts

    def _fit_parts(self, user_items, recency, features):
        self.parts_ = self._make_parts()
        for m in self.parts_:
            m.fit_matrix(user_items, features if (m.uses_visual or m.requires_features) else None, recency=recency)

    def _fit(self, user_items, features):
        self._features = features
        if self.weights == "auto":
            self.weights_ = self._learn_weights(user_items, features)
        else:
            self.weights_ = np.asarray([float(w) for w in self.weights], np.float32)
        self._fit_parts(user_items, self.recency_, features)
        self.item_vectors_, self.present_ = features.vectors, features.present
        self.cold_ = (item_user_counts(user_items) == 0) & features.present
        del self._features

    def _learn_weights(self, user_items, features) -> np.ndarray:
        rng = np.random.default_rng(self.random_state)
        n = len(self.components)
        val, held = validation_entries(self.validation, user_items, self.recency_, rng,
                                       self.validation_fraction, self.validation_days)
        if val.sum() == 0 or n == 1:
            return np.ones(n, np.float32)
        fit_X, val_X = split_entries(user_items, val)
        fit_R = None
        if self.recency_ is not None:
            shift = self.validation_days if self.validation == "temporal" else 0.0
            fit_R = split_entries(self.recency_, val, shift=shift)[0]
        self._fit_parts(fit_X, fit_R, features)
        users = np.flatnonzero(np.diff(val_X.indptr) > 0)
        wide = user_items.shape[1] > self.dense_items
        # the dense search holds users x items scores per part: fewer users for wide catalogs, memory bounded
        most = self.max_validation_users if wide else \
            max(100, min(self.max_validation_users, VALIDATION_CELLS // max(1, user_items.shape[1])))
        if len(users) > most:
            users = np.sort(rng.choice(users, most, replace=False))
        cold = (item_user_counts(fit_X) == 0) & features.present
        lists = validation_lister(self.parts_, fit_X, users, held, cold, self.validation,
                                  wide_candidates=max(int(self.candidates or WIDE_CANDIDATES), 10) if wide else 0)
        w, self.validation_ndcg_ = coordinate_ascent(lambda w: mean_ndcg(lists(w), val_X, users, 10), n,
                                                     self.weight_grid)
        return w

    # -- scoring -----------------------------------------------------------------------------
    @property
    def scores_sessions(self) -> bool:
        parts = getattr(self, "parts_", None)
        if parts is None:
            return all(m.scores_sessions for m in self._make_parts())
        return all(m.scores_sessions for w, m in zip(self.weights_, parts) if w or m.uses_visual)

    def _score(self, user_index):
        return self._blend(user_index, None)

    def _score_history(self, X, R):
        return self._blend(np.arange(X.shape[0]), (X, R))

    def _blend(self, user_index, history):
        Z = part_zscores(user_index, list(zip(self.weights_, self.parts_)), self.cold_, history)
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
        if self.n_items > self.dense_items and kw.get("device", "cpu") == "cpu" and not self.diversity:
            return self._recommend_wide(user_index, k, exclude_seen, kw.get("candidates"), kw.get("exclude"))
        if not self.diversity:
            return super().recommend_index(user_index, k, exclude_seen, **kw)
        idx, sc = super().recommend_index(user_index, 3 * k, exclude_seen, **kw)
        return mmr_rerank(idx, sc, self.item_vectors_, k, self.diversity)

    def _recommend_wide(self, user_index, k, exclude_seen, candidates, exclude):
        """Lists of a catalog over ``dense_items``: from the union of the parts' candidates
        (:mod:`recsys.models.candidate_blend`), never a dense users x items block."""
        from .candidate_blend import blend_topk
        from .scoring import blocked_items, list_masks
        self._check_fitted()
        masks = list_masks(self.user_items_ if exclude_seen else None, exclude)
        cache = self._candidates_cache()
        return blend_topk(self.parts_, self.weights_, self.cold_, user_index, k,
                          c=max(int(self.candidates or WIDE_CANDIDATES), k), masks=masks,
                          blocked=blocked_items(candidates, self.n_items), cache=cache)

    def candidate_indexes(self) -> dict:
        """On catalogs over ``dense_items``: the inner-product index of each factor part's item vectors
        (``{component: VectorIndex}``), built now if not yet, so that a saved model lists at once."""
        if self.n_items <= self.dense_items:
            return {}
        return factor_indexes(self.components, self.weights_, self.parts_, self._candidates_cache())

    def attach_candidate_indexes(self, folder) -> None:
        attach_saved(self.components, self.parts_, folder, self._candidates_cache())

    def _candidates_cache(self) -> dict:
        """Factor indexes (and saved ones to load) of the candidate path, kept with the fitted model."""
        return self.__dict__.setdefault("_candidate_cache", {})

    def recommend_history_index(self, X, k: int = 10, exclude_seen: bool = True, **kw):
        if not self.diversity:
            return super().recommend_history_index(X, k, exclude_seen, **kw)
        idx, sc = super().recommend_history_index(X, 3 * k, exclude_seen, **kw)
        return mmr_rerank(idx, sc, self.item_vectors_, k, self.diversity)

    def _item_vectors(self):
        # similar items: the image vectors joined with the collaborative item vectors of the parts
        blocks, present = [self.item_vectors_], self.present_.copy()
        for w, m in zip(self.weights_, self.parts_):
            iv = m.item_vectors() if w and not m.similar_by_image else None
            if iv is not None:
                v, p = iv
                blocks.append(v * np.sqrt(w / max(1.0, float(self.weights_.sum()))))
                present |= p
        return np.hstack(blocks).astype(np.float32), present

    def _visual_vectors(self):
        return self.item_vectors_, self.present_

    def _add_items(self, features):
        placed, old = 0, self.item_vectors_
        shared = [m for m in self.parts_ if getattr(m, "item_vectors_", None) is old]
        for m in self.parts_:
            try:
                m.extend_items(features)
            except NotImplementedError:  # e.g. EASE: the new items get a neutral score from it
                continue
            placed += 1
        if not placed:
            raise NotImplementedError("no component of this hybrid can score items without interactions")
        self.item_vectors_ = np.vstack([self.item_vectors_, features.vectors])
        for m in shared:  # the parts' grown copies are the same rows: one array for all, as after fit
            if m.item_vectors_.shape == self.item_vectors_.shape:
                m.item_vectors_ = self.item_vectors_
        self.present_ = np.concatenate([self.present_, features.present])
        self.cold_ = np.concatenate([self.cold_, features.present])

    # -- persistence -------------------------------------------------------------------------
    def _get_state(self):
        st = {"weights": self.weights_, "item_vectors": self.item_vectors_, "present": self.present_,
              "cold": self.cold_}
        for c, m in zip(self.components, self.parts_):
            st.update({f"{c}.{k}": v for k, v in m.get_state().items()})
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
            m.restore(None, None, first_columns(self.user_items_, int(n)),
                      {k[len(c) + 1:]: v for k, v in state.items() if k.startswith(c + ".")},
                      recency=None if R is None else first_columns(R, int(n)),
                      feature_signature=self.feature_signature_)
