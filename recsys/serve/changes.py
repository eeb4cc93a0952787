"""Catalog changes made through the service, kept in an embedded SQLite file (WAL) so that they
survive a restart: items added with their image vector, and stock/visibility/metadata edits.

A change is committed (``synchronous=FULL``) before the request that made it is answered, so
a restart -- a crash included -- never loses an acknowledged change.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path

import numpy as np

SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    item_id    TEXT PRIMARY KEY,
    vector     BLOB,            -- float32 image vector of an item added through the service
    signature  TEXT,            -- how that vector was made (JSON)
    title      TEXT,
    category   TEXT,
    in_stock   INTEGER,         -- NULL: unchanged
    hidden     INTEGER,
    added_at   REAL,
    updated_at REAL NOT NULL
);
"""
FIELDS = ("title", "category", "in_stock", "hidden")


class CatalogChanges:
    """The change log of one served catalog (``path``: the SQLite file, created if missing)."""

    def __init__(self, path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(SCHEMA)
        except sqlite3.DatabaseError as e:
            raise ValueError(f"{self.path}: cannot be used as the catalog change store ({e})") from None

    def close(self):
        with self._lock:
            self._db.close()

    def add_item(self, item_id: str, vector: np.ndarray, signature: dict, **fields) -> None:
        """Record an item added with its image vector (and optional title/category/flags)."""
        now = time.time()
        vals = {k: _db_value(fields.get(k)) for k in FIELDS}
        with self._lock:
            self._db.execute(
                "INSERT INTO items (item_id, vector, signature, title, category, in_stock, hidden, added_at, "
                "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (item_id, np.asarray(vector, np.float32).tobytes(), json.dumps(signature, sort_keys=True),
                 vals["title"], vals["category"], vals["in_stock"], vals["hidden"], now, now))

    def update(self, item_id: str, **fields) -> None:
        """Record edits of an item (only the given fields change)."""
        given = {k: _db_value(v) for k, v in fields.items() if k in FIELDS and v is not None}
        if not given:
            return
        now = time.time()
        cols = ", ".join(given)
        with self._lock:
            self._db.execute(
                f"INSERT INTO items (item_id, {cols}, updated_at) VALUES (?, {', '.join('?' * len(given))}, ?) "
                f"ON CONFLICT(item_id) DO UPDATE SET {', '.join(f'{c}=excluded.{c}' for c in given)}, "
                "updated_at=excluded.updated_at", (item_id, *given.values(), now))

    def rows(self) -> list[dict]:
        """Every recorded item, oldest addition first (``vector`` as float32 or None)."""
        with self._lock:
            cur = self._db.execute("SELECT item_id, vector, signature, title, category, in_stock, hidden "
                                   "FROM items ORDER BY COALESCE(added_at, updated_at), item_id")
            out = []
            for item_id, vec, sig, title, cat, stock, hidden in cur.fetchall():
                out.append({"item_id": item_id,
                            "vector": None if vec is None else np.frombuffer(vec, np.float32).copy(),
                            "signature": json.loads(sig) if sig else None, "title": title, "category": cat,
                            "in_stock": None if stock is None else bool(stock),
                            "hidden": None if hidden is None else bool(hidden)})
            return out


def _db_value(v):
    if isinstance(v, bool):
        return int(v)
    return v
