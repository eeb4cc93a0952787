"""Saved models: a folder of JSON and ``.npz`` files (no pickle), written atomically, checked on load.

::

    model.json      format, visrec version, model name and class, hyper-parameters, feature signature
    users.json      external user ids in index order
    items.json      external item ids in index order
    user_items.npz  the training interactions (CSR)
    recency.npz     days since each pair's latest event (time-aware models only)
    state.npz       the learned arrays (``Recommender.get_state``)
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from recsys import __version__
from recsys.data import IdMap
from recsys.io import atomic_dir
from recsys.io.npz import csr_arrays, csr_from_arrays

from .registry import model_class

MODEL_FORMAT = 1


def save_model(model, path) -> Path:
    """Write a fitted model to folder ``path``; an existing folder is replaced whole, atomically."""
    path = Path(path)
    with atomic_dir(path) as tmp:
        meta = {"format": MODEL_FORMAT, "visrec_version": __version__, "model": model.name,
                "class": f"{type(model).__module__}:{type(model).__qualname__}", "params": model.get_params(),
                "features": getattr(model, "feature_signature_", {})}
        (tmp / "model.json").write_text(json.dumps(meta, indent=1, default=str))
        (tmp / "users.json").write_text(json.dumps(model.users_.to_list()))
        (tmp / "items.json").write_text(json.dumps(model.items_.to_list()))
        np.savez(tmp / "user_items.npz", **csr_arrays(model.user_items_))
        np.savez(tmp / "state.npz", **model.get_state())
        if getattr(model, "recency_", None) is not None:
            np.savez(tmp / "recency.npz", **csr_arrays(model.recency_))
    return path


def _read_meta(path: Path) -> dict:
    meta_file = path / "model.json"
    if not meta_file.exists():
        raise FileNotFoundError(f"{path} is not a saved visrec model (no model.json); create one with `visrec train`")
    meta = json.loads(meta_file.read_text())
    if meta.get("format") != MODEL_FORMAT:
        raise ValueError(f"{path}: model format {meta.get('format')!r} is not supported (expected {MODEL_FORMAT})")
    return meta


def _model_class(meta: dict, path: Path) -> type:
    try:
        return model_class(meta["model"])
    except ValueError:  # a third-party model: registered by its import path
        cls_path = meta.get("class", "")
        if ":" not in cls_path:
            raise ValueError(f"{path}: unknown model type {meta['model']!r}") from None
        return model_class(cls_path)


def load_model(path):
    """Load a model written by :func:`save_model`."""
    path = Path(path)
    meta = _read_meta(path)
    model = _model_class(meta, path)(**meta["params"])
    users = IdMap(json.loads((path / "users.json").read_text()), kind="user")
    items = IdMap(json.loads((path / "items.json").read_text()), kind="item")
    with np.load(path / "user_items.npz", allow_pickle=False) as z:
        user_items = csr_from_arrays(z)
    recency = None
    if (path / "recency.npz").exists():
        with np.load(path / "recency.npz", allow_pickle=False) as z:
            recency = csr_from_arrays(z)
    with np.load(path / "state.npz", allow_pickle=False) as z:
        state = {k: z[k] for k in z.files}
    model.restore(users, items, user_items, state, recency=recency, feature_signature=meta.get("features") or {})
    return model
