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
    from visual.store import atomic_write_text
    atomic_write_text(path, "\n".join(h))
    return path
