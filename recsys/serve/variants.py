"""Online A/B experiments: visitors and users assigned to model variants by a salted hash.

The assignment of an id is ``sha256(salt + ":" + id)`` read as a number in [0, 1) and cut at the
cumulative split, so it is the same on every request and after a restart. The salt belongs to the
experiment and is kept in the service's SQLite store (table ``experiment``), with the split: a new
experiment (``--experiment NAME``) draws a new salt and so reshuffles everyone; the same experiment
started with another split is refused rather than silently re-assigning part of its visitors.
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS experiment (
    name       TEXT NOT NULL,
    variant    TEXT NOT NULL,
    weight     REAL NOT NULL,
    salt       TEXT NOT NULL,
    model_dir  TEXT,
    started_at REAL NOT NULL,
    PRIMARY KEY (name, variant)
);
"""
DEFAULT_EXPERIMENT = "default"


class ExperimentError(ValueError):
    """A split or experiment that cannot be used (the message says why)."""


def parse_split(text: str, n: int) -> list[float]:
    """``"50/50"`` or ``"70/30"`` (percent or any positive numbers) as ``n`` weights summing to 1."""
    try:
        parts = [float(p) for p in str(text).split("/")]
    except ValueError:
        raise ExperimentError(f"--split {text!r}: give one positive number per variant, e.g. 50/50") from None
    if len(parts) != n:
        raise ExperimentError(f"--split {text!r} has {len(parts)} part(s) for {n} variant(s)")
    if any(not p > 0 for p in parts):  # also catches nan
        raise ExperimentError(f"--split {text!r}: every part must be positive")
    total = sum(parts)
    return [p / total for p in parts]


def unit_fraction(salt: str, unit_id: str) -> float:
    """Where ``unit_id`` falls in [0, 1) for this salt (uniform over ids, fixed per id)."""
    h = hashlib.sha256(f"{salt}:{unit_id}".encode()).digest()
    return int.from_bytes(h[:8], "big") / 2.0 ** 64


@dataclass(frozen=True)
class Variants:
    """The variants of one experiment: ``names`` with their ``weights`` (summing to 1)."""

    experiment: str
    names: tuple
    weights: tuple
    salt: str

    def assign(self, unit_id: str) -> str:
        """The variant of a visitor or user id."""
        x, acc = unit_fraction(self.salt, unit_id), 0.0
        for name, w in zip(self.names, self.weights):
            acc += w
            if x < acc:
                return name
        return self.names[-1]

    def split(self) -> dict:
        return dict(zip(self.names, self.weights))


def open_experiment(path, variants: dict, weights: list, *, name: str = DEFAULT_EXPERIMENT) -> Variants:
    """Start or resume the experiment ``name`` in the SQLite file ``path``.

    ``variants`` maps each variant name to its model folder (in split order). A new experiment
    gets a fresh salt; a known one keeps its salt and must be started with the same variants and
    split (:class:`ExperimentError` otherwise).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path, isolation_level=None, timeout=30) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.executescript(SCHEMA)
        rows = db.execute("SELECT variant, weight, salt FROM experiment WHERE name = ? ORDER BY rowid",
                          (name,)).fetchall()
        if rows:
            stored = {v: w for v, w, _ in rows}
            asked = dict(zip(variants, weights))
            if set(stored) != set(asked) or any(abs(stored[v] - asked[v]) > 1e-9 for v in asked):
                raise ExperimentError(
                    f"{path}: experiment {name!r} runs with split {_fmt(stored)}, not {_fmt(asked)}; changing "
                    "the split mid-experiment would re-assign visitors. Start a new one with --experiment NAME")
            salt = rows[0][2]
        else:
            salt = secrets.token_hex(16)
            now = time.time()
            db.execute("BEGIN")
            db.executemany("INSERT INTO experiment (name, variant, weight, salt, model_dir, started_at) "
                           "VALUES (?, ?, ?, ?, ?, ?)",
                           [(name, v, w, salt, str(d), now) for (v, d), w in zip(variants.items(), weights)])
            db.execute("COMMIT")
    return Variants(name, tuple(variants), tuple(float(w) for w in weights), salt)


def read_split(path, name: str | None = None) -> dict | None:
    """``{variant: weight}`` of an experiment stored in the SQLite file ``path`` (the most recently
    started one when ``name`` is None), or None when the file holds no experiment."""
    with sqlite3.connect(f"file:{Path(path)}?mode=ro", uri=True) as db:
        has = db.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='experiment'").fetchone()
        if not has:
            return None
        if name is None:
            row = db.execute("SELECT name FROM experiment ORDER BY started_at DESC, rowid DESC LIMIT 1").fetchone()
            if row is None:
                return None
            name = row[0]
        rows = db.execute("SELECT variant, weight FROM experiment WHERE name = ? ORDER BY rowid", (name,)).fetchall()
    return {v: w for v, w in rows} or None


def _fmt(split: dict) -> str:
    return "/".join(f"{k}={100 * w:g}%" for k, w in split.items())
