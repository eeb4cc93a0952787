"""Embedding store: vectors keyed by image content hash, appended in atomic shards.

A store is a folder::

    meta.json                     backbone, weights id, preprocessing, input size, dimension
    part-000001-<run>.npz         keys (sha256 hex of the image bytes) + float32 vectors
    part-000002-<run>.npz         ...

Each shard is written to a temporary file, flushed to disk and renamed into place, so a
killed run leaves only complete shards: a rerun recomputes at most the batch in flight. Shard
names carry a per-run suffix, so two runs sharing a cache never overwrite each other's shards, and
a run deletes only temporary files old enough to be stale (not another live run's). A shard that
cannot be read (truncated, wrong shape, non-finite values) is renamed ``*.bad`` and reported; its
images are simply embedded again. Files are read with ``allow_pickle=False``.
"""

from __future__ import annotations

import json
import os
import re
import time
import uuid
import warnings
import zipfile
from pathlib import Path

import numpy as np

from recsys.io.atomic import atomic_write_bytes, atomic_write_text

_SHARD = re.compile(r"^part-(\d{6})(?:-[0-9a-f]+)?\.npz$")
#: temporary files older than this are left over by a killed run (younger ones may be a live run's)
STALE_TMP_S = 3600


def shard_problem(f: Path, dim: int | None):
    """``(keys, vectors)`` of a shard file, or the reason it cannot be used (a string)."""
    try:
        with np.load(f, allow_pickle=False) as z:
            keys, vecs = z["keys"], z["vectors"]
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as e:
        return f"cannot be read ({type(e).__name__}: {e})"
    if vecs.ndim != 2 or len(keys) != len(vecs) or (dim is not None and vecs.shape[1] != dim):
        return f"shape {vecs.shape} with {len(keys)} keys does not match dim {dim}"
    if not np.isfinite(vecs).all():
        return f"{int((~np.isfinite(vecs)).sum())} non-finite value(s)"
    return keys, vecs


class StoreMismatchError(ValueError):
    """The store holds vectors from another backbone, weights or preprocessing."""


class EmbeddingStore:
    """Content-addressed, append-only store of image embeddings.

    Parameters
    ----------
    path : path-like
        Folder (created if missing).
    meta : dict
        What produced the vectors (backbone, weights_id, preprocess, input_size, dim). If the
        folder already holds vectors made with different settings, :class:`StoreMismatchError`
        is raised rather than mixing incompatible vectors.
    """

    def __init__(self, path, meta: dict):
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        self.meta = {k: meta[k] for k in sorted(meta)}
        meta_file = self.path / "meta.json"
        if meta_file.exists():
            old = json.loads(meta_file.read_text())
            if old != self.meta:
                diff = {k: (old.get(k), self.meta.get(k)) for k in set(old) | set(self.meta)
                        if old.get(k) != self.meta.get(k)}
                raise StoreMismatchError(
                    f"embedding store {self.path} holds vectors made with other settings "
                    f"(stored vs requested: {diff}); use another --cache folder or delete this one")
        else:
            atomic_write_text(meta_file, json.dumps(self.meta, indent=1))
        self._keys: dict[str, tuple[int, int]] = {}
        self._shards: list[np.ndarray] = []
        self._next = 1
        self._run = f"{os.getpid():x}{uuid.uuid4().hex[:6]}"
        #: ``(file, reason)`` of shards set aside as ``*.bad`` while opening
        self.quarantined: list[tuple[str, str]] = []
        now = time.time()
        for f in sorted(self.path.iterdir()):
            m = _SHARD.match(f.name)
            if m:
                self._load_shard(f)
                self._next = max(self._next, int(m.group(1)) + 1)
            elif f.name.endswith(".tmp") and now - f.stat().st_mtime > STALE_TMP_S:
                f.unlink(missing_ok=True)  # left by a killed run long ago

    def _load_shard(self, f: Path) -> None:
        got = shard_problem(f, self.meta.get("dim"))
        if isinstance(got, str):
            bad = f.with_name(f.name + ".bad")
            os.replace(f, bad)
            self.quarantined.append((str(f), got))
            warnings.warn(f"embedding cache shard {f}: {got}; set aside as {bad.name}, its images will be "
                          "embedded again", RuntimeWarning, stacklevel=3)
            return
        keys, vecs = got
        s = len(self._shards)
        self._shards.append(vecs.astype(np.float32, copy=False))
        for i, k in enumerate(keys.tolist()):
            self._keys.setdefault(k, (s, i))

    def __len__(self) -> int:
        return len(self._keys)

    def __contains__(self, key: str) -> bool:
        return key in self._keys

    def get(self, keys) -> np.ndarray:
        """Vectors of ``keys`` (all must be present)."""
        dim = self.meta.get("dim")
        out = np.empty((len(keys), dim), dtype=np.float32)
        for j, k in enumerate(keys):
            s, i = self._keys[k]
            out[j] = self._shards[s][i]
        return out

    def add(self, keys, vectors: np.ndarray) -> None:
        """Append a batch as one new shard (atomically); keys already stored are skipped."""
        keys = list(keys)
        vectors = np.asarray(vectors, dtype=np.float32)
        keep = [j for j, k in enumerate(keys) if k not in self._keys]
        if not keep:
            return
        keys = np.asarray([keys[j] for j in keep], dtype="U64")
        vectors = vectors[keep]
        name = self.path / f"part-{self._next:06d}-{self._run}.npz"
        import io
        buf = io.BytesIO()
        np.savez(buf, keys=keys, vectors=vectors)
        atomic_write_bytes(name, buf.getvalue())
        self._next += 1
        s = len(self._shards)
        self._shards.append(vectors)
        for i, k in enumerate(keys.tolist()):
            self._keys[k] = (s, i)
