"""HTML building blocks of the self-contained reports: style sheets, escaping, the page head and
product thumbnails inlined as data URIs (no network access needed to view a report)."""

from __future__ import annotations

import base64
import html
import io

from visual.images import ImageError, load_image

CSS = """body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right;
white-space:nowrap}
th:first-child,td:first-child{text-align:left}.best{font-weight:bold;background:#e8f5e9}
.row{display:flex;align-items:center;gap:4px;margin:2px 0}.lbl{width:11em;font-size:12px}
.t{width:72px;height:72px;object-fit:contain;border:3px solid #eee;background:#fff}
.hit{border-color:#2e7d32}.cold{outline:2px dashed #1565c0}.noimg{display:inline-block;width:72px;height:72px;
border:3px solid #eee;font-size:10px;overflow:hidden}.small{font-size:12px;color:#555}"""

#: the A/B comparison report's style sheet: :data:`CSS` plus notes, charts and significance colours
COMPARE_CSS = CSS + """
.notes{background:#fff8e1;border:1px solid #ffe082;padding:.5em 1em;font-size:13px}
.charts{display:flex;flex-wrap:wrap;gap:12px}.charts svg{background:#fff;border:1px solid #eee}
.scroll{overflow-x:auto;max-width:100%}.sig{color:#2e7d32;font-weight:bold}.neg{color:#c62828;font-weight:bold}.ns{color:#777}
svg text{font-family:system-ui,sans-serif}"""


def esc(x) -> str:
    """``str(x)`` escaped for HTML text and attribute values (quotes included).

    Parameters
    ----------
    x : object

    Returns
    -------
    str
    """
    return html.escape(str(x), quote=True)


def page_start(title: str, css: str) -> str:
    """The opening of a report page up to its ``<h1>`` title.

    Parameters
    ----------
    title : str
        Page title and heading (escaped here).
    css : str
        Inline style sheet.

    Returns
    -------
    str
    """
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{esc(title)}</title>"
            f"<style>{css}</style></head><body><h1>{esc(title)}</h1>")


def thumbnail_uri(path, size: int = 72) -> str | None:
    """A JPEG thumbnail of an image file as a ``data:`` URI.

    Parameters
    ----------
    path : str, Path or None
    size : int
        Longest side in pixels.

    Returns
    -------
    str or None
        None when ``path`` is None or the image cannot be read.
    """
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


class ItemCells:
    """Renders items as thumbnails (each image read once), or as their id when there is no image.

    Parameters
    ----------
    item_ids : sequence
        Item id per item index (shown as the label).
    image_paths : sequence or None
        Image path per item index (None entries for items without one); None shows ids only.
    item_counts : ndarray or None
        Training popularity per item: items with 0 get the ``cold`` outline.
    """

    def __init__(self, item_ids, image_paths=None, item_counts=None):
        self.item_ids = item_ids
        self.image_paths = image_paths
        self.item_counts = item_counts
        self._cache: dict[int, str | None] = {}

    def __call__(self, i, hit: bool = False) -> str:
        """The ``<img>`` (or labelled ``<span>``) of item index ``i``; ``hit`` adds the green border."""
        i = int(i)
        if self.image_paths is not None and i not in self._cache:
            self._cache[i] = thumbnail_uri(self.image_paths[i])
        cold = self.item_counts is not None and self.item_counts[i] == 0
        cls = "t" + (" hit" if hit else "") + (" cold" if cold else "")
        label = esc(self.item_ids[i])
        src = self._cache.get(i)
        if src is None:
            return f"<span class='noimg {cls}' title='{label}'>{label}</span>"
        return f"<img class='{cls}' src='{src}' title='{label}' alt='{label}'>"

    def row(self, label: str, items, hits=(), *, style: str = "", empty: str = "") -> str:
        """A labelled row of item cells; items in ``hits`` are marked, ``empty`` is shown for no items.

        Parameters
        ----------
        label : str
            Row label (escaped here).
        items : iterable of int
        hits : container of int
        style : str
            Inline style of the label.
        empty : str
            HTML shown when ``items`` is empty.

        Returns
        -------
        str
        """
        cells = "".join(self(i, i in hits) for i in items) or empty
        attr = f" style='{style}'" if style else ""
        return f"<div class='row'><span class='lbl'{attr}>{esc(label)}</span>{cells}</div>"
