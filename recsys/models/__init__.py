"""Recommendation models behind one interface (:class:`Recommender`)."""

from .base import Recommender, NotFittedError, topk
from .popularity import PopularityRecommender
from .als import ALSRecommender, ALSVisualRecommender
from .lightfm_visual import LightFMRecommender
from .visual_content import VisualContentRecommender
from .hybrid import HybridRecommender
from .neighbours import EASERecommender, ItemKNNRecommender, SequenceKNNRecommender
from .vbpr import VBPRRecommender
from .temporal import RecentPopularityRecommender, RepurchaseRecommender

#: model name -> class, as used by the CLI and saved models
MODELS = {
    "popularity": PopularityRecommender,
    "als": ALSRecommender,
    "lightfm": LightFMRecommender,
    "visual": VisualContentRecommender,
    "hybrid": HybridRecommender,
    "ease": EASERecommender,
    "itemknn": ItemKNNRecommender,
    "vbpr": VBPRRecommender,
    "als-visual": ALSVisualRecommender,
    "recent-popularity": RecentPopularityRecommender,
    "repurchase": RepurchaseRecommender,
    "sequence-knn": SequenceKNNRecommender,
}


def make_model(name: str, **params) -> Recommender:
    """A model by name (see :data:`MODELS` for the names)."""
    try:
        cls = MODELS[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; choose from {', '.join(MODELS)}") from None
    return cls(**params)


__all__ = ["Recommender", "NotFittedError", "topk", "PopularityRecommender", "ALSRecommender",
           "LightFMRecommender", "VisualContentRecommender", "HybridRecommender", "EASERecommender",
           "ItemKNNRecommender", "VBPRRecommender", "ALSVisualRecommender", "RecentPopularityRecommender",
           "RepurchaseRecommender", "SequenceKNNRecommender", "MODELS", "make_model"]
