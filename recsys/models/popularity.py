"""Non-personal and time-aware baselines: what is popular, what sells now, and what the shopper buys again."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from recsys.data import item_user_counts

from .base import Recommender
from .scoring import topk


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

    def _score_history(self, X, R):
        return np.broadcast_to(self.item_scores_, (X.shape[0], len(self.item_scores_))).copy()

    def similar_items_index(self, item_index, k=10, allowed=None):
        self._check_fitted()
        item_index = np.asarray(item_index, np.int64)
        sc = np.broadcast_to(self.item_scores_, (len(item_index), len(self.item_scores_))).copy()
        sc[np.arange(len(item_index)), item_index] = -np.inf
        if allowed is not None:
            sc[:, ~np.asarray(allowed, bool)] = -np.inf
        return topk(sc, k)

    def _get_state(self):
        return {"item_scores": self.item_scores_}

    def _set_state(self, state):
        self.item_scores_ = state["item_scores"]


def _recent_counts(user_items: sp.csr_matrix, recency: sp.csr_matrix | None, window_days) -> np.ndarray:
    """Distinct users per item with an event in the last ``window_days`` (all time without times)."""
    if recency is None or window_days is None:
        return item_user_counts(user_items).astype(np.float32)
    R = recency.tocsr()
    return np.bincount(R.indices[R.data <= window_days + 1.0], minlength=R.shape[1]).astype(np.float32)


class RecentPopularityRecommender(PopularityRecommender):
    """Items bought by the most users in the last ``window_days`` of the training data (ties
    broken by all-time popularity). Without timestamps it is plain popularity.

    ``similar_items`` gives the best sellers of the window (the non-personal fallback feed).

    Parameters
    ----------
    window_days : float
    """

    name = "recent-popularity"
    uses_recency = True

    def __init__(self, window_days: float = 28.0):
        self.window_days = window_days

    def _check_params(self):
        if self.window_days <= 0:
            raise ValueError(f"window_days must be > 0, got {self.window_days}")

    def _fit(self, user_items, features):
        recent = _recent_counts(user_items, self.recency_, self.window_days)
        total = item_user_counts(user_items).astype(np.float32)
        self.item_scores_ = (recent + total / max(1.0, total.max() + 1.0)).astype(np.float32)



class RepurchaseRecommender(RecentPopularityRecommender):
    """The shopper's own past items first (most recent, then most frequent), then what sells now.

    The classic strong baseline of shop data where people rebuy (H&M, groceries). Use it with
    ``exclude_seen=False`` -- excluding seen items reduces it to recent popularity.

    Parameters
    ----------
    window_days : float
        Window of the recent-popularity fill.
    """

    name = "repurchase"

    def _score_history(self, X, R):
        sc = super()._score_history(X, R)
        rows = np.repeat(np.arange(X.shape[0]), np.diff(X.indptr))
        if R is not None and R.nnz == X.nnz:
            own = 1.0 / R.data + 1e-3 * X.data  # most recent first, frequency breaks ties
        else:
            own = X.data.astype(np.float64)
        if len(own):
            top = float(sc.max()) + 1.0
            sc[rows, X.indices] = top * (1.0 + own / own.max())
        return sc
