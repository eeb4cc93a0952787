"""A built index on disk: ``index.faiss`` (faiss's own format, written to a temporary file and
renamed) and ``index.json`` (what was built, its measured recall, checksums of the file and of the
vectors it was built from). Loading verifies both and memory-maps the file where faiss can."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

from recsys.io import atomic_write_text, file_sha256

INDEX_FILE, META_FILE = "index.faiss", "index.json"
FORMAT = 1


class IndexFileError(ValueError):
    """A saved index that is damaged or belongs to other vectors (the message names the file)."""


def vectors_fingerprint(vectors: np.ndarray, rows: np.ndarray) -> str:
    """A checksum of the indexed rows, of up to 1,024 of their vectors (evenly spaced) and of the
    column sums of all of them (rounded, so that summation order does not matter): a changed,
    added or removed vector changes it."""
    h = hashlib.sha256(np.ascontiguousarray(rows, np.int64).tobytes())
    pick = rows[np.linspace(0, len(rows) - 1, min(len(rows), 1024)).astype(np.int64)] if len(rows) else rows
    h.update(np.ascontiguousarray(vectors[pick], np.float32).tobytes())
    sums = np.zeros(vectors.shape[1], np.float64)
    for s in range(0, len(rows), 65536):
        sums += vectors[rows[s:s + 65536]].sum(axis=0, dtype=np.float64)
    h.update(np.round(sums, 3).tobytes())
    return h.hexdigest()


def save_index(index, path) -> Path:
    """Write ``index`` (a :class:`recsys.index.VectorIndex`) to folder ``path``."""
    import faiss
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    target = path / INDEX_FILE
    tmp = path / f".{INDEX_FILE}.{os.getpid()}.tmp"
    try:
        faiss.write_index(index.index, str(tmp))
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()
    meta = {"format": FORMAT, **index.describe(), "sha256": file_sha256(target), "bytes": target.stat().st_size,
            "vectors": vectors_fingerprint(index.vectors, index.rows)}
    atomic_write_text(path / META_FILE, json.dumps(meta, indent=1))
    return path


def read_meta(path) -> dict:
    f = Path(path) / META_FILE
    try:
        meta = json.loads(f.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise IndexFileError(f"{f}: missing") from None
    except (ValueError, UnicodeDecodeError) as e:
        raise IndexFileError(f"{f}: not valid JSON ({e})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise IndexFileError(f"{f}: not a visrec index description (format {FORMAT})")
    return meta


def load_index(cls, path, vectors, present=None, *, mmap: bool = True, verify: bool = True):
    """The :class:`VectorIndex` saved in ``path`` for ``vectors``/``present``, memory-mapped where
    faiss allows (flat and IVF codes; graphs are read into memory)."""
    import faiss
    path = Path(path)
    meta = read_meta(path)
    f = path / INDEX_FILE
    if not f.is_file():
        raise IndexFileError(f"{f}: missing")
    if f.stat().st_size != meta.get("bytes"):
        raise IndexFileError(f"{f}: {f.stat().st_size} bytes, {meta.get('bytes')} written; the file is damaged")
    if verify and file_sha256(f) != meta.get("sha256"):
        raise IndexFileError(f"{f}: checksum differs from {META_FILE}; the file is damaged")
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    present = np.ones(len(vectors), bool) if present is None else np.asarray(present, bool)
    rows = np.flatnonzero(present)
    if vectors_fingerprint(vectors, rows) != meta.get("vectors"):
        raise IndexFileError(f"{path}: the index was built from other vectors")
    index = None
    if mmap:
        try:
            index = faiss.read_index(str(f), faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY)
        except RuntimeError:
            index = None  # this index type cannot be mapped: read it
    if index is None:
        try:
            index = faiss.read_index(str(f))
        except RuntimeError as e:
            raise IndexFileError(f"{f}: faiss cannot read it ({str(e).splitlines()[0]})") from None
    if index.ntotal != len(rows) or index.d != vectors.shape[1]:
        raise IndexFileError(f"{f}: holds {index.ntotal} x {index.d}, the vectors are {len(rows)} x {vectors.shape[1]}")
    out = cls(vectors, present, kind=meta["kind"], recall_floor=meta.get("recall_floor", 0.95),
              prebuilt=(index, meta.get("knob"), float(meta.get("recall@10", 1.0))))
    out.build_seconds_ = meta.get("build_seconds")
    return out
