"""Impression, click, cart and purchase events, appended durably to SQLite (WAL) with group commit.

Requests hand their events to one writer thread, which inserts everything waiting in one
transaction, commits (``synchronous=FULL``) and only then releases the requests: an acknowledged
event is on disk, and a burst of thousands costs a few commits instead of one fsync each.
Events repeating an ``event_id`` already stored are dropped (the browser may resend a beacon).
"""

from __future__ import annotations

import queue
import sqlite3
import threading
import time
from concurrent.futures import Future
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    event_id    TEXT PRIMARY KEY,
    type        TEXT NOT NULL,
    rec_id      TEXT,
    variant     TEXT,
    user_id     TEXT,
    visitor_id  TEXT,
    item_id     TEXT,
    position    INTEGER,
    received_at REAL NOT NULL,
    key_name    TEXT
);
CREATE INDEX IF NOT EXISTS events_by_rec ON events (rec_id);
"""
COLUMNS = ("event_id", "type", "rec_id", "variant", "user_id", "visitor_id", "item_id", "position",
           "received_at", "key_name")


class EventLog:
    """The event table of ``path`` (an SQLite file, created if missing; may be shared with the
    catalog changes)."""

    def __init__(self, path, *, max_batch: int = 5000):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._queue: queue.Queue = queue.Queue()
        self.max_batch = max_batch
        db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.executescript(SCHEMA)
        self._db = db
        self._closed = False
        self._thread = threading.Thread(target=self._writer, daemon=True, name="visrec-events")
        self._thread.start()

    def append(self, events: list[dict]) -> Future:
        """Queue ``events`` (dicts with :data:`COLUMNS`); the future resolves to the number newly
        stored once they are committed (duplicates by ``event_id`` are not counted)."""
        if self._closed:
            raise RuntimeError("the event log is closed")
        fut: Future = Future()
        now = time.time()
        rows = [tuple(now if c == "received_at" else e.get(c) for c in COLUMNS) for e in events]
        self._queue.put((rows, fut))
        return fut

    def _writer(self):
        while True:
            item = self._queue.get()
            if item is None:
                return
            batch = [item]
            n = len(item[0])
            while n < self.max_batch:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    self._queue.put(None)
                    break
                batch.append(nxt)
                n += len(nxt[0])
            try:
                self._db.execute("BEGIN")
                counts = []
                for rows, _ in batch:
                    before = self._db.total_changes
                    self._db.executemany(f"INSERT OR IGNORE INTO events ({', '.join(COLUMNS)}) VALUES "
                                         f"({', '.join('?' * len(COLUMNS))})", rows)
                    counts.append(self._db.total_changes - before)
                self._db.execute("COMMIT")
                for (_, fut), c in zip(batch, counts):
                    fut.set_result(c)
            except sqlite3.Error as e:
                try:
                    self._db.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
                for _, fut in batch:
                    fut.set_exception(RuntimeError(f"events could not be stored: {e}"))

    def count(self) -> int:
        return self._db.execute("SELECT COUNT(*) FROM events").fetchone()[0]

    def close(self):
        if not self._closed:
            self._closed = True
            self._queue.put(None)
            self._thread.join(30)
            self._db.close()


def read_events(path):
    """Every stored event of the SQLite file ``path`` as a pandas DataFrame, oldest first."""
    import pandas as pd
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such event store")
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        try:
            return pd.read_sql_query(f"SELECT {', '.join(COLUMNS)} FROM events ORDER BY received_at, rowid", db)
        except Exception as e:  # pandas wraps sqlite errors
            raise ValueError(f"{path}: not a visrec event store ({e})") from None
