"""A learned ranker over candidates from every source (LightGBM trees: a purchase classifier or
LambdaRank), as in the solutions that won H&M's own Kaggle competition: repurchases, what sells now, what
looks like what sells, what looks like what the shopper bought, items bought together and the other colour
variants of their products, weighed by gradient-boosted trees trained on the last weeks of the training data.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from recsys.io.npz import csr_arrays, csr_from_arrays
from recsys.vectors import normalize_rows

from .base import Recommender
from .scoring import blocked_items, list_masks, topk, topk_blocks
from .ranker_features import (FEATURE_NAMES, ITEM_FEATURES, ItemContext, Signals, candidate_features, cooccurrence,
                              item_table)
from .ranker_training import lightgbm, train_trees, window_rows
from .visual_signals import inherited_sales

DAY = 86400.0
#: score of items that are no candidate: below every candidate, ordered by recent sales
FALLBACK = -1e4


class RankerRecommender(Recommender):
    """LightGBM trees over candidates, trained on the training data's own last weeks.

    ``fit`` cuts the training events at ``windows`` successive dates ``label_days`` apart (the last
    cut ``label_days`` before the end of the data): at each cut, the candidates of every user who
    interacted in the next ``label_days`` are described by features computed from the events before the
    cut (:mod:`recsys.models.ranker_features`) and labelled 1 if the user interacted with them in that
    window. The trees learn from those rows; lists are then scored with the same features at the end
    of the training data. New arrivals (items nobody bought yet) reach lists through the sales of their
    look-alikes and the shopper's visual taste; ``group_column`` and ``category_column`` name catalog
    columns (the colour-variant group and the product type) read when fitting on a
    :class:`recsys.data.Dataset` whose catalog has them.

    Parameters
    ----------
    label_days : float
        Length of each label window in days (match the window you will serve, e.g. 28 or 7).
    windows : int
        Label windows (cuts) to learn from.
    n_popular, n_trend, n_taste : int
        Candidates per user from recent sales, from recent + inherited sales, and from visual taste.
    group_column, category_column : str or None
        Catalog columns of the item groups (colour variants) and categories; None: not used.
    objective : {"binary", "lambdarank"}
        LightGBM objective: a purchase classifier, or a listwise ranking loss per (window, user). The
        defaults (binary, 6 windows) were chosen on H&M validation folds (see benchmarks/RESULTS.md).
    n_estimators, learning_rate, num_leaves, min_child_samples : LightGBM settings.
    use_images : bool
        Read item vectors (taste, look-alike transfer, cosines). False: the non-visual ablation.
    random_state : int
    n_jobs : int
        LightGBM threads for training and scoring (0: OpenMP's default, all cores). One by default: the
        training sets are small, and OpenMP threads spin when the cores are shared (a 2-core machine
        under load trained 18x slower with 2 threads than with 1).

    Attributes (after fit)
    ----------------------
    item_table_ : ndarray (n_items, len(ITEM_FEATURES))
        Item statistics at the end of the training data.
    training_ : dict
        Per label window: cut, users, rows, positives, and the share of label pairs the candidates covered.
    """

    name = "ranker"
    uses_recency = True

    def __init__(self, label_days: float = 28.0, windows: int = 6, n_popular: int = 30, n_trend: int = 30,
                 n_taste: int = 30, group_column: str | None = "product_code",
                 category_column: str | None = "category", objective: str = "binary",
                 n_estimators: int = 150, learning_rate: float = 0.05,
                 num_leaves: int = 15, min_child_samples: int = 20, use_images: bool = True,
                 random_state: int = 0, n_jobs: int = 1):
        self.label_days = label_days
        self.windows = windows
        self.n_popular = n_popular
        self.n_trend = n_trend
        self.n_taste = n_taste
        self.group_column = group_column
        self.category_column = category_column
        self.objective = objective
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples
        self.use_images = use_images
        self.random_state = random_state
        self.n_jobs = n_jobs

    @property
    def uses_visual(self) -> bool:
        return bool(self.use_images)

    requires_features = uses_visual
    scores_cold_items = uses_visual
    similar_by_image = uses_visual

    def _check_params(self):
        if not self.label_days > 0:
            raise ValueError(f"label_days must be > 0, got {self.label_days}")
        for p in ("windows", "n_estimators", "num_leaves", "min_child_samples"):
            if int(getattr(self, p)) < 1:
                raise ValueError(f"{p} must be >= 1, got {getattr(self, p)}")
        for p in ("n_popular", "n_trend", "n_taste"):
            if int(getattr(self, p)) < 0:
                raise ValueError(f"{p} must be >= 0, got {getattr(self, p)}")
        if self.objective not in ("lambdarank", "binary"):
            raise ValueError(f"objective must be 'lambdarank' or 'binary', got {self.objective!r}")
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be > 0, got {self.learning_rate}")

    def _signals(self) -> Signals:
        return Signals(n_popular=int(self.n_popular), n_trend=int(self.n_trend), n_taste=int(self.n_taste))

    def fit(self, data, features=None):
        """As :meth:`Recommender.fit`; needs event times (the label windows are dates)."""
        if not data.interactions.has_timestamps:
            raise ValueError("the ranker learns from the last weeks of the training data and needs event times: "
                             "the interactions have no timestamp column")
        df = data.interactions.df
        ts = df["timestamp"].to_numpy(np.float64)
        known = ts >= 0
        self._events = (data.user_index[known], data.item_index[known], ts[known] / DAY,
                        df["weight"].to_numpy(np.float64)[known])
        self._catalog_codes = (data.catalog.codes(self.group_column), data.catalog.codes(self.category_column))
        try:
            return super().fit(data, features)
        finally:
            del self._events, self._catalog_codes

    def _fit(self, user_items, features):
        n_users, n = user_items.shape
        events = getattr(self, "_events", None)
        if events is None:  # fit_matrix: only each pair's latest event is known
            if self.recency_ is None:
                raise ValueError("the ranker needs event times (fit on a Dataset with timestamps)")
            X = user_items.tocoo()
            R = self.recency_.tocoo()
            events = (X.row, X.col, -(R.data.astype(np.float64) - 1.0), X.data.astype(np.float64))
        groups, cats = getattr(self, "_catalog_codes", (None, None))
        self.groups_ = groups if groups is not None else np.full(n, -1, np.int64)
        self.categories_ = cats if cats is not None else np.full(n, -1, np.int64)
        if self.use_images and features is not None:
            self.item_vectors_ = normalize_rows(np.asarray(features.vectors, np.float32))
            self.present_ = np.asarray(features.present, bool)
        else:
            self.item_vectors_, self.present_ = np.zeros((n, 0), np.float32), np.zeros(n, bool)
        u, i, t, w = events
        end, sig, ctx = float(t.max()), self._signals(), self._context()
        blocks, self.training_ = [], []
        for k in range(1, int(self.windows) + 1):
            got = window_rows(events, end + 1e-6 - k * float(self.label_days), float(self.label_days), n_users, ctx,
                              sig)
            if got is not None:
                blocks.append((got[0] + k * n_users, got[1], got[2]))  # queries: (window, user)
                self.training_.append(got[3])
        if not any(b[2].sum() for b in blocks):
            raise ValueError(f"no label window of {self.label_days} days had an interaction among the candidates "
                             "(too little history before the windows): lower label_days or windows")
        self.booster_ = train_trees(np.concatenate([b[0] for b in blocks]), np.vstack([b[1] for b in blocks]),
                                    np.concatenate([b[2] for b in blocks]), objective=self.objective,
                                    n_estimators=self.n_estimators, learning_rate=self.learning_rate,
                                    num_leaves=self.num_leaves, min_child_samples=self.min_child_samples,
                                    random_state=self.random_state, n_jobs=self.n_jobs)
        self.item_table_ = item_table(i, end - t, w, n, ctx, sig)
        self.cooc_ = cooccurrence(u, i, n_users, n)

    def _context(self) -> ItemContext:
        return ItemContext(self.item_vectors_, self.present_, self.groups_, self.categories_)

    def _score_history(self, X, R, allowed=None):
        X = X.tocsr()
        rows, items, F = candidate_features(X, R, self.item_table_, self._context(), self.cooc_, self._signals(),
                                            allowed)
        decayed = self.item_table_[:, ITEM_FEATURES.index("sales_decayed")]
        base = FALLBACK + decayed / max(float(decayed.max()), 1e-12)
        out = np.repeat(base[None, :].astype(np.float32), X.shape[0], axis=0)
        if len(rows):
            out[rows, items] = self.booster_.predict(F, num_threads=int(self.n_jobs)).astype(np.float32)
        return out

    def recommend_index(self, user_index, k: int = 10, exclude_seen: bool = True, *, candidates=None, exclude=None,
                        batch_size=None, n_jobs=None, device: str = "cpu", **kwargs):
        """As :meth:`Recommender.recommend_index`; with ``candidates`` the ranker draws its own candidates
        (best sellers, look-alikes, taste) from those items only, so a restricted list (in stock, new
        arrivals) is ranked by the trees rather than by the fallback."""
        if candidates is None:
            return super().recommend_index(user_index, k, exclude_seen, exclude=exclude, batch_size=batch_size,
                                           n_jobs=n_jobs, device=device, **kwargs)
        if device != "cpu":
            raise ValueError("the ranker scores on the CPU only; use device='cpu'")
        self._check_fitted()
        blocked = blocked_items(candidates, self.n_items)
        R = self.recency_

        def score(u):
            return self._score_history(self.user_items_[u], None if R is None else R[u], ~blocked)
        return topk_blocks(score, np.asarray(user_index, np.int64), k, n_items=self.n_items, blocked=blocked,
                           masks=list_masks(self.user_items_ if exclude_seen else None, exclude),
                           batch_size=batch_size, n_jobs=n_jobs)

    def similar_items_index(self, item_index, k=10, allowed=None):
        """Visual neighbours when images are used; else the items most often bought together with each
        (co-interaction cosine), then recent best sellers."""
        if self.uses_visual:
            return super().similar_items_index(item_index, k, allowed)
        self._check_fitted()
        item_index = np.asarray(item_index, np.int64)
        decayed = self.item_table_[:, ITEM_FEATURES.index("sales_decayed")]
        sc = self.cooc_[item_index].toarray() + 1e-6 * decayed / max(float(decayed.max()), 1e-12)
        sc[np.arange(len(item_index)), item_index] = -np.inf
        if allowed is not None:
            sc[:, ~np.asarray(allowed, bool)] = -np.inf
        return topk(sc.astype(np.float32), k)

    def _item_vectors(self):
        return (self.item_vectors_, self.present_) if self.uses_visual else None

    def _visual_vectors(self):
        return self._item_vectors()

    def _add_items(self, features):
        if not self.uses_visual:
            raise NotImplementedError("the ranker without images cannot place new items; refit")
        vecs = normalize_rows(np.asarray(features.vectors, np.float32))
        present = np.asarray(features.present, bool)
        new = np.zeros((len(vecs), self.item_table_.shape[1]), np.float32)
        new[:, ITEM_FEATURES.index("is_new")] = 1
        new[:, ITEM_FEATURES.index("sales_rank")] = len(self.item_table_)
        new[:, [ITEM_FEATURES.index("first_age"), ITEM_FEATURES.index("last_age")]] = -1
        sig = self._signals()
        decayed = self.item_table_[:, ITEM_FEATURES.index("sales_decayed")]
        src = np.flatnonzero(self.present_ & (decayed > 0))
        got = inherited_sales(vecs, self.item_vectors_[src], decayed[src], neighbors=sig.neighbors,
                              temperature=sig.temperature)
        new[:, ITEM_FEATURES.index("transfer")] = np.where(present, got, 0)
        self.item_table_ = np.vstack([self.item_table_, new])
        self.item_vectors_ = np.vstack([self.item_vectors_, vecs])
        self.present_ = np.concatenate([self.present_, present])
        self.groups_ = np.concatenate([self.groups_, np.full(len(vecs), -1, np.int64)])
        self.categories_ = np.concatenate([self.categories_, np.full(len(vecs), -1, np.int64)])
        m, C = self.cooc_.shape[0] + len(vecs), self.cooc_  # new items: bought with nothing yet
        indptr = np.concatenate([C.indptr, np.full(len(vecs), C.nnz, C.indptr.dtype)])
        self.cooc_ = sp.csr_matrix((C.data, C.indices, indptr), shape=(m, m))

    def _get_state(self):
        model = np.frombuffer(self.booster_.model_to_string().encode("utf-8"), np.uint8)
        return {"item_table": self.item_table_, "item_vectors": self.item_vectors_, "present": self.present_,
                "groups": self.groups_, "categories": self.categories_, "booster": model,
                **csr_arrays(self.cooc_, "cooc.")}

    def _set_state(self, state):
        self.item_table_ = np.asarray(state["item_table"], np.float32)
        self.item_vectors_ = np.asarray(state["item_vectors"], np.float32)
        self.present_ = np.asarray(state["present"]).astype(bool)
        self.groups_ = np.asarray(state["groups"], np.int64)
        self.categories_ = np.asarray(state["categories"], np.int64)
        self.cooc_ = csr_from_arrays(state, "cooc.")
        text = np.asarray(state["booster"], np.uint8).tobytes().decode("utf-8")
        self.booster_ = lightgbm().Booster(model_str=text)
        if self.booster_.feature_name() != list(FEATURE_NAMES):
            raise ValueError("the saved ranker's trees were trained on other features than this version computes; "
                             "refit it")


class NonVisualRankerRecommender(RankerRecommender):
    """The non-visual ablation of :class:`RankerRecommender` (``use_images=False``): the same learner,
    candidates and features without the item vectors (no taste, cosines or look-alike transfer).

    Parameters
    ----------
    See :class:`RankerRecommender`.
    """

    name = "ranker-nonvisual"

    def __init__(self, label_days: float = 28.0, windows: int = 6, n_popular: int = 30, n_trend: int = 30,
                 n_taste: int = 30, group_column: str | None = "product_code",
                 category_column: str | None = "category", objective: str = "binary",
                 n_estimators: int = 150, learning_rate: float = 0.05,
                 num_leaves: int = 15, min_child_samples: int = 20, use_images: bool = False,
                 random_state: int = 0, n_jobs: int = 1):
        super().__init__(label_days, windows, n_popular, n_trend, n_taste, group_column, category_column, objective,
                         n_estimators, learning_rate, num_leaves, min_child_samples, use_images, random_state, n_jobs)
