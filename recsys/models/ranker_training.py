"""Training rows of the learned ranker: the training data cut at past dates, each cut's candidates
described as of the cut and labelled by what the users bought in the window after it; and the trees
fitted on them (LightGBM)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .ranker_features import FEATURE_NAMES, ItemContext, Signals, candidate_features, cooccurrence, item_table


def lightgbm():
    """The LightGBM module (a core dependency), with an install hint if it is missing."""
    try:
        import lightgbm as lgb
    except ImportError:  # pragma: no cover - a core dependency
        raise ImportError("the ranker needs LightGBM: pip install lightgbm") from None
    return lgb


def history_at(u, i, t, w, users: np.ndarray, cut: float, n_items: int) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """``(X, R)`` of ``users`` from the events before ``cut`` (days): summed weights, and days from each
    pair's latest event to the cut + 1 -- what a fitted model holds of its users."""
    pos = np.full(int(u.max()) + 1 if len(u) else 1, -1, np.int64)
    pos[users] = np.arange(len(users))
    h = (t < cut) & (pos[u] >= 0)
    X = sp.csr_matrix((w[h], (pos[u[h]], i[h])), shape=(len(users), n_items))
    X.sum_duplicates()
    age = pd.DataFrame({"r": pos[u[h]], "c": i[h], "a": cut - t[h] + 1.0}).groupby(["r", "c"])["a"].min()
    R = sp.csr_matrix((age.to_numpy(np.float32), (age.index.get_level_values(0), age.index.get_level_values(1))),
                      shape=X.shape)
    X.sort_indices()
    R.sort_indices()
    return X, R


def window_rows(events, cut: float, label_days: float, n_users: int, ctx: ItemContext, sig: Signals):
    """Candidates, features and labels of the users who interacted in ``[cut, cut + label_days)``.

    Returns ``(users, F, y, info)``: the user of each row, features, 0/1 labels, and a summary (users,
    rows, positives, the share of the window's (user, item) pairs the candidates covered); None when the
    window or the history before it is empty."""
    u, i, t, w = events
    hist, lab = t < cut, (t >= cut) & (t < cut + label_days)
    users = np.unique(u[lab])
    if not hist.any() or not len(users):
        return None
    n = len(ctx.groups)
    table = item_table(i[hist], cut - t[hist], w[hist], n, ctx, sig)
    X, R = history_at(u, i, t, w, users, cut, n)
    rows, items, F = candidate_features(X, R, table, ctx, cooccurrence(u[hist], i[hist], n_users, n), sig)
    pos = np.searchsorted(users, u[lab])
    bought = set(zip(pos.tolist(), i[lab].tolist()))
    y = np.fromiter(((r, c) in bought for r, c in zip(rows.tolist(), items.tolist())), bool, len(rows))
    info = {"cut_day": round(cut, 3), "users": int(len(users)), "rows": int(len(rows)), "positives": int(y.sum()),
            "candidate_recall": round(int(y.sum()) / max(1, len(bought)), 4)}
    return users[rows], F, y.astype(np.float32), info


def train_trees(queries: np.ndarray, F: np.ndarray, y: np.ndarray, *, objective: str, n_estimators: int,
                learning_rate: float, num_leaves: int, min_child_samples: int, random_state: int, n_jobs: int):
    """A LightGBM booster on rows grouped by ``queries`` (contiguous, increasing ids); queries without a
    positive are dropped (they teach a ranking loss nothing)."""
    keep = np.isin(queries, np.unique(queries[y > 0]))
    queries, F, y = queries[keep], F[keep], y[keep]
    _, sizes = np.unique(queries, return_counts=True)
    lgb = lightgbm()
    params = {"objective": objective, "learning_rate": float(learning_rate), "num_leaves": int(num_leaves),
              "min_data_in_leaf": int(min_child_samples), "seed": int(random_state), "deterministic": True,
              "force_row_wise": True, "num_threads": int(n_jobs), "verbose": -1, "lambdarank_truncation_level": 20}
    group = sizes if objective == "lambdarank" else None
    ds = lgb.Dataset(F, label=y, group=group, feature_name=list(FEATURE_NAMES), free_raw_data=True)
    return lgb.train(params, ds, num_boost_round=int(n_estimators))
