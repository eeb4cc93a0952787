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
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recsys.data import DataError
from recsys.io.lists import RecommendationFile, read_recommendations
from .metrics import (METRICS, auc_from_lists, average_popularity, catalog_coverage, intra_list_diversity,
                      novelty, ranking_metrics)
from .stats import holm, paired_bootstrap_ci, wilcoxon_pvalue

SEGMENTS = {
    "all": "all test users",
    "users:light": "returning users with at most the median number of distinct training items",
    "users:heavy": "returning users with more than the median number of distinct training items",
    "users:new": "users with no training interactions",
    "users:returning": "users with at least one training interaction",
    "items:cold": "accuracy on the test items with no training interactions only",
    "items:warm": "accuracy on the test items with training interactions only",
}

DEFINITIONS = {
    "precision@k": "|top-k ∩ test items| / k (k is the denominator, also for shorter lists)",
    "recall@k": "|top-k ∩ test items| / |test items|",
    "ndcg@k": "binary-gain DCG@k / ideal DCG over min(|test items|, k) hits",
    "map@k": "sum of precision@i at each hit i <= k / min(|test items|, k)",
    "mrr@k": "1 / rank of the first hit within the top k (0 if none)",
    "hitrate@k": "1 if any of the top k is a test item",
    "auc": "P(a test item is ranked above a non-test candidate); listed items rank in list order above "
           "all unlisted candidates, which tie; candidates = catalog items minus the user's training items",
    "coverage@k": "distinct items in all top-k lists / number of catalog items",
    "ild@k": "mean pairwise cosine distance of the visual vectors of the top-k items",
    "novelty@k": "mean -log2(max(training users of the item, 1) / training users) over the top k",
    "arp@k": "mean number of training users of the top-k items (average recommendation popularity)",
}

DEFAULT_KS = (1, 5, 10, 20, 50, 100)


# ----------------------------------------------------------------------------------------------
# the evaluation data: test users, their test and training items, item popularity

@dataclass
class EvalData:
    """Everything the comparison needs, on dense indices.

    Attributes
    ----------
    user_ids : ndarray of str (n_users,)
        The evaluated (test) users, in row order.
    item_ids : ndarray of str (n_items,)
        The item universe (the catalog, or every item seen in train, test and the lists).
    test : csr_matrix (n_users, n_items)
    history : csr_matrix (n_users, n_items) or None
        Training interactions of the evaluated users (None without training data).
    item_counts : ndarray (n_items,) or None
        Distinct training users per item.
    n_train_users : int
    image_paths : list or None
        Image path per item (None entries for items without an image).
    vectors, present : ndarray or None
        Visual vectors per item (for intra-list diversity).
    notes : list of str
    """

    user_ids: np.ndarray
    item_ids: np.ndarray
    test: sp.csr_matrix
    history: sp.csr_matrix | None = None
    item_counts: np.ndarray | None = None
    n_train_users: int = 0
    image_paths: list | None = None
    vectors: np.ndarray | None = None
    present: np.ndarray | None = None
    notes: list = field(default_factory=list)
    description: dict = field(default_factory=dict)

    @property
    def n_users(self) -> int:
        return len(self.user_ids)

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    @classmethod
    def from_interactions(cls, test, train=None, *, catalog=None, features=None, extra_items=()) -> "EvalData":
        """Build from :class:`recsys.data.Interactions` tables.

        Parameters
        ----------
        test, train : Interactions
        catalog : Catalog, optional
            Defines the item universe (and thumbnails); without it the universe is every item in
            ``train``, ``test`` and ``extra_items``.
        features : (item_ids, vectors, present) or ItemFeatures aligned with ``catalog``, optional
        extra_items : iterable of str
            Items seen in the list files (only used without a catalog).
        """
        from recsys.data import Catalog, Dataset
        notes = []
        tdf = test.df
        universe = catalog
        if catalog is None:  # the universe: items in test, train and the lists, in order of appearance
            parts = [tdf["item_id"].astype(str).unique()]
            if train is not None:
                parts.append(train.df["item_id"].astype(str).unique())
            parts.append(np.asarray(list(extra_items), dtype=object).astype(str))
            universe = Catalog.from_frame(pd.DataFrame({"item_id": pd.unique(np.concatenate(parts))}))
        item_ids = universe.item_ids

        def unknown_items(ds):
            return [r for r in ds.report.skipped if r["reason"] == "item_id not in catalog"]

        def binary(m):
            m = m.copy()
            m.data[:] = 1
            return m

        test_ds = Dataset(universe, test, on_unknown="skip")
        bad = unknown_items(test_ds)
        if bad:
            notes.append(f"{len(bad)} test interaction(s) name items not in the catalog and were dropped (first: "
                         f"{test.source} line {bad[0]['row']}, item {bad[0]['value']!r})")
        user_ids = test_ds.users.ids
        n_dropped_users = tdf["user_id"].nunique() - len(user_ids)
        if n_dropped_users:
            notes.append(f"{n_dropped_users} test user(s) have no test item in the catalog and are not evaluated")
        test_m = binary(test_ds.matrix())
        history, counts, n_train_users = None, None, 0
        if train is not None:
            train_ds = Dataset(universe, train, on_unknown="skip")
            bad = unknown_items(train_ds)
            if bad:
                notes.append(f"{len(bad)} training interaction(s) name items not in the catalog and were ignored "
                             f"(first: item {bad[0]['value']!r})")
            counts = train_ds.item_counts()
            n_train_users = int(train.df["user_id"].nunique())
            history = binary(Dataset(universe, train, users=test_ds.users, on_unknown="skip").matrix())
        paths = catalog.image_paths() if catalog is not None else None
        vectors = present = None
        if features is not None:
            vectors, present = _align_features(features, item_ids, catalog)
        desc = {"n_test_users": int(len(user_ids)), "n_test_interactions": int(test_m.nnz),
                "n_items": int(len(item_ids)), "item_universe": "catalog" if catalog is not None else
                "items in train, test and the lists"}
        if train is not None:
            desc["n_train_users"] = n_train_users
            desc["n_train_interactions"] = int(counts.sum())
        return cls(user_ids, np.asarray(item_ids, dtype=object), test_m, history, counts, n_train_users, paths,
                   vectors, present, notes, desc)


def _align_features(features, item_ids, catalog):
    """(vectors, present) aligned with ``item_ids`` from an ItemFeatures (catalog order) or a
    ``(ids, vectors, present)`` triple."""
    if isinstance(features, tuple):
        ids, vec, pres = features
        pos = pd.Index(np.asarray(ids).astype(str)).get_indexer(np.asarray(item_ids).astype(str))
        vec = np.asarray(vec, np.float32)
        out = np.zeros((len(item_ids), vec.shape[1]), np.float32)
        ok = pos >= 0
        out[ok] = vec[pos[ok]]
        p = np.zeros(len(item_ids), bool)
        p[ok] = np.asarray(pres, bool)[pos[ok]]
        return out, p
    vec, pres = features.vectors, features.present
    if len(vec) != len(item_ids):
        raise ValueError(f"features have {len(vec)} rows but there are {len(item_ids)} items")
    return vec, pres


def load_features_npz(path):
    """``(item_ids, vectors, present)`` from an ``.npz`` written by ``visrec embed``."""
    with np.load(path, allow_pickle=False) as z:
        if "item_ids" not in z.files or "vectors" not in z.files:
            raise DataError(f"{path}: expected arrays 'item_ids' and 'vectors' (as written by `visrec embed`), "
                            f"found {z.files}")
        vec = z["vectors"]
        present = z["present"] if "present" in z.files else np.ones(len(vec), bool)
        return z["item_ids"].astype(str), vec, present


def encode_lists(rec: RecommendationFile, data: EvalData, kmax: int) -> tuple[np.ndarray, dict]:
    """Encode a list file on ``data``'s users and items: ``(lists (n_users, L), stats)``.

    ``L = max(kmax, longest list)``; slots past a list's end are -1, and so are items unknown to
    the item universe. Test users absent from the file get an all -1 (empty) list.
    """
    upos = pd.Index(data.user_ids).get_indexer(pd.Index(rec.users, dtype=object))
    lengths = np.fromiter((len(x) for x in rec.items), np.int64, len(rec.items))
    L = max(int(kmax), int(lengths.max()) if len(lengths) else 0)
    lists = np.full((data.n_users, L), -1, np.int64)
    flat = np.concatenate([np.asarray(x, dtype=object) for x in rec.items]) if len(rec.items) else np.array([], object)
    idx = pd.Index(data.item_ids).get_indexer(pd.Index(flat, dtype=object)) if len(flat) else np.array([], np.int64)
    row = np.repeat(upos, lengths)
    col = np.concatenate([np.arange(n) for n in lengths]) if len(lengths) else np.array([], np.int64)
    ok = row >= 0
    lists[row[ok], col[ok]] = idx[ok]
    unknown_items = (idx < 0) & ok
    not_test = [u for u, p in zip(rec.users, upos) if p < 0]
    covered = np.zeros(data.n_users, bool)
    covered[upos[upos >= 0]] = True
    short = int(((lengths < kmax) & (upos >= 0)).sum())
    stats = {"path": rec.path, "n_users_in_file": len(rec.users), "n_test_users_missing": int((~covered).sum()),
             "n_users_not_in_test": len(not_test), "examples_users_not_in_test": not_test[:5],
             "n_unknown_items": int(unknown_items.sum()),
             "examples_unknown_items": pd.unique(flat[unknown_items])[:5].tolist(),
             "n_duplicate_items_dropped": int(rec.n_duplicate_items), "n_lists_shorter_than_k": short,
             "max_list_length": int(lengths.max()) if len(lengths) else 0}
    return lists, stats


# ----------------------------------------------------------------------------------------------
# the comparison

@dataclass
class Comparison:
    """Per-user metrics of several systems on one test set, with paired tests against a baseline.

    Attributes
    ----------
    models : list of str
        Baseline first.
    k, ks : int, list of int
        Main cut-off, and all cut-offs (metric@k curves).
    per_user : {model: {metric: ndarray (n_users,)}}
    aggregates : {model: {metric: float}}
        Catalog-level metrics (coverage) that have no per-user value.
    segments : {segment: {"description": str, "users": ndarray of row indices, "per_user": {...}}}
    tests : list of dict
        One row per (segment, model vs baseline, metric); see :meth:`to_json`.
    popularity : {name: [share per bin]} with ``popularity_bins``
    lists : {model: ndarray (n_users, L)} -- encoded lists (for the report's sample users)
    data : EvalData
    info : {model: dict} -- list-file statistics (missing users, unknown items, ...)
    notes : list of str
    """

    models: list
    k: int
    ks: list
    per_user: dict
    aggregates: dict
    segments: dict
    tests: list
    popularity: dict
    popularity_bins: list
    lists: dict
    data: EvalData
    info: dict
    notes: list
    alpha: float = 0.05
    n_boot: int = 2000
    description: dict = field(default_factory=dict)

    @property
    def baseline(self) -> str:
        return self.models[0]

    @property
    def users(self) -> np.ndarray:
        return self.data.user_ids

    def means(self, segment: str = "all") -> dict:
        """``{model: {metric: mean}}`` over the segment's users (NaN-aware)."""
        seg = self.segments[segment]["per_user"]
        return {m: {k: _nanmean(v) for k, v in d.items()} for m, d in seg.items()}

    def main_metrics(self) -> list:
        """The per-user metrics at the main cut-off (and auc, novelty, ...), in display order."""
        d = self.per_user[self.baseline]
        return [m for m in d if not _at(m) or _at(m) == self.k]

    def table(self) -> str:
        """Plain-text table of the main metrics and lifts over the baseline (all users)."""
        mets = self.main_metrics()
        width = max(len(m) for m in self.models) + 2
        means = self.means()
        lines = ["model".ljust(width) + "".join(f"{m:>13}" for m in mets)]
        for name in self.models:
            lines.append(name.ljust(width) + "".join(f"{means[name][m]:>13.4f}" for m in mets))
        for name in self.models[1:]:
            rows = {r["metric"]: r for r in self.tests if r["segment"] == "all" and r["model"] == name}
            cells = []
            for m in mets:
                r = rows.get(m)
                cells.append(f"{'':>13}" if r is None else
                             f"{_fmt_rel(r['rel_lift']) + ('*' if r['significant'] else ' '):>13}")
            lines.append(f"lift {name}".ljust(width) + "".join(cells))
        lines.append(f"(* = significant at alpha={self.alpha} after Holm correction; Wilcoxon signed-rank per user)")
        return "\n".join(lines)

    def to_json(self) -> dict:
        """A JSON-serialisable dict (NaN written as null)."""
        curves = {name: {m: {str(k): _nanmean(self.per_user[name][f"{m}@{k}"]) for k in self.ks}
                         for m in METRICS} for name in self.models}
        out = {
            "baseline": self.baseline, "models": self.models, "k": self.k, "ks": self.ks,
            "alpha": self.alpha, "n_boot": self.n_boot, "test": {**self.data.description, **self.description},
            "means": self.means(),
            "aggregates": self.aggregates,
            "curves": curves,
            "segments": {s: {"description": d["description"], "n_users": int(len(d["users"])),
                             "means": self.means(s)} for s, d in self.segments.items()},
            "tests": self.tests,
            "popularity_distribution": {"bins": self.popularity_bins, "share": self.popularity},
            "lists": self.info,
            "notes": self.notes,
            "definitions": DEFINITIONS,
            "segment_definitions": {s: SEGMENTS[s] for s in self.segments},
        }
        return _clean_json(out)

    def summary_markdown(self, title: str = "visrec offline A/B comparison") -> str:
        """A Markdown summary for CI logs: means, lifts with CIs and p-values, segments, notes."""
        mets = self.main_metrics()
        means = self.means()
        md = [f"# {title}", "",
              f"{self.data.n_users} test users; baseline **{self.baseline}**; k = {self.k}; paired per-user "
              f"tests: bootstrap {int((1 - self.alpha) * 100)}% CI ({self.n_boot} resamples), Wilcoxon "
              f"signed-rank, Holm-adjusted over the metrics of each comparison.", ""]
        md += ["| model | " + " | ".join(mets) + " |", "|---" * (len(mets) + 1) + "|"]
        for name in self.models:
            md.append(f"| {name} | " + " | ".join(_fmt(means[name][m]) for m in mets) + " |")
        agg = sorted({a for d in self.aggregates.values() for a in d})
        if agg:
            md += ["", "| model | " + " | ".join(agg) + " |", "|---" * (len(agg) + 1) + "|"]
            for name in self.models:
                md.append(f"| {name} | " + " | ".join(_fmt(self.aggregates[name].get(a)) for a in agg) + " |")
        for name in self.models[1:]:
            md += ["", f"## {name} vs {self.baseline}", "",
                   "| segment | metric | users | " + f"{self.baseline} | {name} | lift | rel. lift | 95% CI | "
                   "p (Wilcoxon) | p (Holm) | sig. |", "|---" * 11 + "|"]
            for r in self.tests:
                if r["model"] != name or (r["segment"] != "all" and r["metric"] not in
                                          (f"ndcg@{self.k}", f"recall@{self.k}", f"hitrate@{self.k}")):
                    continue
                md.append(f"| {r['segment']} | {r['metric']} | {r['n_users']} | {_fmt(r['mean_a'])} | "
                          f"{_fmt(r['mean_b'])} | {_fmt(r['abs_lift'], True)} | {_fmt_rel(r['rel_lift'])} | "
                          f"[{_fmt(r['ci_low'], True)}, {_fmt(r['ci_high'], True)}] | {_fmt_p(r['p_wilcoxon'])} | "
                          f"{_fmt_p(r['p_holm'])} | {'yes' if r['significant'] else 'no'} |")
        md += ["", "## Segments", ""] + [f"- `{s}` ({len(d['users'])} users): {d['description']}"
                                         for s, d in self.segments.items()]
        if self.notes:
            md += ["", "## Notes", ""] + [f"- {n}" for n in self.notes]
        return "\n".join(md) + "\n"

    def write(self, out, *, title: str = "visrec offline A/B comparison", n_sample_users: int = 4,
              seed: int = 0) -> dict:
        """Write ``metrics.json``, ``summary.md`` and ``report.html`` to the folder ``out`` (atomically)."""
        from recsys.io import atomic_write_text
        from .report import render_comparison_report
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out / "metrics.json", json.dumps(self.to_json(), indent=1, allow_nan=False))
        atomic_write_text(out / "summary.md", self.summary_markdown(title))
        render_comparison_report(self, out / "report.html", title=title, n_users=n_sample_users, seed=seed)
        return {"metrics": out / "metrics.json", "summary": out / "summary.md", "report": out / "report.html"}


def _at(metric: str):
    return int(metric.rsplit("@", 1)[1]) if "@" in metric else None


def _nanmean(v) -> float:
    v = np.asarray(v, np.float64)
    ok = np.isfinite(v)
    return float(v[ok].mean()) if ok.any() else float("nan")


def _fmt(x, signed: bool = False) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    return f"{x:+.4f}" if signed else f"{x:.4f}"


def _fmt_rel(x) -> str:
    return "–" if x is None or not math.isfinite(x) else f"{100 * x:+.1f}%"


def _fmt_p(p) -> str:
    return "–" if p is None or not math.isfinite(p) else (f"{p:.1e}" if p < 1e-3 else f"{p:.3f}")


def _clean_json(x):
    if isinstance(x, dict):
        return {str(k): _clean_json(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_clean_json(v) for v in x]
    if isinstance(x, (np.floating, float)):
        return float(x) if math.isfinite(float(x)) else None
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.bool_):
        return bool(x)
    if isinstance(x, np.ndarray):
        return _clean_json(x.tolist())
    return x


def default_ks(k: int, list_length: int) -> list:
    """Cut-offs for the metric@k curves: the usual ones up to the list length, plus ``k``."""
    top = max(k, list_length)
    return sorted({c for c in DEFAULT_KS if c <= top} | {k})


def compare_lists(lists: dict, data: EvalData, *, k: int = 10, ks=None, n_boot: int = 2000, alpha: float = 0.05,
                  seed: int = 0, segments: bool = True, info: dict | None = None, notes=(),
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
    n_boot, alpha, seed :
        Bootstrap resamples, significance level (and ``1 - alpha`` CI coverage), random seed.
    segments : bool
        Also compare on the user and item segments (needs ``data.history``).
    info : {name: dict}, optional
        Per-system statistics to report (e.g. from :func:`encode_lists`).
    notes : iterable of str
    """
    if len(lists) < 2:
        raise ValueError(f"give at least two systems to compare, got {list(lists)}")
    names = list(lists)
    L = min(np.asarray(v).shape[1] for v in lists.values())
    ks = sorted(set(int(x) for x in (ks if ks is not None else default_ks(k, L))) | {int(k)})
    kmax = ks[-1]
    enc = {}
    for n, v in lists.items():
        v = np.asarray(v, np.int64)
        if v.shape[0] != data.n_users:
            raise ValueError(f"lists of {n!r} have {v.shape[0]} rows, expected {data.n_users} (one per test user)")
        if v.shape[1] < kmax:
            v = np.hstack([v, np.full((len(v), kmax - v.shape[1]), -1, np.int64)])
        enc[n] = v
    notes = list(data.notes) + list(notes)
    rows = np.arange(data.n_users)
    test = data.test
    have_train = data.history is not None and data.item_counts is not None
    n_hist = np.diff(data.history.indptr) if have_train else None
    n_cand = data.n_items - n_hist if have_train else np.full(data.n_users, data.n_items)
    per_user, aggregates = {}, {}
    for n, v in enc.items():
        d = ranking_metrics(v, test, rows, ks)
        d["auc"] = auc_from_lists(v[:, :kmax], test, rows, n_cand)
        if data.vectors is not None:
            d[f"ild@{k}"] = intra_list_diversity(v, data.vectors, k, data.present)
        if have_train:
            d[f"novelty@{k}"] = novelty(v, data.item_counts, data.n_train_users, k)
            d[f"arp@{k}"] = average_popularity(v, data.item_counts, k)
        per_user[n] = d
        aggregates[n] = {f"coverage@{k}": catalog_coverage(v, data.n_items, k)}
    if data.vectors is None:
        notes.append("no item vectors given: intra-list diversity (ild) omitted")
    if not have_train:
        notes.append("no training interactions given: novelty, popularity (arp), the popularity distribution "
                     "and the user/item segments (light/heavy, new/returning, cold/warm items) are omitted")

    seg = {"all": {"description": SEGMENTS["all"], "users": rows, "per_user": per_user}}
    if segments and have_train:
        main = [f"{m}@{k}" for m in METRICS]
        returning = n_hist > 0
        med = float(np.median(n_hist[returning])) if returning.any() else 0.0
        user_segs = {"users:light": returning & (n_hist <= med), "users:heavy": returning & (n_hist > med),
                     "users:new": ~returning, "users:returning": returning}
        for s, mask in user_segs.items():
            idx = np.flatnonzero(mask)
            if len(idx) == 0:
                notes.append(f"segment {s} is empty ({SEGMENTS[s]}) and is omitted")
                continue
            if s == "users:returning" and len(idx) == data.n_users:
                continue  # every user is returning: the segment is "all"
            desc = SEGMENTS[s] + (f" (median = {med:g} items)" if s in ("users:light", "users:heavy") else "")
            seg[s] = {"description": desc, "users": idx,
                      "per_user": {n: {m: per_user[n][m][idx] for m in main + ["auc"]} for n in names}}
        cold_items = data.item_counts == 0
        for s, keep in (("items:cold", cold_items), ("items:warm", ~cold_items)):
            t = (test @ sp.diags(keep.astype(np.float32))).tocsr()
            t.eliminate_zeros()
            idx = np.flatnonzero(np.diff(t.indptr) > 0)
            if len(idx) == 0:
                notes.append(f"segment {s} is empty (no test item is {'cold' if s == 'items:cold' else 'warm'}) "
                             f"and is omitted")
                continue
            seg[s] = {"description": SEGMENTS[s], "users": idx,
                      "per_user": {n: ranking_metrics(enc[n][idx][:, :k], t, idx, (k,)) for n in names}}

    tests = []
    base = names[0]
    for s, d in seg.items():
        for j, other in enumerate(names[1:]):
            mets = [m for m in d["per_user"][base] if _at(m) is None or _at(m) == k]
            rows_out = []
            for m in mets:
                a, b = d["per_user"][base][m], d["per_user"][other][m]
                ok = np.isfinite(a) & np.isfinite(b)
                rows_out.append((m, a[ok], b[ok], ok.all()))
            # metrics defined for every user of the segment share one bootstrap (the same user
            # resamples); the others (NaN for some users, e.g. ild of an empty list) get their own
            ci = [None] * len(rows_out)
            full = [i for i, r in enumerate(rows_out) if r[3] and len(r[1])]
            if full:
                lo, hi = paired_bootstrap_ci(np.column_stack([rows_out[i][1] for i in full]),
                                             np.column_stack([rows_out[i][2] for i in full]),
                                             n_boot=n_boot, alpha=alpha, seed=seed)
                for j, i in enumerate(full):
                    ci[i] = (float(lo[j]), float(hi[j]))
            for i, (m, a, b, _) in enumerate(rows_out):
                if ci[i] is None:
                    ci[i] = paired_bootstrap_ci(a, b, n_boot=n_boot, alpha=alpha, seed=seed)
            rows_out = [r[:3] for r in rows_out]
            ps = [wilcoxon_pvalue(a, b) if len(a) else float("nan") for _, a, b in rows_out]
            ph = holm(ps)
            for (m, a, b), (lo, hi), p, q in zip(rows_out, ci, ps, ph):
                ma, mb = (float(a.mean()), float(b.mean())) if len(a) else (float("nan"), float("nan"))
                tests.append({"segment": s, "baseline": base, "model": other, "metric": m, "n_users": int(len(a)),
                              "mean_a": ma, "mean_b": mb, "abs_lift": mb - ma,
                              "rel_lift": (mb - ma) / ma if ma else float("nan"),
                              "ci_low": lo, "ci_high": hi, "p_wilcoxon": p, "p_holm": float(q),
                              "significant": bool(np.isfinite(q) and q < alpha)})

    pop, bins = {}, []
    if have_train:
        pop, bins = _popularity_distribution(enc, data, k)
    return Comparison(names, int(k), ks, per_user, aggregates, seg, tests, pop, bins, enc, data,
                      dict(info or {}), notes, alpha, n_boot, dict(description or {}))


def _popularity_distribution(enc, data: EvalData, k: int):
    """Share of each system's top-k recommendations (and of the test items) per item-popularity bin.

    Items are ranked by training popularity (most popular first); the bins are the top 1%, 1-5%,
    5-20%, 20-50% and 50-100% of the popularity-ranked items that have training interactions, plus
    the items without training interactions (cold).
    """
    counts = data.item_counts
    warm = np.flatnonzero(counts > 0)
    order = warm[np.argsort(-counts[warm], kind="stable")]
    edges = [0.0, 0.01, 0.05, 0.2, 0.5, 1.0]
    labels = ["top 1%", "1–5%", "5–20%", "20–50%", "50–100%", "cold"]
    bin_of = np.full(data.n_items, len(edges) - 1, np.int64)  # cold bin
    rank_share = (np.arange(len(order)) + 0.5) / max(len(order), 1)
    bin_of[order] = np.searchsorted(edges[1:-1], rank_share, side="right")
    out = {}
    for n, v in enc.items():
        top = v[:, :k]
        top = top[top >= 0]
        h = np.bincount(bin_of[top], minlength=len(labels)).astype(float)
        out[n] = (h / max(h.sum(), 1)).tolist()
    h = np.bincount(bin_of[data.test.indices], minlength=len(labels)).astype(float)
    out["test items"] = (h / max(h.sum(), 1)).tolist()
    return out, labels


def compare_files(files: dict, test, train=None, *, catalog=None, features=None, k: int = 10, ks=None,
                  n_boot: int = 2000, alpha: float = 0.05, seed: int = 0) -> Comparison:
    """Compare recommendation files of any systems against one test set.

    Parameters
    ----------
    files : {name: path} or {name: RecommendationFile}
        The first is the baseline.
    test, train : Interactions (``train`` optional: enables segments, novelty and popularity)
    catalog : Catalog, optional
    features : ItemFeatures aligned with ``catalog``, or ``(item_ids, vectors, present)``, optional
    k, ks, n_boot, alpha, seed : see :func:`compare_lists`
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
        st = info[n]
        if st["n_test_users_missing"]:
            notes.append(f"{n}: {st['n_test_users_missing']} of {data.n_users} test users have no list in "
                         f"{r.path}; they count as empty lists (score 0)")
        if st["n_users_not_in_test"]:
            notes.append(f"{n}: {st['n_users_not_in_test']} user(s) in {r.path} are not test users and are ignored "
                         f"(e.g. {', '.join(map(repr, st['examples_users_not_in_test'][:3]))})")
        if st["n_unknown_items"]:
            notes.append(f"{n}: {st['n_unknown_items']} recommended item(s) in {r.path} are not in the catalog "
                         f"(e.g. {', '.join(map(repr, st['examples_unknown_items'][:3]))}); they never count as hits")
        if st["n_duplicate_items_dropped"]:
            notes.append(f"{n}: {st['n_duplicate_items_dropped']} repeated item(s) within a list were dropped")
        if st["n_lists_shorter_than_k"]:
            notes.append(f"{n}: {st['n_lists_shorter_than_k']} list(s) have fewer than k={k} items "
                         f"(missing slots are misses)")
    return compare_lists(lists, data, k=k, ks=ks, n_boot=n_boot, alpha=alpha, seed=seed, info=info, notes=notes,
                         description={"test_file": str(test.source),
                                      "train_file": str(train.source) if train is not None else None})
