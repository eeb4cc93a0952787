"""Embedding store: vectors keyed by image content hash, appended in atomic shards.

A store is a folder::

    meta.json          backbone, weights id, preprocessing, input size, dimension
    part-000001.npz    keys (sha256 hex of the image bytes) + float32 vectors
    part-000002.npz    ...

Each shard is written to a temporary file, flushed to disk and renamed into place, so a
killed run leaves only complete shards: a rerun recomputes at most the batch in flight.
Files are read with ``allow_pickle=False``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from recsys.io.atomic import atomic_write_bytes, atomic_write_text

_SHARD = re.compile(r"^part-(\d{6})\.npz$")


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
        for f in sorted(self.path.iterdir()):
            m = _SHARD.match(f.name)
            if m:
                self._load_shard(f)
                self._next = max(self._next, int(m.group(1)) + 1)
            elif f.name.endswith(".tmp"):
                f.unlink(missing_ok=True)  # left by a killed run

    def _load_shard(self, f: Path) -> None:
        with np.load(f, allow_pickle=False) as z:
            keys, vecs = z["keys"], z["vectors"]
        if vecs.ndim != 2 or vecs.shape[1] != self.meta.get("dim", vecs.shape[1]) or len(keys) != len(vecs):
            raise StoreMismatchError(f"{f}: shard shape {vecs.shape} does not match dim {self.meta.get('dim')}")
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
        name = self.path / f"part-{self._next:06d}.npz"
        import io
        buf = io.BytesIO()
        np.savez(buf, keys=keys, vectors=vectors)
        atomic_write_bytes(name, buf.getvalue())
        self._next += 1
        s = len(self._shards)
        self._shards.append(vectors)
        for i, k in enumerate(keys.tolist()):
            self._keys[k] = (s, i)
