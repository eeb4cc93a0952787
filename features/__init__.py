"""Item features built from embeddings (and metadata): dense vectors for torch/visual models,
compact sparse codes of the visual space for LightFM."""

from .item_features import ItemFeatures, embed_catalog
from .codebook import VisualCodebook, lightfm_item_features
from .text import TextEmbedder, fuse

__all__ = ["ItemFeatures", "embed_catalog", "TextEmbedder", "fuse", "VisualCodebook", "lightfm_item_features"]
