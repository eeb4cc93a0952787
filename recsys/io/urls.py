"""Telling URLs from file paths in catalog image columns."""

from __future__ import annotations

import re

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")


def is_url(value) -> bool:
    """Whether a catalog image value is a URL (any scheme, e.g. ``https://``, ``file://``), not a path."""
    return isinstance(value, str) and bool(_SCHEME.match(value))


def is_http_url(value) -> bool:
    """Whether ``value`` is an ``http://`` or ``https://`` URL (the only ones visrec fetches)."""
    return is_url(value) and value.split("://", 1)[0].lower() in ("http", "https")
