"""The HTML report of an :class:`evaluation.ExperimentResult`: the metrics table and, for a few users,
their history next to each model's list as product thumbnails (images inlined, no network)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from recsys.io import atomic_write_text
from .arrivals import describe
from .formatting import fmt_value
from .report_html import CSS, ItemCells, esc, page_start


def ci95_halfwidth(x: np.ndarray) -> float:
    """Half-width of the normal-approximation 95% confidence interval of the mean of ``x``.

    Parameters
    ----------
    x : ndarray (n,)

    Returns
    -------
    float
        ``1.96 * std(x, ddof=1) / sqrt(n)``; 0 for fewer than two values.
    """
    return float(1.96 * np.std(x, ddof=1) / np.sqrt(len(x))) if len(x) > 1 else 0.0


def render_report(result, path, *, title: str = "visrec offline evaluation", n_users: int = 4,
                  random_state: int = 0, extra_html: str = "", samples=None) -> Path:
    """Write the HTML report of an experiment.

    Parameters
    ----------
    result : ExperimentResult
    path : str or Path
        The ``.html`` file to write (atomically).
    title : str
    n_users : int
        Users drawn at random (with ``random_state``) to show with thumbnails.
    random_state : int
    extra_html : str
        Inserted after the metrics table.
    samples : ExperimentResult, optional
        Where the sample users come from (default ``result``; e.g. the last fold of a
        :class:`evaluation.rolling.RollingResult`, whose pooled units have no single training set).

    Returns
    -------
    Path
    """
    path = Path(path)
    h = [page_start(title, CSS)]
    split = result.split
    units = (f"{len(result.users)} (fold, user) units evaluated ({split['pooling']}); mean ± 95% CI over units"
             if "pooling" in split else f"{len(result.users)} users evaluated; mean ± 95% CI over users")
    h.append(f"<p class='small'>Split: {esc(json.dumps(split))}; {esc(units)}.</p>")
    if "new_arrivals" in split:
        h.append(f"<p>{esc(describe(split['new_arrivals']))}. <b>new_item_recall@k</b>: hits of the top k on "
                 "exactly these test purchases / their number; <b>new_item_hits@k</b>: the number of hits.</p>")
    h.append(_metrics_table(result))
    h.append(extra_html)
    samples = result if samples is None else samples
    h.append("<h2>Sample users</h2><p class='small'>Green border: a held-out item the user did interact "
             "with (a hit). Dashed blue outline: a cold item (no interactions in training)."
             + (f" Drawn from the fold with cut {esc(samples.split.get('cut'))}." if samples is not result else "")
             + "</p>")
    h.extend(_sample_users(samples, n_users, random_state))
    h.append("</body></html>")
    atomic_write_text(path, "\n".join(h))
    return path


def _metrics_table(result) -> str:
    """Mean ± 95% CI of each metric per model (best mean in bold), and the models' run info."""
    metrics = list(next(iter(result.per_user.values())).keys())
    means = result.means()
    best = {m: max(means, key=lambda n: means[n][m]) for m in metrics}
    info_keys = [k for k in result.info[next(iter(result.info))] if k != "visual"]
    h = ["<table><tr><th>model</th><th>uses images</th>" + "".join(f"<th>{m}</th>" for m in metrics)
         + "".join(f"<th>{k}</th>" for k in info_keys) + "</tr>"]
    for name, d in result.per_user.items():
        cells = "".join(
            f"<td class='{'best' if best[m] == name else ''}'>{np.mean(d[m]):.4f} ± {ci95_halfwidth(d[m]):.4f}</td>"
            for m in metrics)
        extra = "".join(f"<td>{_info_cell(k, v)}</td>" for k, v in result.info[name].items() if k != "visual")
        h.append(f"<tr><td>{esc(name)}</td><td>{'yes' if result.info[name]['visual'] else 'no'}</td>"
                 f"{cells}{extra}</tr>")
    h.append("</table>")
    return "\n".join(h)


def _info_cell(key: str, v) -> str:
    """A run-info value: new-arrival metrics as the metrics (4 decimals, – for none), other floats with 3."""
    if key.startswith("new_item_"):
        return fmt_value(v)
    return f"{v:.3f}" if isinstance(v, float) else esc(v)


def _sample_users(result, n_users: int, random_state: int) -> list:
    """For ``n_users`` random users: the last 10 training items, then each model's list (hits marked)."""
    train = result.train
    cells = ItemCells(train.items.ids, train.catalog.image_paths(), train.item_counts())
    rng = np.random.default_rng(random_state)
    pick = rng.choice(len(result.users), size=min(n_users, len(result.users)), replace=False)
    X = train.matrix()
    h = []
    for p in pick:
        u = int(result.user_index[p])
        test_items = set(result.test_matrix[u].indices.tolist())
        hist = X[u].indices[np.argsort(-X[u].data, kind="stable")][:10]
        h.append(f"<h3>user {esc(result.users[p])}</h3>")
        h.append(cells.row("history (train)", hist))
        for name, lists in result.lists.items():
            h.append(cells.row(name, [i for i in lists[p] if i >= 0], test_items))
    return h
