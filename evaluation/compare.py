"""Offline A/B comparison of recommendation lists on one test set, per user, with segments.

Two or more systems are scored per user on the same test users; each system is compared with a
baseline (the first one) per metric: means, absolute and relative lift, a paired bootstrap 95%
confidence interval of the mean difference, the Wilcoxon signed-rank p-value of the per-user
differences, and Holm-adjusted p-values over the metrics of one comparison (one family per
segment and system pair). The same is done for segments:

``users:light`` / ``users:heavy``
    Returning users split at the median of their number of distinct training items: at most the
    median is light, above it heavy.
``users:new`` / ``users:returning``
    Users without / with training interactions.
``items:cold`` / ``items:warm``
    The accuracy metrics recomputed against only the test items that have no / some training
    interactions (users without such test items are left out of that segment).

The user and item segments, popularity, novelty and the popularity distribution need the
training interactions; without them they are omitted and the notes say so.

Lists come either from files (:func:`read_recommendations`, the JSONL written by ``visrec
recommend`` / ``visrec demo``, or CSV/Parquet with ``user_id, rank, item_id``) or from fitted models
(:meth:`evaluation.ExperimentResult.compare`). A test user missing from a list file gets an
empty list (scoring 0 on the accuracy metrics) and is counted in the notes; users of a list file
that are not test users are ignored and counted; list items unknown to the catalog are counted
and never hit.

This module holds the two entry points, :func:`compare_lists` and :func:`compare_files`; the pieces
live in :mod:`evaluation.evaldata` (the test data, list encoding), :mod:`evaluation.segments`,
:mod:`evaluation.paired_tests` and :mod:`evaluation.comparison` (the result and its outputs).
"""

from __future__ import annotations

import numpy as np

from recsys.data import DataError
from recsys.io.lists import RecommendationFile, read_recommendations
from .comparison import Comparison
from .definitions import SEGMENTS
from .evaldata import EvalData, encode_lists, load_features_npz
from .metrics import (auc_from_lists, average_popularity, catalog_coverage, intra_list_diversity, novelty,
                      ranking_metrics)
from .paired_tests import paired_tests
from .segments import POPULARITY_BINS, item_segments, popularity_distribution, user_segments

# ``load_features_npz`` and ``read_recommendations`` are re-exported for the ``visrec compare`` command
__all__ = ["DEFAULT_KS", "Comparison", "EvalData", "compare_files", "compare_lists", "default_ks", "encode_lists",
           "list_notes", "load_features_npz", "read_recommendations"]

DEFAULT_KS = (1, 5, 10, 20, 50, 100)


def default_ks(k: int, list_length: int) -> list:
    """Cut-offs for the metric@k curves: the usual ones up to the list length, plus ``k``.

    Parameters
    ----------
    k : int
        The main cut-off.
    list_length : int

    Returns
    -------
    list of int
        Sorted.
    """
    top = max(k, list_length)
    return sorted({c for c in DEFAULT_KS if c <= top} | {k})


def compare_lists(lists: dict, data: EvalData, *, k: int = 10, ks=None, n_boot: int = 2000, alpha: float = 0.05,
                  random_state: int = 0, segments: bool = True, info: dict | None = None, notes=(),
                  description: dict | None = None) -> Comparison:
    """Compare encoded top-k lists of several systems on the same test users.

    Parameters
    ----------
    lists : {name: ndarray of int (n_users, L)}
        Item indices into ``data.item_ids``, best first, row ``i`` for ``data.user_ids[i]``;
        ``-1`` for empty slots. The first entry is the baseline.
    data : EvalData
    k : int
        Main cut-off (the tests are run at ``k``).
    ks : iterable of int, optional
        Cut-offs of the metric@k curves (default: 1, 5, 10, 20, 50, 100 up to the list length).
    n_boot, alpha, random_state :
        Bootstrap resamples, significance level (and ``1 - alpha`` CI coverage), random state.
    segments : bool
        Also compare on the user and item segments (needs ``data.history``).
    info : {name: dict}, optional
        Per-system statistics to report (e.g. from :func:`encode_lists`).
    notes : iterable of str
    description : dict, optional
        Added to the test-set description of ``metrics.json``.

    Returns
    -------
    Comparison
    """
    if len(lists) < 2:
        raise ValueError(f"give at least two systems to compare, got {list(lists)}")
    names = list(lists)
    L = min(np.asarray(v).shape[1] for v in lists.values())
    ks = sorted(set(int(x) for x in (ks if ks is not None else default_ks(k, L))) | {int(k)})
    enc = _padded_lists(lists, data.n_users, ks[-1])
    notes = list(data.notes) + list(notes)
    have_train = data.history is not None and data.item_counts is not None
    per_user, aggregates = _score_lists(enc, data, k, ks)
    if data.vectors is None:
        notes.append("no item vectors given: intra-list diversity (ild) omitted")
    if not have_train:
        notes.append("no training interactions given: novelty, popularity (arp), the popularity distribution "
                     "and the user/item segments (light/heavy, new/returning, cold/warm items) are omitted")
    seg = {"all": {"description": SEGMENTS["all"], "users": np.arange(data.n_users), "per_user": per_user}}
    if segments and have_train:
        seg.update(user_segments(per_user, np.diff(data.history.indptr), k, notes))
        seg.update(item_segments(enc, data.test, data.item_counts, k, notes))
    tests = paired_tests(seg, names, k, n_boot=n_boot, alpha=alpha, random_state=random_state)
    pop, bins = {}, []
    if have_train:
        pop, bins = popularity_distribution(enc, data.item_counts, data.test, k), list(POPULARITY_BINS)
    return Comparison(names, int(k), ks, per_user, aggregates, seg, tests, pop, bins, enc, data,
                      dict(info or {}), notes, alpha, n_boot, dict(description or {}))


def _padded_lists(lists: dict, n_users: int, kmax: int) -> dict:
    """The lists as int64, checked to have one row per test user and padded with -1 to ``kmax`` columns."""
    enc = {}
    for n, v in lists.items():
        v = np.asarray(v, np.int64)
        if v.shape[0] != n_users:
            raise ValueError(f"lists of {n!r} have {v.shape[0]} rows, expected {n_users} (one per test user)")
        if v.shape[1] < kmax:
            v = np.hstack([v, np.full((len(v), kmax - v.shape[1]), -1, np.int64)])
        enc[n] = v
    return enc


def _score_lists(enc: dict, data: EvalData, k: int, ks: list) -> tuple[dict, dict]:
    """Per-user metrics ``{system: {metric: ndarray}}`` and catalog aggregates ``{system: {metric: float}}``.

    Accuracy at every cut-off and AUC; intra-list diversity with item vectors; novelty and
    popularity with training data; coverage as the aggregate.
    """
    rows = np.arange(data.n_users)
    have_train = data.history is not None and data.item_counts is not None
    n_hist = np.diff(data.history.indptr) if have_train else None
    n_cand = data.n_items - n_hist if have_train else np.full(data.n_users, data.n_items)
    per_user, aggregates = {}, {}
    for n, v in enc.items():
        d = ranking_metrics(v, data.test, rows, ks)
        d["auc"] = auc_from_lists(v[:, :ks[-1]], data.test, rows, n_cand)
        if data.vectors is not None:
            d[f"ild@{k}"] = intra_list_diversity(v, data.vectors, k, data.present)
        if have_train:
            d[f"novelty@{k}"] = novelty(v, data.item_counts, data.n_train_users, k)
            d[f"arp@{k}"] = average_popularity(v, data.item_counts, k)
        per_user[n] = d
        aggregates[n] = {f"coverage@{k}": catalog_coverage(v, data.n_items, k)}
    return per_user, aggregates


def compare_files(files: dict, test, train=None, *, catalog=None, features=None, k: int = 10, ks=None,
                  n_boot: int = 2000, alpha: float = 0.05, random_state: int = 0) -> Comparison:
    """Compare recommendation files of any systems against one test set.

    Parameters
    ----------
    files : {name: path} or {name: RecommendationFile}
        The first is the baseline.
    test, train : Interactions (``train`` optional: enables segments, novelty and popularity)
    catalog : Catalog, optional
    features : ItemFeatures aligned with ``catalog``, or ``(item_ids, vectors, present)``, optional
    k, ks, n_boot, alpha, random_state : see :func:`compare_lists`

    Returns
    -------
    Comparison
    """
    recs = {n: f if isinstance(f, RecommendationFile) else read_recommendations(f, name=n) for n, f in files.items()}
    extra = set()
    if catalog is None:
        for r in recs.values():
            for x in r.items:
                extra.update(x)
    data = EvalData.from_interactions(test, train, catalog=catalog, features=features, extra_items=sorted(extra))
    if data.n_users == 0:
        raise DataError(f"{test.source}: no test user to evaluate")
    lists, info, notes = {}, {}, []
    for n, r in recs.items():
        lists[n], info[n] = encode_lists(r, data, k)
        notes += list_notes(n, info[n], data.n_users, k)
    return compare_lists(lists, data, k=k, ks=ks, n_boot=n_boot, alpha=alpha, random_state=random_state, info=info,
                         notes=notes,
                         description={"test_file": str(test.source),
                                      "train_file": str(train.source) if train is not None else None})


def list_notes(name: str, stats: dict, n_users: int, k: int) -> list:
    """What to tell the reader about one list file.

    Parameters
    ----------
    name : str
        The system.
    stats : dict
        Its statistics from :func:`encode_lists`.
    n_users : int
        Number of test users.
    k : int

    Returns
    -------
    list of str
        Missing test users, users that are not test users, unknown items, dropped repeats, short lists.
    """
    path = stats["path"]
    notes = []
    if stats["n_test_users_missing"]:
        notes.append(f"{name}: {stats['n_test_users_missing']} of {n_users} test users have no list in "
                     f"{path}; they count as empty lists (score 0)")
    if stats["n_users_not_in_test"]:
        notes.append(f"{name}: {stats['n_users_not_in_test']} user(s) in {path} are not test users and are ignored "
                     f"(e.g. {', '.join(map(repr, stats['examples_users_not_in_test'][:3]))})")
    if stats["n_unknown_items"]:
        notes.append(f"{name}: {stats['n_unknown_items']} recommended item(s) in {path} are not in the catalog "
                     f"(e.g. {', '.join(map(repr, stats['examples_unknown_items'][:3]))}); they never count as hits")
    if stats["n_duplicate_items_dropped"]:
        notes.append(f"{name}: {stats['n_duplicate_items_dropped']} repeated item(s) within a list were dropped")
    if stats["n_lists_shorter_than_k"]:
        notes.append(f"{name}: {stats['n_lists_shorter_than_k']} list(s) have fewer than k={k} items "
                     f"(missing slots are misses)")
    return notes
