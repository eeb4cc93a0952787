"""List files: recommendation lists and similar-item feeds, written and read in one place.

Written as JSONL (one object per user or item) or CSV/Parquet (one row per rank), atomically;
read back from the same formats (and from other systems' CSV/Parquet with ``user_id, rank, item_id``).
"""

from __future__ import annotations

import io
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from recsys.data.errors import DataError
from recsys.data.loaders import read_table
from .atomic import atomic_write_bytes, atomic_write_text


def list_entries(ids, scores) -> list:
    """``[{"item_id": ..., "score": ...}, ...]`` of one list; empty slots (id None, score -inf) are dropped."""
    return [{"item_id": str(i), "score": round(float(s), 6)}
            for i, s in zip(ids, scores) if i is not None and math.isfinite(float(s))]


def _write_lines(path, key: str, list_key: str, heads, ids, scores) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fmt = path.suffix.lower()
    if fmt in (".csv", ".parquet"):
        rows = [(str(h), r + 1, e["item_id"], e["score"]) for h, i, s in zip(heads, ids, scores)
                for r, e in enumerate(list_entries(i, s))]
        df = pd.DataFrame(rows, columns=[key, "rank", "item_id" if key != "item_id" else "similar_item_id", "score"])
        buf = io.BytesIO()
        (df.to_csv(buf, index=False) if fmt == ".csv" else df.to_parquet(buf, index=False))
        atomic_write_bytes(path, buf.getvalue())
        return path
    lines = [json.dumps({key: str(h), list_key: list_entries(i, s)}) for h, i, s in zip(heads, ids, scores)]
    atomic_write_text(path, "\n".join(lines) + ("\n" if lines else ""))
    return path


def write_recommendations(path, user_ids, item_ids: np.ndarray, scores: np.ndarray) -> Path:
    """One line per user: ``{"user_id": ..., "items": [{"item_id": ..., "score": ...}, ...]}``
    (``.jsonl``; ``.csv``/``.parquet`` give one row per (user, rank))."""
    return _write_lines(path, "user_id", "items", user_ids, item_ids, scores)


def write_similar(path, query_ids, item_ids: np.ndarray, scores: np.ndarray) -> Path:
    """One line per item: ``{"item_id": ..., "similar": [{"item_id": ..., "score": ...}, ...]}``."""
    return _write_lines(path, "item_id", "similar", query_ids, item_ids, scores)


# -- reading -------------------------------------------------------------------------------------

@dataclass
class RecommendationFile:
    """Ranked lists read from one file: ``users[i]`` was recommended ``items[i]`` (best first)."""

    name: str
    path: str
    users: list
    items: list
    n_duplicate_items: int = 0


def read_recommendations(path, *, name: str | None = None) -> RecommendationFile:
    """Read ranked lists from a file.

    Formats
    -------
    ``.jsonl`` / ``.json``
        One object per line, ``{"user_id": ..., "items": [{"item_id": ..., "score": ...}, ...]}``
        as written by ``visrec recommend`` and ``visrec demo``; items may also be plain ids.
        The list order is the rank.
    ``.csv`` / ``.tsv`` / ``.parquet``
        One row per (user, item) with ``user_id``, ``item_id`` and ``rank`` (or ``score``, higher
        first; else the file order).

    Raises
    ------
    DataError
        Naming the file and line of a malformed line or a user listed twice.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    name = name or path.stem
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv", ".parquet", ".pq"):
        return _read_table_lists(path, name)
    users, items, seen, n_dup = [], [], {}, 0
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as e:
                raise DataError(f"{path}: line {n}: not valid JSON ({e.msg}): {line[:80]!r}") from None
            if not isinstance(rec, dict) or "user_id" not in rec:
                raise DataError(f"{path}: line {n}: expected an object with 'user_id' and 'items', got {line[:80]!r}")
            lst = rec.get("items", rec.get("recommendations"))
            if not isinstance(lst, list):
                raise DataError(f"{path}: line {n}: 'items' must be a list, got {type(lst).__name__}")
            uid = rec["user_id"]
            if uid is None or str(uid).strip() == "":
                raise DataError(f"{path}: line {n}: empty user_id")
            uid = str(uid).strip()
            if uid in seen:
                raise DataError(f"{path}: line {n}: user {uid!r} already listed on line {seen[uid]}")
            seen[uid] = n
            ids = []
            for j, e in enumerate(lst):
                iid = e.get("item_id") if isinstance(e, dict) else e
                if iid is None or isinstance(iid, (dict, list)) or str(iid).strip() == "":
                    raise DataError(f"{path}: line {n}: item {j + 1} of user {uid!r} has no item_id: {e!r}")
                ids.append(str(iid).strip())
            uniq = list(dict.fromkeys(ids))  # a repeated item counts once, at its first rank
            n_dup += len(ids) - len(uniq)
            users.append(uid)
            items.append(uniq)
    if not users:
        raise DataError(f"{path}: the file holds no lists (empty); expected one line per user")
    return RecommendationFile(name, str(path), users, items, n_dup)


def _read_table_lists(path: Path, name: str) -> RecommendationFile:
    df = read_table(path)
    missing = [c for c in ("user_id", "item_id") if c not in df.columns]
    if missing:
        raise DataError(f"{path}: missing column(s) {missing} (columns: {list(df.columns)})")
    df = df.reset_index(drop=True)
    df["_line"] = np.arange(len(df)) + 2
    for c in ("user_id", "item_id"):
        df[c] = df[c].astype("string").str.strip()
        bad = df.index[df[c].isna() | (df[c] == "")]
        if len(bad):
            raise DataError(f"{path}: line {int(df['_line'].iat[bad[0]])}: missing {c}")
    if "rank" in df.columns:
        key = pd.to_numeric(df["rank"], errors="coerce")
        col = "rank"
    elif "score" in df.columns:
        key = -pd.to_numeric(df["score"], errors="coerce")
        col = "score"
    else:
        key, col = pd.Series(np.arange(len(df)), dtype=float), None
    if col and key.isna().any():
        i = int(np.flatnonzero(key.isna().to_numpy())[0])
        raise DataError(f"{path}: line {int(df['_line'].iat[i])}: column {col!r}: not a number: {df[col].iat[i]!r}")
    df["_key"] = key.to_numpy()
    df = df.sort_values(["_key", "_line"], kind="stable")
    n0 = len(df)
    df = df.drop_duplicates(["user_id", "item_id"], keep="first")
    users, items = [], []
    for uid, g in df.groupby("user_id", sort=False):
        users.append(str(uid))
        items.append(g["item_id"].astype(str).tolist())
    if not users:
        raise DataError(f"{path}: the file holds no lists (no rows); expected one row per (user, rank)")
    return RecommendationFile(name, str(path), users, items, n0 - len(df))
