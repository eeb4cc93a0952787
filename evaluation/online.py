"""Online A/B report on logged widget events: per-unit outcomes of each variant, unpaired tests of
every variant against the baseline, and the sample-ratio-mismatch check of the assignment.

A unit is a user (``user_id``) or, when signed out, a visitor (``visitor_id``); :mod:`evaluation.online_events`
turns the events into per-unit outcomes and counts what it leaves out. Each variant is compared
with the baseline on the units exposed to the widget (at least one impression), per metric of
:data:`evaluation.online_events.TESTED_METRICS`: means, absolute and relative lift, percentile
bootstrap CIs with the units of each group resampled independently (each unit saw one variant:
an unpaired comparison, unlike the per-user paired offline report), the Wilcoxon rank-sum
(Mann--Whitney U) p-value, and Holm-adjusted p-values over all (variant, metric) tests.

The sample-ratio-mismatch (SRM) check compares the number of units assigned to each variant (every
attributed unit, exposed or not) with the expected split by a chi-square goodness-of-fit test; a
p-value below ``srm_alpha`` means the assignment or the logging is broken and the lifts are not to be
trusted.

The caller loads the events (``visrec compare --events``: a Parquet/CSV export or the service's SQLite
store, whose experiment gives the split); this package does not read the service's store itself.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from recsys.data import DataError
from recsys.io import atomic_write_text
from .comparison import clean_json
from .online_events import EVENT_TYPES, TESTED_METRICS, UNIT_METRICS, unit_outcomes
from .online_report import ONLINE_DEFINITIONS, online_report_html, online_summary_markdown, online_text_table
from .online_stats import (bootstrap_means, expected_split, lift_intervals, mannwhitney_pvalue, percentile_interval,
                           srm_test)
from .stats import holm

#: metrics shown per variant (the tested ones and impressions per unit)
SHOWN_METRICS = tuple(UNIT_METRICS)
#: the notes written when a count is not 0: (key of the counts, text formatted with the counts)
COUNT_NOTES = (
    ("contaminated_units", "{contaminated_units} unit(s) were seen under more than one variant (contamination); "
                           "their {contaminated_events} event(s) are excluded"),
    ("excluded_no_variant", "{excluded_no_variant} event(s) have no variant, even through their rec_id: excluded"),
    ("excluded_no_unit", "{excluded_no_unit} event(s) have neither user_id nor visitor_id, even through their "
                         "rec_id: excluded"),
    ("rec_ids_with_several_variants", "{rec_ids_with_several_variants} rec_id(s) appear with several variants; "
                                      "events without a variant are not attributed through them"),
    ("duplicates", "{duplicates} event(s) repeat an event_id already seen: dropped"),
    ("unexposed_units", "{unexposed_units} unit(s) have events but no impression: counted in the SRM check, left "
                        "out of the metrics"),
)


@dataclass
class OnlineComparison:
    """The variants of an online experiment compared with a baseline on their exposed units.

    Attributes
    ----------
    variants : list of str
        Baseline first, then the others in sorted order.
    per_variant : {variant: dict}
        ``assigned_units`` (SRM count), ``units`` (exposed), ``events``, ``events_by_type``, ``means``
        and ``ci`` (``{metric: [low, high]}``) of the :data:`SHOWN_METRICS`.
    tests : list of dict
        One row per (variant, metric); see :func:`variant_statistics`.
    srm : dict
        :func:`evaluation.online_stats.srm_test` plus ``threshold``, ``failed`` and ``split_source``.
    counts : dict
        Events and units given, left out and used; see :func:`evaluation.online_events.unit_outcomes`.
    notes : list of str
    """

    variants: list
    per_variant: dict
    tests: list
    srm: dict
    counts: dict
    notes: list
    alpha: float = 0.05
    n_boot: int = 2000
    random_state: int = 0
    description: dict = field(default_factory=dict)

    @property
    def baseline(self) -> str:
        return self.variants[0]

    @property
    def srm_failed(self) -> bool:
        return bool(self.srm["failed"])

    def means(self) -> dict:
        """``{variant: {metric: mean over its exposed units}}``."""
        return {v: dict(d["means"]) for v, d in self.per_variant.items()}

    def table(self) -> str:
        """Plain-text table of the per-variant means and the relative lifts over the baseline."""
        return online_text_table(self)

    def to_json(self) -> dict:
        """A JSON-serialisable dict (NaN written as null)."""
        return clean_json({
            "kind": "online", "baseline": self.baseline, "variants": self.variants, "alpha": self.alpha,
            "n_boot": self.n_boot, "random_state": self.random_state, "source": self.description,
            "srm": self.srm, "srm_failed": self.srm_failed, "counts": self.counts, "means": self.means(),
            "per_variant": self.per_variant, "tests": self.tests, "notes": self.notes,
            "definitions": ONLINE_DEFINITIONS})

    def summary_markdown(self, title: str = "visrec online A/B report") -> str:
        """A Markdown summary for CI logs: SRM, exclusions, means and the tests."""
        return online_summary_markdown(self, title)

    def write(self, out, *, title: str = "visrec online A/B report") -> dict:
        """Write ``metrics.json``, ``summary.md`` and ``report.html`` to the folder ``out`` (atomically).

        Returns
        -------
        dict
            ``{"metrics": Path, "summary": Path, "report": Path}``.
        """
        out = Path(out)
        texts = {"metrics": ("metrics.json", json.dumps(self.to_json(), indent=1, allow_nan=False)),
                 "summary": ("summary.md", self.summary_markdown(title)),
                 "report": ("report.html", online_report_html(self, title))}  # all rendered before any is written
        out.mkdir(parents=True, exist_ok=True)
        for name, text in texts.values():
            atomic_write_text(out / name, text)
        return {key: out / name for key, (name, _) in texts.items()}


def variant_statistics(units, variants: list, *, metrics=TESTED_METRICS, shown=SHOWN_METRICS, n_boot: int = 2000,
                       alpha: float = 0.05, random_state: int = 0) -> tuple[dict, list]:
    """Means with bootstrap CIs per variant, and the unpaired tests of each variant against the first.

    Parameters
    ----------
    units : pandas.DataFrame
        Exposed units: a ``variant`` column and one column per metric.
    variants : list of str
        Baseline first.
    metrics : sequence of str
        The metrics tested.
    shown : sequence of str
        The metrics with a mean and CI per variant (including ``metrics``).
    n_boot : int
        Bootstrap resamples per variant; 0 skips the intervals (NaN), for cheap repeated runs.
    alpha : float
        Significance level of the tests and ``1 - alpha`` coverage of the intervals.
    random_state : int

    Returns
    -------
    (dict, list)
        ``{variant: {"units", "means", "ci"}}``, and one test row per (variant, metric) with
        ``baseline, variant, metric, n_a, n_b, mean_a, mean_b, abs_lift, rel_lift, ci_low, ci_high``
        (of ``mean_b - mean_a``), ``rel_ci_low, rel_ci_high`` (of ``mean_b / mean_a - 1``),
        ``p_mannwhitney``, ``p_holm`` (over every row) and ``significant`` (``p_holm < alpha``).
    """
    shown = list(dict.fromkeys(list(shown) + list(metrics)))
    rng = np.random.default_rng(random_state)
    table, of = units[shown].to_numpy(np.float64), units["variant"].to_numpy()
    values = {v: table[of == v] for v in variants}
    draws = {v: bootstrap_means(x, n_boot, rng) for v, x in values.items()}
    per_variant = {}
    for v, x in values.items():
        lo, hi = percentile_interval(draws[v], alpha)
        means = x.mean(axis=0) if len(x) else np.full(len(shown), np.nan)
        per_variant[v] = {"units": int(len(x)), "means": dict(zip(shown, means.tolist())),
                          "ci": {m: [float(a), float(b)] for m, a, b in zip(shown, lo, hi)}}
    cols = [shown.index(m) for m in metrics]
    base, rows = variants[0], []
    for v in variants[1:]:
        iv = lift_intervals(draws[base][:, cols], draws[v][:, cols], alpha)
        ps = mannwhitney_pvalue(values[base][:, cols], values[v][:, cols])
        for j, m in enumerate(metrics):
            ma, mb = per_variant[base]["means"][m], per_variant[v]["means"][m]
            rows.append({"baseline": base, "variant": v, "metric": m, "n_a": int(len(values[base])),
                         "n_b": int(len(values[v])), "mean_a": ma, "mean_b": mb, "abs_lift": mb - ma,
                         "rel_lift": (mb - ma) / ma if ma else np.nan,
                         "ci_low": float(iv["abs_low"][j]), "ci_high": float(iv["abs_high"][j]),
                         "rel_ci_low": float(iv["rel_low"][j]), "rel_ci_high": float(iv["rel_high"][j]),
                         "p_mannwhitney": float(ps[j])})
    for r, p in zip(rows, holm([r["p_mannwhitney"] for r in rows])):
        r["p_holm"] = float(p)
        r["significant"] = bool(np.isfinite(p) and p < alpha)
    return per_variant, rows


def compare_events(events, *, split=None, baseline: str | None = None, alpha: float = 0.05, n_boot: int = 2000,
                   random_state: int = 0, srm_alpha: float = 0.001, source: str = "events",
                   split_source: str | None = None) -> OnlineComparison:
    """Compare the variants of an online experiment from its logged events.

    Parameters
    ----------
    events : pandas.DataFrame
        The events (columns of ``visrec events export``: ``event_id, type, rec_id, variant, user_id,
        visitor_id, item_id, position, received_at, key_name``; at least ``type, rec_id, variant,
        user_id, visitor_id``).
    split : dict, sequence of float or None
        The expected assignment: ``{variant: weight}`` (e.g. the stored experiment's), weights in the
        sorted order of the variants seen, or None for equal shares.
    baseline : str, optional
        Default: the first variant in sorted order.
    alpha : float
        Significance level (and ``1 - alpha`` CI coverage).
    n_boot : int
        Bootstrap resamples (0: no intervals, p-values only).
    random_state : int
    srm_alpha : float
        The SRM check fails below this p-value.
    source : str
        Names the events in messages and in the report (e.g. the file).
    split_source : str, optional
        Where the split comes from, for the report (default ``"argument"``, or ``"equal"`` without one).

    Returns
    -------
    OnlineComparison

    Raises
    ------
    recsys.data.DataError
        A malformed event table (see :func:`evaluation.online_events.check_events`) or one without an
        exposed unit.
    ValueError
        An unknown baseline or an unusable split.
    """
    if not 0 < alpha < 1 or not 0 < srm_alpha < 1:
        raise ValueError(f"alpha and srm_alpha must be in (0, 1), got {alpha} and {srm_alpha}")
    out = unit_outcomes(events, source)
    units, counts = out.units, out.counts
    exposed = out.exposed
    if len(exposed) == 0:
        raise DataError(f"{source}: no unit with an impression and a variant among {counts['events_total']} "
                        f"event(s) ({_count_text(counts)})")
    seen = sorted(exposed["variant"].unique())
    if baseline is not None and baseline not in seen:
        raise ValueError(f"baseline {baseline!r} has no exposed unit in {source}; the variants are {', '.join(seen)}")
    variants = [baseline or seen[0]] + [v for v in seen if v != (baseline or seen[0])]
    expected = expected_split(split, units["variant"])
    srm = srm_test(units["variant"].value_counts().to_dict(), expected)
    srm.update(threshold=srm_alpha, failed=bool(np.isfinite(srm["p_value"]) and srm["p_value"] < srm_alpha),
               split_source=split_source or ("argument" if split is not None else "equal"))
    stats, tests = variant_statistics(exposed, variants, n_boot=n_boot, alpha=alpha, random_state=random_state)
    per_variant = {}
    for v in variants:
        ev = out.events[out.events["variant"] == v]
        by_type = ev["type"].value_counts()
        per_variant[v] = {"assigned_units": int((units["variant"] == v).sum()), **stats[v], "events": int(len(ev)),
                          "events_by_type": {t: int(by_type.get(t, 0)) for t in EVENT_TYPES}}
    desc = {"events": source, "n_events": counts["events_total"], "split": expected}
    return OnlineComparison(variants, per_variant, tests, srm, counts, _notes(counts, srm, variants, expected),
                            alpha=alpha, n_boot=n_boot, random_state=random_state, description=desc)


def _count_text(counts: dict) -> str:
    return (f"{counts['excluded_no_variant']} without a variant, {counts['excluded_no_unit']} without a unit, "
            f"{counts['contaminated_events']} of units under several variants, {counts['duplicates']} repeated")


def _notes(counts: dict, srm: dict, variants: list, expected: dict) -> list:
    """The warnings of a comparison, most important first."""
    notes = []
    if srm["failed"]:
        obs = ", ".join(f"{v} {srm['units'][v]} ({100 * srm['observed_share'][v]:.1f}% vs "
                        f"{100 * srm['expected_share'][v]:.1f}% expected)" for v in srm["variants"])
        notes.append(f"SAMPLE RATIO MISMATCH: units per variant {obs}; chi-square p = {srm['p_value']:.2g} < "
                     f"{srm['threshold']:g}. The assignment or the logging is broken: do not trust the lifts.")
    unexpected = [v for v in srm["variants"] if v not in expected]
    if unexpected:
        notes.append(f"variant(s) {', '.join(unexpected)} are not in the expected split ({srm['split_source']})")
    notes += [text.format(**counts) for key, text in COUNT_NOTES if counts[key]]
    missing = [v for v in expected if v not in variants]
    if missing:
        notes.append(f"variant(s) {', '.join(missing)} of the split have no exposed unit")
    return notes
