"""Query parameters of the list endpoints, read straight from the query string.

The hot GET endpoints parse their parameters here instead of through FastAPI's per-parameter
dependency resolution (most of a cached answer's time); :data:`LIST_PARAMS` documents them in the
OpenAPI document all the same, and bad values get the same 422 answers.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import APIError
from .schemas import MAX_IDS, MAX_K

TRUE = {"true", "1", "yes", "on", "t", "y"}
FALSE = {"false", "0", "no", "off", "f", "n"}
KNOWN = {"k", "exclude", "category", "in_stock", "mode", "exclude_seen", "visitor_id"}


@dataclass
class ListQuery:
    k: int = 10
    exclude: tuple = ()
    category: tuple = ()
    in_stock: bool = True
    mode: str | None = None
    exclude_seen: bool = True
    visitor_id: str | None = None


def _bool(name: str, value: str) -> bool:
    v = value.strip().lower()
    if v in TRUE:
        return True
    if v in FALSE:
        return False
    raise APIError(422, "invalid request", [f"query.{name}: Input should be a valid boolean, got {value[:50]!r}"])


def list_query(request, *, modes: tuple = ()) -> ListQuery:
    """The list parameters of ``request`` (422 naming the parameter when one is invalid)."""
    q = request.query_params
    out = ListQuery()
    if "k" in q:
        try:
            out.k = int(q["k"])
        except ValueError:
            raise APIError(422, "invalid request", [f"query.k: Input should be a valid integer, "
                                                    f"got {q['k'][:50]!r}"]) from None
        if not 1 <= out.k <= MAX_K:
            raise APIError(422, "invalid request", [f"query.k: must be from 1 to {MAX_K}, got {out.k}"])
    out.exclude = tuple(q.getlist("exclude"))
    out.category = tuple(q.getlist("category"))
    if len(out.exclude) > MAX_IDS or len(out.category) > 50:
        raise APIError(422, "invalid request", [f"query: at most {MAX_IDS} exclude and 50 category values"])
    if "in_stock" in q:
        out.in_stock = _bool("in_stock", q["in_stock"])
    if "exclude_seen" in q:
        out.exclude_seen = _bool("exclude_seen", q["exclude_seen"])
    if "mode" in q:
        if q["mode"] not in modes:
            raise APIError(422, "invalid request",
                           [f"query.mode: must be one of {list(modes)}, got {q['mode'][:50]!r}"])
        out.mode = q["mode"]
    if "visitor_id" in q:
        out.visitor_id = q["visitor_id"]
        if not 1 <= len(out.visitor_id) <= 200:
            raise APIError(422, "invalid request", ["query.visitor_id: 1 to 200 characters"])
    return out


def _param(name, schema, description):
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


K_PARAM = _param("k", {"type": "integer", "minimum": 1, "maximum": MAX_K, "default": 10}, "how many items")
FILTER_PARAMS = [
    _param("exclude", {"type": "array", "items": {"type": "string"}, "maxItems": MAX_IDS},
           "item ids never to return (repeatable)"),
    _param("category", {"type": "array", "items": {"type": "string"}, "maxItems": 50},
           "only items of these categories (repeatable)"),
    _param("in_stock", {"type": "boolean", "default": True}, "only items in stock (false: sold-out items too)"),
]
MODE_PARAM = _param("mode", {"type": "string", "enum": ["visual", "hybrid"]},
                    "visual neighbours, or visual + co-interaction (default: visual when the model has images)")
VISITOR_PARAM = _param("visitor_id", {"type": "string", "minLength": 1, "maxLength": 200},
                       "the visitor's id (the widget keeps one per browser): keeps the A/B variant stable")
SEEN_PARAM = _param("exclude_seen", {"type": "boolean", "default": True}, "leave out the user's past items")
