"""Recommendation models behind one interface (:class:`Recommender`); names resolve in
:mod:`recsys.models.registry`."""

from .base import NotFittedError, Recommender, clone
from .scoring import topk
from .registry import make_model, model_class, model_names, register
from .popularity import PopularityRecommender, RecentPopularityRecommender, RepurchaseRecommender
from .als import ALSRecommender, ALSVisualRecommender
from .ease import EASERecommender
from .itemknn import ItemKNNRecommender, SequenceKNNRecommender
from .lightfm_visual import LightFMRecommender
from .visual_content import VisualContentRecommender
from .vbpr import VBPRRecommender
from .hybrid import HybridRecommender

__all__ = ["Recommender", "NotFittedError", "clone", "topk", "make_model", "model_class", "model_names", "register",
           "PopularityRecommender", "RecentPopularityRecommender", "RepurchaseRecommender", "ALSRecommender",
           "ALSVisualRecommender", "EASERecommender", "ItemKNNRecommender", "SequenceKNNRecommender",
           "LightFMRecommender", "VisualContentRecommender", "VBPRRecommender", "HybridRecommender"]
