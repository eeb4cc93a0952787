"""Uploaded photos read into memory only: the request body is counted as it arrives (413 past the
limit) and the multipart form is parsed in memory -- nothing is spooled to a temporary file, written,
cached or logged."""

from __future__ import annotations

import numpy as np
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from .errors import APIError

DEFAULT_MAX_UPLOAD_BYTES = 10 * 1024 * 1024
#: at most this many form parts (a photo and a few text fields)
MAX_PARTS = 8


async def read_body(request: Request, limit: int) -> bytes:
    """The whole request body, refusing (413) more than ``limit`` bytes before reading them."""
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            n = int(declared)
        except ValueError:
            raise APIError(400, "bad request", "Content-Length is not a number") from None
        if n > limit:
            raise APIError(413, "upload too large", f"{n} bytes; the limit is {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise APIError(413, "upload too large", f"more than {limit} bytes; the limit is {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def parse_multipart(body: bytes, content_type: str) -> dict:
    """``{field name: {"data": bytes, "filename": str or None}}`` of a multipart/form-data body."""
    ctype, params = parse_options_header(content_type or "")
    if ctype != b"multipart/form-data" or not params.get(b"boundary"):
        raise APIError(415, "unsupported media type",
                       "send the photo as multipart/form-data with a field named 'image'")
    parts, cur, header = {}, {}, {"field": b"", "value": b""}

    def on_part_begin():
        cur.clear()
        cur.update(headers={}, data=[])

    def on_header_field(data, start, end):
        header["field"] += data[start:end]

    def on_header_value(data, start, end):
        header["value"] += data[start:end]

    def on_header_end():
        cur["headers"][header["field"].decode("latin-1").lower()] = header["value"]
        header["field"], header["value"] = b"", b""

    def on_part_data(data, start, end):
        cur["data"].append(data[start:end])

    def on_part_end():
        if len(parts) >= MAX_PARTS:
            raise APIError(422, "too many form fields", f"at most {MAX_PARTS}")
        _, disp = parse_options_header(cur["headers"].get("content-disposition", b""))
        name = disp.get(b"name", b"").decode("utf-8", "replace")
        filename = disp.get(b"filename")
        parts[name] = {"data": b"".join(cur["data"]),
                       "filename": None if filename is None else filename.decode("utf-8", "replace")}

    parser = MultipartParser(params[b"boundary"], {
        "on_part_begin": on_part_begin, "on_part_data": on_part_data, "on_part_end": on_part_end,
        "on_header_field": on_header_field, "on_header_value": on_header_value, "on_header_end": on_header_end})
    try:
        parser.write(body)
        parser.finalize()
    except APIError:
        raise
    except Exception as e:  # the parser's own errors on malformed bodies
        raise APIError(400, "bad request", f"malformed multipart body ({type(e).__name__})") from None
    return parts


async def read_image_upload(request: Request, limit: int, field: str = "image") -> tuple[bytes, dict]:
    """``(photo bytes, other text fields)`` of a multipart upload; 422 when the photo is missing."""
    body = await read_body(request, limit)
    parts = parse_multipart(body, request.headers.get("content-type", ""))
    if field not in parts or not parts[field]["data"]:
        raise APIError(422, "no image", f"the form has no non-empty field {field!r} holding the photo")
    fields = {}
    for k, v in parts.items():
        if k != field:
            try:
                fields[k] = v["data"].decode("utf-8")
            except UnicodeDecodeError:
                raise APIError(422, "invalid form field", f"field {k!r} is not UTF-8 text") from None
    return parts[field]["data"], fields


def embed_photo(m, data: bytes) -> np.ndarray:
    """The photo's vector in the served model's image space; 422 naming why it cannot be used."""
    from visual import ImageError
    try:
        return m.photo.embed([data])[0]
    except ImageError as e:
        raise APIError(422, "unusable image", str(e).replace("image 0:", "the upload:", 1)) from None
