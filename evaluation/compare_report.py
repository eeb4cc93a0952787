"""The self-contained HTML report of an offline A/B comparison: metrics table with lifts, lift bars
with bootstrap CIs, metric@k curves, segment charts and tests, the popularity distribution of each
system's recommendations, and a few sampled users' lists as thumbnails."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from recsys.io import atomic_write_text
from .definitions import DEFINITIONS
from .formatting import fmt_lift, fmt_p
from .metrics import METRICS
from .report_html import COMPARE_CSS, ItemCells, esc, page_start
from .svg import PALETTE, svg_ci_bars, svg_grouped_bars, svg_line_chart

#: metrics charted per segment (at the main cut-off)
SEGMENT_CHART_METRICS = ("ndcg", "recall", "hitrate")


def render_comparison_report(comp, path, *, title: str = "visrec offline A/B comparison", n_users: int = 4,
                             random_state: int = 0) -> Path:
    """Write a self-contained HTML report of a comparison.

    Sections: the metrics table with lifts, lift bars with bootstrap CIs, metric@k curves,
    segment charts and tests, the popularity distribution of each system's recommendations, and
    a few sampled users' history next to each system's list (thumbnails inlined as data URIs
    when the catalog has images, item ids otherwise). No network access is needed to view it.

    Parameters
    ----------
    comp : Comparison
    path : str or Path
        The ``.html`` file to write (atomically; missing folders are made).
    title : str
    n_users : int
        Users drawn at random (with ``random_state``) to show with thumbnails.
    random_state : int

    Returns
    -------
    Path
    """
    path = Path(path)
    colors = {n: PALETTE[i % len(PALETTE)] for i, n in enumerate(comp.models)}
    colors["test items"] = "#555555"
    h = _header(comp, title)
    h += _metrics_section(comp, colors)
    h += _lift_section(comp)
    h += _curves_section(comp, colors)
    h += _segments_section(comp, colors)
    h += ["<h2>Paired tests</h2>", tests_table(comp.tests)]
    h += _popularity_section(comp, colors)
    h.append("<h2>Definitions</h2><ul class='small'>" + "".join(
        f"<li><b>{esc(m)}</b>: {esc(d)}</li>" for m, d in DEFINITIONS.items()) + "</ul>")
    h.append(_sample_users(comp, colors, n_users, random_state))
    h.append("</body></html>")
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, "\n".join(h))
    return path


def _header(comp, title: str) -> list:
    data = comp.data
    desc = comp.to_json()["test"]
    h = [page_start(title, COMPARE_CSS)]
    h.append(f"<p class='small'>{data.n_users} test users; {data.n_items} items; baseline <b>{esc(comp.baseline)}"
             f"</b>; tests at k = {comp.k}: paired bootstrap {int(round((1 - comp.alpha) * 100))}% CI of the mean "
             f"per-user difference ({comp.n_boot} resamples), Wilcoxon signed-rank p-value over users, Holm-adjusted "
             f"over the metrics of each comparison (α = {comp.alpha}). Test set: {esc(json.dumps(desc))}</p>")
    if comp.notes:
        h.append("<div class='notes'><b>Notes</b><ul>" + "".join(f"<li>{esc(n)}</li>" for n in comp.notes)
                 + "</ul></div>")
    return h


def _lift_class(r: dict) -> str:
    """CSS class of a test row: significant better (``sig``), significant worse (``neg``), or ``ns``."""
    return ("sig" if r["abs_lift"] > 0 else "neg") if r["significant"] else "ns"


def _lift_cell(r) -> str:
    if r is None:
        return "<td></td>"
    return f"<td class='{_lift_class(r)}'>{fmt_lift(r['rel_lift'])}{' *' if r['significant'] else ''}</td>"


def _metrics_section(comp, colors: dict) -> list:
    """The table of means (best in bold) and catalog aggregates, with a lift row per system."""
    names, mets, means = comp.models, comp.main_metrics(), comp.means()
    agg = sorted({a for d in comp.aggregates.values() for a in d})
    h = ["<h2>Metrics (all test users)</h2>",
         "<div class='scroll'><table id='metrics'><tr><th>model</th>" + "".join(f"<th>{esc(m)}</th>" for m in mets)
         + "".join(f"<th>{esc(a)}</th>" for a in agg) + "</tr>"]
    higher_better = {m for m in mets if m.split("@")[0] in METRICS or m == "auc"}
    best = {m: max(names, key=lambda n, m=m: means[n][m] if np.isfinite(means[n][m]) else -np.inf)
            for m in higher_better}
    for n in names:
        cells = "".join(f"<td class='{'best' if best.get(m) == n else ''}'>{means[n][m]:.4f}</td>" for m in mets)
        cells += "".join(f"<td>{comp.aggregates[n].get(a, float('nan')):.4f}</td>" for a in agg)
        h.append(f"<tr><td><span style='color:{colors[n]}'>■</span> {esc(n)}</td>{cells}</tr>")
    for n in names[1:]:
        rows = {r["metric"]: r for r in comp.tests if r["segment"] == "all" and r["model"] == n}
        h.append(f"<tr><td>lift {esc(n)} vs {esc(comp.baseline)}</td>" + "".join(_lift_cell(rows.get(m)) for m in mets)
                 + "".join("<td></td>" for _ in agg) + "</tr>")
    h.append("</table></div><p class='small'>Bold: best mean. Lift rows: relative lift over the baseline; * = "
             "significant after Holm correction (green better, red worse). Beyond-accuracy metrics (ild, novelty, "
             "arp) are descriptive: higher is not necessarily better.</p>")
    return h


def _relative_lift_bars(title: str, rows: list, label: str) -> str:
    """:func:`svg_ci_bars` of the relative lifts of test rows, the CI divided by the baseline mean."""
    base = [r["mean_a"] if r["mean_a"] else np.nan for r in rows]
    return svg_ci_bars(title, [r[label] for r in rows], [r["rel_lift"] for r in rows],
                       [r["ci_low"] / b for r, b in zip(rows, base)], [r["ci_high"] / b for r, b in zip(rows, base)],
                       [r["significant"] for r in rows])


def _lift_section(comp) -> list:
    h = ["<h2>Lift over the baseline, with 95% CI</h2><div class='charts'>"]
    for n in comp.models[1:]:
        rows = [r for r in comp.tests if r["segment"] == "all" and r["model"] == n]
        h.append(_relative_lift_bars(f"{n} vs {comp.baseline}: relative lift (%)", rows, "metric"))
    return h + ["</div>"]


def _curves_section(comp, colors: dict) -> list:
    if len(comp.ks) <= 1:
        return []
    h = ["<h2>Metric@k</h2><div class='charts'>"]
    for m in METRICS:
        series = {n: [float(np.mean(comp.per_user[n][f"{m}@{c}"])) for c in comp.ks] for n in comp.models}
        h.append(svg_line_chart(f"{m}@k", comp.ks, series, colors))
    return h + ["</div>"]


def _segments_section(comp, colors: dict) -> list:
    """Segment list, per-segment bars of the main accuracy metrics, and ndcg lift bars per segment."""
    segs = [s for s in comp.segments if s != "all"]
    if not segs:
        return []
    k = comp.k
    h = ["<h2>Segments</h2><ul class='small'>" + "".join(
        f"<li><code>{esc(s)}</code> ({len(d['users'])} users): {esc(d['description'])}</li>"
        for s, d in comp.segments.items()) + "</ul><div class='charts'>"]
    allsegs = ["all"] + segs
    for m in (f"{x}@{k}" for x in SEGMENT_CHART_METRICS):
        series = {n: [comp.means(s)[n].get(m, np.nan) for s in allsegs] for n in comp.models}
        marks = {s: "*" for s in allsegs
                 if any(r["segment"] == s and r["metric"] == m and r["significant"] for r in comp.tests)}
        h.append(svg_grouped_bars(f"{m} per segment (* = significant lift)", allsegs, series, colors, width=620,
                                  marks=marks))
    for n in comp.models[1:]:
        rows = [r for r in comp.tests if r["model"] == n and r["metric"] == f"ndcg@{k}"]
        h.append(_relative_lift_bars(f"{n} vs {comp.baseline}: ndcg@{k} lift (%) per segment", rows, "segment"))
    return h + ["</div>"]


def tests_table(rows: list) -> str:
    """The HTML table of the paired tests.

    Parameters
    ----------
    rows : list of dict
        :attr:`Comparison.tests` rows.

    Returns
    -------
    str
    """
    h = ["<div class='scroll'><table class='tests'><tr><th>segment</th><th>metric</th><th>users</th><th>baseline</th>"
         "<th>model</th><th>mean A</th><th>mean B</th><th>abs. lift</th><th>rel. lift</th><th>95% CI of B − A</th>"
         "<th>p (Wilcoxon)</th><th>p (Holm)</th><th>significant</th></tr>"]
    for r in rows:
        h.append(f"<tr><td>{esc(r['segment'])}</td><td>{esc(r['metric'])}</td><td>{r['n_users']}</td>"
                 f"<td>{esc(r['baseline'])}</td><td>{esc(r['model'])}</td><td>{r['mean_a']:.4f}</td>"
                 f"<td>{r['mean_b']:.4f}</td><td>{r['abs_lift']:+.4f}</td><td>{fmt_lift(r['rel_lift'])}</td>"
                 f"<td>[{r['ci_low']:+.4f}, {r['ci_high']:+.4f}]</td><td>{fmt_p(r['p_wilcoxon'])}</td>"
                 f"<td>{fmt_p(r['p_holm'])}</td><td class='{_lift_class(r)}'>{'yes' if r['significant'] else 'no'}</td>"
                 "</tr>")
    h.append("</table></div>")
    return "".join(h)


def _popularity_section(comp, colors: dict) -> list:
    if not comp.popularity:
        return []
    k = comp.k
    return [("<h2>Popularity of the recommended items</h2><p class='small'>Share of each system's top-"
             f"{k} recommendations by the training popularity of the item (items ranked by number of training "
             "users; cold = no training interaction), next to the test items' own distribution.</p>"
             "<div class='charts'>"),
            svg_grouped_bars(f"share of top-{k} recommendations per popularity bin", comp.popularity_bins,
                             comp.popularity, colors, width=620, height=260, percent=True),
            "</div>"]


def _sample_users(comp, colors: dict, n_users: int, random_state: int) -> str:
    """History, test items and each system's list of ``n_users`` random users with a history."""
    data = comp.data
    if n_users <= 0 or data.n_users == 0:
        return ""
    rng = np.random.default_rng(random_state)
    pool = np.arange(data.n_users)
    if data.history is not None:
        with_hist = np.flatnonzero(np.diff(data.history.indptr) > 0)
        pool = with_hist if len(with_hist) else pool
    pick = np.sort(rng.choice(pool, size=min(n_users, len(pool)), replace=False))
    cells = ItemCells(data.item_ids, data.image_paths, data.item_counts)
    h = [f"<h2>Sample users</h2><p class='small'>{len(pick)} users drawn at random (random state "
         f"{random_state}). Green border: a "
         "held-out test item (a hit). Dashed blue outline: a cold item (no training interactions)."
         + ("" if data.image_paths is not None else " No catalog given: items are shown by id.") + "</p>"]
    for u in pick:
        test_items = set(data.test[u].indices.tolist())
        h.append(f"<h3>user {esc(data.user_ids[u])} <span class='small'>({len(test_items)} test items)</span></h3>")
        if data.history is not None:
            h.append(cells.row("history (train)", data.history[u].indices[:12],
                               empty="<span class='small'>none (new user)</span>"))
        h.append(cells.row("test items", sorted(test_items)[:12], test_items))
        for n, lists in comp.lists.items():
            h.append(cells.row(n, [i for i in lists[u][:comp.k] if i >= 0], test_items,
                               style=f"color:{colors[n]}", empty="<span class='small'>empty list</span>"))
    return "".join(h)
