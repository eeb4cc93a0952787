"""Number formatting shared by the comparison's text table, Markdown summary and HTML report."""

from __future__ import annotations

import math

import numpy as np

#: shown for a missing or undefined (NaN) number
MISSING = "–"


def _finite(x) -> bool:
    return x is not None and math.isfinite(x)


def fmt_value(x, signed: bool = False) -> str:
    """A metric value with 4 decimals (``+`` sign when ``signed``), an integer as is, NaN/None as ``–``.

    Parameters
    ----------
    x : float, int or None
    signed : bool

    Returns
    -------
    str
    """
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return MISSING
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    return f"{x:+.4f}" if signed else f"{x:.4f}"


def fmt_lift(rel_lift) -> str:
    """A relative lift as a signed percentage with one decimal (``+12.3%``); NaN/None as ``–``.

    Parameters
    ----------
    rel_lift : float or None
        ``(B - A) / A``.

    Returns
    -------
    str
    """
    return f"{100 * rel_lift:+.1f}%" if _finite(rel_lift) else MISSING


def fmt_p(p) -> str:
    """A p-value: scientific below 0.001 (``2.0e-05``), else 3 decimals; NaN/None as ``–``.

    Parameters
    ----------
    p : float or None

    Returns
    -------
    str
    """
    if not _finite(p):
        return MISSING
    return f"{p:.1e}" if p < 1e-3 else f"{p:.3f}"
