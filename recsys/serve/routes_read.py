"""Read endpoints: similar items, a known user's list, an anonymous session's list, search by photo or words."""

from __future__ import annotations

import uuid

import orjson
from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from recsys.data import UnknownIdError

from .access import require
from .errors import APIError
from .query import FILTER_PARAMS, K_PARAM, MODE_PARAM, SEEN_PARAM, VISITOR_PARAM, list_query
from .schemas import MAX_K, Error, ItemList, ItemState, SessionList, SessionRequest
from .uploads import embed_photo, read_image_upload

router = APIRouter(prefix="/v1", dependencies=[Depends(require("read"))],
                   responses={401: {"model": Error}, 403: {"model": Error}, 422: {"model": Error},
                              429: {"model": Error}})

K = Query(10, ge=1, le=MAX_K, description="how many items")
EXCLUDE = Query([], description="item ids never to return (repeatable)", max_length=500)
CATEGORY = Query([], description="only items of these categories (repeatable)", max_length=50)
IN_STOCK = Query(True, description="only items in stock (false: sold-out items too)")
VISITOR = Query(None, min_length=1, max_length=200, description="the visitor's id: keeps the A/B variant stable")


def json_answer(body: dict) -> Response:
    """The answer serialised once with orjson (the documented schema is the response model)."""
    return Response(orjson.dumps(body), media_type="application/json")


class Pick:
    """The answer being made: its ``rec_id``, the variant of the visitor/user and that variant's model."""

    __slots__ = ("rec_id", "variant", "m")

    def __init__(self, request: Request, unit_id: str | None):
        self.rec_id = uuid.uuid4().hex
        self.variant, self.m = request.app.state.arms.pick(unit_id, self.rec_id)

    def answer(self, idx, sc, **extra) -> dict:
        m = self.m
        return {"rec_id": self.rec_id, "variant": self.variant, "model": f"{m.name}@{m.version}",
                "items": m.describe(idx, sc), **extra}


def _known(m, exclude):
    idx = m.model.items_.to_index(list(exclude), missing="ignore")
    return idx[idx >= 0]


def _item(m, item_id: str) -> int:
    try:
        return m.item_index(item_id)
    except UnknownIdError:
        raise APIError(404, "unknown item", f"item {item_id!r} is not in the served catalog") from None


@router.get("/items/{item_id}/similar", response_model=ItemList, responses={404: {"model": Error}},
            openapi_extra={"parameters": [K_PARAM, MODE_PARAM, *FILTER_PARAMS, VISITOR_PARAM]})
async def similar_items(request: Request, item_id: str = Path(max_length=200)):
    """Items similar to ``item_id`` -- photo-only items included."""
    q = list_query(request, modes=("visual", "hybrid"))
    pick = Pick(request, q.visitor_id)
    m = pick.m
    with m.lock.read():  # cached lists answer in the event loop; others are computed in a thread
        i = _item(m, item_id)
        mode = q.mode or ("visual" if m.vectors is not None else "hybrid")
        if mode == "visual" and m.vectors is None:
            raise APIError(422, "no images", f"model {m.name!r} has no image vectors; use mode=hybrid")
        allowed = m.allowed(_known(m, q.exclude), q.category, q.in_stock)
        got = m.similar_cached(i, q.k, mode, allowed)
    if got is None:
        got = await run_in_threadpool(_locked, m, m.similar, i, q.k, mode, allowed)
    return json_answer(pick.answer(*got))


@router.get("/users/{user_id}/recommendations", response_model=ItemList, responses={404: {"model": Error}},
            openapi_extra={"parameters": [K_PARAM, SEEN_PARAM, *FILTER_PARAMS]})
async def user_recommendations(request: Request, user_id: str = Path(max_length=200)):
    """A known user's list (for visitors without an account, use POST /v1/recommendations)."""
    q = list_query(request)
    pick = Pick(request, user_id)
    m = pick.m
    with m.lock.read():
        try:
            u = m.user_index(user_id)
        except UnknownIdError:
            raise APIError(404, "unknown user", f"user {user_id!r} is not known to the model; send the "
                           "session's items to POST /v1/recommendations instead") from None
        allowed = m.allowed(_known(m, q.exclude), q.category, q.in_stock)
        got = m.user_cached(u, q.k, allowed, q.exclude_seen)
    if got is None:
        got = await run_in_threadpool(_locked, m, m.for_user, u, q.k, allowed, q.exclude_seen)
    return json_answer(pick.answer(*got))


def _locked(m, fn, *args):
    with m.lock.read():
        return fn(*args)


@router.post("/recommendations", response_model=SessionList)
def session_recommendations(request: Request, body: SessionRequest):
    """An anonymous visitor's list, from the items of the session (viewed, carted)."""
    pick = Pick(request, body.user_id or body.visitor_id)
    m = pick.m
    with m.lock.read():
        try:
            idx, sc, unknown = m.for_session(body.item_ids, body.k,
                                             m.allowed(_known(m, body.exclude), body.category, body.in_stock))
        except NotImplementedError as e:  # the model cannot rank sessions: the message names those that can
            raise APIError(422, "sessions not supported", str(e)) from None
        return json_answer(pick.answer(idx, sc, unknown_item_ids=unknown))


@router.get("/items/{item_id}", response_model=ItemState, responses={404: {"model": Error}})
def item_state(request: Request, item_id: str = Path(max_length=200)):
    """An item's stock and visibility as the service applies them."""
    m = request.app.state.arms.first.current
    with m.lock.read():
        _item(m, item_id)
        return m.state(item_id)


IMAGE_FORM = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["image"],
    "properties": {"image": {"type": "string", "format": "binary",
                             "description": "the photo (JPEG, PNG, WebP...)"}}}}}}}


@router.post("/search/image", response_model=ItemList, openapi_extra=IMAGE_FORM,
             responses={413: {"model": Error}, 415: {"model": Error}})
async def search_image(request: Request, k: int = K, exclude: list[str] = EXCLUDE, category: list[str] = CATEGORY,
                       in_stock: bool = IN_STOCK, visitor_id: str | None = VISITOR):
    """Catalog items that look like an uploaded photo. The photo is read into memory only: never
    written to disk, cached or logged."""
    pick = Pick(request, visitor_id)
    m = pick.m
    if m.photo is None:
        raise APIError(422, "no images", f"model {m.name!r} has no image vectors to search")
    data, _ = await read_image_upload(request, request.app.state.max_upload_bytes)
    query = await run_in_threadpool(embed_photo, m, data)
    del data
    with m.lock.read():
        idx, sc = m.search_photo(query, k, m.allowed(_known(m, exclude), category, in_stock))
        return json_answer(pick.answer(idx, sc))


@router.get("/search/text", response_model=ItemList)
async def search_text(request: Request, q: str = Query(min_length=1, max_length=500, description="the words"),
                      k: int = K, exclude: list[str] = EXCLUDE, category: list[str] = CATEGORY,
                      in_stock: bool = IN_STOCK, visitor_id: str | None = VISITOR):
    """Catalog items whose photos match typed words -- items with only a photo included. The query is
    embedded in memory only: never written, cached or logged."""
    pick = Pick(request, visitor_id)
    m = pick.m
    if m.text is None:
        raise APIError(422, "no text search", f"model {m.name!r}: {m.text_unavailable}")
    if not q.strip():
        raise APIError(422, "empty query", "the query q has no words")
    query = await run_in_threadpool(m.text.embed, [q])
    with m.lock.read():
        idx, sc = m.search_photo(query[0], k, m.allowed(_known(m, exclude), category, in_stock))
        return json_answer(pick.answer(idx, sc))
