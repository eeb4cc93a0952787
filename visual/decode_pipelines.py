"""The three ways :class:`visual.ImageEmbedder` turns encoded images into pixel batches.

- :func:`decode_in_threads`: Pillow in a thread pool (the CPU default);
- :func:`decode_in_processes`: Pillow in worker processes (:mod:`visual.decode_worker`, free of the GIL);
- :func:`decode_on_device`: batched ``torchvision.io.decode_jpeg`` (nvjpeg on CUDA) and resizing on
  the device (:mod:`visual.batch_decode`), two batches in flight.

Each takes :class:`~visual.records.DecodeJob` s and yields, in job order within a batch,
:class:`~visual.records.Failed` for an image that cannot be decoded and
:class:`~visual.records.PixelBatch` es of at most ``batch_size`` images.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from typing import Any, NamedTuple

import numpy as np

from .batch_decode import decode_batch, resize_batch
from .decode_worker import decode_batch_job, decode_image
from .images import ImageError
from .records import DecodeJob, Failed, PixelBatch


class PixelSpec(NamedTuple):
    """What the network is fed: ``size x size`` pixels, preprocessed by ``mode`` (``"pad"`` or
    ``"center_crop"``)."""

    size: int
    mode: str


class DecodedPart(NamedTuple):
    """One batch of jobs after decoding: per job the error or ``None``, the positions of the jobs that
    decoded, and their pixels (``None`` when none did)."""

    jobs: Sequence[DecodeJob]
    errors: list
    good: list[int]
    pixels: Any


def split_part(part: DecodedPart) -> Iterator[Failed | PixelBatch]:
    """The failures of a decoded batch, then its good images as one :class:`PixelBatch`."""
    for j, e in enumerate(part.errors):
        if e is not None:
            yield Failed(part.jobs[j].index, part.jobs[j].key, e)
    if part.good:
        yield PixelBatch([part.jobs[j].index for j in part.good], [part.jobs[j].key for j in part.good],
                         part.pixels)


def batches_of(jobs: Sequence[DecodeJob], batch_size: int) -> list[Sequence[DecodeJob]]:
    return [jobs[s:s + batch_size] for s in range(0, len(jobs), batch_size)]


def try_decode(data, spec: PixelSpec) -> tuple[np.ndarray | None, str | None]:
    """``(pixels, None)``, or ``(None, reason)`` when Pillow cannot use the image."""
    try:
        return decode_image(data, spec.size, spec.mode), None
    except ImageError as e:
        return None, str(e)


def decode_in_threads(jobs: Sequence[DecodeJob], pool: Executor, spec: PixelSpec,
                      batch_size: int) -> Iterator[Failed | PixelBatch]:
    """Decode with Pillow in ``pool``'s threads; good images are stacked into batches in job order."""
    indices: list[int] = []
    keys: list[str] = []
    pixels: list[np.ndarray] = []
    for job, (x, err) in zip(jobs, pool.map(lambda job: try_decode(job.data, spec), jobs)):
        if err is not None:
            yield Failed(job.index, job.key, err)
            continue
        indices.append(job.index)
        keys.append(job.key)
        pixels.append(x)
        if len(pixels) >= batch_size:
            yield PixelBatch(indices, keys, np.stack(pixels))
            indices, keys, pixels = [], [], []
    if pixels:
        yield PixelBatch(indices, keys, np.stack(pixels))


def _collect_process_batch(future: Future, part: Sequence[DecodeJob]) -> DecodedPart:
    x, errs = future.result()
    good = [j for j, e in enumerate(errs) if e is None]
    return DecodedPart(part, errs, good, x[good] if len(good) < len(part) else x)


def decode_in_processes(jobs: Sequence[DecodeJob], procs: Executor, n_procs: int, spec: PixelSpec,
                        batch_size: int) -> Iterator[Failed | PixelBatch]:
    """Decode with Pillow in worker processes, one batch per task, ``n_procs + 1`` batches ahead."""
    pending: deque = deque()
    for part in batches_of(jobs, batch_size):
        future = procs.submit(decode_batch_job, [job.data for job in part], spec.size, spec.mode)
        pending.append((future, part))
        if len(pending) > n_procs + 1:
            yield from split_part(_collect_process_batch(*pending.popleft()))
    while pending:
        yield from split_part(_collect_process_batch(*pending.popleft()))


def decode_on_device(jobs: Sequence[DecodeJob], device, spec: PixelSpec,
                     batch_size: int) -> Iterator[Failed | PixelBatch]:
    """Decode JPEG batches with torchvision on ``device`` (nvjpeg on CUDA) and resize them there."""

    def prep(part: Sequence[DecodeJob]) -> DecodedPart:
        imgs, errs = decode_batch([job.data for job in part], device)
        good = [j for j, e in enumerate(errs) if e is None]
        x = resize_batch([imgs[j] for j in good], spec.size, spec.mode) if good else None
        return DecodedPart(part, errs, good, x)

    # two batches decode at once (nvjpeg's host-side work runs outside the GIL), bounded look-ahead
    with ThreadPoolExecutor(2) as dec:
        pending: deque = deque()
        for part in batches_of(jobs, batch_size):
            pending.append(dec.submit(prep, part))
            if len(pending) < 3:
                continue
            yield from split_part(pending.popleft().result())
        while pending:
            yield from split_part(pending.popleft().result())
