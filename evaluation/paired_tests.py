"""The paired per-user tests of a comparison: every system against the baseline, per segment and
metric -- means, lifts, a bootstrap CI of the mean difference, Wilcoxon and Holm-adjusted p-values."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .definitions import metric_cutoff
from .stats import holm, paired_bootstrap_ci, wilcoxon_pvalue


class PairedValues(NamedTuple):
    """One metric's per-user values of the baseline (``a``) and another system (``b``), on the users
    where both are defined."""

    metric: str
    a: np.ndarray
    b: np.ndarray
    complete: bool  # defined for every user of the segment


def paired_tests(segments: dict, names: list, k: int, *, n_boot: int, alpha: float, random_state: int) -> list:
    """Compare each system with the baseline ``names[0]`` on every segment.

    Parameters
    ----------
    segments : {segment: {"per_user": {system: {metric: ndarray}}, ...}}
    names : list of str
        The systems, baseline first.
    k : int
        The metrics at cut-off ``k`` and those without a cut-off are tested.
    n_boot, alpha, random_state :
        Bootstrap resamples, significance level (and ``1 - alpha`` CI coverage), random state.

    Returns
    -------
    list of dict
        One row per (segment, system, metric) with ``segment, baseline, model, metric, n_users,
        mean_a, mean_b, abs_lift, rel_lift, ci_low, ci_high, p_wilcoxon, p_holm, significant``;
        the p-values of one segment and system are Holm-adjusted together.
    """
    base = names[0]
    rows = []
    for s, d in segments.items():
        for other in names[1:]:
            pairs = paired_values(d["per_user"][base], d["per_user"][other], k)
            cis = bootstrap_cis(pairs, n_boot=n_boot, alpha=alpha, random_state=random_state)
            ps = [wilcoxon_pvalue(p.a, p.b) if len(p.a) else float("nan") for p in pairs]
            for p, (lo, hi), pw, ph in zip(pairs, cis, ps, holm(ps)):
                rows.append(_test_row(s, base, other, p, lo, hi, pw, float(ph), alpha))
    return rows


def paired_values(base: dict, other: dict, k: int) -> list:
    """The per-user values of two systems, paired, for the metrics that are tested.

    Parameters
    ----------
    base, other : {metric: ndarray (n_users,)}
        The baseline's and the other system's per-user metrics on the same users.
    k : int
        Metrics at another cut-off than ``k`` are left out (those without a cut-off are kept).

    Returns
    -------
    list of PairedValues
        In the order of ``base``; users where either value is NaN are dropped.
    """
    out = []
    for m in base:
        if metric_cutoff(m) not in (None, k):
            continue
        a, b = base[m], other[m]
        ok = np.isfinite(a) & np.isfinite(b)
        out.append(PairedValues(m, a[ok], b[ok], bool(ok.all())))
    return out


def bootstrap_cis(pairs: list, *, n_boot: int, alpha: float, random_state: int) -> list:
    """Bootstrap CI of the mean difference ``b - a`` of each metric.

    The metrics defined for every user of the segment share one bootstrap (the same user
    resamples); the others (NaN for some users, e.g. ild of an empty list) get their own, in order.

    Parameters
    ----------
    pairs : list of PairedValues
    n_boot, alpha, random_state :
        See :func:`evaluation.stats.paired_bootstrap_ci`.

    Returns
    -------
    list of (low, high)
        One per entry of ``pairs``.
    """
    cis = [None] * len(pairs)
    full = [i for i, p in enumerate(pairs) if p.complete and len(p.a)]
    if full:
        lo, hi = paired_bootstrap_ci(np.column_stack([pairs[i].a for i in full]),
                                     np.column_stack([pairs[i].b for i in full]),
                                     n_boot=n_boot, alpha=alpha, random_state=random_state)
        for j, i in enumerate(full):
            cis[i] = (float(lo[j]), float(hi[j]))
    for i, p in enumerate(pairs):
        if cis[i] is None:
            cis[i] = paired_bootstrap_ci(p.a, p.b, n_boot=n_boot, alpha=alpha, random_state=random_state)
    return cis


def _test_row(segment, base, other, p: PairedValues, lo, hi, p_wilcoxon, p_holm: float, alpha: float) -> dict:
    ma, mb = (float(p.a.mean()), float(p.b.mean())) if len(p.a) else (float("nan"), float("nan"))
    return {"segment": segment, "baseline": base, "model": other, "metric": p.metric, "n_users": int(len(p.a)),
            "mean_a": ma, "mean_b": mb, "abs_lift": mb - ma, "rel_lift": (mb - ma) / ma if ma else float("nan"),
            "ci_low": lo, "ci_high": hi, "p_wilcoxon": p_wilcoxon, "p_holm": p_holm,
            "significant": bool(np.isfinite(p_holm) and p_holm < alpha)}
