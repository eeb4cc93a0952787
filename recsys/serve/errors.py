"""Every error the service answers is JSON ``{"error": ..., "detail": ...}`` with the right status,
never a stack trace (the trace goes to the server log with a request id)."""

from __future__ import annotations

import logging
import uuid

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("visrec.serve")


class APIError(Exception):
    """An answer with an error status: ``status``, a short ``error`` and a ``detail`` for people."""

    def __init__(self, status: int, error: str, detail=None, headers: dict | None = None):
        super().__init__(error)
        self.status, self.error, self.detail, self.headers = status, error, detail, headers or {}


def error_response(status: int, error: str, detail=None, headers=None) -> JSONResponse:
    return JSONResponse({"error": error, "detail": detail}, status_code=status, headers=headers)


def _validation_detail(exc: RequestValidationError) -> list:
    out = []
    for e in exc.errors():
        where = ".".join(str(p) for p in e.get("loc", ()) if p != "body") or "request"
        out.append(f"{where}: {e.get('msg', 'invalid')}")
    return out


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(APIError)
    async def _api_error(request: Request, exc: APIError):
        return error_response(exc.status, exc.error, exc.detail, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        return error_response(422, "invalid request", _validation_detail(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        names = {404: "not found", 405: "method not allowed", 400: "bad request", 413: "too large"}
        return error_response(exc.status_code, names.get(exc.status_code, "error"), exc.detail,
                              getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception):
        ref = uuid.uuid4().hex[:12]
        log.error("request %s %s failed (ref %s)", request.method, request.url.path, ref, exc_info=exc)
        return error_response(500, "internal error", f"the server could not answer; see its log (ref {ref})")
