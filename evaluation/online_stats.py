"""Unpaired two-sample statistics of the online A/B report: bootstrap distributions of group means,
percentile intervals of a mean and of a lift, the Mann--Whitney U p-value, and the expected split and
sample-ratio-mismatch test.

Unlike :mod:`evaluation.stats` (one user scored by every system, paired differences), each unit of an
online experiment sees one variant only: the groups are resampled independently of each other.
"""

from __future__ import annotations

import warnings

import numpy as np


def bootstrap_means(x, n_boot: int, rng: np.random.Generator, *, max_cells: int = 4_000_000) -> np.ndarray:
    """Means of ``n_boot`` resamples (with replacement) of the rows of ``x``.

    Every column is averaged over the same resampled rows, so the draws of several metrics of one
    group are those of identical unit samples.

    Parameters
    ----------
    x : array-like (n,) or (n, m)
        Per-unit values of one group.
    n_boot : int
        Resamples (0 gives an empty result).
    rng : numpy.random.Generator
    max_cells : int
        Bound on the values gathered at a time (memory).

    Returns
    -------
    ndarray (n_boot, m)
        NaN where the group has no unit.
    """
    x = np.asarray(x, np.float64)
    if x.ndim == 1:
        x = x[:, None]
    n, m = x.shape
    out = np.full((n_boot, m), np.nan)
    if n == 0:
        return out
    step = max(1, max_cells // (n * m))
    done = 0
    while done < n_boot:
        c = min(step, n_boot - done)
        rows = rng.integers(0, n, size=(c, n))
        out[done:done + c] = x[rows].mean(axis=1)
        done += c
    return out


def percentile_interval(draws, alpha: float = 0.05) -> tuple[np.ndarray, np.ndarray]:
    """The ``1 - alpha`` percentile interval of each column of bootstrap draws.

    Parameters
    ----------
    draws : array-like (n_boot, m)
        NaN draws are ignored; a column without a finite draw gives NaN bounds.
    alpha : float
        In (0, 1).

    Returns
    -------
    (low, high) : ndarray (m,)
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    d = np.asarray(draws, np.float64)
    if d.ndim == 1:
        d = d[:, None]
    if len(d) == 0:
        nan = np.full(d.shape[1], np.nan)
        return nan, nan.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns
        lo, hi = np.nanquantile(d, [alpha / 2, 1 - alpha / 2], axis=0)
    return lo, hi


def lift_intervals(base_draws, other_draws, alpha: float = 0.05) -> dict:
    """Percentile intervals of the absolute and relative lift from independent bootstrap draws of two
    groups' means.

    Parameters
    ----------
    base_draws, other_draws : ndarray (n_boot, m)
        :func:`bootstrap_means` of the baseline and of the other group (same ``n_boot``).
    alpha : float

    Returns
    -------
    dict
        ``abs_low, abs_high`` (of ``mean_b - mean_a``) and ``rel_low, rel_high`` (of
        ``mean_b / mean_a - 1``, draws with a zero baseline mean left out), each an ndarray (m,).
    """
    a = np.asarray(base_draws, np.float64)
    b = np.asarray(other_draws, np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(a != 0, b / a - 1.0, np.nan)
    abs_low, abs_high = percentile_interval(b - a, alpha)
    rel_low, rel_high = percentile_interval(rel, alpha)
    return {"abs_low": abs_low, "abs_high": abs_high, "rel_low": rel_low, "rel_high": rel_high}


def mannwhitney_pvalue(a, b):
    """Two-sided Wilcoxon rank-sum (Mann--Whitney U) p-value of two independent samples.

    Uses :func:`scipy.stats.mannwhitneyu` (exact for small samples without ties, else the normal
    approximation with tie correction and without continuity correction: on counts and 0/1 outcomes
    of thousands of units the correction only makes the test conservative). When every value of both
    samples is the same the p-value is 1; with an empty sample it is NaN.

    Parameters
    ----------
    a, b : array-like (n_a,) and (n_b,), or (n_a, m) and (n_b, m)
        Per-unit values of the two groups; with two dimensions, one test per column. Values must
        be finite.

    Returns
    -------
    float, or ndarray (m,) for two-dimensional input
    """
    from scipy.stats import mannwhitneyu
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    scalar = a.ndim == 1
    if scalar:
        a, b = a[:, None], b[:, None]
    out = np.full(a.shape[1], np.nan)
    if len(a) and len(b):
        both = np.concatenate([a, b])
        const = np.all(both == both[0], axis=0)
        out[const] = 1.0
        if not const.all():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out[~const] = mannwhitneyu(b[:, ~const], a[:, ~const], alternative="two-sided", axis=0,
                                           use_continuity=False).pvalue
    return float(out[0]) if scalar else out


def expected_split(split, variants) -> dict:
    """The expected share of each variant.

    Parameters
    ----------
    split : dict, sequence of float or None
        ``{variant: weight}``; or weights in the sorted order of ``variants``; or None for equal
        shares. Weights are positive and need not sum to 1.
    variants : iterable of str
        The variants seen in the events.

    Returns
    -------
    dict
        ``{variant: share}`` summing to 1.
    """
    names = sorted(set(variants))
    if split is None:
        return {v: 1.0 / len(names) for v in names}
    if not isinstance(split, dict):
        weights = [float(w) for w in split]
        if len(weights) != len(names):
            raise ValueError(f"the split has {len(weights)} part(s) but the events have {len(names)} variant(s) "
                             f"({', '.join(names)}); name them, e.g. {'/'.join(f'{v}=50' for v in names)}")
        split = dict(zip(names, weights))
    if not split or any(not float(w) > 0 for w in split.values()):
        raise ValueError(f"every part of the split must be positive, got {split}")
    total = sum(float(w) for w in split.values())
    return {str(v): float(w) / total for v, w in split.items()}


def srm_test(observed: dict, expected: dict) -> dict:
    """Chi-square goodness-of-fit test of the units per variant against the expected split
    (sample-ratio mismatch).

    Parameters
    ----------
    observed : {variant: int}
        Units assigned to each variant.
    expected : {variant: float}
        Expected share of each variant (positive, summing to 1). A variant observed but not
        expected has an expected share of 0: the test then fails outright (``chi2`` inf, p 0).

    Returns
    -------
    dict
        ``variants`` (expected ones first, then unexpected ones), ``units``, ``observed_share``,
        ``expected_share``, ``chi2``, ``df`` and ``p_value`` (NaN with fewer than two variants or no
        unit).
    """
    from scipy.stats import chi2
    names = list(expected) + sorted(v for v in observed if v not in expected)
    obs = np.array([observed.get(v, 0) for v in names], np.float64)
    share = np.array([expected.get(v, 0.0) for v in names], np.float64)
    total = obs.sum()
    out = {"variants": names, "units": {v: int(o) for v, o in zip(names, obs)},
           "observed_share": {v: (o / total if total else float("nan")) for v, o in zip(names, obs)},
           "expected_share": dict(zip(names, share.tolist())), "df": max(len(names) - 1, 0)}
    if len(names) < 2 or total == 0:
        return {**out, "chi2": float("nan"), "p_value": float("nan")}
    exp = share * total
    if np.any((exp == 0) & (obs > 0)):
        return {**out, "chi2": float("inf"), "p_value": 0.0}
    keep = exp > 0
    stat = float(np.sum((obs[keep] - exp[keep]) ** 2 / exp[keep]))
    return {**out, "chi2": stat, "p_value": float(chi2.sf(stat, len(names) - 1))}
