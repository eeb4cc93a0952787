"""Typed records passed between the stages of :meth:`visual.ImageEmbedder.embed_paths`.

read + hash (:mod:`visual.cache_lookup`) -> decode (:mod:`visual.decode_pipelines`) -> forward pass and
store (:mod:`visual.embedder`). Each stage yields one record per event instead of a tagged tuple.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Union


class DecodeJob(NamedTuple):
    """An image to decode: its position in the input, content hash and encoded bytes."""

    index: int
    key: str
    data: bytes


class Failed(NamedTuple):
    """An image that could not be used. ``key`` is ``None`` when the file could not even be read."""

    index: int
    key: str | None
    reason: str


class Cached(NamedTuple):
    """An image whose vector is already in the embedding store under ``key``."""

    index: int
    key: str


class PixelBatch(NamedTuple):
    """Decoded images ready for the network: ``pixels`` is a ``B x 3 x S x S`` uint8 array or tensor."""

    indices: list[int]
    keys: list[str]
    pixels: Any


class Duplicates(NamedTuple):
    """Images of a chunk whose bytes equal an earlier image's: ``(index, key)`` pairs, and the index
    of the first occurrence of each key (its result is copied once the chunk is done)."""

    pairs: list[tuple[int, str]]
    first: dict[str, int]


#: what the producer of :meth:`visual.ImageEmbedder.embed_paths` yields
Record = Union[Failed, Cached, PixelBatch, Duplicates]
