"""Validated catalog and interaction tables.

Catalog: one row per item -- ``item_id``, ``image`` (path relative to ``images_root``),
optional ``title``, ``category``, ``price`` and any other columns.

Interactions: one row per event -- ``user_id``, ``item_id``, optional ``timestamp``
(epoch seconds or a date), ``weight`` and/or ``event`` (view, cart, purchase, ...).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from recsys.io.urls import is_http_url, is_url

from .errors import DataError, ValidationReport
from .timestamps import FUTURE_SLACK_S, parse_timestamps

#: Default confidence weight of each event type (used when no ``weight`` column is given).
EVENT_WEIGHTS = {
    "view": 1.0, "click": 1.0, "impression": 0.5, "wishlist": 2.0, "like": 2.0,
    "cart": 3.0, "add_to_cart": 3.0, "addtocart": 3.0,
    "purchase": 5.0, "buy": 5.0, "order": 5.0, "transaction": 5.0,
    # GA4's recommended e-commerce events
    "view_item": 1.0, "select_item": 1.0, "add_to_wishlist": 2.0, "begin_checkout": 4.0,
}


def _line(df_index: int, first_line: int = 2) -> int:
    """1-based line number in the source file of data row ``df_index``."""
    return int(df_index) + first_line


def _bad(source, rows, column, values, what, on_error, report, first_line=2):
    """Raise naming the first bad row, or skip the rows and report them."""
    rows = list(rows)
    values = list(values)
    if not rows:
        return
    if on_error == "raise":
        more = f" ({len(rows) - 1} more such rows)" if len(rows) > 1 else ""
        raise DataError(
            f"{source}: line {_line(rows[0], first_line)}: column {column!r}: {what}: {values[0]!r}{more}. "
            "Fix the file, or skip and report such rows with --on-error skip (on_error='skip' in Python)."
        )
    for r, v in zip(rows, values):
        report.skip(source, _line(r, first_line), f"{column}: {what}", v)


def _check_on_error(on_error):
    if on_error not in ("raise", "skip"):
        raise ValueError(f"on_error must be 'raise' or 'skip', got {on_error!r}")


def _clean_ids(series: pd.Series) -> pd.Series:
    s = series.astype("string").str.strip()
    return s.mask(s == "")


@dataclass
class Catalog:
    """Items with their image paths and metadata.

    Attributes
    ----------
    df : pandas.DataFrame
        Indexed 0..n-1, with at least ``item_id`` (str) and ``image`` (str or <NA>).
    images_root : Path or None
        Folder that ``image`` paths are relative to.
    report : ValidationReport
        Rows skipped or merged while loading.
    """

    df: pd.DataFrame
    images_root: Path | None = None
    report: ValidationReport = field(default_factory=ValidationReport)
    source: str = "<catalog>"
    #: read images outside ``images_root`` too (``../`` paths, absolute paths, links leading out)
    allow_outside_root: bool = False

    @classmethod
    def from_frame(cls, df: pd.DataFrame, images_root=None, *, source: str = "<catalog>",
                   on_error: str = "raise", allow_outside_root: bool = False) -> "Catalog":
        """Validate a catalog table: missing ids and malformed prices are errors (or skipped rows with
        ``on_error="skip"``); of rows repeating an item id the first is kept whole and the others are
        skipped and reported with their lines."""
        _check_on_error(on_error)
        if "item_id" not in df.columns:
            raise DataError(f"{source}: no 'item_id' column (columns: {list(df.columns)}); name yours with "
                            "--columns item_id=YOUR_COLUMN (columns= in Python)")
        report = ValidationReport()
        df = df.copy()
        if not (df.index.is_unique and pd.api.types.is_integer_dtype(df.index)):
            df = df.reset_index(drop=True)  # else: index + 2 is the row's line in the source file
        df["item_id"] = _clean_ids(df["item_id"])
        bad = df.index[df["item_id"].isna()]
        _bad(source, bad, "item_id", [None] * len(bad), "missing item id", on_error, report)
        df = df.drop(index=bad)
        if "image" not in df.columns:
            df["image"] = pd.NA
        df["image"] = _clean_ids(df["image"])
        if "price" in df.columns:
            price = pd.to_numeric(df["price"], errors="coerce")
            bad = df.index[price.isna() & df["price"].notna()]
            _bad(source, bad, "price", df.loc[bad, "price"], "not a number", on_error, report)
            df = df.drop(index=bad)
            df["price"] = price.loc[df.index]
        dup = df["item_id"].duplicated(keep="first")
        if dup.any():
            first = {k: i for i, k in zip(df.index[::-1], df["item_id"].to_numpy()[::-1])}
            for i, k in zip(df.index[dup], df.loc[dup, "item_id"]):
                why = f"item_id: duplicate of line {_line(first[k])} (the first row is kept)"
                report.skip(source, _line(i), why, k)
            df = df[~dup]
        df = df.reset_index(drop=True)
        root = Path(images_root) if images_root is not None else None
        return cls(df=df, images_root=root, report=report, source=source, allow_outside_root=allow_outside_root)

    @property
    def item_ids(self) -> np.ndarray:
        return self.df["item_id"].to_numpy(dtype=object)

    def __len__(self) -> int:
        return len(self.df)

    def codes(self, column: str | None) -> np.ndarray | None:
        """Integer codes of a metadata column, one per item (equal values share a code; -1 where the
        item has no value), e.g. ``product_code`` (colour variants) or ``category``; None when the
        catalog has no such column."""
        if not column or column not in self.df.columns:
            return None
        codes, _ = pd.factorize(self.df[column].astype("string"), use_na_sentinel=True)
        return codes.astype(np.int64)

    def image_paths(self) -> list[Path | None]:
        """Image path of each item: None where the catalog gives none or the path is refused
        (see :meth:`refused_images`)."""
        return self.checked_image_paths()[0]

    def checked_image_paths(self) -> tuple[list, dict]:
        """``(image_paths(), refused_images())`` computed together (each path resolved once)."""
        joined = self._joined_paths()
        refused = self.refused_images(joined)
        return [None if i in refused else p for i, p in enumerate(joined)], refused

    def _joined_paths(self) -> list[Path | str | None]:
        root = self.images_root
        out = []
        for rel in self.df["image"].tolist():
            if rel is None or rel is pd.NA or (isinstance(rel, float) and np.isnan(rel)):
                out.append(None)
            elif "\x00" in str(rel) or is_url(rel):  # refused, or fetched (http/https) before embedding
                out.append(str(rel))
            else:
                p = Path(rel)
                out.append(p if p.is_absolute() or root is None else root / p)
        return out

    def refused_images(self, joined=None) -> dict:
        """``{row: (path, reason)}`` of image paths that are not read: a NUL byte, or a path leading
        outside ``images_root`` (``..``, an absolute path, a link) unless ``allow_outside_root``."""
        root = None
        if self.images_root is not None and not self.allow_outside_root:
            root = os.path.realpath(self.images_root)
        out = {}
        for i, p in enumerate(self._joined_paths() if joined is None else joined):
            if p is None:
                continue
            if isinstance(p, str):
                if "\x00" in p:
                    out[i] = (p, "the image path contains a NUL byte")
                elif not is_http_url(p):
                    out[i] = (p, f"only http and https image URLs are fetched, not {p.split('://', 1)[0]}://")
            elif root is not None and os.path.commonpath([root, os.path.realpath(p)]) != root:
                out[i] = (str(p), f"the image path leads outside the images root {self.images_root} "
                                  "(use --allow-outside-root to read it)")
        return out

    def text(self) -> list[str]:
        """Title / category / description text of each item ('' where none)."""
        cols = [c for c in ("title", "category", "description") if c in self.df.columns]
        if not cols:
            return [""] * len(self)
        return self.df[cols].fillna("").astype(str).agg(" ".join, axis=1).str.strip().tolist()


@dataclass
class Interactions:
    """User--item events.

    Attributes
    ----------
    df : pandas.DataFrame
        Columns ``user_id`` (str), ``item_id`` (str), ``weight`` (float32 > 0) and
        ``timestamp`` (int64 epoch seconds, -1 where unknown).
    report : ValidationReport
    """

    df: pd.DataFrame
    report: ValidationReport = field(default_factory=ValidationReport)
    source: str = "<interactions>"

    @classmethod
    def from_frame(cls, df: pd.DataFrame, *, source: str = "<interactions>", on_error: str = "raise",
                   event_weights: dict | None = None, first_line: int = 2) -> "Interactions":
        """Validate an interactions table.

        Malformed rows (missing ids, a weight that is not a positive number, an unparseable
        timestamp, an unknown event type) raise :class:`DataError` naming the file, line,
        column and value, or with ``on_error="skip"`` are skipped and listed in ``report``.
        Exact duplicate rows are merged into one.
        """
        _check_on_error(on_error)
        missing = [c for c in ("user_id", "item_id") if c not in df.columns]
        if missing:
            raise DataError(f"{source}: missing column(s) {missing} (columns: {list(df.columns)}); name yours with "
                            f"--columns {missing[0]}=YOUR_COLUMN (columns= in Python)")
        report = ValidationReport()
        named = dict(df.attrs.get("source_columns", {}))  # visrec column -> the file's own name
        if not (df.index.is_unique and pd.api.types.is_integer_dtype(df.index)):
            df = df.reset_index(drop=True)  # else: the index is the row's position in the source file
        out = pd.DataFrame(index=df.index)
        out["line"] = (df.index.to_numpy() + first_line).astype(np.int64)  # line in the source file
        bad_kw = dict(on_error=on_error, report=report, first_line=first_line)
        for col in ("user_id", "item_id"):
            out[col] = _clean_ids(df[col])
            bad = out.index[out[col].isna()]
            _bad(source, bad, named.get(col, col), [None] * len(bad), f"missing {col.split('_')[0]} id", **bad_kw)
            out = out.drop(index=bad)
        idx = out.index
        if "weight" in df.columns:
            w = pd.to_numeric(df.loc[idx, "weight"], errors="coerce").astype(float)
            bad = idx[~((w > 0) & (w <= np.finfo(np.float32).max))]
            _bad(source, bad, named.get("weight", "weight"), df.loc[bad, "weight"],
                 "weight must be a positive number below 3.4e38 (stored as float32)", **bad_kw)
            out["weight"] = w
        elif "event" in df.columns:
            weights = {k.lower(): v for k, v in (event_weights or EVENT_WEIGHTS).items()}
            ev = df.loc[idx, "event"].astype("string").str.strip().str.lower()
            w = ev.map(weights)
            bad = idx[w.isna()]
            _bad(source, bad, named.get("event", "event"), df.loc[bad, "event"],
                 f"unknown event type (known: {sorted(weights)}; pass event_weights)", **bad_kw)
            out["weight"] = w
        else:
            bad = idx[:0]
            out["weight"] = 1.0
        out = out.drop(index=bad)
        if "timestamp" in df.columns:
            ts = parse_timestamps(df.loc[out.index, "timestamp"], report)
            bad = out.index[ts.isna() & df.loc[out.index, "timestamp"].notna()]
            _bad(source, bad, named.get("timestamp", "timestamp"), df.loc[bad, "timestamp"],
                 "not a date or epoch seconds", **bad_kw)
            out = out.drop(index=bad)
            future = out.index[ts.loc[out.index] > time.time() + FUTURE_SLACK_S]
            _bad(source, future, named.get("timestamp", "timestamp"), df.loc[future, "timestamp"],
                 "in the future (epoch seconds or a date up to tomorrow)", **bad_kw)
            out = out.drop(index=future)
            out["timestamp"] = ts.loc[out.index].fillna(-1).astype(np.int64)
        else:
            out["timestamp"] = np.int64(-1)
        out["user_id"] = out["user_id"].astype(object)
        out["item_id"] = out["item_id"].astype(object)
        out["weight"] = out["weight"].astype(np.float32)
        n = len(out)
        dup = out.duplicated(["user_id", "item_id", "timestamp"], keep=False)
        if dup.any():  # repeat events of a pair at the same time: one row, weights summed
            merged = out[dup].groupby(["user_id", "item_id", "timestamp"], sort=False, as_index=False).agg(
                weight=("weight", "sum"), line=("line", "min"))
            out = pd.concat([out[~dup], merged], ignore_index=True).sort_values("line", kind="stable")
        out = out.reset_index(drop=True)
        out = out[["user_id", "item_id", "weight", "timestamp", "line"]]
        report.merged += n - len(out)
        return cls(out, report, source)

    def __len__(self) -> int:
        return len(self.df)

    @property
    def has_timestamps(self) -> bool:
        return bool((self.df["timestamp"] >= 0).any())

    def subset(self, mask) -> "Interactions":
        return Interactions(self.df[np.asarray(mask)].reset_index(drop=True), self.report, self.source)
