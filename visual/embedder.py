"""Batched CNN image embeddings with an on-disk cache keyed by image content."""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from .backbones import Backbone, build_backbone
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


def _resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


class ImageEmbedder:
    """Turn product images into L2-normalised float32 vectors with a pretrained CNN.

    Parameters
    ----------
    backbone : str
        ``"efficientnet_lite0"`` (default, offline ImageNet weights, 1280-d) or a torchvision
        model name such as ``"resnet50"``.
    weights : str or path, optional
        Weights file / URL / torchvision tag; ``None`` for the backbone's pretrained default.
    device : str
        ``"auto"`` (CUDA when available), ``"cpu"`` or ``"cuda[:n]"``.
    batch_size : int
    preprocess : {"pad", "center_crop"}
        ``"pad"`` keeps the whole product on a square of its background colour;
        ``"center_crop"`` is the ImageNet convention.
    input_size : int
    num_workers : int, optional
        Threads that read and decode images while the network runs (default: CPU count).
    progress : bool
        Show a progress bar.
    """

    def __init__(self, backbone: str = "efficientnet_lite0", weights=None, *, device: str = "auto",
                 batch_size: int = 32, preprocess: str = "pad", input_size: int = 224,
                 num_workers: int | None = None, progress: bool = True):
        if preprocess not in ("pad", "center_crop"):
            raise ValueError(f"preprocess must be 'pad' or 'center_crop', got {preprocess!r}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.backbone = backbone
        self.weights = weights
        self.device = device
        self.batch_size = batch_size
        self.preprocess = preprocess
        self.input_size = input_size
        self.num_workers = num_workers
        self.progress = progress
        self._net: Backbone | None = None

    # -- model -------------------------------------------------------------------------------
    @property
    def net(self) -> Backbone:
        if self._net is None:
            net = build_backbone(self.backbone, self.weights, self.input_size)
            dev = _resolve_device(self.device)
            net.model.to(dev).to(memory_format=torch.channels_last)
            self._dev = dev
            self._mean = torch.tensor(net.mean, device=dev).view(1, 3, 1, 1) * 255.0
            self._std = torch.tensor(net.std, device=dev).view(1, 3, 1, 1) * 255.0
            self._net = net
        return self._net

    @property
    def dim(self) -> int:
        return self.net.dim

    def signature(self) -> dict:
        """What identifies the vectors this embedder makes (stored with cached vectors)."""
        return {"backbone": self.backbone, "weights_id": self.net.weights_id, "preprocess": self.preprocess,
                "input_size": self.input_size, "dim": self.net.dim, "normalised": "l2"}

    def _forward(self, batch: np.ndarray) -> np.ndarray:
        net = self.net
        x = torch.from_numpy(batch).to(self._dev, non_blocking=True)
        x = ((x.float() - self._mean) / self._std).contiguous(memory_format=torch.channels_last)
        with torch.inference_mode():
            if self._dev.type == "cuda":
                with torch.autocast("cuda", dtype=torch.bfloat16):
                    y = net.model(x)
            else:
                y = net.model(x)
            y = torch.nn.functional.normalize(y.float(), dim=1)
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

    def embed_paths(self, paths, *, store: EmbeddingStore | str | Path | None = None,
                    desc: str = "embedding images") -> EmbeddingResult:
        """Embed image files; unreadable ones are skipped and reported, not fatal.

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
        dim = self.dim
        vectors = np.zeros((n, dim), dtype=np.float32)
        ok = np.zeros(n, dtype=bool)
        errors: list[dict] = []
        workers = self.num_workers or min(8, os.cpu_count() or 1)

        def read(i):
            p = paths[i]
            if p is None:
                return i, None, None, "no image given for this item"
            try:
                data = read_image_bytes(p)
            except ImageError as e:
                return i, None, None, str(e)
            return i, hashlib.sha256(data).hexdigest(), data, None

        def decode(job):
            i, key, data = job
            try:
                return i, key, self._decode(data), None
            except ImageError as e:
                return i, key, None, str(e)

        n_cached = n_computed = 0
        bar = tqdm(total=n, desc=desc, unit="img", disable=not self.progress, smoothing=0.1)
        chunk = max(self.batch_size * 8, 256)
        with ThreadPoolExecutor(workers) as pool:
            for start in range(0, n, chunk):
                pending = []
                for i, key, data, err in pool.map(read, range(start, min(n, start + chunk))):
                    if err is not None:
                        errors.append({"index": i, "path": None if paths[i] is None else str(paths[i]), "reason": err})
                        bar.update(1)
                    elif store is not None and key in store:
                        vectors[i] = store.get([key])[0]
                        ok[i] = True
                        n_cached += 1
                        bar.update(1)
                    else:
                        pending.append((i, key, data))
                done_keys: dict[str, int] = {}
                batch_i, batch_k, batch_x = [], [], []

                def flush():
                    nonlocal n_computed
                    if not batch_x:
                        return
                    v = self._forward(np.stack(batch_x))
                    vectors[batch_i] = v
                    ok[batch_i] = True
                    if store is not None:
                        store.add(batch_k, v)
                    for i, k in zip(batch_i, batch_k):
                        done_keys.setdefault(k, i)
                    n_computed += len(batch_x)
                    bar.update(len(batch_x))
                    batch_i.clear(); batch_k.clear(); batch_x.clear()

                dupes = []
                failed: dict[str, str] = {}
                seen = set()
                unique = []
                for job in pending:  # identical images are embedded once
                    if job[1] in seen:
                        dupes.append(job)
                    else:
                        seen.add(job[1])
                        unique.append(job)
                for i, key, x, err in pool.map(decode, unique):
                    if err is not None:
                        errors.append({"index": i, "path": str(paths[i]), "reason": err})
                        failed[key] = err
                        bar.update(1)
                        continue
                    batch_i.append(i); batch_k.append(key); batch_x.append(x)
                    if len(batch_x) >= self.batch_size:
                        flush()
                flush()
                for i, key, _ in dupes:
                    if key in done_keys:
                        vectors[i] = vectors[done_keys[key]]
                        ok[i] = True
                    else:
                        errors.append({"index": i, "path": str(paths[i]), "reason": failed.get(key, "unknown")})
                    bar.update(1)
        bar.close()
        errors.sort(key=lambda e: e["index"])
        return EmbeddingResult(vectors, ok, errors, n_cached, n_computed)
