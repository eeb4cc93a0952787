"""``POST /v1/events``: impressions and clicks from the widget (a read key may send them), carts and
purchases from the shop's backend (an events or admin key); stored before they are acknowledged."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Depends, Request

from .access import require
from .errors import APIError
from .schemas import Error, Event, EventBatch, EventsStored

router = APIRouter(prefix="/v1", responses={401: {"model": Error}, 403: {"model": Error}, 422: {"model": Error},
                                            429: {"model": Error}})


@router.post("/events", response_model=EventsStored)
async def post_events(request: Request, body: EventBatch | Event, key=Depends(require("events"))):
    """Append one event or ``{"events": [...]}`` (up to 1,000). The key may also be given as
    ``?key=`` for ``navigator.sendBeacon``, which cannot set headers."""
    events = body.events if isinstance(body, EventBatch) else [body]
    rows = [{**e.model_dump(), "key_name": None if key is None else key.name} for e in events]
    try:
        stored = await asyncio.wrap_future(request.app.state.events.append(rows))
    except RuntimeError as e:
        raise APIError(503, "events not stored", str(e)) from None
    return {"received": len(rows), "stored": stored}
