"""Images -> L2-normalised CNN embeddings, cached on disk by image content hash.

Attributes are imported lazily, so decoding worker processes load Pillow and NumPy only.
"""

import importlib

_LAZY = {
    "ImageError": ".images", "load_image": ".images", "read_image_bytes": ".images",
    "Backbone": ".backbones", "build_backbone": ".backbones", "BACKBONES": ".backbones",
    "EmbeddingStore": ".store", "StoreMismatchError": ".store",
    "ImageEmbedder": ".embedder", "EmbeddingResult": ".results",
}

__all__ = list(_LAZY)


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
