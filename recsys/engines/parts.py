"""Resumable Parquet part files: a job's output written part by part, each part atomically.

A parts folder::

    meta.json              what job the parts belong to (settings, inputs' digests)
    part-000000.parquet    part 0 of the job
    part-000001.parquet    ...

Each part is written to a temporary file and renamed into place, so a killed job leaves only whole
parts; a rerun of the same job (same ``meta.json``) skips the parts that exist and check out, and a
folder left by another job has its part files removed first. Workers write parts with
:func:`write_part`; the driver opens the folder with :class:`PartsFolder`.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path

from recsys.io.atomic import atomic_file, atomic_write_text

_PART = re.compile(r"^part-(\d{6})\.parquet$")


def part_name(i: int) -> str:
    """File name of part ``i``."""
    return f"part-{i:06d}.parquet"


def write_part(folder, i: int, table) -> Path:
    """Write part ``i`` (a ``pyarrow.Table``) into ``folder`` atomically; returns its path."""
    import pyarrow.parquet as pq
    path = Path(folder) / part_name(i)
    with atomic_file(path) as f:
        pq.write_table(table, f)
    return path


def digest(*arrays) -> str:
    """SHA-256 (hex) of NumPy arrays' bytes, shapes and types: a job input's identity in ``meta.json``."""
    h = hashlib.sha256()
    for a in arrays:
        if a is None:
            h.update(b"none")
            continue
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(a.tobytes())
    return h.hexdigest()


class PartsFolder:
    """The parts folder of one job, as its driver sees it.

    Parameters
    ----------
    path : path-like
        Folder (created if missing).
    meta : dict
        JSON description of the job. A folder whose ``meta.json`` differs holds another job's
        parts: they are removed (a note on stderr) and the job starts over.
    """

    def __init__(self, path, meta: dict):
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        meta = json.loads(json.dumps(meta))
        meta_file = self.path / "meta.json"
        #: parts removed on opening: another job's, or unusable ones found by :meth:`finished`
        self.removed = 0
        old = None
        if meta_file.exists():
            try:
                old = json.loads(meta_file.read_text())
            except ValueError:
                old = None
        if old != meta:
            stale = self.part_files()
            for f in stale:
                f.unlink(missing_ok=True)
            if stale:
                print(f"note: {self.path} held {len(stale)} part(s) of another job (other settings or inputs): "
                      "removed, starting over", file=sys.stderr)
            self.removed = len(stale)
            atomic_write_text(meta_file, json.dumps(meta, indent=1))

    def part_files(self) -> list[Path]:
        """The part files in the folder, in part order."""
        return sorted(f for f in self.path.iterdir() if _PART.match(f.name))

    def part(self, i: int) -> Path:
        return self.path / part_name(i)

    def read(self, i: int, columns=None):
        """Part ``i`` as a ``pyarrow.Table`` (only ``columns`` if given), or None if missing or unreadable."""
        import pyarrow as pa
        import pyarrow.parquet as pq
        f = self.part(i)
        if not f.is_file():
            return None
        try:
            return pq.read_table(f, columns=columns)
        except (OSError, ValueError, pa.ArrowException):
            return None

    def finished(self, i: int, check: Callable, columns=None) -> bool:
        """Whether part ``i`` is there and ``check(table)`` accepts it; a part that is not is removed."""
        table = self.read(i, columns)
        if table is not None and check(table):
            return True
        if self.part(i).exists():
            self.part(i).unlink(missing_ok=True)
            self.removed += 1
        return False

    def clear(self) -> None:
        """Remove the part files and ``meta.json``, and the folder if nothing else is in it."""
        for f in self.part_files():
            f.unlink(missing_ok=True)
        (self.path / "meta.json").unlink(missing_ok=True)
        try:
            self.path.rmdir()
        except OSError:
            pass
