"""What :meth:`visual.ImageEmbedder.embed_paths` returns, and how the records of a run fill it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .records import Cached, Duplicates, Failed, PixelBatch, Record
from .store import EmbeddingStore


@dataclass
class EmbeddingResult:
    """Vectors of a list of images, aligned with the input order.

    Attributes
    ----------
    vectors : ndarray, shape (n, dim), float32
        L2-normalised; zero rows where ``present`` is False.
    present : ndarray of bool
        Whether each image has a vector (the name ``features.ItemFeatures`` uses too).
    errors : list of dict
        ``{"index", "path", "reason"}`` for each image that could not be embedded.
    n_cached, n_computed : int
        Vectors taken from the store vs computed in this call.
    keys : list of (str or None)
        The SHA-256 (hex) of each image's bytes, the key of its vector in an
        :class:`~visual.store.EmbeddingStore`; ``None`` where the file could not be read.
    """

    vectors: np.ndarray
    present: np.ndarray
    errors: list = field(default_factory=list)
    n_cached: int = 0
    n_computed: int = 0
    keys: list = field(default_factory=list)


@dataclass
class ResultCollector:
    """The :class:`EmbeddingResult` of one :meth:`visual.ImageEmbedder.embed_paths` call, filled record
    by record (``forward``: pixels -> vectors; ``bar``: a tqdm progress bar)."""

    paths: Sequence
    store: EmbeddingStore | None
    forward: Callable[[Any], np.ndarray]
    bar: Any
    vectors: np.ndarray
    present: np.ndarray
    errors: list = field(default_factory=list)
    failed: dict = field(default_factory=dict)  # content hash -> reason, for repeats of a failed image
    n_cached: int = 0
    n_computed: int = 0
    keys: list = field(default_factory=list)

    def __post_init__(self):
        self.keys = [None] * len(self.paths)

    def add(self, record: Record) -> None:
        if isinstance(record, Failed):
            self._failed(record)
        elif isinstance(record, Cached):
            self._cached(record)
        elif isinstance(record, PixelBatch):
            self._batch(record)
        elif isinstance(record, Duplicates):
            self._duplicates(record)
        else:
            raise TypeError(f"unexpected record {type(record).__name__}")

    def _failed(self, r: Failed) -> None:
        p = self.paths[r.index]
        self.errors.append({"index": r.index, "path": None if p is None else str(p), "reason": r.reason})
        if r.key is not None:
            self.failed[r.key] = r.reason
            self.keys[r.index] = r.key
        self.bar.update(1)

    def _cached(self, r: Cached) -> None:
        self.vectors[r.index] = self.store.get([r.key])[0]
        self.present[r.index] = True
        self.keys[r.index] = r.key
        self.n_cached += 1
        self.bar.update(1)

    def _batch(self, r: PixelBatch) -> None:
        v = self.forward(r.pixels)
        self.vectors[r.indices] = v
        self.present[r.indices] = True
        for i, key in zip(r.indices, r.keys):
            self.keys[i] = key
        if self.store is not None:
            self.store.add(r.keys, v)
        self.n_computed += len(r.indices)
        self.bar.update(len(r.indices))

    def _duplicates(self, r: Duplicates) -> None:
        """Copy the first occurrence's result to each repeat of its image."""
        for i, key in r.pairs:
            j = r.first[key]
            self.keys[i] = key
            if self.present[j]:
                self.vectors[i] = self.vectors[j]
                self.present[i] = True
            else:
                self.errors.append({"index": i, "path": str(self.paths[i]),
                                    "reason": self.failed.get(key, "unknown")})
            self.bar.update(1)

    def result(self) -> EmbeddingResult:
        self.errors.sort(key=lambda e: e["index"])
        return EmbeddingResult(self.vectors, self.present, self.errors, self.n_cached, self.n_computed, self.keys)
