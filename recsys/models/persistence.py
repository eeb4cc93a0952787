"""Saved models: a folder of JSON and ``.npz`` files (no pickle), written atomically, checked on load.

::

    model.json      format, visrec version, model name and class, hyper-parameters, feature signature
    users.json      external user ids in index order
    items.json      external item ids in index order
    user_items.npz  the training interactions (CSR)
    recency.npz     days since each pair's latest event (time-aware models only)
    state.npz       the learned arrays (``Recommender.get_state``); an array held under several names
                    (a hybrid's image vectors, shared with its parts) is written once, and
                    model.json's ``state_aliases`` maps the other names to it
    index/          the similar-items index, when approximate (faiss file + description with checksums)
    candidates/     on wide catalogs, the indexes a hybrid lists through (one folder per part)
    manifest.json   SHA-256 and size of every file above, written last

Loading verifies the manifest, that the id lists match the matrices and that the learned arrays
are finite; a damaged folder raises :class:`ModelFileError` naming the file and what is wrong.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import NamedTuple

import numpy as np

from recsys import __version__
from recsys.data import IdMap
from recsys.io import atomic_dir, file_sha256
from recsys.io.npz import csr_arrays, csr_from_arrays

from .registry import model_class

MODEL_FORMAT = 1
#: folder of the saved similar-items index (approximate kinds only; exact ones are rebuilt in a moment)
INDEX_DIR = "index"
#: folder of the indexes a model lists wide catalogs through (``Recommender.candidate_indexes``)
CANDIDATES_DIR = "candidates"
MANIFEST = "manifest.json"


class ModelFileError(ValueError):
    """A saved model folder is damaged or inconsistent (the message names the file)."""


def write_manifest(folder: Path) -> None:
    """``manifest.json``: SHA-256 and size of every other file in ``folder``."""
    files = {f.name: {"sha256": file_sha256(f), "bytes": f.stat().st_size}
             for f in sorted(folder.iterdir()) if f.is_file() and f.name != MANIFEST}
    (folder / MANIFEST).write_text(json.dumps({"files": files}, indent=1))


def verify_manifest(folder: Path) -> list:
    """Problems with ``folder``'s files against its manifest (empty: all intact); no manifest: not checked."""
    mf = folder / MANIFEST
    if not mf.exists():
        return []
    try:
        files = json.loads(mf.read_text())["files"]
    except (ValueError, KeyError, TypeError) as e:
        return [f"{mf}: not a valid manifest ({e})"]
    problems = []
    for name, want in files.items():
        f = folder / name
        if not f.is_file():
            problems.append(f"{f}: missing (listed in {MANIFEST})")
        elif f.stat().st_size != want.get("bytes"):
            problems.append(f"{f}: {f.stat().st_size} bytes, the manifest says {want.get('bytes')} (truncated?)")
        elif file_sha256(f) != want.get("sha256"):
            problems.append(f"{f}: content differs from the manifest's SHA-256 (damaged or edited)")
    return problems


def shared_arrays(state: dict) -> dict:
    """``{name: first name}`` for each array of ``state`` that is the very object held under an earlier
    name: written once, and loaded back as one object (one copy in memory)."""
    first, aliases = {}, {}
    for k, v in state.items():
        if isinstance(v, np.ndarray) and v.size > 1:
            if id(v) in first:
                aliases[k] = first[id(v)]
            else:
                first[id(v)] = k
    return aliases


def resolve_aliases(state: dict, aliases, path: Path) -> dict:
    """``state`` with each alias pointing at its array (see :func:`shared_arrays`)."""
    if not isinstance(aliases, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in aliases.items()):
        raise ModelFileError(f"{path / 'model.json'}: \"state_aliases\" must map array names to array names")
    for k, v in aliases.items():
        if v not in state or k in state:
            raise ModelFileError(f"{path / 'model.json'}: state alias {k!r} -> {v!r} does not match "
                                 f"{path / 'state.npz'} (damaged or edited)")
        state[k] = state[v]
    return state


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
        state = model.get_state()
        aliases = shared_arrays(state)
        if aliases:
            meta["state_aliases"] = aliases
            (tmp / "model.json").write_text(json.dumps(meta, indent=1, default=str))
        np.savez(tmp / "state.npz", **{k: v for k, v in state.items() if k not in aliases})
        if getattr(model, "recency_", None) is not None:
            np.savez(tmp / "recency.npz", **csr_arrays(model.recency_))
        index = model.built_index()
        if index is not None and index.kind_ != "flat":  # approximate: kept so that loading does not rebuild it
            index.save(tmp / INDEX_DIR)
            meta["index"] = index.describe()
            (tmp / "model.json").write_text(json.dumps(meta, indent=1, default=str))
        for name, ix in model.candidate_indexes().items():
            ix.save(tmp / CANDIDATES_DIR / name)
        write_manifest(tmp)
    return path


def _read_json(f: Path):
    try:
        return json.loads(f.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelFileError(f"{f}: missing") from None
    except (ValueError, UnicodeDecodeError) as e:
        raise ModelFileError(f"{f}: not valid JSON ({e})") from None


def _read_npz(f: Path) -> dict:
    try:
        with np.load(f, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except FileNotFoundError:
        raise ModelFileError(f"{f}: missing") from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as e:
        raise ModelFileError(f"{f}: cannot be read ({type(e).__name__}: {e}); the file is damaged") from None


def _read_meta(path: Path) -> dict:
    meta_file = path / "model.json"
    if not meta_file.exists():
        raise FileNotFoundError(f"{path} is not a saved visrec model (no model.json); create one with `visrec train`")
    meta = _read_json(meta_file)
    fmt = meta.get("format") if isinstance(meta, dict) else None
    if type(fmt) is not int or fmt != MODEL_FORMAT:
        raise ModelFileError(f"{meta_file}: \"format\" is {fmt!r}; this visrec reads format {MODEL_FORMAT} "
                             "(an integer)")
    for key in ("model", "params"):
        if key not in meta:
            raise ModelFileError(f"{meta_file}: no {key!r} entry")
    return meta


def _check_consistent(path: Path, users, items, user_items, recency, state) -> None:
    if user_items.shape != (len(users), len(items)):
        raise ModelFileError(f"{path / 'user_items.npz'}: shape {user_items.shape} does not match users.json "
                             f"({len(users)} users) and items.json ({len(items)} items)")
    if recency is not None and recency.shape != user_items.shape:
        raise ModelFileError(f"{path / 'recency.npz'}: shape {recency.shape}, expected {user_items.shape}")
    for k, v in state.items():
        if np.issubdtype(v.dtype, np.floating) and not np.isfinite(v).all():
            raise ModelFileError(f"{path / 'state.npz'}: array {k!r} holds {int((~np.isfinite(v)).sum())} "
                                 "non-finite value(s) (NaN or inf): the model is damaged; retrain it")


def _model_class(meta: dict, path: Path) -> type:
    try:
        return model_class(meta["model"])
    except ValueError:  # a third-party model: registered by its import path
        cls_path = meta.get("class", "")
        if ":" not in cls_path:
            raise ValueError(f"{path}: unknown model type {meta['model']!r}") from None
        return model_class(cls_path)


class ModelParts(NamedTuple):
    """What a saved model folder holds, read and checked but not yet made into a model: plain JSON
    values, id lists and NumPy / SciPy arrays, so it can be shipped to workers (e.g. put once into
    a Ray object store) and turned into a model there by :func:`build_model`."""

    meta: dict
    users: list
    items: list
    user_items: object
    recency: object
    state: dict


def read_model_parts(path) -> ModelParts:
    """Read a folder written by :func:`save_model`, verifying it first (see :class:`ModelFileError`)."""
    path = Path(path)
    meta = _read_meta(path)
    problems = verify_manifest(path)
    if problems:
        raise ModelFileError("; ".join(problems))
    _model_class(meta, path)  # an unknown model type fails here, before the arrays are read
    users = _read_json(path / "users.json")
    items = _read_json(path / "items.json")
    try:
        user_items = csr_from_arrays(_read_npz(path / "user_items.npz"))
        recency = csr_from_arrays(_read_npz(path / "recency.npz")) if (path / "recency.npz").exists() else None
    except (KeyError, ValueError, TypeError) as e:
        raise ModelFileError(f"{path}: a sparse matrix file is malformed ({e})") from None
    state = _read_npz(path / "state.npz")
    _check_consistent(path, users, items, user_items, recency, state)
    state = resolve_aliases(state, meta.get("state_aliases", {}), path)
    return ModelParts(meta, users, items, user_items, recency, state)


def build_model(parts: ModelParts, path=None):
    """The fitted model of :func:`read_model_parts`' ``parts`` (``path``: named in errors)."""
    meta = parts.meta
    model = _model_class(meta, Path(path or "model"))(**meta["params"])
    users = IdMap(parts.users, kind="user")
    items = IdMap(parts.items, kind="item")
    model.restore(users, items, parts.user_items, parts.state, recency=parts.recency,
                  feature_signature=meta.get("features") or {})
    return model


def load_model(path):
    """Load a model written by :func:`save_model`, verifying it first (see :class:`ModelFileError`)."""
    path = Path(path)
    model = build_model(read_model_parts(path), path)
    if (path / INDEX_DIR).is_dir():
        model.attach_index(path / INDEX_DIR)
    if (path / CANDIDATES_DIR).is_dir():
        model.attach_candidate_indexes(path / CANDIDATES_DIR)
    return model
