"""Paired significance tests for per-user metric differences: bootstrap CI, Wilcoxon, Holm.

All functions take *paired* per-user values: ``a[i]`` and ``b[i]`` are the same user's metric
under systems A and B, and ``d = b - a``.
"""

from __future__ import annotations

import warnings

import numpy as np


def paired_bootstrap_ci(a, b=None, *, n_boot: int = 2000, alpha: float = 0.05, random_state: int = 0,
                        chunk: int = 100) -> tuple[np.ndarray, np.ndarray]:
    """Percentile bootstrap confidence interval of the mean paired difference ``mean(b - a)``.

    Users are resampled with replacement ``n_boot`` times; the same resamples are used for every
    column, so the intervals of several metrics are computed on identical user samples.

    Parameters
    ----------
    a : array-like (n,) or (n, m)
        Per-user values of system A, or the differences themselves when ``b`` is None.
    b : array-like, same shape as ``a``, optional
    n_boot : int
    alpha : float
        ``1 - alpha`` is the coverage (0.05 gives a 95% interval).
    random_state : int
    chunk : int
        Resamples drawn at a time (bounds memory at ``chunk * n`` floats).

    Returns
    -------
    (low, high) : float or ndarray (m,)
        NaN where fewer than two users.
    """
    d = np.asarray(a, np.float64) if b is None else np.asarray(b, np.float64) - np.asarray(a, np.float64)
    scalar = d.ndim == 1
    d = d.reshape(len(d), -1)
    n, m = d.shape
    if n < 2:
        nan = np.full(m, np.nan)
        return (nan[0], nan[0]) if scalar else (nan, nan)
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    rng = np.random.default_rng(random_state)
    means = np.empty((n_boot, m))
    chunk = max(1, min(chunk, 4_000_000 // n))
    for s in range(0, n_boot, chunk):
        c = min(chunk, n_boot - s)
        idx = rng.integers(0, n, size=(c, n)) + (np.arange(c) * n)[:, None]
        w = np.bincount(idx.ravel(), minlength=c * n).reshape(c, n).astype(np.float64)  # draws per user
        means[s:s + c] = (w @ d) / n
    lo, hi = np.quantile(means, [alpha / 2, 1 - alpha / 2], axis=0)
    # all-equal differences give a degenerate interval exactly at the difference
    const = np.ptp(d, axis=0) == 0
    lo = np.where(const, d[0], lo)
    hi = np.where(const, d[0], hi)
    return (float(lo[0]), float(hi[0])) if scalar else (lo, hi)


def wilcoxon_pvalue(a, b=None) -> float:
    """Two-sided Wilcoxon signed-rank p-value of the paired differences ``b - a``.

    Zero differences are dropped (Wilcoxon's original treatment); with no non-zero difference
    the p-value is 1. Uses :func:`scipy.stats.wilcoxon` (exact for small samples without ties,
    else the normal approximation with tie correction).
    """
    from scipy.stats import wilcoxon
    d = np.asarray(a, np.float64) if b is None else np.asarray(b, np.float64) - np.asarray(a, np.float64)
    d = d[np.isfinite(d)]
    if not np.any(d != 0):
        return 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(wilcoxon(d, zero_method="wilcox", alternative="two-sided").pvalue)


def holm(pvalues) -> np.ndarray:
    """Holm--Bonferroni adjusted p-values (step-down; monotone; capped at 1; NaN kept as NaN).

    Reject hypothesis ``i`` at family-wise level ``alpha`` when ``holm(p)[i] <= alpha``.
    """
    p = np.asarray(pvalues, np.float64)
    out = np.full(p.shape, np.nan)
    ok = np.flatnonzero(np.isfinite(p))
    if len(ok) == 0:
        return out
    order = ok[np.argsort(p[ok], kind="stable")]
    m = len(order)
    adj = np.maximum.accumulate((m - np.arange(m)) * p[order])
    out[order] = np.minimum(adj, 1.0)
    return out
