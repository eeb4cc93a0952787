"""Rolling-origin temporal evaluation: the models are fitted anew on each fold of
:func:`evaluation.splits.rolling_temporal_splits`, and their per-user metrics are pooled over the
(fold, user) units -- a customer tested in several folds counts once per fold.

Pooled values: the ranking metrics are means over all units; ``fit_seconds`` / ``recommend_seconds``
are summed over the folds; ``cold_share@k`` is weighted by the listed items of each fold;
``coverage@k`` is the mean of the folds' coverage; ``new_item_recall@k`` is the folds' new-arrival
hits over their new-arrival test pairs (see :mod:`evaluation.arrivals`).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np

from .arrivals import HITS, RECALL, pool_summaries, pooled_recall
from .experiment import Experiment, metrics_table
from .rolling_compare import POOLING, pool_comparisons
from .rolling_report import fold_table

#: split description keys that differ between the folds (reported per fold, not in the pooled split)
PER_FOLD_KEYS = ("fold", "cut", "test_end", "n_train", "n_test", "new_arrivals", "new_users")


@dataclass
class RollingResult:
    """The :class:`evaluation.ExperimentResult` of each fold, oldest cut first, pooled on demand.

    Attributes
    ----------
    folds : list of ExperimentResult
    """

    folds: list

    @property
    def users(self) -> np.ndarray:
        """User id of each (fold, user) unit, fold by fold."""
        return np.concatenate([np.asarray(r.users, dtype=object) for r in self.folds])

    @property
    def unit_fold(self) -> np.ndarray:
        """Fold number (1-based) of each unit."""
        return np.repeat(np.arange(1, len(self.folds) + 1), [len(r.users) for r in self.folds])

    @property
    def per_user(self) -> dict:
        """``{model: {metric: ndarray (n_units,)}}``: the folds' per-user values concatenated."""
        return {m: {k: np.concatenate([r.per_user[m][k] for r in self.folds]) for k in d}
                for m, d in self.folds[0].per_user.items()}

    @property
    def info(self) -> dict:
        """``{model: dict}``: run information pooled over the folds (see the module docstring)."""
        n_new = [r.split.get("new_arrivals", {}).get("n_new_arrival_pairs", 0) for r in self.folds]
        return {m: pool_info([r.info[m] for r in self.folds], [r.lists[m] for r in self.folds], n_new)
                for m in self.folds[0].info}

    @property
    def split(self) -> dict:
        """The pooled split: what the folds share, their cuts, sizes summed and the pooling rule."""
        descs = [r.split for r in self.folds]
        out = {k: v for k, v in descs[0].items() if k not in PER_FOLD_KEYS and all(d.get(k) == v for d in descs)}
        n_units = int(sum(len(r.users) for r in self.folds))
        out.update({"folds": len(descs), "pooling": POOLING, "cuts": [d["cut"] for d in descs],
                    "test_end": descs[-1]["test_end"], "n_test": int(sum(d["n_test"] for d in descs)),
                    "n_units": n_units, "n_distinct_users": int(len(np.unique(self.users.astype(str)))),
                    "n_users_evaluated": n_units})
        if all("new_arrivals" in d for d in descs):
            out["new_arrivals"] = pool_summaries([d["new_arrivals"] for d in descs])
        if any("new_users" in d for d in descs):
            counts = {k: int(sum(d.get("new_users", {}).get(k, 0) for d in descs)) for k in ("n", "n_known")}
            out["new_users"] = {"policy": "popular", **counts}
        return out

    def means(self) -> dict:
        """``{model: {metric: mean over the units}}``."""
        return {m: {k: float(np.mean(v)) for k, v in d.items()} for m, d in self.per_user.items()}

    def to_json(self) -> dict:
        """Pooled ``{"<model>": {...}, "split": {...}}`` as :meth:`ExperimentResult.to_json`, plus ``"folds"``:
        per fold its cut, window end, sizes, test customers, new arrivals and each model's metrics."""
        out, info = {}, self.info
        for m, means in self.means().items():
            out[m] = {"visual": bool(info[m]["visual"]), **means, **{k: v for k, v in info[m].items() if k != "visual"}}
        out["split"] = self.split
        out["folds"] = [fold_entry(r) for r in self.folds]
        return out

    def table(self) -> str:
        """The pooled metrics table, then one row per fold and model."""
        return metrics_table(self) + f"\n(pooled over {len(self.folds)} folds: {POOLING})\n" + fold_table(self)

    def compare(self, a: str | None = None, b: str | None = None, *, k: int | None = None, ks=None,
                n_boot: int = 2000, alpha: float = 0.05, random_state: int = 0):
        """Paired A/B comparison on the pooled (fold, user) units; see :meth:`ExperimentResult.compare`.

        Each fold is compared on its own data (cold items, popularity and history as of its cut);
        the per-unit values are then concatenated and the paired tests run on all units.

        Parameters
        ----------
        a, b, k, ks, n_boot, alpha, random_state :
            As for :meth:`evaluation.ExperimentResult.compare` (applied to each fold and to the pooled tests).

        Returns
        -------
        evaluation.comparison.Comparison
            Its test description gives the pooling rule and each fold's means and tests.
        """
        comps = [r.compare(a, b, k=k, ks=ks, n_boot=n_boot, alpha=alpha, random_state=random_state)
                 for r in self.folds]
        return pool_comparisons(comps, [r.split for r in self.folds], self.split, random_state=random_state)


def fold_entry(result) -> dict:
    """One fold of :meth:`RollingResult.to_json`.

    Parameters
    ----------
    result : ExperimentResult

    Returns
    -------
    dict
        The fold's split keys (fold, cut, test_end, sizes, new arrivals, new users),
        ``n_test_customers`` and ``models``: each model's metrics as in :meth:`ExperimentResult.to_json`.
    """
    js = result.to_json()
    split = js.pop("split")
    entry = {k: split[k] for k in PER_FOLD_KEYS if k in split}
    entry["n_test_customers"] = split["n_users_evaluated"]
    entry["models"] = js
    return entry


def pool_info(infos: list, lists: list, n_new: list) -> dict:
    """One model's run information pooled over the folds.

    Parameters
    ----------
    infos : list of dict
        The model's ``ExperimentResult.info`` entry of each fold.
    lists : list of ndarray
        Its evaluated lists of each fold (the weights of ``cold_share@k``).
    n_new : list of int
        New-arrival test pairs of each fold.

    Returns
    -------
    dict
        Seconds summed, ``cold_share@k`` weighted by listed items, ``coverage@k`` averaged,
        ``new_item_recall@k`` / ``new_item_hits@k`` pooled; other entries as the list of the folds' values.
    """
    out = {}
    for key, first in infos[0].items():
        vals = [i[key] for i in infos]
        if key == "visual":
            out[key] = bool(first)
        elif key.endswith("_seconds"):
            out[key] = round(float(sum(vals)), 3)
        elif key.startswith("cold_share@"):
            w = [int((np.asarray(v) >= 0).sum()) for v in lists]
            out[key] = float(np.average(vals, weights=w)) if sum(w) else 0.0
        elif key.startswith("coverage@"):
            out[key] = float(np.mean(vals))
        elif key.startswith(HITS + "@"):
            out.update(pooled_recall(vals, n_new, int(key.split("@")[1])))
        elif not key.startswith(RECALL + "@"):
            out[key] = vals
    return out


class RollingExperiment:
    """Fit several models on each fold of a rolling-origin split and pool their per-user metrics.

    Parameters
    ----------
    models : dict name -> Recommender (unfitted)
        Deep-copied for each fold (as ``sklearn.base.clone``), so no fold sees another's fit.
    splits : list of Split
        From :func:`evaluation.splits.rolling_temporal_splits`, oldest cut first.
    catalog, features, ks, exclude_seen, verbose, new_users :
        As for :class:`evaluation.Experiment`.
    """

    def __init__(self, models: dict, splits: list, catalog, features=None, ks=(10,), exclude_seen: bool = True,
                 verbose: bool = True, new_users: str = "skip"):
        if not splits:
            raise ValueError("give at least one split")
        self.models, self.splits, self.catalog, self.features = models, list(splits), catalog, features
        self.ks, self.exclude_seen, self.verbose, self.new_users = ks, exclude_seen, verbose, new_users

    def run(self) -> RollingResult:
        """Fit and score every model on each fold in turn.

        Returns
        -------
        RollingResult
            Also kept as ``result_``.
        """
        results = []
        for i, split in enumerate(self.splits):
            d = split.description
            if self.verbose:
                print(f"[evaluate] fold {i + 1}/{len(self.splits)}: cut {d.get('cut')}, test to {d.get('test_end')}: "
                      f"{d.get('n_train')} train / {d.get('n_test')} test events", flush=True)
            models = {n: copy.deepcopy(m) for n, m in self.models.items()}
            results.append(Experiment(models, split, self.catalog, self.features, ks=self.ks,
                                      exclude_seen=self.exclude_seen, verbose=self.verbose,
                                      new_users=self.new_users).run())
        self.result_ = RollingResult(results)
        return self.result_
