"""Which models exist: the one place a model name is resolved to its class.

A model's name is its class attribute ``name``; built-in models are listed by import path and
imported when first asked for, and third-party models join with :func:`register` (a class or a
``"package.module:Class"`` path), as RecTools registers models by import path. The command line's
help, error messages, :func:`make_model` and saved models all resolve names here.
"""

from __future__ import annotations

import importlib
import inspect

#: built-in models, by import path, in the order help texts list them
BUILTIN = (
    "recsys.models.popularity:PopularityRecommender",
    "recsys.models.popularity:RecentPopularityRecommender",
    "recsys.models.popularity:RepurchaseRecommender",
    "recsys.models.als:ALSRecommender",
    "recsys.models.ease:EASERecommender",
    "recsys.models.time_ease:TimeKernelEASERecommender",
    "recsys.models.itemknn:ItemKNNRecommender",
    "recsys.models.itemknn:SequenceKNNRecommender",
    "recsys.models.als:ALSVisualRecommender",
    "recsys.models.vbpr:VBPRRecommender",
    "recsys.models.lightfm_visual:LightFMRecommender",
    "recsys.models.visual_content:VisualContentRecommender",
    "recsys.models.hybrid:HybridRecommender",
    "recsys.models.cold_prior:NeighbourPopularityRecommender",
    "recsys.models.trend_transfer:TrendTransferRecommender",
    "recsys.models.trend_transfer:TrendRepurchaseRecommender",
    "recsys.models.ranker:RankerRecommender",
    "recsys.models.ranker:NonVisualRankerRecommender",
)

_registry: dict[str, type] = {}


def import_path(path: str) -> type:
    """The class at ``"package.module:Class"`` (or ``"package.module.Class"``)."""
    mod, sep, attr = path.partition(":")
    if not sep:
        mod, _, attr = path.rpartition(".")
    if not mod or not attr:
        raise ValueError(f"{path!r} is not an import path of the form 'package.module:Class'")
    try:
        cls = getattr(importlib.import_module(mod), attr)
    except (ImportError, AttributeError) as e:
        raise ValueError(f"cannot import model class {path!r}: {e}") from None
    return cls


def register(model) -> type:
    """Register a model class (or its import path) under its ``name``; returns the class.

    Usable as a class decorator. A name already taken by another class raises ValueError.
    """
    cls = import_path(model) if isinstance(model, str) else model
    name = getattr(cls, "name", None)
    if not isinstance(cls, type) or not name or not all(callable(getattr(cls, m, None))
                                                        for m in ("fit", "recommend", "similar_items")):
        raise ValueError(f"{model!r} is not a visrec model class (a Recommender subclass with a name)")
    other = _registry.get(name)
    if other is not None and other is not cls:
        raise ValueError(f"model name {name!r} is taken by {other.__module__}.{other.__qualname__}")
    _registry[name] = cls
    return cls


def _builtins() -> dict:
    if not _registry:
        for path in BUILTIN:
            register(path)
    return _registry


def model_names() -> list:
    """Every registered model name (built-in first, in :data:`BUILTIN` order)."""
    return list(_builtins())


def model_class(name: str) -> type:
    """The class of a model name, or of an import path ``"package.module:Class"`` (registered on the way)."""
    models = _builtins()
    if name in models:
        return models[name]
    if ":" in name:
        return register(name)
    raise ValueError(f"unknown model {name!r}; choose from {', '.join(models)} "
                     "(or give a class as 'package.module:Class')")


def make_model(name: str, **params):
    """A model by name (see :func:`model_names`) with hyper-parameters ``params``; an unknown
    parameter raises ValueError naming it and the model's parameters."""
    cls = model_class(name)
    accepted = [p for p in inspect.signature(cls.__init__).parameters if p != "self"]
    unknown = sorted(set(params) - set(accepted))
    if unknown:
        raise ValueError(f"model {name!r} has no parameter(s) {', '.join(map(repr, unknown))}; "
                         f"its parameters: {', '.join(accepted)}")
    return cls(**params)


def model_help() -> str:
    """One line naming every model, marking those that use images, for ``--help``."""
    models = _builtins()
    return "one of: " + ", ".join(n + (" (images)" if c.uses_visual else "") for n, c in models.items()) + \
        ", or a class as package.module:Class"
