"""The one interface every visrec model follows.

``fit(dataset, features=None)`` -> ``self``; ``recommend(user_ids, k, exclude_seen=True)`` and
``similar_items(item_ids, k)`` take external ids in batches and return ``(ids, scores)``
arrays of shape ``(n, k)``. Scores of slots that could not be filled are ``-inf`` with id ``None``.
Models work on dense indices internally (``fit_matrix``, ``score_index``, ``recommend_index``,
``similar_items_index``); :class:`recsys.data.IdMap` translates at the boundary.
"""

from __future__ import annotations

import copy
import inspect

import numpy as np
import scipy.sparse as sp

from recsys.data import Dataset
from recsys.data.idmap import pairs_matrix

from .linalg import matmul_precision
from .persistence import load_model, save_model
from .growth import GrowingCatalog
from .scoring import blocked_items, list_masks, topk_blocks
from .sessions import SessionScoring
from .similar import SimilarItems


class NotFittedError(RuntimeError):
    pass


class Recommender(GrowingCatalog, SessionScoring, SimilarItems):
    """Base class of visrec models.

    Subclasses store their hyper-parameters in ``__init__`` unchanged, under the same names, and
    implement

    - ``_check_params()`` (optional): validate hyper-parameters (called by ``fit``);
    - ``_fit(user_items, features)``: learn from the CSR user--item matrix and optional
      :class:`features.ItemFeatures` (``self.user_items_`` and ``self.recency_`` are set);
    - ``_score(user_index)``: a dense ``(len(user_index), n_items)`` float32 score block, or
      ``_score_history(X, R)``: the same for rows of a user--item matrix given at query time
      (then ``_score`` defaults to it on the training rows, and sessions can be ranked, see
      :mod:`recsys.models.sessions`);
    - ``_item_vectors()`` (optional): ``(vectors, present)`` whose inner product ranks similar items;
    - ``_visual_vectors()`` (optional): the catalog image vectors, for search by photo;
    - ``_add_items(features)`` (optional): place items without interactions;
    - ``_get_state()`` / ``_set_state(state)``: learned arrays for :meth:`save` / :meth:`load`.

    Attributes (after fit)
    ----------------------
    users_, items_ : IdMap
    user_items_ : scipy.sparse.csr_matrix
        The training interactions (used to exclude items a user has already seen).
    recency_ : scipy.sparse.csr_matrix or None
        Days since each pair's latest event (+1), for time-aware models.
    """

    name: str = "base"
    #: capability flags: callers route by these, never by model names
    #: the model uses images (or text) -- reported in evaluation results
    uses_visual: bool = False
    #: ``fit`` needs item features
    requires_features: bool = False
    #: the model reads ``recency_`` (event times)
    uses_recency: bool = False
    #: the model scores items without interactions from what it knows of them (False: pure
    #: collaborative filtering, whose scores of such items carry no signal)
    scores_cold_items: bool = True
    #: the model's item vectors are the catalog image vectors themselves
    similar_by_image: bool = False

    # -- scikit-learn style parameters -------------------------------------------------------
    def get_params(self, deep: bool = True) -> dict:
        """Hyper-parameters, as given to ``__init__``."""
        sig = inspect.signature(type(self).__init__)
        return {p: getattr(self, p) for p in sig.parameters if p != "self"}

    def set_params(self, **params) -> "Recommender":
        """Set hyper-parameters (checked at the next :meth:`fit`); returns ``self``."""
        valid = self.get_params()
        for k, v in params.items():
            if k not in valid:
                raise ValueError(f"{type(self).__name__} has no parameter {k!r}; parameters: {', '.join(valid)}")
            setattr(self, k, v)
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    def _check_params(self) -> None:
        pass

    # -- fitting -----------------------------------------------------------------------------
    def fit(self, data: Dataset, features=None) -> "Recommender":
        """Fit on a :class:`recsys.data.Dataset` (and item features aligned with its items)."""
        if not isinstance(data, Dataset):
            raise TypeError(f"fit expects a recsys.data.Dataset, got {type(data).__name__}")
        if features is not None and features.n_items != data.n_items:
            raise ValueError(f"item features have {features.n_items} rows but the dataset has {data.n_items} "
                             "items; build them with features.embed_catalog(dataset.catalog)")
        if data.n_users == 0:
            raise ValueError("the dataset has no interactions to fit on")
        self._check_params()
        recency = data.recency() if self.uses_recency else None
        self.fit_matrix(data.matrix(), features, recency=recency)
        self.users_ = data.users
        self.items_ = data.items
        return self

    def fit_matrix(self, user_items: sp.csr_matrix, features=None, *, recency=None) -> "Recommender":
        """Fit on a CSR user--item matrix in index space (no id maps: ``recommend_index`` and
        ``score_index`` work afterwards, ``recommend`` needs :meth:`fit`). Used to fit the parts
        of a composite model. ``recency``: days since each pair's latest event (+1), aligned with
        ``user_items``."""
        self._check_params()
        if self.requires_features and features is None:
            raise ValueError(f"{type(self).__name__} uses item images: pass features=ItemFeatures "
                             "(see features.embed_catalog)")
        self.user_items_ = user_items
        self.recency_ = recency
        self.feature_signature_ = dict(features.signature) if features is not None else {}
        self._index = self._index_dir = None
        self._fit(user_items, features)
        return self

    def restore(self, users, items, user_items, state: dict, *, recency=None, feature_signature=None):
        """Set the learned state of a saved model (see :mod:`recsys.models.persistence`); ``users``
        and ``items`` may be None for a part of a composite model."""
        if users is not None:
            self.users_, self.items_ = users, items
        self.user_items_ = user_items
        self.recency_ = recency
        self.feature_signature_ = dict(feature_signature or {})
        self._index = None
        self._set_state(state)
        return self

    def _check_fitted(self):
        if not hasattr(self, "user_items_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted yet: call fit(dataset) first")

    @property
    def n_items(self) -> int:
        self._check_fitted()
        return self.user_items_.shape[1]

    # -- scoring -----------------------------------------------------------------------------
    def _score(self, user_index):
        R = getattr(self, "recency_", None)
        return self._score_history(self.user_items_[user_index], None if R is None else R[user_index])

    def score_index(self, user_index) -> np.ndarray:
        """Dense float32 scores ``(len(user_index), n_items)`` of users given by dense index."""
        self._check_fitted()
        return self._score(np.asarray(user_index, dtype=np.int64))

    def recommend_index(self, user_index, k: int = 10, exclude_seen: bool = True, *,
                        candidates: np.ndarray | None = None, exclude: sp.csr_matrix | None = None,
                        batch_size: int | None = None, device: str = "cpu", n_jobs: int | None = None,
                        precision: str = "float32") -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` item indices and scores for dense user indices (``-1``/``-inf`` = no item).

        ``candidates``: optional item indices to rank among (all items when None).
        ``exclude``: optional ``n_users x n_items`` matrix of further items to leave out
        (e.g. a validation split).
        ``device``: ``"cpu"`` (numpy) or a torch device such as ``"cuda"`` -- the GPU path
        serves models with a factor form (``als``, ``als-visual``, ``vbpr``, ``lightfm``).
        ``n_jobs``: threads over user batches on the CPU (default: all cores).
        ``precision``: ``"float32"`` or ``"bfloat16"`` for the sparse x dense products of EASE and
        the visual kernel (see :func:`recsys.models.linalg.matmul_precision`) and for the factor
        product on a torch ``device``.
        """
        self._check_fitted()
        user_index = np.asarray(user_index, dtype=np.int64)
        blocked = blocked_items(candidates, self.n_items)
        masks = list_masks(self.user_items_ if exclude_seen else None, exclude)
        with matmul_precision(precision):
            if device != "cpu":
                return self._recommend_on_device(user_index, k, masks, blocked, device, precision)
            return topk_blocks(self._score, user_index, k, n_items=self.n_items, masks=masks, blocked=blocked,
                               batch_size=batch_size, n_jobs=n_jobs)

    def _recommend_on_device(self, user_index, k, masks, blocked, device, precision):
        ff = self._factor_form()
        if ff is None:
            raise ValueError(f"{type(self).__name__} has no factor form to score on {device}; "
                             "use device='cpu' (GPU scoring serves als, als-visual, vbpr, lightfm)")
        from .gpu import topk_factors_torch
        return topk_factors_torch(ff[0][user_index], ff[1], k, exclude=[M[user_index] for M in masks],
                                  blocked=blocked, device=device, dtype=precision)

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
        ids = self.items_.to_ids(idx)
        return (ids[0], sc[0]) if scalar else (ids, sc)

    def exclusion_matrix(self, pairs) -> tuple[sp.csr_matrix, int]:
        """``(users x items matrix, n_ignored)`` of (user, item) pairs to leave out of lists.

        ``pairs``: ``{user_id: [item_id, ...]}`` or a table with ``user_id`` and ``item_id``
        columns; pairs with an id unknown to the model are counted in ``n_ignored``."""
        self._check_fitted()
        return pairs_matrix(pairs, self.users_, self.items_)

    def _factor_form(self):
        """``(user_vectors, item_vectors)`` with ``score = user_vectors @ item_vectors.T``, or
        None for models whose scores are not a plain inner product."""
        return None

    # -- persistence (no pickle: JSON + npz) -------------------------------------------------
    def _get_state(self) -> dict:
        return {}

    def _set_state(self, state: dict) -> None:
        pass

    def candidate_indexes(self) -> dict:
        """``{name: VectorIndex}`` the model lists wide catalogs through (saved with it; none here)."""
        return {}

    def attach_candidate_indexes(self, folder) -> None:
        """Use the indexes :meth:`candidate_indexes` saved in ``folder`` (sub-folders by name)."""

    def get_state(self) -> dict:
        """The learned arrays, by name (what :meth:`save` writes to ``state.npz``)."""
        self._check_fitted()
        return self._get_state()

    def save(self, path):
        """Write the fitted model to folder ``path`` atomically (JSON + ``.npz``, no pickle)."""
        self._check_fitted()
        return save_model(self, path)

    @staticmethod
    def load(path) -> "Recommender":
        """Load a model saved with :meth:`save`."""
        return load_model(path)


def clone(model: Recommender) -> Recommender:
    """A new, unfitted model with the same hyper-parameters (deep-copied)."""
    return type(model)(**copy.deepcopy(model.get_params()))
