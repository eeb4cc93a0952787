"""List files: recommendation lists and similar-item feeds, written and read in one place.

Written as JSONL (one object per user or item) or CSV/Parquet (one row per rank), atomically and
block by block (:class:`ListWriter`, for list jobs over more users than fit in memory); read back
from the same formats (and from other systems' CSV/Parquet with ``user_id, rank, item_id``).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from recsys.data.errors import DataError
from recsys.data.loaders import read_table
from .atomic import atomic_file


def list_entries(ids, scores) -> list:
    """``[{"item_id": ..., "score": ...}, ...]`` of one list; empty slots (id None, score -inf) are dropped."""
    return [{"item_id": str(i), "score": round(float(s), 6)}
            for i, s in zip(ids, scores) if i is not None and math.isfinite(float(s))]


class ListWriter:
    """Ranked lists written block by block into one file, so that memory holds one block at a time.

    ``.jsonl``: one object per list, ``{key: ..., list_key: [{"item_id": ..., "score": ...}, ...]}``;
    ``.csv`` / ``.parquet``: one row per (list, rank). Scores are rounded to 6 decimals and empty
    slots (id ``None`` or score ``-inf``) are dropped. The file appears complete when the ``with``
    block ends, or not at all when it raises (:func:`recsys.io.atomic.atomic_file`).

    Parameters
    ----------
    path : path-like
    key : str
        Who each list is for: ``"user_id"`` (recommendations) or ``"item_id"`` (similar items).
    list_key : str
        The JSONL field holding the list: ``"items"`` or ``"similar"``.

    Attributes
    ----------
    n_lists, n_rows : int
        Lists and (list, rank) entries written so far.

    Examples
    --------
    >>> with ListWriter("recs.jsonl") as w:  # doctest: +SKIP
    ...     for users, ids, scores in blocks:
    ...         w.write(users, ids, scores)
    """

    def __init__(self, path, key: str = "user_id", list_key: str = "items"):
        self.path = Path(path)
        self.key, self.list_key = key, list_key
        self.fmt = self.path.suffix.lower()
        self.columns = [key, "rank", "item_id" if key != "item_id" else "similar_item_id", "score"]
        self.n_lists = self.n_rows = 0
        self._atomic = self._file = self._parquet = None
        self._header = True

    def __enter__(self) -> "ListWriter":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._atomic = atomic_file(self.path)
        self._file = self._atomic.__enter__()
        return self

    def write(self, heads, ids, scores) -> None:
        """Append one block: ``ids[i]`` / ``scores[i]`` is the list of ``heads[i]`` (rows of top-k
        arrays, or ragged sequences)."""
        entries = [list_entries(i, s) for i, s in zip(ids, scores)]
        self.n_lists += len(entries)
        self.n_rows += sum(map(len, entries))
        if self.fmt not in (".csv", ".parquet"):
            text = "".join(json.dumps({self.key: str(h), self.list_key: e}) + "\n" for h, e in zip(heads, entries))
            self._file.write(text.encode("utf-8"))
            return
        rows = [(str(h), r + 1, e["item_id"], e["score"]) for h, es in zip(heads, entries) for r, e in enumerate(es)]
        self._write_table(pd.DataFrame(rows, columns=self.columns))

    def _write_table(self, df: pd.DataFrame) -> None:
        if self.fmt == ".csv":
            df.to_csv(self._file, index=False, header=self._header)
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq
            schema = pa.schema([(self.columns[0], pa.large_string()), ("rank", pa.int64()),
                                (self.columns[2], pa.large_string()), ("score", pa.float64())])
            table = pa.Table.from_pandas(df, schema=schema, preserve_index=False)
            if self._parquet is None:
                self._parquet = pq.ParquetWriter(self._file, table.schema)
            self._parquet.write_table(table)
        self._header = False

    def _finish(self) -> None:
        if self._header and self.fmt in (".csv", ".parquet"):  # no block: the header (schema) alone
            self._write_table(pd.DataFrame([], columns=self.columns))
        if self._parquet is not None:
            self._parquet, writer = None, self._parquet
            writer.close()

    def _abandon(self) -> None:
        """Drop the Parquet writer of a failed file (its footer is never written)."""
        if self._parquet is not None:
            self._parquet, writer = None, self._parquet
            try:
                writer.close()
            except Exception:
                pass

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            try:
                self._finish()
            except BaseException as e:
                self._abandon()
                self._atomic.__exit__(type(e), e, e.__traceback__)
                raise
        else:
            self._abandon()
        return self._atomic.__exit__(exc_type, exc, tb)


def _write_lines(path, key: str, list_key: str, heads, ids, scores) -> Path:
    with ListWriter(path, key, list_key) as w:
        w.write(heads, ids, scores)
    return Path(path)


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
