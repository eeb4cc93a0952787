"""The first stage of :meth:`visual.ImageEmbedder.embed_paths`: read image files, hash their bytes,
look the hashes up in the embedding store and drop repeated images, then hand the rest to a decoder."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from functools import partial
from typing import NamedTuple

from .images import ImageError, read_image_bytes
from .records import Cached, DecodeJob, Duplicates, Failed, Record

#: ``decode(jobs, pool)``: records of the decoded jobs (pool: the reading threads, free to reuse)
Decoder = Callable[[list[DecodeJob], Executor], Iterator[Record]]


class FileRead(NamedTuple):
    """An image file's bytes and their sha256 (hex), or why it could not be read."""

    index: int
    key: str | None
    data: bytes | None
    error: str | None


def read_hashed(paths: Sequence, i: int) -> FileRead:
    """Read ``paths[i]`` (``None``: the item has no image) and hash its content."""
    p = paths[i]
    if p is None:
        return FileRead(i, None, None, "no image given for this item")
    try:
        data = read_image_bytes(p)
    except ImageError as e:
        return FileRead(i, None, None, str(e))
    return FileRead(i, hashlib.sha256(data).hexdigest(), data, None)


def scan_images(paths: Sequence, store, decode: Decoder, *, n_jobs: int, chunk: int) -> Iterator[Record]:
    """Records for every path, ``chunk`` paths at a time, read in ``n_jobs`` threads.

    Per chunk: :class:`Failed` (unreadable) and :class:`Cached` (already in ``store``) as the files are
    read, then what ``decode`` makes of the chunk's distinct new images, then one :class:`Duplicates`
    for the images whose bytes repeat an earlier image of the chunk (embedded once).
    """
    n = len(paths)
    with ThreadPoolExecutor(n_jobs) as pool:
        for start in range(0, n, chunk):
            jobs: list[DecodeJob] = []
            dupes = Duplicates([], {})
            for r in pool.map(partial(read_hashed, paths), range(start, min(n, start + chunk))):
                if r.error is not None:
                    yield Failed(r.index, None, r.error)
                elif store is not None and r.key in store:
                    yield Cached(r.index, r.key)
                elif r.key in dupes.first:
                    dupes.pairs.append((r.index, r.key))  # identical image bytes: embed once
                else:
                    dupes.first[r.key] = r.index
                    jobs.append(DecodeJob(r.index, r.key, r.data))
            yield from decode(jobs, pool)
            yield dupes
