"""What sells now, carried over to look-alikes: a visual trend-transfer model for new arrivals.

Shops restock a selling garment in new colours and cuts; those articles have no sales yet but a photo
that is almost the photo of the seller. :class:`TrendTransferRecommender` scores every item by the
time-decayed recent sales of itself and of its nearest visual neighbours, adds the shopper's own
recent items and the visual similarity to them, and so ranks unsold photos next to sold ones.
:class:`TrendRepurchaseRecommender` is the same model without pixels (its non-visual ablation).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from recsys.vectors import normalize_rows

from .base import Recommender
from .scoring import topk
from .visual_signals import decay_weights, inherited_sales, kernel_taste, transferred_sales


class TrendTransferRecommender(Recommender):
    """Own recent items + recent sales transferred to visual neighbours + visual taste.

    ``score(u, i) = own_weight * own(u, i) + trend_weight * trend(i) + personal_weight * taste(u, i)``

    - ``own(u, i)``: ``2 ** (-age / own_half_life_days)`` for items the user bought (age in days
      before the end of the training data), else 0 -- repurchases;
    - ``trend(i) = sales(i) + transfer * sum_j sales(j) * exp((cos(i, j) - 1) / temperature)`` over
      the ``neighbors`` nearest images ``j != i`` of each selling item, divided by its maximum;
      ``sales(j)``: distinct buyers, each weighted ``2 ** (-age / trend_half_life_days)``. An
      unsold photo that looks like a seller (a colour variant) inherits part of its sales, and
      items without any interaction inherit ``cold_boost`` times more;
    - ``taste(u, i)``: the kernel density of the visual model
      (:class:`recsys.models.visual_content.VisualContentRecommender`, width ``taste_temperature``)
      over the user's items weighted by ``2 ** (-age / personal_half_life_days)``, without the log
      (0 to 1).

    With ``new_slots > 0`` the new arrivals (items without any interaction) of each list take its last
    places, at least ``new_slots`` of them (as many as the blend listed if more), and they are the ones
    the user's taste ranks highest. Items without a vector get no transfer and no taste. Without
    event times every age is 0.

    Parameters
    ----------
    own_weight, trend_weight, personal_weight : float
        Weights of the three parts (>= 0).
    own_half_life_days, trend_half_life_days, personal_half_life_days : float
        Half-lives of the recency weights (> 0).
    transfer : float
        Share of a neighbour's sales an item inherits at identical images (>= 0; 0: no transfer).
    cold_boost : float
        Factor on what items without interactions (new arrivals) inherit (> 0).
    neighbors : int
        Visual neighbours each selling item passes its sales to.
    temperature : float
        Kernel width (cosine units) of the transfer.
    taste_temperature : float
        Kernel width (cosine units) of the taste.
    min_sales : float
        Items whose decayed sales are below this share of the top seller's pass nothing on (speed).
    new_slots : int
        List places reserved for new arrivals ranked by taste (0: none; needs ``personal_weight > 0``).
    """

    name = "trend-transfer"
    uses_recency = True

    def __init__(self, own_weight: float = 1.0, trend_weight: float = 1.0, personal_weight: float = 0.5,
                 own_half_life_days: float = 30.0, trend_half_life_days: float = 7.0,
                 personal_half_life_days: float = 14.0, transfer: float = 1.0, cold_boost: float = 1.0,
                 neighbors: int = 20, temperature: float = 0.05, taste_temperature: float = 0.05,
                 min_sales: float = 1e-3, new_slots: int = 0):
        self.own_weight = own_weight
        self.trend_weight = trend_weight
        self.personal_weight = personal_weight
        self.own_half_life_days = own_half_life_days
        self.trend_half_life_days = trend_half_life_days
        self.personal_half_life_days = personal_half_life_days
        self.transfer = transfer
        self.cold_boost = cold_boost
        self.neighbors = neighbors
        self.temperature = temperature
        self.taste_temperature = taste_temperature
        self.min_sales = min_sales
        self.new_slots = new_slots

    # the capability flags follow the parameters: without transfer and taste no pixel is read
    @property
    def uses_visual(self) -> bool:
        return self.transfer > 0 or self.personal_weight > 0

    @property
    def requires_features(self) -> bool:
        return self.uses_visual

    @property
    def scores_cold_items(self) -> bool:
        return self.uses_visual

    @property
    def similar_by_image(self) -> bool:
        return self.uses_visual

    def _check_params(self):
        for p in ("own_weight", "trend_weight", "personal_weight", "transfer", "min_sales"):
            if not getattr(self, p) >= 0:
                raise ValueError(f"{p} must be >= 0, got {getattr(self, p)}")
        for p in ("own_half_life_days", "trend_half_life_days", "personal_half_life_days", "temperature",
                  "taste_temperature", "cold_boost"):
            if not getattr(self, p) > 0:
                raise ValueError(f"{p} must be > 0, got {getattr(self, p)}")
        if int(self.new_slots) < 0 or (self.new_slots and not self.personal_weight > 0):
            raise ValueError(f"new_slots must be >= 0 and needs personal_weight > 0, got {self.new_slots}")
        if int(self.neighbors) < 1:
            raise ValueError(f"neighbors must be >= 1, got {self.neighbors}")

    def _fit(self, user_items, features):
        n = user_items.shape[1]
        sales = np.asarray(decay_weights(self.recency_, user_items, self.trend_half_life_days).sum(axis=0),
                           dtype=np.float32).ravel()
        if features is not None:
            self.item_vectors_ = normalize_rows(np.asarray(features.vectors, dtype=np.float32))
            self.present_ = np.asarray(features.present, dtype=bool)
        else:
            self.item_vectors_ = np.zeros((n, 0), np.float32)
            self.present_ = np.zeros(n, bool)
        trend = sales.copy()
        if self.transfer > 0:
            cold = np.diff(user_items.tocsc().indptr) == 0
            trend += self.transfer * self._transferred(sales) * np.where(cold, self.cold_boost, 1.0).astype(np.float32)
        scale = max(float(trend.max()), 1e-12)
        self.trend_ = (trend / scale).astype(np.float32)
        self.sales_ = (sales / scale).astype(np.float32)  # on the trend's scale: what new photos inherit from

    def _transferred(self, sales: np.ndarray) -> np.ndarray:
        """Sales each item inherits from the selling items whose ``neighbors`` nearest images it is among."""
        return transferred_sales(self.item_vectors_, self.present_, sales, neighbors=self.neighbors,
                                 temperature=self.temperature, min_sales=self.min_sales)

    def _taste(self, X: sp.csr_matrix, R: sp.csr_matrix | None) -> np.ndarray:
        """Recency-weighted kernel density of the rows' items (0 for items or users without a vector)."""
        return kernel_taste(self.item_vectors_, self.present_, X, R, half_life=self.personal_half_life_days,
                            temperature=self.taste_temperature)

    def _score_history(self, X, R):
        X = X.tocsr()
        sc = np.repeat(self.trend_[None, :] * np.float32(self.trend_weight), X.shape[0], axis=0)
        if self.own_weight > 0 and X.nnz:
            own = decay_weights(R, X, self.own_half_life_days)
            rows = np.repeat(np.arange(X.shape[0]), np.diff(own.indptr))
            sc[rows, own.indices] += np.float32(self.own_weight) * own.data
        if self.personal_weight > 0 and X.nnz and self.present_.any():
            sc += np.float32(self.personal_weight) * self._taste(X, R)
        return sc

    def recommend_index(self, user_index, k: int = 10, exclude_seen: bool = True, *, candidates=None,
                        exclude=None, **kwargs):
        """As :meth:`Recommender.recommend_index`; then the last ``new_slots`` places go to new arrivals."""
        idx, sc = super().recommend_index(user_index, k, exclude_seen, candidates=candidates, exclude=exclude,
                                          **kwargs)
        slots = min(int(self.new_slots), k)
        new = (np.diff(self.user_items_.tocsc().indptr) == 0) & self.present_
        if candidates is not None:
            new &= np.isin(np.arange(self.n_items), np.asarray(candidates, np.int64))
        if slots == 0 or not new.any():
            return idx, sc
        user_index = np.asarray(user_index, np.int64)
        R = self.recency_[user_index] if self.recency_ is not None else None
        taste = self._taste(self.user_items_[user_index].tocsr(), R)
        taste[:, ~new] = -np.inf
        if exclude is not None:
            ex = exclude[user_index].tocsr()
            taste[np.repeat(np.arange(len(user_index)), np.diff(ex.indptr)), ex.indices] = -np.inf
        order = np.argsort(-taste, axis=1, kind="stable")[:, :k]
        for r in range(len(idx)):
            ok = idx[r] >= 0
            listed, scores = idx[r][ok], sc[r][ok]
            warm = ~new[listed]
            add = [j for j in order[r] if np.isfinite(taste[r, j])][:max(slots, int((~warm).sum()))]
            keep, kept = listed[warm][:k - len(add)], scores[warm][:k - len(add)]
            floor = kept[-1] if len(kept) else np.float32(0)
            n = len(keep) + len(add)
            idx[r, :n] = np.concatenate([keep, np.asarray(add, np.int64)])
            sc[r, :n] = np.concatenate([kept, floor - np.arange(1, len(add) + 1, dtype=np.float32) * 1e-6])
        return idx, sc

    def similar_items_index(self, item_index, k=10, allowed=None):
        """Visual neighbours when images are used; else what sells now (the non-personal fallback feed)."""
        if self.uses_visual:
            return super().similar_items_index(item_index, k, allowed)
        self._check_fitted()
        item_index = np.asarray(item_index, np.int64)
        sc = np.repeat(self.trend_[None, :], len(item_index), axis=0)
        sc[np.arange(len(item_index)), item_index] = -np.inf
        if allowed is not None:
            sc[:, ~np.asarray(allowed, bool)] = -np.inf
        return topk(sc, k)

    def _item_vectors(self):
        if not self.uses_visual:
            return None
        return self.item_vectors_, self.present_

    def _visual_vectors(self):
        return self._item_vectors()

    def _add_items(self, features):
        if not self.uses_visual:
            raise NotImplementedError(f"{type(self).__name__} without transfer or taste reads no images and "
                                      "cannot place new items; use trend-transfer or refit")
        vecs = normalize_rows(np.asarray(features.vectors, dtype=np.float32))
        present = np.asarray(features.present, dtype=bool)
        # a new photo inherits the recent sales of its nearest look-alikes (as a cold item at fit time
        # inherits from the sellers it is a near neighbour of)
        inherit = self.transfer * self.cold_boost * inherited_sales(
            vecs, self.item_vectors_[self.present_], self.sales_[self.present_], neighbors=self.neighbors,
            temperature=self.temperature)
        self.item_vectors_ = np.vstack([self.item_vectors_, vecs])
        self.present_ = np.concatenate([self.present_, present])
        self.trend_ = np.concatenate([self.trend_, np.where(present, inherit, 0).astype(np.float32)])
        self.sales_ = np.concatenate([self.sales_, np.zeros(len(vecs), np.float32)])

    def _get_state(self):
        return {"item_vectors": self.item_vectors_, "present": self.present_, "trend": self.trend_,
                "sales": self.sales_}

    def _set_state(self, state):
        self.item_vectors_ = np.asarray(state["item_vectors"], dtype=np.float32)
        self.present_ = np.asarray(state["present"]).astype(bool)
        self.trend_ = np.asarray(state["trend"], dtype=np.float32)
        self.sales_ = np.asarray(state["sales"], dtype=np.float32)


class TrendRepurchaseRecommender(TrendTransferRecommender):
    """The non-visual ablation of :class:`TrendTransferRecommender`: own recent items + decayed recent
    sales, no transfer and no visual taste (``transfer=0``, ``personal_weight=0``), no images read.

    Parameters
    ----------
    See :class:`TrendTransferRecommender`.
    """

    name = "trend-repurchase"

    def __init__(self, own_weight: float = 1.0, trend_weight: float = 1.0, personal_weight: float = 0.0,
                 own_half_life_days: float = 30.0, trend_half_life_days: float = 7.0,
                 personal_half_life_days: float = 14.0, transfer: float = 0.0, cold_boost: float = 1.0,
                 neighbors: int = 20, temperature: float = 0.05, taste_temperature: float = 0.05,
                 min_sales: float = 1e-3, new_slots: int = 0):
        super().__init__(own_weight, trend_weight, personal_weight, own_half_life_days, trend_half_life_days,
                         personal_half_life_days, transfer, cold_boost, neighbors, temperature, taste_temperature,
                         min_sales, new_slots)
