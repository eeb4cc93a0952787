"""``POST /v1/events``: impressions and clicks from the widget (a read key may send them), carts and
purchases from the shop's backend (an events or admin key); stored before they are acknowledged."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Depends, Request

from .access import require
from .errors import APIError
from .schemas import Error, Event, EventBatch, EventsStored

BROWSER_TYPES = {"impression", "click"}

router = APIRouter(prefix="/v1", responses={401: {"model": Error}, 403: {"model": Error}, 422: {"model": Error},
                                            429: {"model": Error}})


@router.post("/events", response_model=EventsStored)
async def post_events(request: Request, body: EventBatch | Event, key=Depends(require("events"))):
    """Append one event or ``{"events": [...]}`` (up to 1,000). For ``navigator.sendBeacon``, which
    cannot set headers, the key may be given as ``?key=`` and the JSON sent as ``text/plain``.
    A read (browser) key may send impressions and clicks only."""
    events = body.events if isinstance(body, EventBatch) else [body]
    if key is not None and key.role == "read":
        outcome = sorted({e.type for e in events} - BROWSER_TYPES)
        if outcome:
            raise APIError(403, "forbidden", f"a read key may send {sorted(BROWSER_TYPES)} events only; send "
                           f"{outcome} from the shop's backend with an events or admin key")
    rows = [{**e.model_dump(), "key_name": None if key is None else key.name} for e in events]
    try:
        stored = await asyncio.wrap_future(request.app.state.events.append(rows))
    except RuntimeError as e:
        raise APIError(503, "events not stored", str(e)) from None
    return {"received": len(rows), "stored": stored}


class BeaconBody:
    """Pure ASGI middleware: a ``text/plain`` POST to ``/v1/events`` (what ``navigator.sendBeacon``
    sends without a CORS preflight) is read as the JSON it holds."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"] == "/v1/events":
            headers = scope["headers"]
            for i, (name, value) in enumerate(headers):
                if name == b"content-type" and value.split(b";")[0].strip().lower() == b"text/plain":
                    headers = list(headers)
                    headers[i] = (b"content-type", b"application/json")
                    scope = {**scope, "headers": headers}
                    break
        await self.app(scope, receive, send)
