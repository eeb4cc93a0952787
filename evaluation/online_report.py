"""Renderings of an :class:`evaluation.online.OnlineComparison`: the console table, the Markdown summary
and the self-contained HTML report (SRM banner, variants with CIs, lift bars, tests, exclusions)."""

from __future__ import annotations

import numpy as np

from .formatting import fmt_lift, fmt_p, fmt_value
from .online_events import UNIT_METRICS
from .report_html import COMPARE_CSS, esc, page_start
from .svg import PALETTE, svg_ci_bars

#: metric and method definitions written to every output
ONLINE_DEFINITIONS = {
    "unit": "user_id when the event has one, else visitor_id (events without either take the unit of their rec_id)",
    "exposed unit": "a unit with at least one impression; the metrics are averaged over exposed units",
    **UNIT_METRICS,
    "lift": "mean of the variant - mean of the baseline (relative: divided by the baseline mean)",
    "CI": "percentile bootstrap interval; the units of each variant are resampled independently (unpaired)",
    "p (Mann-Whitney)": "two-sided Wilcoxon rank-sum / Mann-Whitney U test of the per-unit values",
    "p (Holm)": "Holm-Bonferroni adjusted over every (variant, metric) test of the report",
    "SRM": "sample ratio mismatch: chi-square goodness of fit of the units assigned per variant (every attributed "
           "unit, exposed or not) against the expected split",
}

#: event and unit counts, in report order: key of ``counts`` -> label
COUNT_LABELS = {
    "events_total": "events in the log",
    "duplicates": "repeated event_id (dropped)",
    "variant_from_rec_id": "variant taken from the rec_id's other events",
    "unit_from_rec_id": "unit taken from the rec_id's other events",
    "rec_ids_with_several_variants": "rec_ids seen with several variants (not used to attribute)",
    "excluded_no_variant": "events without a variant (excluded)",
    "excluded_no_unit": "events without user_id or visitor_id (excluded)",
    "contaminated_units": "units seen under several variants (excluded)",
    "contaminated_events": "events of those units (excluded)",
    "events_used": "events used",
    "units": "units assigned (SRM count)",
    "unexposed_units": "units without an impression (not in the metrics)",
    "exposed_units": "exposed units (in the metrics)",
}

SRM_CSS = """
.srm{background:#ffebee;border:2px solid #c62828;color:#b71c1c;padding:.6em 1em;margin:1em 0;font-size:15px}"""


def _methods(comp) -> str:
    pct = int(round((1 - comp.alpha) * 100))
    return (f"baseline **{comp.baseline}**; exposed units only; unpaired bootstrap {pct}% CIs ({comp.n_boot} "
            f"resamples per variant), Mann-Whitney U p-values, Holm-adjusted over all {len(comp.tests)} "
            f"(variant, metric) tests (alpha = {comp.alpha})")


def _srm_line(comp) -> str:
    s = comp.srm
    shares = ", ".join(f"{v}: {s['units'][v]} ({fmt_share(s['observed_share'][v])} vs "
                       f"{fmt_share(s['expected_share'][v])})" for v in s["variants"])
    verdict = "FAILED" if s["failed"] else "passed"
    return (f"SRM check {verdict}: units (observed vs expected share, split: {s['split_source']}) {shares}; "
            f"chi-square {fmt_value(s['chi2'])}, df {s['df']}, p = {fmt_p(s['p_value'])} "
            f"(threshold {s['threshold']:g})")


def fmt_share(x) -> str:
    """A share as a percentage with one decimal; NaN as ``–``.

    Parameters
    ----------
    x : float

    Returns
    -------
    str
    """
    return f"{100 * x:.1f}%" if x is not None and np.isfinite(x) else fmt_value(float("nan"))


def online_text_table(comp) -> str:
    """Plain-text table of the per-variant means and the relative lifts over the baseline.

    Parameters
    ----------
    comp : OnlineComparison

    Returns
    -------
    str
    """
    mets = list(UNIT_METRICS)
    width = max(len(v) for v in comp.variants) + 6
    lines = ["variant".ljust(width) + f"{'units':>9}" + "".join(f"{m:>13}" for m in mets)]
    for v in comp.variants:
        d = comp.per_variant[v]
        lines.append(v.ljust(width) + f"{d['units']:>9}" + "".join(f"{d['means'][m]:>13.4f}" for m in mets))
    for v in comp.variants[1:]:
        rows = {r["metric"]: r for r in comp.tests if r["variant"] == v}
        cells = "".join(f"{'':>13}" if m not in rows else
                        f"{fmt_lift(rows[m]['rel_lift']) + ('*' if rows[m]['significant'] else ' '):>13}" for m in mets)
        lines.append(f"lift {v}".ljust(width) + f"{'':>9}" + cells)
    lines.append(f"(* = significant at alpha={comp.alpha} after Holm correction; Mann-Whitney U over exposed units)")
    if comp.srm_failed:
        lines.insert(0, "WARNING: " + _srm_line(comp))
    return "\n".join(lines)


def online_summary_markdown(comp, title: str = "visrec online A/B report") -> str:
    """A Markdown summary for CI logs: the SRM verdict, means with CIs, tests, exclusions and notes.

    Parameters
    ----------
    comp : OnlineComparison
    title : str
        The level-1 heading.

    Returns
    -------
    str
    """
    md = [f"# {title}", ""]
    if comp.srm_failed:
        md += [f"> **WARNING: sample ratio mismatch.** {_srm_line(comp)}. Do not trust the lifts.", ""]
    md += [f"{comp.counts['events_total']} events from `{comp.description.get('events', '')}`; "
           f"{comp.counts['exposed_units']} exposed units; " + _methods(comp) + ".", "", _srm_line(comp) + ".", "",
           "| variant | assigned units | exposed units | events | " + " | ".join(UNIT_METRICS) + " |",
           "|---" * (4 + len(UNIT_METRICS)) + "|"]
    for v in comp.variants:
        d = comp.per_variant[v]
        md.append(f"| {v} | {d['assigned_units']} | {d['units']} | {d['events']} | " + " | ".join(
            f"{fmt_value(d['means'][m])} [{fmt_value(d['ci'][m][0])}, {fmt_value(d['ci'][m][1])}]"
            for m in UNIT_METRICS) + " |")
    if comp.tests:
        md += ["", "## Tests against the baseline", "",
               "| variant | metric | baseline | variant mean | lift | 95% CI | rel. lift | 95% CI (rel.) | "
               "p (Mann-Whitney) | p (Holm) | sig. |", "|---" * 11 + "|"]
        for r in comp.tests:
            md.append(f"| {r['variant']} | {r['metric']} | {fmt_value(r['mean_a'])} | {fmt_value(r['mean_b'])} | "
                      f"{fmt_value(r['abs_lift'], True)} | [{fmt_value(r['ci_low'], True)}, "
                      f"{fmt_value(r['ci_high'], True)}] | {fmt_lift(r['rel_lift'])} | [{fmt_lift(r['rel_ci_low'])}, "
                      f"{fmt_lift(r['rel_ci_high'])}] | {fmt_p(r['p_mannwhitney'])} | {fmt_p(r['p_holm'])} | "
                      f"{'yes' if r['significant'] else 'no'} |")
    md += ["", "## Events and units", ""] + [f"- {label}: {comp.counts[k]}" for k, label in COUNT_LABELS.items()]
    if comp.notes:
        md += ["", "## Notes", ""] + [f"- {n}" for n in comp.notes]
    return "\n".join(md) + "\n"


def lift_class(r: dict) -> str:
    """CSS class of a test row: significant better (``sig``), significant worse (``neg``), or ``ns``.

    Parameters
    ----------
    r : dict
        A test row with ``abs_lift`` and ``significant``.

    Returns
    -------
    str
    """
    return ("sig" if r["abs_lift"] > 0 else "neg") if r["significant"] else "ns"


def _variants_table(comp) -> list:
    mets = list(UNIT_METRICS)
    h = ["<h2>Variants (exposed units)</h2><div class='scroll'><table id='variants'><tr><th>variant</th>"
         "<th>assigned units</th><th>exposed units</th><th>events</th>"
         + "".join(f"<th>{esc(m)}</th>" for m in mets) + "</tr>"]
    for i, v in enumerate(comp.variants):
        d = comp.per_variant[v]
        cells = "".join(f"<td>{fmt_value(d['means'][m])}<br><span class='small'>[{fmt_value(d['ci'][m][0])}, "
                        f"{fmt_value(d['ci'][m][1])}]</span></td>" for m in mets)
        h.append(f"<tr><td><span style='color:{PALETTE[i % len(PALETTE)]}'>■</span> {esc(v)}"
                 f"{' (baseline)' if i == 0 else ''}</td><td>{d['assigned_units']}</td><td>{d['units']}</td>"
                 f"<td>{d['events']}</td>{cells}</tr>")
    for v in comp.variants[1:]:
        rows = {r["metric"]: r for r in comp.tests if r["variant"] == v}
        cells = "".join("<td></td>" if m not in rows else
                        f"<td class='{lift_class(rows[m])}'>{fmt_lift(rows[m]['rel_lift'])}"
                        f"{' *' if rows[m]['significant'] else ''}</td>" for m in mets)
        h.append(f"<tr class='lift'><td>lift {esc(v)} vs {esc(comp.baseline)}</td><td></td><td></td><td></td>{cells}"
                 "</tr>")
    pct = int(round((1 - comp.alpha) * 100))
    h.append(f"</table></div><p class='small'>Means over exposed units with their {pct}% bootstrap CI. Lift rows: "
             "relative lift over the baseline; * = significant after Holm correction (green better, red worse). "
             "impressions per unit is descriptive and not tested.</p>")
    return h


def _tests_table(rows: list) -> str:
    h = ["<div class='scroll'><table class='tests'><tr><th>variant</th><th>metric</th><th>units A</th><th>units B</th>"
         "<th>mean A</th><th>mean B</th><th>abs. lift</th><th>95% CI</th><th>rel. lift</th><th>95% CI (rel.)</th>"
         "<th>p (Mann-Whitney)</th><th>p (Holm)</th><th>significant</th></tr>"]
    for r in rows:
        h.append(f"<tr><td>{esc(r['variant'])}</td><td>{esc(r['metric'])}</td><td>{r['n_a']}</td><td>{r['n_b']}</td>"
                 f"<td>{fmt_value(r['mean_a'])}</td><td>{fmt_value(r['mean_b'])}</td>"
                 f"<td>{fmt_value(r['abs_lift'], True)}</td><td>[{fmt_value(r['ci_low'], True)}, "
                 f"{fmt_value(r['ci_high'], True)}]</td><td>{fmt_lift(r['rel_lift'])}</td>"
                 f"<td>[{fmt_lift(r['rel_ci_low'])}, {fmt_lift(r['rel_ci_high'])}]</td>"
                 f"<td>{fmt_p(r['p_mannwhitney'])}</td><td>{fmt_p(r['p_holm'])}</td>"
                 f"<td class='{lift_class(r)}'>{'yes' if r['significant'] else 'no'}</td></tr>")
    h.append("</table></div>")
    return "".join(h)


def _srm_section(comp) -> list:
    s = comp.srm
    rows = "".join(f"<tr><td>{esc(v)}</td><td>{s['units'][v]}</td><td>{fmt_share(s['observed_share'][v])}</td>"
                   f"<td>{fmt_share(s['expected_share'][v])}</td></tr>" for v in s["variants"])
    verdict = ("<b class='neg'>failed</b>" if s["failed"] else "<span class='sig'>passed</span>")
    return ["<h2>Sample ratio</h2><table id='srm'><tr><th>variant</th><th>units assigned</th><th>observed share</th>"
            f"<th>expected share</th></tr>{rows}</table><p class='small'>Split: {esc(s['split_source'])}. Chi-square "
            f"{fmt_value(s['chi2'])}, df {s['df']}, p = {fmt_p(s['p_value'])}: {verdict} (fails below "
            f"{s['threshold']:g}).</p>"]


def online_report_html(comp, title: str = "visrec online A/B report") -> str:
    """The self-contained HTML report of an online comparison.

    Sections: a sample-ratio-mismatch banner when the check failed, the notes, the variants' means
    with CIs and lift rows, lift bars with CIs, the tests, the sample ratio and the events and units
    left out. No network access is needed to view it.

    Parameters
    ----------
    comp : OnlineComparison
    title : str

    Returns
    -------
    str
    """
    h = [page_start(title, COMPARE_CSS + SRM_CSS)]
    if comp.srm_failed:
        h.append(f"<div class='srm' id='srm-warning'><b>Sample ratio mismatch</b>: {esc(_srm_line(comp))}. The "
                 "assignment or the logging is broken: do not trust the lifts below.</div>")
    h.append(f"<p class='small'>{comp.counts['events_total']} events from <code>"
             f"{esc(comp.description.get('events', ''))}</code>; {comp.counts['exposed_units']} exposed units; "
             f"{esc(_methods(comp).replace('**', ''))}.</p>")
    notes = [n for n in comp.notes if not (comp.srm_failed and n.startswith("SAMPLE RATIO MISMATCH"))]  # in the banner
    if notes:
        h.append("<div class='notes'><b>Notes</b><ul>" + "".join(f"<li>{esc(n)}</li>" for n in notes) + "</ul></div>")
    h += _variants_table(comp)
    if comp.tests:
        h.append(f"<h2>Lift over the baseline, with {int(round((1 - comp.alpha) * 100))}% CI</h2><div class='charts'>")
        for v in comp.variants[1:]:
            rows = [r for r in comp.tests if r["variant"] == v]
            h.append(svg_ci_bars(f"{v} vs {comp.baseline}: relative lift (%)", [r["metric"] for r in rows],
                                 [r["rel_lift"] for r in rows], [r["rel_ci_low"] for r in rows],
                                 [r["rel_ci_high"] for r in rows], [r["significant"] for r in rows]))
        h += ["</div>", "<h2>Tests</h2>", _tests_table(comp.tests)]
    h += _srm_section(comp)
    h.append("<h2>Events and units</h2><table id='counts'>" + "".join(
        f"<tr><td>{esc(label)}</td><td>{comp.counts[k]}</td></tr>" for k, label in COUNT_LABELS.items()) + "</table>")
    h.append("<h2>Definitions</h2><ul class='small'>" + "".join(
        f"<li><b>{esc(m)}</b>: {esc(d)}</li>" for m, d in ONLINE_DEFINITIONS.items()) + "</ul>")
    h.append("</body></html>")
    return "\n".join(h)
