"""Batched CNN image embeddings with an on-disk cache keyed by image content."""

from __future__ import annotations

import hashlib
import os
import queue
import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from .backbones import Backbone, build_backbone
from .devices import resolve_device
from .images import ImageError, load_image, preprocess, read_image_bytes
from .store import EmbeddingStore


@dataclass
class EmbeddingResult:
    """Vectors of a list of images, aligned with the input order.

    Attributes
    ----------
    vectors : ndarray, shape (n, dim), float32
        L2-normalised; zero rows where ``ok`` is False.
    ok : ndarray of bool
    errors : list of dict
        ``{"index", "path", "reason"}`` for each image that could not be embedded.
    n_cached, n_computed : int
        Vectors taken from the store vs computed in this call.
    """

    vectors: np.ndarray
    ok: np.ndarray
    errors: list = field(default_factory=list)
    n_cached: int = 0
    n_computed: int = 0


class ImageEmbedder:
    """Turn product images into L2-normalised float32 vectors with a pretrained CNN.

    Parameters
    ----------
    backbone : str or Backbone
        ``"efficientnet_lite0"`` (default, offline ImageNet weights, 1280-d), a torchvision
        model name such as ``"resnet50"``, or a ready :class:`~visual.backbones.Backbone`.
    weights : str or path, optional
        Weights file / URL / torchvision tag; ``None`` for the backbone's pretrained default.
    device : str
        ``"auto"`` (CUDA when available), ``"cpu"`` or ``"cuda[:n]"``.
    batch_size : int
    preprocess : {"pad", "center_crop"}
        ``"pad"`` keeps the whole product on a square of its background colour;
        ``"center_crop"`` is the ImageNet convention.
    input_size : int
    decoder : {"auto", "pil", "torchvision"}
        ``"pil"`` decodes each image on the CPU with Pillow; ``"torchvision"`` decodes JPEG
        batches with ``torchvision.io.decode_jpeg`` on the device (nvjpeg on CUDA) and resizes
        there. ``"auto"``: torchvision on CUDA, PIL on the CPU. Vectors of the two decoders
        differ slightly, so the cache keeps them apart.
    compile : bool
        ``torch.compile`` the network (worth it for large CUDA runs).
    processes : int, optional
        Decode with Pillow in this many worker processes instead of threads (free of the GIL, but
        the pixels travel between processes; measured slower than nvjpeg on an H200). Default 0.
    num_workers : int, optional
        Threads that read and decode images while the network runs (default: CPU count).
    progress : bool
        Show a progress bar.
    """

    def __init__(self, backbone="efficientnet_lite0", weights=None, *, device: str = "auto",
                 batch_size: int = 32, preprocess: str = "pad", input_size: int = 224,
                 decoder: str = "auto", compile: bool = False, num_workers: int | None = None,
                 processes: int | None = None, progress: bool = True):
        if preprocess not in ("pad", "center_crop"):
            raise ValueError(f"preprocess must be 'pad' or 'center_crop', got {preprocess!r}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if decoder not in ("auto", "pil", "torchvision"):
            raise ValueError(f"decoder must be 'auto', 'pil' or 'torchvision', got {decoder!r}")
        self.backbone = backbone
        self.weights = weights
        self.device = device
        self.batch_size = batch_size
        self.preprocess = preprocess
        self.input_size = input_size
        self.decoder = decoder
        self.compile = compile
        self.num_workers = num_workers
        self.processes = processes
        self.progress = progress
        self._net: Backbone | None = None
        self._proc_pool = None

    # -- model -------------------------------------------------------------------------------
    @property
    def net(self) -> Backbone:
        if self._net is None:
            if isinstance(self.backbone, Backbone):
                net = self.backbone
                self.backbone = net.name
            else:
                net = build_backbone(self.backbone, self.weights, self.input_size)
            dev = resolve_device(self.device)
            net.model.to(dev).to(memory_format=torch.channels_last)
            self._dev = dev
            self._mean = torch.tensor(net.mean, device=dev).view(1, 3, 1, 1) * 255.0
            self._std = torch.tensor(net.std, device=dev).view(1, 3, 1, 1) * 255.0
            self._model = torch.compile(net.model, dynamic=False) if self.compile else net.model
            self._net = net
        return self._net

    @property
    def decoder_(self) -> str:
        """The decoder in use: ``"auto"`` is batched torchvision (nvjpeg) on CUDA, Pillow on the CPU
        (see benchmarks/RESULTS.md for the measurements behind this choice)."""
        if self.decoder != "auto":
            return self.decoder
        _ = self.net
        return "torchvision" if self._dev.type == "cuda" else "pil"

    @property
    def processes_(self) -> int:
        if self.decoder_ != "pil":
            return 0
        return max(0, int(self.processes or 0))

    def _process_pool(self):
        if self._proc_pool is None:
            import multiprocessing as mp
            from concurrent.futures import ProcessPoolExecutor
            self._proc_pool = ProcessPoolExecutor(self.processes_, mp_context=mp.get_context("spawn"))
        return self._proc_pool

    def close(self) -> None:
        """Stop decoding worker processes (also done when the embedder is garbage collected)."""
        if self._proc_pool is not None:
            self._proc_pool.shutdown(cancel_futures=True)
            self._proc_pool = None

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    @property
    def dim(self) -> int:
        return self.net.dim

    def signature(self) -> dict:
        """What identifies the vectors this embedder makes (stored with cached vectors)."""
        net = self.net
        sig = {"backbone": net.name, "weights_id": net.weights_id, "preprocess": self.preprocess,
               "input_size": self.input_size, "dim": net.dim, "normalised": "l2"}
        if self.decoder_ != "pil":  # pixels differ slightly between decoders/resamplers
            sig["decoder"] = self.decoder_
        return sig

    def _forward(self, batch) -> np.ndarray:
        """Vectors of a ``B x 3 x S x S`` batch of 0..255 pixels (uint8 array or tensor on the device)."""
        _ = self.net
        x = torch.from_numpy(batch) if isinstance(batch, np.ndarray) else batch
        if x.device.type != self._dev.type:
            x = x.pin_memory().to(self._dev, non_blocking=True) if self._dev.type == "cuda" else x.to(self._dev)
        n = len(x)
        if self.compile and n < self.batch_size:  # one static shape: no recompilation for the last batch
            x = torch.cat([x, x[-1:].expand(self.batch_size - n, -1, -1, -1)])
        x = ((x.float() - self._mean) / self._std).contiguous(memory_format=torch.channels_last)
        with torch.inference_mode():
            if self._dev.type == "cuda":
                with torch.autocast("cuda", dtype=torch.bfloat16):
                    y = self._model(x)
            else:
                y = self._model(x)
            y = torch.nn.functional.normalize(y[:n].float(), dim=1)
        return y.cpu().numpy()

    def _decode(self, data) -> np.ndarray:
        img = load_image(data, draft_size=self.input_size)
        return preprocess(img, self.input_size, self.preprocess)

    # -- public ------------------------------------------------------------------------------
    def embed_images(self, images) -> np.ndarray:
        """Embed in-memory images (PIL images, bytes or paths); nothing is written anywhere.

        Raises :class:`~visual.images.ImageError` naming the position of an unusable image.
        """
        arrays = []
        for i, im in enumerate(images):
            try:
                arrays.append(self._decode(im))
            except ImageError as e:
                raise ImageError(f"image {i}: {e}") from None
        if not arrays:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = [self._forward(np.stack(arrays[s:s + self.batch_size]))
               for s in range(0, len(arrays), self.batch_size)]
        return np.concatenate(out)

    def _batches(self, jobs, pool):
        """Yield ``("err", i, key, reason)`` and ``("batch", indices, keys, x)`` for decoded jobs."""
        if self.decoder_ == "torchvision":
            from .batch_decode import decode_batch, resize_batch

            def prep(part):
                imgs, errs = decode_batch([d for _, _, d in part], self._dev)
                good = [j for j, e in enumerate(errs) if e is None]
                x = resize_batch([imgs[j] for j in good], self.input_size, self.preprocess) if good else None
                return part, errs, good, x

            parts = [jobs[s:s + self.batch_size] for s in range(0, len(jobs), self.batch_size)]
            # two batches decode at once (nvjpeg's host-side work runs outside the GIL), bounded look-ahead
            with ThreadPoolExecutor(2) as dec:
                pending: deque = deque()
                for part in parts:
                    pending.append(dec.submit(prep, part))
                    if len(pending) < 3:
                        continue
                    yield from self._emit(*pending.popleft().result())
                while pending:
                    yield from self._emit(*pending.popleft().result())
            return
        if self.processes_ > 0:
            from .decode_worker import decode_batch_job
            procs = self._process_pool()
            pending: deque = deque()

            def done(fut, part):
                x, errs = fut.result()
                good = [j for j, e in enumerate(errs) if e is None]
                return part, errs, good, (x[good] if len(good) < len(part) else x)

            for s in range(0, len(jobs), self.batch_size):
                part = jobs[s:s + self.batch_size]
                pending.append((procs.submit(decode_batch_job, [d for _, _, d in part], self.input_size,
                                             self.preprocess), part))
                if len(pending) > self.processes_ + 1:
                    yield from self._emit(*done(*pending.popleft()))
            while pending:
                yield from self._emit(*done(*pending.popleft()))
            return
        bi, bk, bx = [], [], []
        for i, key, x, err in pool.map(lambda job: (job[0], job[1], *self._try_decode(job[2])), jobs):
            if err is not None:
                yield ("err", i, key, err)
                continue
            bi.append(i); bk.append(key); bx.append(x)
            if len(bx) >= self.batch_size:
                yield ("batch", bi, bk, np.stack(bx))
                bi, bk, bx = [], [], []
        if bx:
            yield ("batch", bi, bk, np.stack(bx))

    @staticmethod
    def _emit(part, errs, good, x):
        for j, e in enumerate(errs):
            if e is not None:
                yield ("err", part[j][0], part[j][1], e)
        if good:
            yield ("batch", [part[j][0] for j in good], [part[j][1] for j in good], x)

    def _try_decode(self, data):
        try:
            return self._decode(data), None
        except ImageError as e:
            return None, str(e)

    def embed_paths(self, paths, *, store: EmbeddingStore | str | Path | None = None,
                    desc: str = "embedding images") -> EmbeddingResult:
        """Embed image files; unreadable ones are skipped and reported, not fatal.

        Reading, hashing and decoding run in background threads while the network runs.

        Parameters
        ----------
        paths : sequence of path-like or None
            ``None`` entries (an item with no image) are reported as errors.
        store : EmbeddingStore or folder, optional
            Cache: images whose content is already stored are not recomputed, and new vectors
            are appended batch by batch (a killed run resumes where it stopped).
        """
        if store is not None and not isinstance(store, EmbeddingStore):
            store = EmbeddingStore(store, self.signature())
        n = len(paths)
        vectors = np.zeros((n, self.dim), dtype=np.float32)
        ok = np.zeros(n, dtype=bool)
        errors: list[dict] = []
        workers = self.num_workers or min(16, os.cpu_count() or 1)

        def read(i):
            p = paths[i]
            if p is None:
                return i, None, None, "no image given for this item"
            try:
                data = read_image_bytes(p)
            except ImageError as e:
                return i, None, None, str(e)
            return i, hashlib.sha256(data).hexdigest(), data, None

        counts = {"cached": 0, "computed": 0}
        bar = tqdm(total=n, desc=desc, unit="img", disable=not self.progress, smoothing=0.1)
        chunk = max(self.batch_size * 8, 1024)

        def prepared():
            """Background producer: read, hash, look up the store, decode -> batches."""
            with ThreadPoolExecutor(workers) as pool:
                for start in range(0, n, chunk):
                    unique, dupes, first = [], [], {}
                    for i, key, data, err in pool.map(read, range(start, min(n, start + chunk))):
                        if err is not None:
                            yield ("err", i, None, err)
                        elif store is not None and key in store:
                            yield ("cached", i, key, None)
                        elif key in first:
                            dupes.append((i, key))  # identical image bytes: embed once
                        else:
                            first[key] = i
                            unique.append((i, key, data))
                    yield from self._batches(unique, pool)
                    yield ("dupes", dupes, first, None)

        failed: dict[str, str] = {}
        for kind, a, b, c in _prefetch(prepared(), depth=3):
            if kind == "err":
                errors.append({"index": a, "path": None if paths[a] is None else str(paths[a]), "reason": c})
                if b is not None:
                    failed[b] = c
                bar.update(1)
            elif kind == "cached":
                vectors[a] = store.get([b])[0]
                ok[a] = True
                counts["cached"] += 1
                bar.update(1)
            elif kind == "batch":
                v = self._forward(c)
                vectors[a] = v
                ok[a] = True
                if store is not None:
                    store.add(b, v)
                counts["computed"] += len(a)
                bar.update(len(a))
            else:  # dupes of this chunk: copy the first occurrence's result
                for i, key in a:
                    j = b[key]
                    if ok[j]:
                        vectors[i] = vectors[j]
                        ok[i] = True
                    else:
                        errors.append({"index": i, "path": str(paths[i]), "reason": failed.get(key, "unknown")})
                    bar.update(1)
        bar.close()
        errors.sort(key=lambda e: e["index"])
        return EmbeddingResult(vectors, ok, errors, counts["cached"], counts["computed"])


def _prefetch(gen, depth: int = 2):
    """Run a generator in a background thread, ``depth`` items ahead of the consumer."""
    q: queue.Queue = queue.Queue(maxsize=depth)
    done = object()

    def run():
        try:
            for item in gen:
                q.put(item)
        except BaseException as e:  # surface producer errors in the consumer
            q.put(("__error__", e))
        finally:
            q.put(done)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    while True:
        item = q.get()
        if item is done:
            break
        if isinstance(item, tuple) and len(item) == 2 and item[0] == "__error__":
            raise item[1]
        yield item
    t.join()
