"""A self-contained HTML report: metrics table and, for a few users, their history next to each
model's list as product thumbnails (images inlined, no network)."""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path

import numpy as np

from visual.images import ImageError, load_image


def _thumb(path, size: int = 72) -> str | None:
    if path is None:
        return None
    try:
        img = load_image(path)
    except ImageError:
        return None
    img.thumbnail((size, size))
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=80)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode()


def _ci(x: np.ndarray) -> float:
    return float(1.96 * np.std(x, ddof=1) / np.sqrt(len(x))) if len(x) > 1 else 0.0


CSS = """body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right;
white-space:nowrap}
th:first-child,td:first-child{text-align:left}.best{font-weight:bold;background:#e8f5e9}
.row{display:flex;align-items:center;gap:4px;margin:2px 0}.lbl{width:11em;font-size:12px}
.t{width:72px;height:72px;object-fit:contain;border:3px solid #eee;background:#fff}
.hit{border-color:#2e7d32}.cold{outline:2px dashed #1565c0}.noimg{display:inline-block;width:72px;height:72px;
border:3px solid #eee;font-size:10px;overflow:hidden}.small{font-size:12px;color:#555}"""


def render_report(result, path, *, title: str = "visrec offline evaluation", n_users: int = 4,
                  seed: int = 0, extra_html: str = "") -> Path:
    """Write the HTML report of an :class:`evaluation.ExperimentResult` to ``path``."""
    path = Path(path)
    train = result.train
    catalog = train.catalog
    item_paths = catalog.image_paths()
    item_ids = train.items.ids
    counts = train.item_counts()
    metrics = list(next(iter(result.per_user.values())).keys())
    means = result.means()
    best = {m: max(means, key=lambda n: means[n][m]) for m in metrics}
    h = [f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
         f"<style>{CSS}</style></head><body><h1>{html.escape(title)}</h1>"]
    h.append(f"<p class='small'>Split: {html.escape(json.dumps(result.split))}; "
             f"{len(result.users)} users evaluated; mean ± 95% CI over users.</p>")
    h.append("<table><tr><th>model</th><th>uses images</th>" + "".join(f"<th>{m}</th>" for m in metrics)
             + "".join(f"<th>{k}</th>" for k in result.info[next(iter(result.info))] if k != "visual") + "</tr>")
    for name, d in result.per_user.items():
        cells = "".join(
            f"<td class='{'best' if best[m] == name else ''}'>{np.mean(d[m]):.4f} ± {_ci(d[m]):.4f}</td>"
            for m in metrics)
        extra = "".join(f"<td>{v:.3f}</td>" if isinstance(v, float) else f"<td>{v}</td>"
                        for k, v in result.info[name].items() if k != "visual")
        h.append(f"<tr><td>{html.escape(name)}</td><td>{'yes' if result.info[name]['visual'] else 'no'}</td>"
                 f"{cells}{extra}</tr>")
    h.append("</table>")
    h.append(extra_html)
    h.append("<h2>Sample users</h2><p class='small'>Green border: a held-out item the user did interact "
             "with (a hit). Dashed blue outline: a cold item (no interactions in training).</p>")
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(result.users), size=min(n_users, len(result.users)), replace=False)
    cache: dict[int, str | None] = {}

    def cell(i: int, hit: bool = False) -> str:
        if i not in cache:
            cache[i] = _thumb(item_paths[i])
        cls = "t" + (" hit" if hit else "") + (" cold" if counts[i] == 0 else "")
        label = html.escape(str(item_ids[i]))
        if cache[i] is None:
            return f"<span class='noimg {cls}' title='{label}'>{label}</span>"
        return f"<img class='{cls}' src='{cache[i]}' title='{label}' alt='{label}'>"

    X = train.matrix()
    for p in pick:
        u = int(result.user_index[p])
        test_items = set(result.test_matrix[u].indices.tolist())
        hist = X[u].indices[np.argsort(-X[u].data, kind="stable")][:10]
        h.append(f"<h3>user {html.escape(str(result.users[p]))}</h3>")
        h.append("<div class='row'><span class='lbl'>history (train)</span>" + "".join(cell(i) for i in hist) + "</div>")
        for name, lists in result.lists.items():
            row = [i for i in lists[p] if i >= 0]
            h.append(f"<div class='row'><span class='lbl'>{html.escape(name)}</span>"
                     + "".join(cell(i, i in test_items) for i in row) + "</div>")
    h.append("</body></html>")
    from recsys.io import atomic_write_text
    atomic_write_text(path, "\n".join(h))
    return path


# ----------------------------------------------------------------------------------------------
# A/B comparison report: inline SVG charts drawn here (no plotting dependency), thumbnails inlined

PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf"]
CMP_CSS = CSS + """
.notes{background:#fff8e1;border:1px solid #ffe082;padding:.5em 1em;font-size:13px}
.charts{display:flex;flex-wrap:wrap;gap:12px}.charts svg{background:#fff;border:1px solid #eee}
.scroll{overflow-x:auto;max-width:100%}.sig{color:#2e7d32;font-weight:bold}.neg{color:#c62828;font-weight:bold}.ns{color:#777}
svg text{font-family:system-ui,sans-serif}"""


def _esc(x) -> str:
    return html.escape(str(x), quote=True)


def _svg_frame(width, height, title, ml, pw, ymax, sy, label) -> list:
    """Opening of a chart: the ``<svg>`` element, its title and 5 horizontal grid lines."""
    h = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' role='img' "
         f"aria-label='{_esc(title)}'><text x='{width / 2}' y='15' text-anchor='middle' font-size='12' "
         f"font-weight='bold'>{_esc(title)}</text>"]
    for t in np.linspace(0, ymax, 5):
        y = sy(t)
        h.append(f"<line x1='{ml}' x2='{ml + pw}' y1='{y:.1f}' y2='{y:.1f}' stroke='#eee'/>"
                 f"<text x='{ml - 4}' y='{y + 3:.1f}' text-anchor='end' font-size='10'>{label(t)}</text>")
    return h


def _nice_max(v: float) -> float:
    if not np.isfinite(v) or v <= 0:
        return 1.0
    e = 10 ** np.floor(np.log10(v))
    for m in (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10):
        if m * e >= v:
            return float(m * e)
    return float(10 * e)


def _num(v: float) -> str:
    if v == 0:
        return "0"
    a = abs(v)
    return f"{v:.0f}" if a >= 100 else f"{v:.3g}"


def _legend(names, colors, x: float, y: float) -> str:
    out = []
    for i, (n, c) in enumerate(zip(names, colors)):
        yy = y + 14 * i
        out.append(f"<rect x='{x:.1f}' y='{yy - 8:.1f}' width='10' height='10' fill='{c}'/>"
                   f"<text x='{x + 14:.1f}' y='{yy + 1:.1f}' font-size='11'>{_esc(n)}</text>")
    return "".join(out)


def svg_line_chart(title: str, xs, series: dict, colors: dict, *, width: int = 330, height: int = 230,
                   log_x: bool = True, xlabel: str = "k") -> str:
    """An inline SVG line chart: one polyline per entry of ``series`` (``name -> y values``)."""
    xs = np.asarray(xs, np.float64)
    ml, mr, mt, mb = 44, 10, 24, 34
    pw, ph = width - ml - mr, height - mt - mb
    ys = np.array([v for s in series.values() for v in s], np.float64)
    ymax = _nice_max(np.nanmax(ys) if len(ys) and np.isfinite(ys).any() else 1.0)
    log_x = log_x and len(xs) > 1 and xs.min() > 0 and xs.max() / xs.min() > 10
    fx = (lambda v: np.log10(v)) if log_x else (lambda v: v)
    x0, x1 = fx(xs.min()), fx(xs.max())
    sx = (lambda v: ml + (fx(v) - x0) / ((x1 - x0) or 1) * pw)
    sy = (lambda v: mt + ph - v / ymax * ph)
    h = _svg_frame(width, height, title, ml, pw, ymax, sy, _num)
    for v in xs:
        h.append(f"<text x='{sx(v):.1f}' y='{mt + ph + 13}' text-anchor='middle' font-size='10'>{_num(v)}</text>")
    h.append(f"<line x1='{ml}' x2='{ml + pw}' y1='{mt + ph}' y2='{mt + ph}' stroke='#888'/>"
             f"<line x1='{ml}' x2='{ml}' y1='{mt}' y2='{mt + ph}' stroke='#888'/>"
             f"<text x='{ml + pw / 2}' y='{height - 4}' text-anchor='middle' font-size='11'>"
             f"{_esc(xlabel)}{' (log scale)' if log_x else ''}</text>")
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
    """Horizontal bars of (relative) lifts around zero with CI whiskers; significant bars coloured."""
    vals = np.asarray(values, np.float64) * scale
    lo = np.asarray(lows, np.float64) * scale
    hi = np.asarray(highs, np.float64) * scale
    ext = np.nanmax(np.abs(np.concatenate([vals, lo, hi, [1e-9]])[np.isfinite(np.concatenate([vals, lo, hi, [1e-9]]))]))
    ext = _nice_max(ext)
    ml, mr, mt, row = 110, 20, 26, 20
    pw = width - ml - mr
    height = mt + row * len(labels) + 30
    sx = (lambda v: ml + (v + ext) / (2 * ext) * pw)
    h = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' role='img' "
         f"aria-label='{_esc(title)}'><text x='{width / 2}' y='15' text-anchor='middle' font-size='12' "
         f"font-weight='bold'>{_esc(title)}</text>"]
    for t in np.linspace(-ext, ext, 5):
        x = sx(t)
        h.append(f"<line x1='{x:.1f}' x2='{x:.1f}' y1='{mt}' y2='{mt + row * len(labels)}' "
                 f"stroke='{'#888' if t == 0 else '#eee'}'/><text x='{x:.1f}' y='{mt + row * len(labels) + 13}' "
                 f"text-anchor='middle' font-size='10'>{_num(t)}{unit}</text>")
    for i, (lab, v, a, b, s) in enumerate(zip(labels, vals, lo, hi, significant)):
        y = mt + row * i
        h.append(f"<text x='{ml - 6}' y='{y + 14}' text-anchor='end' font-size='11'>{_esc(lab)}</text>")
        if not np.isfinite(v):
            h.append(f"<text x='{sx(0) + 4:.1f}' y='{y + 14}' font-size='10' fill='#777'>n/a</text>")
            continue
        col = ("#2e7d32" if v > 0 else "#c62828") if s else "#9e9e9e"
        x0, x1 = sorted((sx(0), sx(v)))
        h.append(f"<rect x='{x0:.1f}' y='{y + 4}' width='{max(x1 - x0, 1):.1f}' height='{row - 8}' fill='{col}'>"
                 f"<title>{_esc(lab)}: {v:+.2f}{unit} [{a:+.2f}, {b:+.2f}]</title></rect>")
        if np.isfinite(a) and np.isfinite(b):
            ym = y + row / 2
            h.append(f"<line x1='{sx(a):.1f}' x2='{sx(b):.1f}' y1='{ym}' y2='{ym}' stroke='#222' stroke-width='1.5'/>"
                     f"<line x1='{sx(a):.1f}' x2='{sx(a):.1f}' y1='{ym - 4}' y2='{ym + 4}' stroke='#222'/>"
                     f"<line x1='{sx(b):.1f}' x2='{sx(b):.1f}' y1='{ym - 4}' y2='{ym + 4}' stroke='#222'/>")
    h.append("</svg>")
    return "".join(h)


def svg_grouped_bars(title: str, groups, series: dict, colors: dict, *, width: int = 520, height: int = 240,
                     marks: dict | None = None, percent: bool = False) -> str:
    """Vertical grouped bars: one group per entry of ``groups``, one bar per series; ``marks``
    maps a group to a short annotation (e.g. ``*`` for significant) drawn above it."""
    ml, mr, mt, mb = 44, 10, 24, 46
    pw, ph = width - ml - mr, height - mt - mb
    vals = np.array([v for s in series.values() for v in s], np.float64)
    ymax = _nice_max(np.nanmax(vals) if np.isfinite(vals).any() else 1.0)
    ng, ns = len(groups), len(series)
    gw = pw / max(ng, 1)
    bw = gw * 0.8 / max(ns, 1)
    sy = (lambda v: mt + ph - v / ymax * ph)
    h = _svg_frame(width, height, title, ml, pw, ymax, sy, (lambda t: f"{100 * t:.0f}%") if percent else _num)
    for gi, g in enumerate(groups):
        gx = ml + gi * gw + gw * 0.1
        for si, (name, v) in enumerate(series.items()):
            val = v[gi]
            if not np.isfinite(val):
                continue
            y = sy(val)
            h.append(f"<rect x='{gx + si * bw:.1f}' y='{y:.1f}' width='{bw * 0.92:.1f}' height='{mt + ph - y:.1f}' "
                     f"fill='{colors[name]}'><title>{_esc(name)} / {_esc(g)}: {val:.4g}</title></rect>")
        h.append(f"<text x='{ml + gi * gw + gw / 2:.1f}' y='{mt + ph + 13}' text-anchor='middle' font-size='10'>"
                 f"{_esc(g)}</text>")
        if marks and marks.get(g):
            h.append(f"<text x='{ml + gi * gw + gw / 2:.1f}' y='{mt + 10}' text-anchor='middle' font-size='12' "
                     f"fill='#2e7d32'>{_esc(marks[g])}</text>")
    h.append(f"<line x1='{ml}' x2='{ml + pw}' y1='{mt + ph}' y2='{mt + ph}' stroke='#888'/>")
    h.append(_legend(list(series), [colors[n] for n in series], ml + 4, height - 22 + 0)
             if ns <= 2 else _legend(list(series), [colors[n] for n in series], ml + pw - 110, mt + 10))
    h.append("</svg>")
    return "".join(h)


def _fmt_p(p) -> str:
    return "–" if p is None or not np.isfinite(p) else (f"{p:.1e}" if p < 1e-3 else f"{p:.3f}")


def _lift_cell(r) -> str:
    if r is None:
        return "<td></td>"
    cls = ("sig" if r["abs_lift"] > 0 else "neg") if r["significant"] else "ns"
    rel = "–" if not np.isfinite(r["rel_lift"]) else f"{100 * r['rel_lift']:+.1f}%"
    return f"<td class='{cls}'>{rel}{' *' if r['significant'] else ''}</td>"


def _tests_table(rows) -> str:
    h = ["<div class='scroll'><table class='tests'><tr><th>segment</th><th>metric</th><th>users</th><th>baseline</th><th>model</th><th>mean A</th>"
         "<th>mean B</th><th>abs. lift</th><th>rel. lift</th><th>95% CI of B − A</th><th>p (Wilcoxon)</th>"
         "<th>p (Holm)</th><th>significant</th></tr>"]
    for r in rows:
        rel = "–" if not np.isfinite(r["rel_lift"]) else f"{100 * r['rel_lift']:+.1f}%"
        cls = ("sig" if r["abs_lift"] > 0 else "neg") if r["significant"] else "ns"
        h.append(f"<tr><td>{_esc(r['segment'])}</td><td>{_esc(r['metric'])}</td><td>{r['n_users']}</td>"
                 f"<td>{_esc(r['baseline'])}</td><td>{_esc(r['model'])}</td><td>{r['mean_a']:.4f}</td>"
                 f"<td>{r['mean_b']:.4f}</td><td>{r['abs_lift']:+.4f}</td><td>{rel}</td>"
                 f"<td>[{r['ci_low']:+.4f}, {r['ci_high']:+.4f}]</td><td>{_fmt_p(r['p_wilcoxon'])}</td>"
                 f"<td>{_fmt_p(r['p_holm'])}</td><td class='{cls}'>{'yes' if r['significant'] else 'no'}</td></tr>")
    h.append("</table></div>")
    return "".join(h)


def render_comparison_report(comp, path, *, title: str = "visrec offline A/B comparison", n_users: int = 4,
                             seed: int = 0) -> Path:
    """Write a self-contained HTML report of an :class:`evaluation.compare.Comparison` to ``path``.

    Sections: the metrics table with lifts, lift bars with bootstrap CIs, metric@k curves,
    segment charts and tests, the popularity distribution of each system's recommendations, and
    a few sampled users' history next to each system's list (thumbnails inlined as data URIs
    when the catalog has images, item ids otherwise). No network access is needed to view it.
    """
    from .compare import DEFINITIONS, METRICS
    path = Path(path)
    data = comp.data
    names = comp.models
    colors = {n: PALETTE[i % len(PALETTE)] for i, n in enumerate(names)}
    colors["test items"] = "#555555"
    k = comp.k
    mets = comp.main_metrics()
    means = comp.means()
    h = [f"<!doctype html><html><head><meta charset='utf-8'><title>{_esc(title)}</title>"
         f"<style>{CMP_CSS}</style></head><body><h1>{_esc(title)}</h1>"]
    desc = comp.to_json()["test"]
    h.append(f"<p class='small'>{data.n_users} test users; {data.n_items} items; baseline <b>{_esc(comp.baseline)}"
             f"</b>; tests at k = {k}: paired bootstrap {int(round((1 - comp.alpha) * 100))}% CI of the mean per-user "
             f"difference ({comp.n_boot} resamples), Wilcoxon signed-rank p-value over users, Holm-adjusted over the "
             f"metrics of each comparison (α = {comp.alpha}). Test set: {_esc(json.dumps(desc))}</p>")
    if comp.notes:
        h.append("<div class='notes'><b>Notes</b><ul>" + "".join(f"<li>{_esc(n)}</li>" for n in comp.notes)
                 + "</ul></div>")

    # the table: means, lifts
    h.append("<h2>Metrics (all test users)</h2>")
    agg = sorted({a for d in comp.aggregates.values() for a in d})
    h.append("<div class='scroll'><table id='metrics'><tr><th>model</th>" + "".join(f"<th>{_esc(m)}</th>" for m in mets)
             + "".join(f"<th>{_esc(a)}</th>" for a in agg) + "</tr>")
    higher_better = {m for m in mets if m.split("@")[0] in METRICS or m == "auc"}
    best = {m: max(names, key=lambda n: -np.inf if not np.isfinite(means[n][m]) else means[n][m]) for m in higher_better}
    for n in names:
        cells = "".join(f"<td class='{'best' if best.get(m) == n else ''}'>{means[n][m]:.4f}</td>" for m in mets)
        cells += "".join(f"<td>{comp.aggregates[n].get(a, float('nan')):.4f}</td>" for a in agg)
        h.append(f"<tr><td><span style='color:{colors[n]}'>■</span> {_esc(n)}</td>{cells}</tr>")
    for n in names[1:]:
        rows = {r["metric"]: r for r in comp.tests if r["segment"] == "all" and r["model"] == n}
        h.append(f"<tr><td>lift {_esc(n)} vs {_esc(comp.baseline)}</td>" + "".join(_lift_cell(rows.get(m)) for m in mets)
                 + "".join("<td></td>" for _ in agg) + "</tr>")
    h.append("</table></div><p class='small'>Bold: best mean. Lift rows: relative lift over the baseline; * = significant "
             "after Holm correction (green better, red worse). Beyond-accuracy metrics (ild, novelty, arp) are "
             "descriptive: higher is not necessarily better.</p>")

    # lift bars
    h.append("<h2>Lift over the baseline, with 95% CI</h2><div class='charts'>")
    for n in names[1:]:
        rows = [r for r in comp.tests if r["segment"] == "all" and r["model"] == n]
        base = [r["mean_a"] if r["mean_a"] else np.nan for r in rows]
        h.append(svg_ci_bars(f"{n} vs {comp.baseline}: relative lift (%)", [r["metric"] for r in rows],
                             [r["rel_lift"] for r in rows], [r["ci_low"] / b for r, b in zip(rows, base)],
                             [r["ci_high"] / b for r, b in zip(rows, base)], [r["significant"] for r in rows]))
    h.append("</div>")

    # metric@k curves
    if len(comp.ks) > 1:
        h.append("<h2>Metric@k</h2><div class='charts'>")
        for m in METRICS:
            series = {n: [float(np.mean(comp.per_user[n][f"{m}@{c}"])) for c in comp.ks] for n in names}
            h.append(svg_line_chart(f"{m}@k", comp.ks, series, colors))
        h.append("</div>")

    # segments
    segs = [s for s in comp.segments if s != "all"]
    if segs:
        h.append("<h2>Segments</h2><ul class='small'>" + "".join(
            f"<li><code>{_esc(s)}</code> ({len(comp.segments[s]['users'])} users): {_esc(comp.segments[s]['description'])}</li>"
            for s in comp.segments) + "</ul><div class='charts'>")
        allsegs = ["all"] + segs
        for m in (f"ndcg@{k}", f"recall@{k}", f"hitrate@{k}"):
            series = {n: [comp.means(s)[n].get(m, np.nan) for s in allsegs] for n in names}
            marks = {}
            for s in allsegs:
                sig = [r for r in comp.tests if r["segment"] == s and r["metric"] == m and r["significant"]]
                if sig:
                    marks[s] = "*"
            h.append(svg_grouped_bars(f"{m} per segment (* = significant lift)", allsegs, series, colors, width=620,
                                      marks=marks))
        for n in names[1:]:
            rows = [r for r in comp.tests if r["model"] == n and r["metric"] == f"ndcg@{k}"]
            base = [r["mean_a"] if r["mean_a"] else np.nan for r in rows]
            h.append(svg_ci_bars(f"{n} vs {comp.baseline}: ndcg@{k} lift (%) per segment", [r["segment"] for r in rows],
                                 [r["rel_lift"] for r in rows], [r["ci_low"] / b for r, b in zip(rows, base)],
                                 [r["ci_high"] / b for r, b in zip(rows, base)], [r["significant"] for r in rows]))
        h.append("</div>")
    h.append("<h2>Paired tests</h2>")
    h.append(_tests_table(comp.tests))

    # popularity distribution
    if comp.popularity:
        h.append("<h2>Popularity of the recommended items</h2><p class='small'>Share of each system's top-"
                 f"{k} recommendations by the training popularity of the item (items ranked by number of training "
                 "users; cold = no training interaction), next to the test items' own distribution.</p>"
                 "<div class='charts'>")
        h.append(svg_grouped_bars(f"share of top-{k} recommendations per popularity bin", comp.popularity_bins,
                                  comp.popularity, colors, width=620, height=260, percent=True))
        h.append("</div>")

    h.append("<h2>Definitions</h2><ul class='small'>" + "".join(
        f"<li><b>{_esc(m)}</b>: {_esc(d)}</li>" for m, d in DEFINITIONS.items()) + "</ul>")

    # sample users
    h.append(_sample_users_html(comp, colors, n_users, seed))
    h.append("</body></html>")
    from recsys.io import atomic_write_text
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, "\n".join(h))
    return path


def _sample_users_html(comp, colors, n_users: int, seed: int) -> str:
    data = comp.data
    if n_users <= 0 or data.n_users == 0:
        return ""
    rng = np.random.default_rng(seed)
    pool = np.arange(data.n_users)
    if data.history is not None:
        with_hist = np.flatnonzero(np.diff(data.history.indptr) > 0)
        pool = with_hist if len(with_hist) else pool
    pick = np.sort(rng.choice(pool, size=min(n_users, len(pool)), replace=False))
    paths = data.image_paths
    counts = data.item_counts
    cache: dict[int, str | None] = {}

    def cell(i: int, hit: bool = False) -> str:
        i = int(i)
        if paths is not None and i not in cache:
            cache[i] = _thumb(paths[i])
        cls = "t" + (" hit" if hit else "") + (" cold" if counts is not None and counts[i] == 0 else "")
        label = _esc(data.item_ids[i])
        src = cache.get(i)
        if src is None:
            return f"<span class='noimg {cls}' title='{label}'>{label}</span>"
        return f"<img class='{cls}' src='{src}' title='{label}' alt='{label}'>"

    h = [f"<h2>Sample users</h2><p class='small'>{len(pick)} users drawn at random (seed {seed}). Green border: a "
         "held-out test item (a hit). Dashed blue outline: a cold item (no training interactions)."
         + ("" if paths is not None else " No catalog given: items are shown by id.") + "</p>"]
    for u in pick:
        test_items = set(data.test[u].indices.tolist())
        h.append(f"<h3>user {_esc(data.user_ids[u])} <span class='small'>({len(test_items)} test items)</span></h3>")
        if data.history is not None:
            hist = data.history[u].indices[:12]
            h.append("<div class='row'><span class='lbl'>history (train)</span>"
                     + ("".join(cell(i) for i in hist) or "<span class='small'>none (new user)</span>") + "</div>")
        h.append("<div class='row'><span class='lbl'>test items</span>"
                 + "".join(cell(i, True) for i in sorted(test_items)[:12]) + "</div>")
        for n, lists in comp.lists.items():
            row = [i for i in lists[u][:comp.k] if i >= 0]
            h.append(f"<div class='row'><span class='lbl' style='color:{colors[n]}'>{_esc(n)}</span>"
                     + ("".join(cell(i, i in test_items) for i in row) or "<span class='small'>empty list</span>")
                     + "</div>")
    return "".join(h)
