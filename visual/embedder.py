"""Batched CNN image embeddings with an on-disk cache keyed by image content.

:class:`ImageEmbedder` holds the network; the stages of :meth:`ImageEmbedder.embed_paths` live
next to it: reading, hashing and the cache lookup in :mod:`visual.cache_lookup`, the decoders in
:mod:`visual.decode_pipelines`, the background thread in :mod:`visual.prefetch`. They pass the
typed records of :mod:`visual.records`, gathered into an :class:`EmbeddingResult` by
:class:`visual.results.ResultCollector`.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from concurrent.futures import Executor
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from .backbones import Backbone, build_backbone, native_input_size
from .cache_lookup import scan_images
from .decode_pipelines import PixelSpec, decode_in_processes, decode_in_threads, decode_on_device
from .decode_worker import decode_image
from .devices import resolve_device
from .images import ImageError
from .prefetch import prefetch
from .records import DecodeJob, Failed, PixelBatch
from .results import EmbeddingResult, ResultCollector
from .store import EmbeddingStore

#: test-time augmentations of :class:`ImageEmbedder` (``tta``)
TTA = ("none", "flip")


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
    input_size : int, optional
        Square input side in pixels; default the backbone's own (224; 240 / 260 for EfficientNet-Lite1 /
        Lite2; a ready :class:`~visual.backbones.Backbone`'s ``input_size``).
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
    n_jobs : int, optional
        Threads that read and decode images while the network runs (default: CPU count, at most 16).
    pooling : {"avg", "multi"}
        ``"avg"``: the average-pooled last features (1280-d). ``"multi"`` (EfficientNet-Lite): those joined
        by features of the last three stages (:mod:`visual.multi_depth`, 3808-d); it is recorded in the
        signature, so stores, heads and searches never mix the two. A ready ``Backbone`` brings its own.
    tta : {"none", "flip"}
        Test-time augmentation. ``"flip"``: each image's vector is the normalised sum of the vectors of the image
        and of its mirror image (left-right), so a product and its mirror embed alike; twice the network time.
        Recorded in the signature (caches, heads and searches keep the two apart).
    progress : bool
        Show a progress bar.
    """

    def __init__(self, backbone="efficientnet_lite0", weights=None, *, device: str = "auto",
                 batch_size: int = 32, preprocess: str = "pad", input_size: int | None = None,
                 decoder: str = "auto", compile: bool = False, n_jobs: int | None = None,
                 processes: int | None = None, pooling: str = "avg", tta: str = "none",
                 progress: bool = True):
        if preprocess not in ("pad", "center_crop"):
            raise ValueError(f"preprocess must be 'pad' or 'center_crop', got {preprocess!r}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if decoder not in ("auto", "pil", "torchvision"):
            raise ValueError(f"decoder must be 'auto', 'pil' or 'torchvision', got {decoder!r}")
        if tta not in TTA:
            raise ValueError(f"tta must be one of {', '.join(map(repr, TTA))}, got {tta!r}")
        self.backbone = backbone
        self.weights = weights
        self.device = device
        self.batch_size = batch_size
        self.preprocess = preprocess
        if input_size is None:
            input_size = backbone.input_size if isinstance(backbone, Backbone) else native_input_size(backbone)
        self.input_size = input_size
        self.decoder = decoder
        self.compile = compile
        self.n_jobs = n_jobs
        self.processes = processes
        self.pooling = pooling
        self.tta = tta
        self.progress = progress
        self._net: Backbone | None = None
        self._proc_pool = None

    # -- model -------------------------------------------------------------------------------
    @property
    def net(self) -> Backbone:
        if self._net is None:
            if isinstance(self.backbone, Backbone):
                net = self.backbone
                self.backbone, self.pooling = net.name, net.pooling  # what Ray actors and stores rebuild
            else:
                net = build_backbone(self.backbone, self.weights, self.input_size, self.pooling)
            dev = resolve_device(self.device)
            net.model.to(dev).to(memory_format=torch.channels_last)
            self._dev = dev
            self._mean = torch.tensor(net.mean, device=dev).view(1, 3, 1, 1) * 255.0
            self._std = torch.tensor(net.std, device=dev).view(1, 3, 1, 1) * 255.0
            self._model = torch.compile(net.model, dynamic=False) if self.compile else net.model
            self._net = net
        return self._net

    @property
    def device_(self) -> torch.device:
        """The torch device the network runs on (``"auto"`` resolved)."""
        _ = self.net
        return self._dev

    @property
    def decoder_(self) -> str:
        """The decoder in use: ``"auto"`` is batched torchvision (nvjpeg) on CUDA, Pillow on the CPU
        (see benchmarks/RESULTS.md for the measurements behind this choice)."""
        if self.decoder != "auto":
            return self.decoder
        return "torchvision" if self.device_.type == "cuda" else "pil"

    @property
    def processes_(self) -> int:
        if self.decoder_ != "pil":
            return 0
        return max(0, int(self.processes or 0))

    def _process_pool(self) -> Executor:
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
        if net.pooling != "avg":  # absent for the standard vectors: stores made before the option stay valid
            sig["pooling"] = net.pooling
        if self.tta != "none":  # likewise absent without augmentation
            sig["tta"] = self.tta
        return sig

    # -- pixels -> vectors ---------------------------------------------------------------------
    def forward(self, batch) -> np.ndarray:
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
            y = self._run(x)[:n]
            if self.tta == "flip":  # the mirror images (width is the last axis), then the sum of both unit vectors
                y = y + self._run(x.flip(3))[:n]
            y = torch.nn.functional.normalize(y, dim=1)
        return y.cpu().numpy()

    def _run(self, x: torch.Tensor) -> torch.Tensor:
        """The network's L2-normalised float32 outputs of a normalised batch (bfloat16 autocast on CUDA)."""
        if self._dev.type == "cuda":
            with torch.autocast("cuda", dtype=torch.bfloat16):
                y = self._model(x)
        else:
            y = self._model(x)
        return torch.nn.functional.normalize(y.float(), dim=1)

    def decode(self, data) -> np.ndarray:
        """One image (PIL image, bytes or path) as the ``3 x S x S`` uint8 pixels the network is fed
        (the Pillow path); raises :class:`~visual.images.ImageError`."""
        return decode_image(data, self.input_size, self.preprocess)

    # -- images -> vectors ---------------------------------------------------------------------
    def embed_images(self, images) -> np.ndarray:
        """Embed in-memory images (PIL images, bytes or paths); nothing is written anywhere.

        Raises :class:`~visual.images.ImageError` naming an unusable image (its path, or its position).
        """
        arrays = []
        for i, im in enumerate(images):
            try:
                arrays.append(self.decode(im))
            except ImageError as e:
                name = str(im) if isinstance(im, (str, os.PathLike)) else f"image {i}"
                raise ImageError(f"{name}: {e}") from None
        if not arrays:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = [self.forward(np.stack(arrays[s:s + self.batch_size]))
               for s in range(0, len(arrays), self.batch_size)]
        return np.concatenate(out)

    def _decode_jobs(self, jobs: list[DecodeJob], pool: Executor) -> Iterator[Failed | PixelBatch]:
        """:class:`Failed` and :class:`PixelBatch` records of ``jobs`` through the decoder in use
        (``pool``: the threads that read the files, reused by the Pillow decoder)."""
        spec = PixelSpec(self.input_size, self.preprocess)
        if self.decoder_ == "torchvision":
            return decode_on_device(jobs, self._dev, spec, self.batch_size)
        if self.processes_ > 0:
            return decode_in_processes(jobs, self._process_pool(), self.processes_, spec, self.batch_size)
        return decode_in_threads(jobs, pool, spec, self.batch_size)

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
        bar = tqdm(total=n, desc=desc, unit="img", disable=not self.progress, smoothing=0.1)
        run = ResultCollector(paths, store, self.forward, bar, np.zeros((n, self.dim), dtype=np.float32),
                              np.zeros(n, dtype=bool))
        records = scan_images(paths, store, self._decode_jobs, n_jobs=self.n_jobs or min(16, os.cpu_count() or 1),
                              chunk=max(self.batch_size * 8, 1024))
        for record in prefetch(records, depth=3):
            run.add(record)
        bar.close()
        return run.result()
