"""Text renderings of a :class:`evaluation.comparison.Comparison`: the console table and the
Markdown summary for CI logs."""

from __future__ import annotations

from .formatting import fmt_lift, fmt_p, fmt_value

#: metrics of the per-segment rows of the Markdown summary (at the main cut-off)
SEGMENT_METRICS = ("ndcg", "recall", "hitrate")


def text_table(comp) -> str:
    """Plain-text table of the main metrics and lifts over the baseline (all users).

    Parameters
    ----------
    comp : Comparison

    Returns
    -------
    str
        One row of means per system, one row of relative lifts per non-baseline system (``*`` =
        significant after Holm correction), and a legend line.
    """
    mets = comp.main_metrics()
    width = max(len(m) for m in comp.models) + 2
    means = comp.means()
    lines = ["model".ljust(width) + "".join(f"{m:>13}" for m in mets)]
    for name in comp.models:
        lines.append(name.ljust(width) + "".join(f"{means[name][m]:>13.4f}" for m in mets))
    for name in comp.models[1:]:
        rows = {r["metric"]: r for r in comp.tests if r["segment"] == "all" and r["model"] == name}
        cells = []
        for m in mets:
            r = rows.get(m)
            cells.append(f"{'':>13}" if r is None else
                         f"{fmt_lift(r['rel_lift']) + ('*' if r['significant'] else ' '):>13}")
        lines.append(f"lift {name}".ljust(width) + "".join(cells))
    lines.append(f"(* = significant at alpha={comp.alpha} after Holm correction; Wilcoxon signed-rank per user)")
    return "\n".join(lines)


def summary_markdown(comp, title: str = "visrec offline A/B comparison") -> str:
    """A Markdown summary for CI logs: means, lifts with CIs and p-values, segments, notes.

    Parameters
    ----------
    comp : Comparison
    title : str
        The level-1 heading.

    Returns
    -------
    str
    """
    mets = comp.main_metrics()
    means = comp.means()
    md = [f"# {title}", "",
          f"{comp.data.n_users} test users; baseline **{comp.baseline}**; k = {comp.k}; paired per-user "
          f"tests: bootstrap {int((1 - comp.alpha) * 100)}% CI ({comp.n_boot} resamples), Wilcoxon "
          f"signed-rank, Holm-adjusted over the metrics of each comparison.", ""]
    md += _markdown_table(mets, {name: [means[name][m] for m in mets] for name in comp.models})
    agg = sorted({a for d in comp.aggregates.values() for a in d})
    if agg:
        md += [""] + _markdown_table(agg, {name: [comp.aggregates[name].get(a) for a in agg] for name in comp.models})
    for name in comp.models[1:]:
        md += _markdown_tests(comp, name)
    md += ["", "## Segments", ""] + [f"- `{s}` ({len(d['users'])} users): {d['description']}"
                                     for s, d in comp.segments.items()]
    if comp.notes:
        md += ["", "## Notes", ""] + [f"- {n}" for n in comp.notes]
    return "\n".join(md) + "\n"


def _markdown_table(columns: list, rows: dict) -> list:
    """Lines of a Markdown table with a ``model`` column, one row per entry of ``rows``."""
    lines = ["| model | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    return lines + [f"| {name} | " + " | ".join(fmt_value(v) for v in values) + " |" for name, values in rows.items()]


def _markdown_tests(comp, name: str) -> list:
    """The section of the tests of system ``name`` against the baseline: every metric on all users,
    the :data:`SEGMENT_METRICS` on the other segments."""
    seg_metrics = tuple(f"{m}@{comp.k}" for m in SEGMENT_METRICS)
    md = ["", f"## {name} vs {comp.baseline}", "",
          "| segment | metric | users | " + f"{comp.baseline} | {name} | lift | rel. lift | 95% CI | "
          "p (Wilcoxon) | p (Holm) | sig. |", "|---" * 11 + "|"]
    for r in comp.tests:
        if r["model"] != name or (r["segment"] != "all" and r["metric"] not in seg_metrics):
            continue
        md.append(f"| {r['segment']} | {r['metric']} | {r['n_users']} | {fmt_value(r['mean_a'])} | "
                  f"{fmt_value(r['mean_b'])} | {fmt_value(r['abs_lift'], True)} | {fmt_lift(r['rel_lift'])} | "
                  f"[{fmt_value(r['ci_low'], True)}, {fmt_value(r['ci_high'], True)}] | {fmt_p(r['p_wilcoxon'])} | "
                  f"{fmt_p(r['p_holm'])} | {'yes' if r['significant'] else 'no'} |")
    return md

