"""Most-popular baseline."""

from __future__ import annotations

import numpy as np

from recsys.data import item_user_counts

from .base import Recommender


class PopularityRecommender(Recommender):
    """Rank items by the number of distinct users who interacted with them.

    ``similar_items`` returns the most popular other items (the non-personal fallback feed).
    """

    name = "popularity"

    def __init__(self):
        pass

    def _fit(self, user_items, features):
        counts = item_user_counts(user_items).astype(np.float32)
        self.item_scores_ = counts / max(1.0, counts.max())

    def _score(self, user_index):
        return np.broadcast_to(self.item_scores_, (len(user_index), len(self.item_scores_))).copy()

    def similar_items_index(self, item_index, k=10):
        self._check_fitted()
        item_index = np.asarray(item_index, np.int64)
        sc = np.broadcast_to(self.item_scores_, (len(item_index), len(self.item_scores_))).copy()
        sc[np.arange(len(item_index)), item_index] = -np.inf
        from .base import topk
        return topk(sc, k)

    def _get_state(self):
        return {"item_scores": self.item_scores_}

    def _set_state(self, state):
        self.item_scores_ = state["item_scores"]
