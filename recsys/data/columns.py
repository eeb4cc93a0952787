"""Shops' own column names: an explicit mapping (``--columns user_id=customer_id,item_id=article_id``)
and recognised aliases of common exports (Kaggle H&M, GA4, Shopify orders, ...), so a table is read as it
was exported, with one note per column naming the one used."""

from __future__ import annotations

import re

import pandas as pd

from .errors import DataError

#: what each visrec column may be called in shops' exports, in order of preference (compared after
#: lower-casing and turning spaces, dots and hyphens into underscores)
ALIASES = {
    "user_id": ("user_id", "customer_id", "user_pseudo_id", "visitor_id", "client_id", "userid", "user",
                "customer", "email", "customer_email"),
    "item_id": ("item_id", "article_id", "product_id", "sku", "lineitem_sku", "variant_id", "itemid",
                "movie_id", "product", "item"),
    "timestamp": ("timestamp", "t_dat", "event_time", "event_timestamp", "created_at", "order_date", "date",
                  "time", "datetime"),
    "event": ("event", "event_name", "event_type", "action", "interaction"),
    "weight": ("weight", "quantity", "lineitem_quantity", "qty", "rating"),
    "image": ("image", "image_url", "image_link", "img", "picture", "photo", "image_path"),
    "title": ("title", "prod_name", "name", "product_name", "item_name"),
    "category": ("category", "product_type", "product_type_name", "item_category", "type"),
}
#: the visrec columns each kind of table reads
TABLE_COLUMNS = {
    "interactions": ("user_id", "item_id", "timestamp", "event", "weight"),
    "catalog": ("item_id", "image", "title", "category"),
}
_SEP = re.compile(r"[\s.\-]+")


def normalise(name) -> str:
    """A header compared with the aliases: lower case, spaces / dots / hyphens as underscores."""
    return _SEP.sub("_", str(name).strip().lower())


def parse_columns(text: str | None) -> dict:
    """``"user_id=customer_id,item_id=article_id"`` as ``{"user_id": "customer_id", ...}``;
    ValueError naming a malformed entry."""
    out: dict = {}
    for part in (text or "").split(","):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise ValueError(f"--columns entry {part.strip()!r} is not visrec_column=your_column")
        out[key.strip()] = value.strip()
    return out


def parse_event_weights(text: str | None) -> dict | None:
    """``"view_item=1,add_to_cart=3,purchase=5"`` as ``{"view_item": 1.0, ...}`` (None for none)."""
    if not text:
        return None
    out = {}
    for key, value in parse_columns(text).items():
        try:
            w = float(value)
        except ValueError:
            raise ValueError(f"--event-weights: the weight of {key!r} is not a number: {value!r}") from None
        if not w > 0:
            raise ValueError(f"--event-weights: the weight of {key!r} must be positive, got {value}")
        out[key] = w
    return out


def map_columns(df: pd.DataFrame, kind: str, columns: dict | None = None, *, source: str = "<table>",
                notes: list | None = None) -> pd.DataFrame:
    """``df`` with its columns renamed to visrec's.

    Parameters
    ----------
    df : DataFrame
    kind : {"interactions", "catalog"}
    columns : dict, optional
        ``{visrec column: the table's column}``, used first; a named column that is not in the table is
        a :class:`DataError` naming the file and its columns.
    source : str
        The file, for messages.
    notes : list, optional
        Gets one line per column found through an alias (``"user_id <- customer_id"``).

    Returns
    -------
    DataFrame
        The same data; a table already in visrec's names is returned unchanged.
    """
    wanted = TABLE_COLUMNS[kind]
    columns = dict(columns or {})
    unknown = [k for k in columns if k not in wanted]
    if unknown:
        raise DataError(f"{source}: --columns names {unknown}, but {kind} tables take {list(wanted)}")
    rename, taken = {}, set()
    for target, col in columns.items():
        if col not in df.columns:
            raise DataError(f"{source}: --columns {target}={col}: no column {col!r} (columns: {list(df.columns)})")
        rename[col] = target
        taken.add(target)
    by_norm: dict = {}
    for c in df.columns:
        by_norm.setdefault(normalise(c), c)
    for target in wanted:
        if target in taken or target in df.columns:
            continue
        for alias in ALIASES[target]:
            col = by_norm.get(alias)
            if col is not None and col not in rename and col not in wanted:
                rename[col] = target
                if notes is not None:
                    notes.append(f"{source}: column {col!r} read as {target}")
                break
    clash = [t for t in rename.values() if t in df.columns and t not in rename]
    if clash:
        raise DataError(f"{source}: --columns maps another column onto {clash}, which the table already has")
    if not rename:
        return df
    out = df.rename(columns=rename)
    out.attrs["source_columns"] = {t: c for c, t in rename.items()}  # errors name the file's own columns
    return out
