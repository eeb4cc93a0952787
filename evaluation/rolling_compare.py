"""The A/B comparison of a rolling-origin evaluation: each fold's :class:`evaluation.comparison.Comparison`
pooled into one over the (fold, user) units, with the paired tests rerun on all units."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .comparison import Comparison
from .evaldata import EvalData
from .paired_tests import paired_tests
from .segments import user_segments

#: how the folds are pooled (written to metrics.json and the reports)
POOLING = ("per-(fold, user) values concatenated over the folds: a customer tested in several folds counts "
           "once per fold")


def pool_comparisons(comps: list, fold_splits: list, split: dict, *, random_state: int = 0) -> Comparison:
    """One comparison over the units of several folds' comparisons of the same systems.

    The per-user metrics and the ``items:cold`` / ``items:warm`` segments (cold as of each fold's cut)
    are concatenated; the user segments are recomputed on the pooled units (``users:light`` /
    ``users:heavy`` at the median of all units); coverage is the mean of the folds'; the popularity
    distribution weighs each fold by its listed (and test) items. The sample users of the report
    mark cold items by the last fold's training data.

    Parameters
    ----------
    comps : list of Comparison
        Same systems, cut-offs and item universe, oldest fold first.
    fold_splits : list of dict
        The split description of each fold (cut, window end, ...).
    split : dict
        The pooled split description.
    random_state : int
        Of the bootstrap of the pooled tests.

    Returns
    -------
    Comparison
    """
    first = comps[0]
    names, k = first.models, first.k
    offsets = np.cumsum([0] + [c.data.n_users for c in comps])[:-1]
    per_user = {n: {m: np.concatenate([c.per_user[n][m] for c in comps]) for m in first.per_user[n]} for n in names}
    notes = [f"pooled over {len(comps)} folds: {POOLING}"]
    for i, c in enumerate(comps):  # empty segments are noted below for the pooled units
        notes += [f"fold {i + 1} (cut {fold_splits[i].get('cut')}): {n}" for n in c.notes
                  if not n.startswith("segment ")]
    data = pooled_data(comps, split)
    seg = {"all": {**first.segments["all"], "users": np.arange(data.n_users), "per_user": per_user}}
    seg.update(user_segments(per_user, np.diff(data.history.indptr), k, notes))
    for s in ("items:cold", "items:warm"):
        have = [(c.segments[s], off) for c, off in zip(comps, offsets) if s in c.segments]
        if have:
            seg[s] = {"description": have[0][0]["description"],
                      "users": np.concatenate([d["users"] + off for d, off in have]),
                      "per_user": {n: {m: np.concatenate([d["per_user"][n][m] for d, _ in have])
                                       for m in have[0][0]["per_user"][n]} for n in names}}
        else:
            notes.append(f"segment {s} is empty in every fold and is omitted")
    tests = paired_tests(seg, names, k, n_boot=first.n_boot, alpha=first.alpha, random_state=random_state)
    aggregates = {n: {a: float(np.mean([c.aggregates[n][a] for c in comps])) for a in first.aggregates[n]}
                  for n in names}
    lists = {n: np.vstack([c.lists[n] for c in comps]) for n in names}
    description = {"pooling": POOLING, "folds": [fold_summary(c, s) for c, s in zip(comps, fold_splits)]}
    return Comparison(names, k, list(first.ks), per_user, aggregates, seg, tests, pooled_popularity(comps),
                      list(first.popularity_bins), lists, data, {}, notes, first.alpha, first.n_boot, description)


def pooled_data(comps: list, split: dict) -> EvalData:
    """The folds' test data stacked by rows (the item universe is the same catalog in every fold).

    Parameters
    ----------
    comps : list of Comparison
    split : dict
        The pooled split description.

    Returns
    -------
    EvalData
        Item popularity and training users of the last fold.
    """
    last = comps[-1].data
    users = np.concatenate([np.asarray(c.data.user_ids, dtype=object) for c in comps])
    test = sp.vstack([c.data.test for c in comps]).tocsr()
    history = sp.vstack([c.data.history for c in comps]).tocsr()
    desc = {"n_test_users": int(len(users)), "unit": "(fold, user)", "n_test_units": int(len(users)),
            "n_distinct_test_users": int(len(np.unique(users.astype(str)))), "n_test_interactions": int(test.nnz),
            "n_items": int(last.n_items), "item_universe": last.description.get("item_universe"), "split": split}
    return EvalData(users, last.item_ids, test, history, last.item_counts, last.n_train_users, last.image_paths,
                    last.vectors, last.present, [], desc)


def pooled_popularity(comps: list) -> dict:
    """The folds' popularity distributions weighted by their listed items (test items for ``"test items"``).

    Parameters
    ----------
    comps : list of Comparison

    Returns
    -------
    {name: list of float}
    """
    out = {}
    for name in comps[0].popularity:
        w = [c.data.test.nnz if name == "test items" else int((c.lists[name][:, :c.k] >= 0).sum()) for c in comps]
        shares = np.array([c.popularity[name] for c in comps], np.float64)
        total = shares.T @ np.asarray(w, np.float64)
        out[name] = (total / total.sum()).tolist() if total.sum() else [0.0] * shares.shape[1]
    return out


def fold_summary(comp: Comparison, split: dict) -> dict:
    """One fold of the pooled comparison's description: its cut, users, means and all-user tests.

    Parameters
    ----------
    comp : Comparison
        The fold's own comparison.
    split : dict
        The fold's split description.

    Returns
    -------
    dict
    """
    mets = comp.main_metrics()
    means = comp.means()
    return {"fold": split.get("fold"), "cut": split.get("cut"), "test_end": split.get("test_end"),
            "n_test_users": int(comp.data.n_users),
            "means": {n: {m: means[n][m] for m in mets} for n in comp.models},
            "tests": [r for r in comp.tests if r["segment"] == "all"]}
