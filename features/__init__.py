"""Item features built from embeddings (and metadata): dense vectors for torch/visual models,
compact sparse codes of the visual space for LightFM."""

from .item_features import ItemFeatures, embed_catalog
from .compact import VisualCodebook, lightfm_item_features, metadata_tokens

__all__ = ["ItemFeatures", "embed_catalog", "VisualCodebook", "lightfm_item_features", "metadata_tokens"]
