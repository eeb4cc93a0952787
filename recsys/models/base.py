"""The one interface every visrec model follows.

``fit(dataset, features=None)`` -> ``self``; ``recommend(user_ids, k, exclude_seen=True)`` and
``similar_items(item_ids, k)`` take external ids in batches and return ``(ids, scores)``
arrays of shape ``(n, k)``. Scores of slots that could not be filled are ``-inf`` with id ``None``.
Models work on dense indices internally; :class:`recsys.data.IdMap` translates at the boundary.
"""

from __future__ import annotations

import inspect
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from recsys import __version__
from recsys.data import Dataset, IdMap
from recsys.index import VectorIndex
from .linalg import matmul_precision
from recsys.io import default_mode

MODEL_FORMAT = 1


def topk(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices and values of the ``k`` largest entries of each row, best first."""
    n = scores.shape[1]
    k = min(k, n)
    if k <= 0:
        return np.zeros((len(scores), 0), np.int64), np.zeros((len(scores), 0), np.float32)
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k] if k < n else np.tile(np.arange(n), (len(scores), 1))
    vals = np.take_along_axis(scores, part, axis=1)
    order = np.argsort(-vals, axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1), np.take_along_axis(vals, order, axis=1)


def widen(X: sp.csr_matrix, n_items: int) -> sp.csr_matrix:
    """``X`` with empty columns appended up to ``n_items`` (items added after fitting)."""
    return sp.csr_matrix((X.data, X.indices, X.indptr), shape=(X.shape[0], n_items))


class NotFittedError(RuntimeError):
    pass


class Recommender:
    """Base class of visrec models.

    Subclasses set hyper-parameters in ``__init__`` (stored under the same names) and implement

    - ``_fit(user_items, features)``: learn from the CSR user--item matrix and optional
      :class:`features.ItemFeatures`;
    - ``_score(user_index)``: a dense ``(len(user_index), n_items)`` float32 score block;
    - ``_item_vectors()`` (optional): ``(vectors, present)`` whose inner product ranks similar items;
    - ``_get_state()`` / ``_set_state(state)``: learned arrays for :meth:`save` / :meth:`load`.

    Attributes (after fit)
    ----------------------
    users_, items_ : IdMap
    user_items_ : scipy.sparse.csr_matrix
        The training interactions (used to exclude items a user has already seen).
    """

    #: whether the model uses images (or text) -- reported in evaluation results
    uses_visual: bool = False
    #: whether ``fit`` needs item features
    requires_features: bool = False
    name: str = "base"
    #: whether the model reads ``recency_`` (event times) -- set by time-aware models
    uses_recency: bool = False

    # -- sklearn-style parameters ------------------------------------------------------------
    def get_params(self) -> dict:
        sig = inspect.signature(type(self).__init__)
        return {p: getattr(self, p) for p in sig.parameters if p != "self"}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    # -- fitting -----------------------------------------------------------------------------
    def fit(self, data: Dataset, features=None) -> "Recommender":
        """Fit on a :class:`recsys.data.Dataset` (and item features aligned with its items)."""
        if not isinstance(data, Dataset):
            raise TypeError(f"fit expects a recsys.data.Dataset, got {type(data).__name__}")
        if features is not None and features.n_items != data.n_items:
            raise ValueError(f"item features have {features.n_items} rows but the dataset has {data.n_items} "
                             "items; build them with features.embed_catalog(dataset.catalog)")
        if self.requires_features and features is None:
            raise ValueError(f"{type(self).__name__} uses item images: pass features=ItemFeatures "
                             "(see features.embed_catalog)")
        if data.n_users == 0:
            raise ValueError("the dataset has no interactions to fit on")
        self.users_ = data.users
        self.items_ = data.items
        self.user_items_ = data.matrix()
        #: days since each pair's latest event (+1), for time-aware models; None without timestamps
        self.recency_ = data.recency() if self.uses_recency else None
        self.feature_signature_ = dict(features.signature) if features is not None else {}
        self._index = None
        self._fit(self.user_items_, features)
        return self

    def _check_fitted(self):
        if not hasattr(self, "user_items_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted yet: call fit(dataset) first")

    # -- scoring -----------------------------------------------------------------------------
    def recommend_index(self, user_index, k: int = 10, exclude_seen: bool = True, *,
                        candidates: np.ndarray | None = None, exclude: sp.csr_matrix | None = None,
                        batch_size: int = 1024, device: str = "cpu", n_jobs: int | None = None,
                        precision: str = "float32") -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` item indices and scores for dense user indices (``-1``/``-inf`` = no item).

        ``candidates``: optional item indices to rank among (all items when None).
        ``exclude``: optional ``n_users x n_items`` matrix of further items to leave out
        (e.g. a validation split).
        ``device``: ``"cpu"`` (numpy) or a torch device such as ``"cuda"`` -- the GPU path
        serves factor models (``als``, ``als-visual``, ``vbpr``, ``lightfm``).
        ``n_jobs``: threads over user batches on the CPU (default: all cores).
        ``precision``: ``"float32"`` or ``"bfloat16"`` for the sparse x dense products of EASE and
        the visual kernel (see :func:`recsys.models.linalg.matmul_precision`) and for the factor
        product on a torch ``device``.
        """
        with matmul_precision(precision):
            return self._recommend_index(user_index, k, exclude_seen, candidates, exclude, batch_size,
                                         device, n_jobs, precision)

    def _recommend_index(self, user_index, k, exclude_seen, candidates, exclude, batch_size, device, n_jobs,
                         precision):
        self._check_fitted()
        blocked = None
        if candidates is not None:
            blocked = np.ones(len(self.items_), bool)
            blocked[np.asarray(candidates, np.int64)] = False
        user_index = np.asarray(user_index, dtype=np.int64)
        if device != "cpu":
            ff = self._factor_form()
            if ff is None:
                raise ValueError(f"{type(self).__name__} has no factor form to score on {device}; "
                                 "use device='cpu' (GPU scoring serves als, als-visual, vbpr, lightfm)")
            from .gpu import topk_factors_torch
            ex = ([self.user_items_[user_index]] if exclude_seen else []) + \
                ([exclude[user_index]] if exclude is not None else [])
            return topk_factors_torch(ff[0][user_index], ff[1], k, exclude=ex, blocked=blocked, device=device,
                                      dtype=precision)
        k = min(k, len(self.items_))
        out_i = np.full((len(user_index), k), -1, np.int64)
        out_s = np.full((len(user_index), k), -np.inf, np.float32)
        X = self.user_items_

        def block(s):
            u = user_index[s:s + batch_size]
            sc = np.asarray(self._score(u), dtype=np.float32)
            if blocked is not None:
                sc[:, blocked] = -np.inf
            for M in ((X,) if exclude_seen else ()) + ((exclude,) if exclude is not None else ()):
                sub = M[u]
                sc[np.repeat(np.arange(len(u)), np.diff(sub.indptr)), sub.indices] = -np.inf
            idx, val = topk(sc, k)
            idx[~np.isfinite(val)] = -1
            out_i[s:s + len(u)], out_s[s:s + len(u)] = idx, val

        starts = list(range(0, len(user_index), batch_size))
        if not starts:
            return out_i, out_s
        block(starts[0])  # the first block alone: models build lazy caches (e.g. a kernel) here
        n_jobs = min(n_jobs or os.cpu_count() or 1, len(starts) - 1)
        if n_jobs > 1:  # sparse products, partitions and BLAS release the GIL: batches run in threads
            from concurrent.futures import ThreadPoolExecutor
            with ThreadPoolExecutor(n_jobs) as pool:
                list(pool.map(block, starts[1:]))
        else:
            for s in starts[1:]:
                block(s)
        return out_i, out_s

    def recommend(self, user_ids, k: int = 10, exclude_seen: bool = True, *,
                  items=None, exclude_items=None, device: str = "cpu",
                  precision: str = "float32") -> tuple[np.ndarray, np.ndarray]:
        """Recommend ``k`` items to each user.

        Parameters
        ----------
        user_ids : str or array-like of str
            External user ids (unknown ids raise :class:`recsys.data.UnknownIdError`).
        k : int
        exclude_seen : bool
            Leave out items the user interacted with in the training data.
        items : array-like of str, optional
            Rank only these items (e.g. what is in stock, or only new arrivals).
        exclude_items : dict or DataFrame, optional
            Per-user items never to show: ``{user_id: [item_id, ...]}`` or a table with
            ``user_id`` and ``item_id`` columns (returns, "not interested", already shown). Pairs
            naming users or items unknown to the model have nothing to remove and are ignored.
            A sparse matrix from :meth:`exclusion_matrix` is used as it is.
        device : str
            ``"cpu"`` or a torch device (``"cuda"``) for factor models.
        precision : {"float32", "bfloat16"}
            Precision of EASE's and the visual kernel's products on the CPU.

        Returns
        -------
        item_ids : ndarray of object, shape (n_users, k)
        scores : ndarray of float32, shape (n_users, k)
        """
        self._check_fitted()
        scalar = isinstance(user_ids, str)
        uidx = self.users_.to_index([user_ids] if scalar else list(user_ids))
        cand = None if items is None else self.items_.to_index(list(items))
        ex = exclude_items if exclude_items is None or sp.issparse(exclude_items) else \
            self.exclusion_matrix(exclude_items)[0]
        idx, sc = self.recommend_index(uidx, k, exclude_seen, candidates=cand, exclude=ex, device=device,
                                       precision=precision)
        ids = self._to_ids(idx)
        return (ids[0], sc[0]) if scalar else (ids, sc)

    def exclusion_matrix(self, pairs) -> tuple[sp.csr_matrix, int]:
        """``(users x items matrix, n_ignored)`` of (user, item) pairs to leave out of lists.

        ``pairs``: ``{user_id: [item_id, ...]}`` or a table with ``user_id`` and ``item_id``
        columns; pairs with an id unknown to the model are counted in ``n_ignored``."""
        if isinstance(pairs, dict):
            u = [str(k) for k, v in pairs.items() for _ in v]
            i = [str(x) for v in pairs.values() for x in v]
        else:
            df = getattr(pairs, "df", pairs)
            missing = {"user_id", "item_id"} - set(df.columns)
            if missing:
                raise ValueError(f"exclude_items needs user_id and item_id columns; missing {sorted(missing)}")
            u, i = df["user_id"].astype(str).to_numpy(), df["item_id"].astype(str).to_numpy()
        ui = self.users_.to_index(np.asarray(u, object), missing="ignore")
        ii = self.items_.to_index(np.asarray(i, object), missing="ignore")
        ok = (ui >= 0) & (ii >= 0)
        M = sp.csr_matrix((np.ones(int(ok.sum()), np.float32), (ui[ok], ii[ok])),
                          shape=(len(self.users_), len(self.items_)))
        return M, int((~ok).sum())

    def _to_ids(self, idx: np.ndarray) -> np.ndarray:
        ids = self.items_.ids[np.maximum(idx, 0)].astype(object)
        ids[idx < 0] = None
        return ids

    def _factor_form(self):
        """``(user_vectors, item_vectors)`` with ``score = user_vectors @ item_vectors.T``, or
        None for models whose scores are not a plain inner product."""
        return None

    # -- similar items -----------------------------------------------------------------------
    def _item_vectors(self):
        return None

    def _visual_vectors(self):
        """``(vectors, present)`` of the catalog images, for search by photo (None: no images)."""
        return None

    def similar_items_index(self, item_index, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        self._check_fitted()
        if self._index is None:
            iv = self._item_vectors()
            if iv is None:
                raise NotImplementedError(f"{type(self).__name__} has no item vectors for similar items")
            self._index = VectorIndex(*iv)
        return self._index.search_items(np.asarray(item_index, dtype=np.int64), k)

    def similar_items(self, item_ids, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` items most similar to each given item (the item itself excluded).

        Items without a vector (e.g. no readable image for a visual model) get an empty row
        (ids ``None``, scores ``-inf``).
        """
        self._check_fitted()
        scalar = isinstance(item_ids, str)
        iidx = self.items_.to_index([item_ids] if scalar else list(item_ids))
        idx, sc = self.similar_items_index(iidx, k)
        ids = self._to_ids(idx)
        return (ids[0], sc[0]) if scalar else (ids, sc)

    # -- incremental catalog -----------------------------------------------------------------
    def _add_items(self, features) -> None:
        raise NotImplementedError(
            f"{type(self).__name__} cannot score items without interactions; add new items to a model "
            "that uses images (vbpr, als-visual, hybrid, visual, lightfm) or refit")

    def add_items(self, item_ids, features) -> "Recommender":
        """Add catalog items that have no interactions (e.g. new arrivals with only a photo).

        They become recommendable and searchable in :meth:`similar_items` at once, without
        refitting: visual models place them from their vectors.

        Parameters
        ----------
        item_ids : array-like of str
            New, distinct external ids.
        features : features.ItemFeatures
            Their vectors, embedded with the same settings as the training features
            (``features.embed_catalog`` with the same embedder).

        Returns
        -------
        self
        """
        self._check_fitted()
        ids = [str(i) for i in item_ids]
        if not ids:
            return self
        known = [i for i in ids if i in self.items_]
        if known:
            raise ValueError(f"{len(known)} item id(s) are already in the model, e.g. {known[:5]}; "
                             "add_items is for new items only")
        if len(set(ids)) != len(ids):
            raise ValueError("add_items got duplicate item ids")
        if features is None or features.n_items != len(ids):
            got = "none" if features is None else features.n_items
            raise ValueError(f"add_items needs one feature row per new item: {len(ids)} ids, {got} rows")
        mine = getattr(self, "feature_signature_", {}) or {}
        theirs = getattr(features, "signature", {}) or {}
        diff = {k for k in set(mine) & set(theirs) if mine[k] != theirs[k]}
        if diff:
            raise ValueError(f"the new items were embedded with different settings ({', '.join(sorted(diff))}) "
                             "than the model's training features; embed them with the same embedder")
        self._add_items(features)
        self.items_ = IdMap(self.items_.to_list() + ids, kind="item")
        self.user_items_ = widen(self.user_items_, len(self.items_))
        if getattr(self, "recency_", None) is not None:
            self.recency_ = widen(self.recency_, len(self.items_))
        self._index = None
        return self

    # -- persistence (no pickle: JSON + npz) -------------------------------------------------
    def _get_state(self) -> dict:
        return {}

    def _set_state(self, state: dict) -> None:
        pass

    def save(self, path) -> Path:
        """Write the fitted model to folder ``path`` atomically (JSON + ``.npz``, no pickle)."""
        self._check_fitted()
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}."))
        os.chmod(tmp, default_mode(folder=True))
        try:
            meta = {"format": MODEL_FORMAT, "visrec_version": __version__, "model": self.name,
                    "class": type(self).__name__, "params": self.get_params(),
                    "features": getattr(self, "feature_signature_", {})}
            (tmp / "model.json").write_text(json.dumps(meta, indent=1, default=str))
            (tmp / "users.json").write_text(json.dumps(self.users_.to_list()))
            (tmp / "items.json").write_text(json.dumps(self.items_.to_list()))
            X = self.user_items_
            np.savez(tmp / "user_items.npz", data=X.data, indices=X.indices, indptr=X.indptr,
                     shape=np.asarray(X.shape))
            np.savez(tmp / "state.npz", **self._get_state())
            R = getattr(self, "recency_", None)
            if R is not None:
                np.savez(tmp / "recency.npz", data=R.data, indices=R.indices, indptr=R.indptr,
                         shape=np.asarray(R.shape))
            for f in tmp.iterdir():
                with open(f, "rb") as fh:
                    os.fsync(fh.fileno())
            if path.exists():
                old = path.with_name(f".{path.name}.old")
                shutil.rmtree(old, ignore_errors=True)
                os.replace(path, old)
                os.replace(tmp, path)
                shutil.rmtree(old, ignore_errors=True)
            else:
                os.replace(tmp, path)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return path

    @staticmethod
    def load(path) -> "Recommender":
        """Load a model saved with :meth:`save`."""
        from recsys.models import MODELS
        path = Path(path)
        meta_file = path / "model.json"
        if not meta_file.exists():
            raise FileNotFoundError(f"{path} is not a saved visrec model (no model.json); "
                                    "create one with `visrec train`")
        meta = json.loads(meta_file.read_text())
        if meta.get("format") != MODEL_FORMAT:
            raise ValueError(f"{path}: model format {meta.get('format')} is not supported (expected {MODEL_FORMAT})")
        cls = MODELS.get(meta["model"])
        if cls is None:
            raise ValueError(f"{path}: unknown model type {meta['model']!r}")
        model = cls(**meta["params"])
        model.users_ = IdMap(json.loads((path / "users.json").read_text()), kind="user")
        model.items_ = IdMap(json.loads((path / "items.json").read_text()), kind="item")
        with np.load(path / "user_items.npz", allow_pickle=False) as z:
            model.user_items_ = sp.csr_matrix((z["data"], z["indices"], z["indptr"]), shape=tuple(z["shape"]))
        model.recency_ = None
        if (path / "recency.npz").exists():
            with np.load(path / "recency.npz", allow_pickle=False) as z:
                model.recency_ = sp.csr_matrix((z["data"], z["indices"], z["indptr"]), shape=tuple(z["shape"]))
        with np.load(path / "state.npz", allow_pickle=False) as z:
            state = {k: z[k] for k in z.files}
        model._index = None
        model.feature_signature_ = meta.get("features") or {}
        model._set_state(state)
        return model
