"""The result of an offline A/B comparison (:class:`Comparison`): per-user metrics of several systems
on one test set, the paired tests against the baseline, and its JSON, Markdown and HTML outputs."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from recsys.io import atomic_write_text
from .compare_report import render_comparison_report
from .definitions import DEFINITIONS, SEGMENTS, metric_cutoff
from .evaldata import EvalData
from .metrics import METRICS
from .summary import summary_markdown, text_table


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
        return {m: {k: nanmean(v) for k, v in d.items()} for m, d in seg.items()}

    def main_metrics(self) -> list:
        """The per-user metrics at the main cut-off (and auc, novelty, ...), in display order."""
        return [m for m in self.per_user[self.baseline] if metric_cutoff(m) in (None, self.k)]

    def table(self) -> str:
        """Plain-text table of the main metrics and lifts over the baseline (all users)."""
        return text_table(self)

    def to_json(self) -> dict:
        """A JSON-serialisable dict (NaN written as null)."""
        curves = {name: {m: {str(k): nanmean(self.per_user[name][f"{m}@{k}"]) for k in self.ks}
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
        return clean_json(out)

    def summary_markdown(self, title: str = "visrec offline A/B comparison") -> str:
        """A Markdown summary for CI logs: means, lifts with CIs and p-values, segments, notes."""
        return summary_markdown(self, title)

    def write(self, out, *, title: str = "visrec offline A/B comparison", n_sample_users: int = 4,
              random_state: int = 0) -> dict:
        """Write ``metrics.json``, ``summary.md`` and ``report.html`` to the folder ``out`` (atomically).

        Returns
        -------
        dict
            ``{"metrics": Path, "summary": Path, "report": Path}``.
        """
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out / "metrics.json", json.dumps(self.to_json(), indent=1, allow_nan=False))
        atomic_write_text(out / "summary.md", self.summary_markdown(title))
        render_comparison_report(self, out / "report.html", title=title, n_users=n_sample_users,
                                 random_state=random_state)
        return {"metrics": out / "metrics.json", "summary": out / "summary.md", "report": out / "report.html"}


def nanmean(v) -> float:
    """Mean of the finite values of ``v``.

    Parameters
    ----------
    v : array-like

    Returns
    -------
    float
        NaN when no value is finite.
    """
    v = np.asarray(v, np.float64)
    ok = np.isfinite(v)
    return float(v[ok].mean()) if ok.any() else float("nan")


def clean_json(x):
    """``x`` with numpy scalars and arrays made plain Python, dict keys made strings, NaN/inf made None.

    Parameters
    ----------
    x : dict, list, tuple, ndarray, number or other

    Returns
    -------
    object
        Serialisable by :func:`json.dumps` with ``allow_nan=False``.
    """
    if isinstance(x, dict):
        return {str(k): clean_json(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [clean_json(v) for v in x]
    if isinstance(x, (np.floating, float)):
        return float(x) if math.isfinite(float(x)) else None
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.bool_):
        return bool(x)
    if isinstance(x, np.ndarray):
        return clean_json(x.tolist())
    return x
