"""Declarative comparison of models on one split, per-user results kept (cf. Cornac's Experiment)."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from recsys.data import Dataset, item_user_counts
from .arrivals import describe, new_arrival_summary, new_item_metrics
from .compare import compare_lists
from .comparison import Comparison
from .evaldata import EvalData
from .formatting import fmt_value
from .metrics import auc_per_user, ranking_metrics
from .cold_splits import cold_item_candidates
from .splits import Split


@dataclass
class ExperimentResult:
    """Per-user metric arrays of each model on the same users of one split.

    Attributes
    ----------
    users : ndarray of str -- evaluated user ids (users with >= 1 test item; with
        ``new_users="popular"`` also test users absent from the training data, placed last)
    per_user : {model: {metric: ndarray}}
    lists : {model: ndarray (n_users, k) of item indices} -- the evaluated lists
    info : {model: {"visual": bool, "fit_seconds": float, "cold_share@k": ..., "coverage@k": ...}}; for a
        temporal split also ``new_item_recall@k`` and ``new_item_hits@k`` (see :mod:`evaluation.arrivals`)
    split : dict -- how the split was made (a temporal one with its ``new_arrivals`` summary)
    """

    users: np.ndarray
    per_user: dict
    lists: dict
    info: dict
    split: dict
    train: Dataset = None
    test_matrix: object = None
    user_index: np.ndarray = None
    features: object = None

    def eval_data(self) -> EvalData:
        """The :class:`evaluation.evaldata.EvalData` of this result (test users, test and training items)."""
        train = self.train
        if train is None or self.test_matrix is None or self.user_index is None:
            raise ValueError("this result has no train Dataset / test matrix to compare on")
        X = train.matrix()
        test = self.test_matrix.tocsr()[self.user_index]
        test.data[:] = 1
        history = X[self.user_index].copy()
        history.data[:] = 1
        counts = train.item_counts()
        feats = self.features
        n_train_users = int((np.diff(X.indptr) > 0).sum())  # new test users have empty rows
        desc = {"n_test_users": int(len(self.user_index)), "n_test_interactions": int(test.nnz),
                "n_items": int(train.n_items), "item_universe": "catalog", "n_train_users": n_train_users,
                "n_train_interactions": int(X.nnz), "split": self.split}
        return EvalData(np.asarray(self.users, dtype=object), np.asarray(train.items.ids, dtype=object), test.tocsr(),
                        history.tocsr(), counts, n_train_users, train.catalog.image_paths(),
                        None if feats is None else feats.vectors, None if feats is None else feats.present,
                        [], desc)

    def compare(self, a: str | None = None, b: str | None = None, *, k: int | None = None, ks=None,
                n_boot: int = 2000, alpha: float = 0.05, random_state: int = 0) -> Comparison:
        """Paired offline A/B comparison of the evaluated models' lists on the same users.

        Parameters
        ----------
        a : str, optional
            Baseline model (default: the first model).
        b : str, optional
            Model compared with ``a`` (default: every other model).
        k : int, optional
            Cut-off of the tests (default: the list length of the experiment).
        ks, n_boot, alpha, random_state :
            See :func:`evaluation.compare.compare_lists`.

        Returns
        -------
        evaluation.comparison.Comparison
            With ``.table()``, ``.to_json()``, ``.summary_markdown()`` and ``.write(folder)``.
        """
        names = list(self.lists)
        a = a or names[0]
        others = [b] if b is not None else [n for n in names if n != a]
        for n in [a] + others:
            if n not in self.lists:
                raise KeyError(f"no model {n!r} in this result; models: {names}")
        if not others:
            raise ValueError("give two different models to compare")
        L = min(self.lists[n].shape[1] for n in [a] + others)
        lists = {n: self.lists[n] for n in [a] + others}
        return compare_lists(lists, self.eval_data(), k=k or L, ks=ks, n_boot=n_boot, alpha=alpha,
                             random_state=random_state)

    def means(self) -> dict:
        return {m: {k: float(np.mean(v)) for k, v in d.items()} for m, d in self.per_user.items()}

    def to_json(self) -> dict:
        """``{"<model>": {"visual": bool, "recall@10": ..., ...}, "split": {...}}``."""
        out = {}
        for m, means in self.means().items():
            out[m] = {"visual": bool(self.info[m]["visual"]), **means,
                      **{k: v for k, v in self.info[m].items() if k != "visual"}}
        out["split"] = {**self.split, "n_users_evaluated": int(len(self.users))}
        return out

    def table(self) -> str:
        """The mean of each metric per model (and, for a temporal split, the new-arrival hits)."""
        return metrics_table(self)


def metrics_table(result) -> str:
    """Plain-text table of a result's mean metrics per model, its ``new_item_*`` hits and new-arrival line.

    Parameters
    ----------
    result : ExperimentResult or evaluation.rolling.RollingResult
        Anything with ``per_user``, ``info`` and ``split`` as in :class:`ExperimentResult`.

    Returns
    -------
    str
    """
    metrics = list(next(iter(result.per_user.values())).keys())
    extra = [k for k in next(iter(result.info.values())) if k.startswith("new_item_")]
    width = max(len(m) for m in result.per_user) + 2
    wide = max([14] + [len(k) + 2 for k in extra])
    lines = ["model".ljust(width) + "".join(f"{m:>14}" for m in metrics) + "".join(f"{k:>{wide}}" for k in extra)]
    for name, d in result.per_user.items():
        lines.append(name.ljust(width) + "".join(f"{np.mean(d[m]):>14.4f}" for m in metrics)
                     + "".join(f"{fmt_value(result.info[name][k]):>{wide}}" for k in extra))
    if "new_arrivals" in result.split:
        lines.append(describe(result.split["new_arrivals"]))
    return "\n".join(lines)


class Experiment:
    """Fit several models on the train part of one split and score their top-k lists per user.

    Parameters
    ----------
    models : dict name -> Recommender (unfitted)
    split : Split
    catalog : recsys.data.Catalog
    features : features.ItemFeatures, optional
        Item vectors aligned with the catalog (needed by visual models).
    ks : tuple of int
    exclude_seen : bool
    new_users : {"skip", "popular"}
        Test users with no training interactions (new customers of a time split) cannot be ranked
        by the models. ``"skip"`` leaves them out; ``"popular"`` keeps them in every model's
        metrics with the same fallback list, the training data's most popular items, so that
        the metrics cover all test users (as the H&M competition metric does) and the models
        differ only on the users they can rank.
    """

    def __init__(self, models: dict, split: Split, catalog, features=None, ks=(10,), exclude_seen: bool = True,
                 verbose: bool = True, new_users: str = "skip"):
        self.models, self.split, self.catalog, self.features = models, split, catalog, features
        self.ks = tuple(sorted(ks))
        self.exclude_seen, self.verbose, self.new_users = exclude_seen, verbose, new_users
        if not models:
            raise ValueError("give at least one model to evaluate")
        if new_users not in ("skip", "popular"):
            raise ValueError(f"new_users must be 'skip' or 'popular', got {new_users!r}")

    def run(self) -> ExperimentResult:
        train = Dataset(self.catalog, self.split.train)
        n_known = train.n_users
        kmax = max(self.ks)
        cold_protocol = self.split.description.get("protocol") == "cold-items"
        split_desc = dict(self.split.description)
        data = train  # users of the evaluation: the training users, then new test users (if kept)
        if self.new_users == "popular" and not cold_protocol:
            test_ids = self.split.test.df["user_id"].astype(str).unique()
            new = test_ids[~np.isin(test_ids, train.users.ids.astype(str))]
            if len(new):
                data = train.with_users(new)
        test = data.encode(self.split.test)
        valid_matrix = train.encode(self.split.valid) if self.split.valid is not None else None
        n_rel = np.diff(test.indptr)
        uidx = np.flatnonzero(n_rel > 0)
        if len(uidx) == 0:
            raise ValueError("no test user is known to the training data; check the split")
        known_u, new_u = uidx[uidx < n_known], uidx[uidx >= n_known]
        counts = train.item_counts()
        fallback = None
        if len(new_u):
            top = np.argsort(-counts, kind="stable")[:kmax]
            fallback = np.full((len(new_u), kmax), -1, np.int64)
            fallback[:, :len(top)] = top
            split_desc["new_users"] = {"policy": "popular", "n": int(len(new_u)),
                                       "n_known": int(len(known_u))}
        # cold-items protocol: users rank only items without training history -- the held-out items and
        # the catalog items nobody interacted with (see evaluation.cold_splits.cold_item_candidates)
        candidates = None
        if cold_protocol:
            candidates, split_desc["candidates"] = cold_item_candidates(counts, item_user_counts(test))
        temporal = split_desc.get("protocol") == "temporal"
        if temporal:  # test purchases of items never bought before the cut
            split_desc["new_arrivals"] = new_arrival_summary(test, uidx, counts)
        per_user, lists, info = {}, {}, {}
        for name, model in self.models.items():
            t0 = time.perf_counter()
            feats = self.features if model.requires_features or model.uses_visual else None
            model.fit(train, feats)
            t1 = time.perf_counter()
            idx, _ = model.recommend_index(known_u, kmax, exclude_seen=self.exclude_seen, exclude=valid_matrix,
                                           candidates=candidates)
            t2 = time.perf_counter()
            if fallback is not None:  # new users: the same best-seller list for every model
                idx = np.vstack([idx, fallback])
            per_user[name] = ranking_metrics(idx, test, uidx, self.ks)
            if cold_protocol:  # AUC over all candidates, and over the held-out ones only (the earlier protocol)
                per_user[name]["auc"], held_auc = self._auc(model, uidx, test, candidates)
            lists[name] = idx
            valid = idx[idx >= 0]
            info[name] = {"visual": bool(model.uses_visual), "fit_seconds": round(t1 - t0, 3),
                          "recommend_seconds": round(t2 - t1, 3),
                          f"cold_share@{kmax}": float(np.mean(counts[valid] == 0)) if len(valid) else 0.0,
                          f"coverage@{kmax}": float(len(np.unique(valid)) / train.n_items)}
            if cold_protocol:
                info[name]["auc_held_out_only"] = float(np.mean(held_auc))
            if temporal:
                info[name].update(new_item_metrics(idx, test, uidx, counts, kmax))
            if self.verbose:
                means = {k: round(float(v.mean()), 4) for k, v in per_user[name].items()}
                print(f"[evaluate] {name}: fit {t1 - t0:.1f}s, recommend {t2 - t1:.2f}s, {means}", flush=True)
        self.result_ = ExperimentResult(data.users.ids[uidx], per_user, lists, info, split_desc,
                                        data, test, uidx, self.features)
        return self.result_

    def compare(self, a: str | None = None, b: str | None = None, **kwargs):
        """Run the experiment (once) and compare model ``b`` with baseline ``a`` per user; see
        :meth:`ExperimentResult.compare`."""
        result = getattr(self, "result_", None) or self.run()
        return result.compare(a, b, **kwargs)

    @staticmethod
    def _auc(model, users, test, candidates, batch: int = 1024) -> tuple[np.ndarray, np.ndarray]:
        """Per-user AUC over ``candidates``, and over those of them with test interactions (held-out items)."""
        held = item_user_counts(test)[candidates] > 0
        out, out_held = [], []
        for s in range(0, len(users), batch):
            u = users[s:s + batch]
            sc = np.asarray(model.score_index(u), dtype=np.float64)[:, candidates]
            pos = test[u][:, candidates].toarray() > 0
            out.append(auc_per_user(sc, pos))
            out_held.append(auc_per_user(sc[:, held], pos[:, held]))
        auc, auc_held = np.concatenate(out), np.concatenate(out_held)
        return np.where(np.isnan(auc), 0.5, auc), np.where(np.isnan(auc_held), 0.5, auc_held)
