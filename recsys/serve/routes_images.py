"""``GET /v1/items/{item_id}/image``: a JPEG thumbnail of the catalog photo, for the widget's
``<img>`` tags (which cannot send an API key: the catalog's own photos are public in a shop).
Answers carry an ETag and a day of caching; a matching ``If-None-Match`` gets 304."""

from __future__ import annotations

import hashlib
import io
from collections import OrderedDict

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from .errors import APIError
from .schemas import Error

router = APIRouter(prefix="/v1", responses={404: {"model": Error}, 422: {"model": Error}})
SIZES = (64, 128, 256, 512)
#: thumbnails kept in memory (about 10-30 kB each)
CACHE_ITEMS = 2048


def catalog_photos(catalog) -> dict:
    """``{item_id: photo path}`` of a catalog's readable image paths (none without a catalog)."""
    if catalog is None:
        return {}
    paths, _ = catalog.checked_image_paths()
    return {i: p for i, p in zip(catalog.df["item_id"].tolist(), paths) if p is not None and not isinstance(p, str)}


class Thumbnails:
    """Catalog photo paths by item id and an in-memory LRU of rendered thumbnails."""

    def __init__(self, paths: dict):
        self.paths = paths
        self._cache: OrderedDict = OrderedDict()

    def get(self, item_id: str, size: int) -> tuple[bytes, str]:
        from visual.images import ImageError, load_image, read_image_bytes
        path = self.paths.get(item_id)
        if path is None:
            raise APIError(404, "no image", f"item {item_id!r} has no catalog photo on this server")
        try:
            st = path.stat()
        except OSError:
            raise APIError(404, "no image", f"the photo of item {item_id!r} is missing") from None
        etag = hashlib.sha1(f"{path}|{st.st_mtime_ns}|{st.st_size}|{size}".encode()).hexdigest()[:20]
        hit = self._cache.get(etag)
        if hit is not None:
            self._cache.move_to_end(etag)
            return hit, etag
        try:
            img = load_image(read_image_bytes(path), draft_size=size)
        except ImageError as e:
            raise APIError(422, "unusable image", f"the photo of item {item_id!r}: {e}") from None
        img.thumbnail((size, size))
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=85, optimize=True)
        data = buf.getvalue()
        self._cache[etag] = data
        if len(self._cache) > CACHE_ITEMS:
            self._cache.popitem(last=False)
        return data, etag


@router.get("/items/{item_id}/image", response_class=Response,
            responses={200: {"content": {"image/jpeg": {}}}, 304: {"description": "not modified"}})
async def item_image(request: Request, item_id: str = Path(max_length=200),
                     size: int = Query(256, description=f"longest side in pixels, one of {SIZES}")):
    """The item's catalog photo as a JPEG thumbnail (public: ``<img>`` tags send no key)."""
    if size not in SIZES:
        raise APIError(422, "invalid request", [f"query.size: must be one of {list(SIZES)}, got {size}"])
    thumbs = request.app.state.thumbnails
    data, etag = await run_in_threadpool(thumbs.get, item_id, size)
    headers = {"ETag": f'"{etag}"', "Cache-Control": "public, max-age=86400"}
    if request.headers.get("if-none-match", "").strip() in (f'"{etag}"', etag, f'W/"{etag}"'):
        return Response(status_code=304, headers=headers)
    return Response(data, media_type="image/jpeg", headers=headers)
