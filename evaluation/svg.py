"""Inline SVG charts for the HTML reports, drawn here (no plotting dependency): line charts, grouped
bars and lift bars with confidence-interval whiskers."""

from __future__ import annotations

import numpy as np

from .report_html import esc

#: series colours, in order
PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"]


def _svg_open(width, height, title) -> str:
    """The ``<svg>`` element with its centred bold title."""
    return (f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' role='img' "
            f"aria-label='{esc(title)}'><text x='{width / 2}' y='15' text-anchor='middle' font-size='12' "
            f"font-weight='bold'>{esc(title)}</text>")


def _svg_frame(width, height, title, ml, pw, ymax, sy, label) -> list:
    """Opening of a chart: the ``<svg>`` element, its title and 5 horizontal grid lines."""
    h = [_svg_open(width, height, title)]
    for t in np.linspace(0, ymax, 5):
        y = sy(t)
        h.append(f"<line x1='{ml}' x2='{ml + pw}' y1='{y:.1f}' y2='{y:.1f}' stroke='#eee'/>"
                 f"<text x='{ml - 4}' y='{y + 3:.1f}' text-anchor='end' font-size='10'>{label(t)}</text>")
    return h


def nice_max(v: float) -> float:
    """The smallest "round" axis maximum (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8 x 10^n) >= ``v``.

    Parameters
    ----------
    v : float

    Returns
    -------
    float
        1.0 for a non-positive or non-finite ``v``.
    """
    if not np.isfinite(v) or v <= 0:
        return 1.0
    e = 10 ** np.floor(np.log10(v))
    for m in (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        if m * e >= v:
            return float(m * e)
    return float(10 * e)


def axis_number(v: float) -> str:
    """An axis tick label: ``0``, integers from 100 on, else 3 significant digits.

    Parameters
    ----------
    v : float

    Returns
    -------
    str
    """
    if v == 0:
        return "0"
    a = abs(v)
    return f"{v:.0f}" if a >= 100 else f"{v:.3g}"


def _legend(names, colors, x: float, y: float) -> str:
    out = []
    for i, (n, c) in enumerate(zip(names, colors)):
        yy = y + 14 * i
        out.append(f"<rect x='{x:.1f}' y='{yy - 8:.1f}' width='10' height='10' fill='{c}'/>"
                   f"<text x='{x + 14:.1f}' y='{yy + 1:.1f}' font-size='11'>{esc(n)}</text>")
    return "".join(out)


def svg_line_chart(title: str, xs, series: dict, colors: dict, *, width: int = 330, height: int = 230,
                   log_x: bool = True, xlabel: str = "k") -> str:
    """An inline SVG line chart: one polyline per entry of ``series``.

    Parameters
    ----------
    title : str
    xs : array-like of float
        Shared x values.
    series : {name: list of float}
        y values per x (NaN points are skipped).
    colors : {name: str}
    width, height : int
        Pixels.
    log_x : bool
        Log-scale the x axis when the x values span more than a factor 10.
    xlabel : str

    Returns
    -------
    str
        The ``<svg>`` element.
    """
    xs = np.asarray(xs, np.float64)
    ml, mr, mt, mb = 44, 10, 24, 34
    pw, ph = width - ml - mr, height - mt - mb
    ys = np.array([v for s in series.values() for v in s], np.float64)
    ymax = nice_max(np.nanmax(ys) if len(ys) and np.isfinite(ys).any() else 1.0)
    log_x = log_x and len(xs) > 1 and xs.min() > 0 and xs.max() / xs.min() > 10
    fx = np.log10 if log_x else (lambda v: v)
    x0, x1 = fx(xs.min()), fx(xs.max())

    def sx(v):
        return ml + (fx(v) - x0) / ((x1 - x0) or 1) * pw

    def sy(v):
        return mt + ph - v / ymax * ph

    h = _svg_frame(width, height, title, ml, pw, ymax, sy, axis_number)
    for v in xs:
        h.append(f"<text x='{sx(v):.1f}' y='{mt + ph + 13}' text-anchor='middle' font-size='10'>"
                 f"{axis_number(v)}</text>")
    h.append(f"<line x1='{ml}' x2='{ml + pw}' y1='{mt + ph}' y2='{mt + ph}' stroke='#888'/>"
             f"<line x1='{ml}' x2='{ml}' y1='{mt}' y2='{mt + ph}' stroke='#888'/>"
             f"<text x='{ml + pw / 2}' y='{height - 4}' text-anchor='middle' font-size='11'>"
             f"{esc(xlabel)}{' (log scale)' if log_x else ''}</text>")
    for name, vals in series.items():
        pts = [(sx(x), sy(y)) for x, y in zip(xs, vals) if np.isfinite(y)]
        c = colors[name]
        h.append(f"<polyline fill='none' stroke='{c}' stroke-width='2' points='"
                 + " ".join(f"{a:.1f},{b:.1f}" for a, b in pts) + "'/>")
        h.extend(f"<circle cx='{a:.1f}' cy='{b:.1f}' r='2.5' fill='{c}'/>" for a, b in pts)
    h.append(_legend(list(series), [colors[n] for n in series], ml + 6, mt + 10))
    h.append("</svg>")
    return "".join(h)


def svg_ci_bars(title: str, labels, values, lows, highs, significant, *, width: int = 520, scale: float = 100.0,
                unit: str = "%") -> str:
    """Horizontal bars of (relative) lifts around zero with CI whiskers; significant bars coloured.

    Parameters
    ----------
    title : str
    labels : list of str
        One bar per label.
    values, lows, highs : array-like of float
        Lift and its CI bounds per bar (NaN: the bar reads "n/a"; NaN bounds: no whisker).
    significant : list of bool
        Significant bars are green (positive) or red (negative), the others grey.
    width : int
    scale : float
        Multiplies the values (100 shows fractions as percentages).
    unit : str
        Appended to the tick labels.

    Returns
    -------
    str
        The ``<svg>`` element.
    """
    vals = np.asarray(values, np.float64) * scale
    lo = np.asarray(lows, np.float64) * scale
    hi = np.asarray(highs, np.float64) * scale
    allv = np.concatenate([vals, lo, hi, [1e-9]])
    ext = nice_max(np.nanmax(np.abs(allv[np.isfinite(allv)])))
    ml, mr, mt, row = 110, 20, 26, 20
    pw = width - ml - mr
    height = mt + row * len(labels) + 30

    def sx(v):
        return ml + (v + ext) / (2 * ext) * pw

    h = [_svg_open(width, height, title)]
    for t in np.linspace(-ext, ext, 5):
        x = sx(t)
        h.append(f"<line x1='{x:.1f}' x2='{x:.1f}' y1='{mt}' y2='{mt + row * len(labels)}' "
                 f"stroke='{'#888' if t == 0 else '#eee'}'/><text x='{x:.1f}' y='{mt + row * len(labels) + 13}' "
                 f"text-anchor='middle' font-size='10'>{axis_number(t)}{unit}</text>")
    for i, bar in enumerate(zip(labels, vals, lo, hi, significant)):
        h.append(_ci_bar(mt + row * i, ml, row, sx, unit, *bar))
    h.append("</svg>")
    return "".join(h)


def _ci_bar(y, ml, row, sx, unit, lab, v, a, b, s) -> str:
    """One bar of :func:`svg_ci_bars` at height ``y``: label, bar and whisker."""
    h = [f"<text x='{ml - 6}' y='{y + 14}' text-anchor='end' font-size='11'>{esc(lab)}</text>"]
    if not np.isfinite(v):
        h.append(f"<text x='{sx(0) + 4:.1f}' y='{y + 14}' font-size='10' fill='#777'>n/a</text>")
        return "".join(h)
    col = ("#2e7d32" if v > 0 else "#c62828") if s else "#9e9e9e"
    x0, x1 = sorted((sx(0), sx(v)))
    h.append(f"<rect x='{x0:.1f}' y='{y + 4}' width='{max(x1 - x0, 1):.1f}' height='{row - 8}' fill='{col}'>"
             f"<title>{esc(lab)}: {v:+.2f}{unit} [{a:+.2f}, {b:+.2f}]</title></rect>")
    if np.isfinite(a) and np.isfinite(b):
        ym = y + row / 2
        h.append(f"<line x1='{sx(a):.1f}' x2='{sx(b):.1f}' y1='{ym}' y2='{ym}' stroke='#222' stroke-width='1.5'/>"
                 f"<line x1='{sx(a):.1f}' x2='{sx(a):.1f}' y1='{ym - 4}' y2='{ym + 4}' stroke='#222'/>"
                 f"<line x1='{sx(b):.1f}' x2='{sx(b):.1f}' y1='{ym - 4}' y2='{ym + 4}' stroke='#222'/>")
    return "".join(h)


def svg_grouped_bars(title: str, groups, series: dict, colors: dict, *, width: int = 520, height: int = 240,
                     marks: dict | None = None, percent: bool = False) -> str:
    """Vertical grouped bars: one group per entry of ``groups``, one bar per series.

    Parameters
    ----------
    title : str
    groups : list of str
    series : {name: list of float}
        One value per group (NaN: no bar).
    colors : {name: str}
    width, height : int
        Pixels.
    marks : {group: str}, optional
        A short annotation (e.g. ``*`` for significant) drawn above a group.
    percent : bool
        Label the y axis in percent (values are fractions).

    Returns
    -------
    str
        The ``<svg>`` element.
    """
    ml, mr, mt, mb = 44, 10, 24, 46
    pw, ph = width - ml - mr, height - mt - mb
    vals = np.array([v for s in series.values() for v in s], np.float64)
    ymax = nice_max(np.nanmax(vals) if np.isfinite(vals).any() else 1.0)
    ng, ns = len(groups), len(series)
    gw = pw / max(ng, 1)
    bw = gw * 0.8 / max(ns, 1)

    def sy(v):
        return mt + ph - v / ymax * ph

    def percent_label(t):
        return f"{100 * t:.0f}%"

    h = _svg_frame(width, height, title, ml, pw, ymax, sy, percent_label if percent else axis_number)
    for gi, g in enumerate(groups):
        gx = ml + gi * gw + gw * 0.1
        for si, (name, v) in enumerate(series.items()):
            val = v[gi]
            if not np.isfinite(val):
                continue
            y = sy(val)
            h.append(f"<rect x='{gx + si * bw:.1f}' y='{y:.1f}' width='{bw * 0.92:.1f}' height='{mt + ph - y:.1f}' "
                     f"fill='{colors[name]}'><title>{esc(name)} / {esc(g)}: {val:.4g}</title></rect>")
        h.append(f"<text x='{ml + gi * gw + gw / 2:.1f}' y='{mt + ph + 13}' text-anchor='middle' font-size='10'>"
                 f"{esc(g)}</text>")
        if marks and marks.get(g):
            h.append(f"<text x='{ml + gi * gw + gw / 2:.1f}' y='{mt + 10}' text-anchor='middle' font-size='12' "
                     f"fill='#2e7d32'>{esc(marks[g])}</text>")
    h.append(f"<line x1='{ml}' x2='{ml + pw}' y1='{mt + ph}' y2='{mt + ph}' stroke='#888'/>")
    names = list(series)
    legend_at = (ml + 4, height - 22) if ns <= 2 else (ml + pw - 110, mt + 10)
    h.append(_legend(names, [colors[n] for n in names], *legend_at))
    h.append("</svg>")
    return "".join(h)
