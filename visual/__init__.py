"""Images -> L2-normalised CNN embeddings, cached on disk by image content hash."""

from .images import ImageError, load_image, read_image_bytes
from .backbones import Backbone, build_backbone, BACKBONES
from .store import EmbeddingStore, StoreMismatchError
from .embedder import ImageEmbedder, EmbeddingResult

__all__ = [
    "ImageError", "load_image", "read_image_bytes", "Backbone", "build_backbone", "BACKBONES",
    "EmbeddingStore", "StoreMismatchError", "ImageEmbedder", "EmbeddingResult",
]
