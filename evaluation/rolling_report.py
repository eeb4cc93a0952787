"""The per-fold tables of a rolling-origin evaluation, as plain text (console) and HTML (report.html)."""

from __future__ import annotations

import numpy as np

from .arrivals import HITS, RECALL
from .formatting import fmt_value
from .report_html import esc


def fold_rows(result) -> tuple[list, list]:
    """The folds' figures: one row per fold (split) and one per fold and model.

    Parameters
    ----------
    result : evaluation.rolling.RollingResult

    Returns
    -------
    folds : list of dict
        ``fold, cut, test_end, n_train, n_test, test customers, new_arrival_share`` (+ counts).
    models : list of dict
        ``fold, model``, the mean of each metric at the main cut-off, ``new_item_recall@k``,
        ``new_item_hits@k`` and ``fit_seconds``.
    """
    folds, models = [], []
    for r in result.folds:
        d = r.split
        na = d.get("new_arrivals", {})
        folds.append({"fold": d.get("fold"), "cut": str(d.get("cut", ""))[:10],
                      "test_end": str(d.get("test_end", ""))[:10],
                      "n_train": d.get("n_train"), "n_test": d.get("n_test"), "test customers": len(r.users),
                      "new customers": d.get("new_users", {}).get("n", 0),
                      "new-arrival pairs": na.get("n_new_arrival_pairs"), "test pairs": na.get("n_test_pairs"),
                      "new_arrival_share": na.get("new_arrival_share")})
        for name, per in r.per_user.items():
            row = {"fold": d.get("fold"), "model": name}
            row.update({m: float(np.mean(v)) for m, v in per.items() if m.startswith(("map@", "recall@", "ndcg@"))})
            row.update({k: v for k, v in r.info[name].items() if k.startswith((RECALL, HITS))})
            row["fit_seconds"] = r.info[name]["fit_seconds"]
            models.append(row)
    return folds, models


def fold_table(result, *, html: bool = False) -> str:
    """The per-fold tables: the folds' splits, then each fold's models.

    Parameters
    ----------
    result : evaluation.rolling.RollingResult
    html : bool
        HTML with a heading and a note (for ``extra_html`` of
        :func:`evaluation.experiment_report.render_report`) instead of plain text.

    Returns
    -------
    str
    """
    folds, models = fold_rows(result)
    if not html:
        return "\n".join(["per fold:"] + _text(folds) + _text(models))
    h = ["<h2>Per fold</h2><p class='small'>Each fold trains on everything before its cut and tests on the "
         "window up to the next cut (the last up to the end of the data); test pairs: distinct "
         "customer–item test purchases; new arrivals: those of items without training interactions before the "
         "cut.</p>"]
    for rows in (folds, models):
        cols = list(rows[0])
        h.append("<table><tr>" + "".join(f"<th>{esc(c)}</th>" for c in cols) + "</tr>")
        h += ["<tr>" + "".join(f"<td>{esc(_cell(r.get(c)))}</td>" for c in cols) + "</tr>" for r in rows]
        h.append("</table>")
    return "\n".join(h)


def _cell(v) -> str:
    return v if isinstance(v, str) else fmt_value(v)


def _text(rows: list) -> list:
    cols = list(rows[0])
    cells = [[_cell(r.get(c)) for c in cols] for r in rows]
    width = [max(len(c), *(len(row[j]) for row in cells)) + 2 for j, c in enumerate(cols)]
    out = ["".join(c.rjust(w) if j else c.ljust(w) for j, (c, w) in enumerate(zip(cols, width)))]
    out += ["".join(x.rjust(w) if j else x.ljust(w) for j, (x, w) in enumerate(zip(row, width))) for row in cells]
    return out
