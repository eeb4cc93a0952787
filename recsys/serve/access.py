"""Who may call what: API-key dependencies (401 without a valid key, 403 for a read key on admin
endpoints, 429 with Retry-After past the key's rate)."""

from __future__ import annotations

import math

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader

from .errors import APIError

api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False,
                              description="a read key (browser pages) or the admin key")


def require(role: str):
    """A dependency admitting keys of ``role`` (admin keys pass everywhere)."""

    async def check(request: Request, presented: str | None = Depends(api_key_header)):
        keys = request.app.state.keys
        if not keys:  # open mode: the server listens on loopback only
            return None
        if presented is None:
            auth = request.headers.get("authorization", "")
            presented = auth[7:].strip() if auth[:7].lower() == "bearer " else None
        if presented is None and role == "events":  # navigator.sendBeacon cannot set headers
            presented = request.query_params.get("key")
        key = keys.find(presented)
        if key is None:
            raise APIError(401, "unauthorized", "send a valid API key in the X-API-Key header",
                           {"WWW-Authenticate": "ApiKey"})
        if not key.allows(role):
            raise APIError(403, "forbidden", f"this endpoint needs an {role} key; the key given is a {key.role} key")
        wait = keys.take(key)
        if wait > 0:
            raise APIError(429, "too many requests", f"key {key.name!r} is limited to {key.rate:g} requests/s",
                           {"Retry-After": str(max(1, math.ceil(wait)))})
        return key

    return check
