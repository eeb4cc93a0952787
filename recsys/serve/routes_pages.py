"""Browser-facing files: ``GET /widget.js`` (the drop-in carousels, public) and ``GET /demo`` (a
demo shop built on them, served only when asked for)."""

from __future__ import annotations

import hashlib
import json
from importlib import resources

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from .errors import APIError

router = APIRouter(tags=["widget"])
#: items listed on the demo shop's grid
DEMO_ITEMS = 2000


def static_text(name: str) -> str:
    """A file shipped in ``recsys/serve/static``."""
    return resources.files("recsys.serve").joinpath("static", name).read_text(encoding="utf-8")


class StaticFile:
    """A text file served with an ETag and revalidation (304 on a matching If-None-Match)."""

    def __init__(self, text: str, media_type: str, max_age: int = 300):
        self.body = text.encode("utf-8")
        self.etag = '"' + hashlib.sha256(self.body).hexdigest()[:20] + '"'
        self.media_type, self.max_age = media_type, max_age

    def answer(self, request: Request) -> Response:
        headers = {"ETag": self.etag, "Cache-Control": f"public, max-age={self.max_age}",
                   "X-Content-Type-Options": "nosniff"}
        if request.headers.get("if-none-match", "").strip() in (self.etag, "W/" + self.etag):
            return Response(status_code=304, headers=headers)
        return Response(self.body, media_type=self.media_type, headers=headers)


WIDGET = StaticFile(static_text("widget.js"), "text/javascript; charset=utf-8")


@router.get("/widget.js", response_class=Response, responses={200: {"content": {"text/javascript": {}}}})
def widget_js(request: Request):
    """The ``<visrec-similar>`` / ``<visrec-for-you>`` web components (no dependencies). Embed with
    ``<script src=".../widget.js" data-key="READ_KEY" async></script>``."""
    return WIDGET.answer(request)


def demo_catalog(m, limit: int = DEMO_ITEMS) -> list[dict]:
    """The items a demo shop lists: visible, in stock, with a photo, in catalog order."""
    ids = m.model.items_.ids
    ok = m.allowed()
    if m.present is not None:
        ok = ok & m.present
    out = []
    for i in map(int, ok.nonzero()[0][:limit]):
        info = m.info.get(ids[i], {})
        out.append({"item_id": ids[i], **{k: info[k] for k in ("title", "category", "price", "image_url")
                                          if k in info}})
    return out


def browser_key(keys) -> str:
    """The first read key of the ring (a browser key is public by design), or "" in open mode."""
    return next((k.key for k in getattr(keys, "keys", []) if k.role == "read"), "")


@router.get("/demo", response_class=HTMLResponse, include_in_schema=False)
def demo_shop(request: Request):
    """A small shop: product grid, product pages with similar items, "you may like", search by photo."""
    if not request.app.state.demo_page:
        raise APIError(404, "not found", "the demo shop is off; start the server with --demo-page")
    m = request.app.state.arms.first.current
    with m.lock.read():
        items = demo_catalog(m)
    data = json.dumps({"items": items, "photo_search": m.photo is not None}).replace("</", "<\\/")
    page = static_text("demo.html").replace("{{CATALOG}}", data).replace(
        "{{KEY}}", json.dumps(browser_key(request.app.state.keys))[1:-1].replace('"', "&quot;"))
    return HTMLResponse(page, headers={"Cache-Control": "no-store"})
