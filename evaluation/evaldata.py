"""The data a comparison is scored on (:class:`EvalData`: test users, their test and training items,
item popularity and vectors, on dense indices) and recommendation lists encoded onto it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recsys.data import Catalog, DataError, Dataset
from recsys.io.lists import RecommendationFile


class FeatureTable(NamedTuple):
    """Item vectors keyed by item id (as stored by ``visrec embed``)."""

    item_ids: np.ndarray
    vectors: np.ndarray
    present: np.ndarray


class TrainingPart(NamedTuple):
    """What the training interactions contribute to an :class:`EvalData`."""

    history: sp.csr_matrix
    item_counts: np.ndarray
    n_train_users: int


@dataclass
class EvalData:
    """Everything the comparison needs, on dense indices.

    Attributes
    ----------
    user_ids : ndarray of str (n_users,)
        The evaluated (test) users, in row order.
    item_ids : ndarray of str (n_items,)
        The item universe (the catalog, or every item seen in train, test and the lists).
    test : csr_matrix (n_users, n_items)
    history : csr_matrix (n_users, n_items) or None
        Training interactions of the evaluated users (None without training data).
    item_counts : ndarray (n_items,) or None
        Distinct training users per item.
    n_train_users : int
    image_paths : list or None
        Image path per item (None entries for items without an image).
    vectors, present : ndarray or None
        Visual vectors per item (for intra-list diversity).
    notes : list of str
    description : dict
        Sizes of the test (and training) data, written to ``metrics.json``.
    """

    user_ids: np.ndarray
    item_ids: np.ndarray
    test: sp.csr_matrix
    history: sp.csr_matrix | None = None
    item_counts: np.ndarray | None = None
    n_train_users: int = 0
    image_paths: list | None = None
    vectors: np.ndarray | None = None
    present: np.ndarray | None = None
    notes: list = field(default_factory=list)
    description: dict = field(default_factory=dict)

    @property
    def n_users(self) -> int:
        return len(self.user_ids)

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    @classmethod
    def from_interactions(cls, test, train=None, *, catalog=None, features=None, extra_items=()) -> "EvalData":
        """Build from :class:`recsys.data.Interactions` tables.

        Parameters
        ----------
        test, train : Interactions
        catalog : Catalog, optional
            Defines the item universe (and thumbnails); without it the universe is every item in
            ``train``, ``test`` and ``extra_items``.
        features : FeatureTable, (item_ids, vectors, present) or ItemFeatures aligned with ``catalog``, optional
        extra_items : iterable of str
            Items seen in the list files (only used without a catalog).

        Returns
        -------
        EvalData
        """
        notes = []
        universe = catalog if catalog is not None else _item_universe(test, train, extra_items)
        item_ids = universe.item_ids
        test_ds = Dataset(universe, test, on_unknown="skip")
        test_m = _test_matrix(test_ds, test, notes)
        user_ids = test_ds.users.ids
        part = _training_part(universe, train, test_ds.users, notes) if train is not None else None
        paths = catalog.image_paths() if catalog is not None else None
        vectors, present = align_features(features, item_ids) if features is not None else (None, None)
        desc = {"n_test_users": int(len(user_ids)), "n_test_interactions": int(test_m.nnz),
                "n_items": int(len(item_ids)), "item_universe": "catalog" if catalog is not None else
                "items in train, test and the lists"}
        if part is not None:
            desc["n_train_users"] = part.n_train_users
            desc["n_train_interactions"] = int(part.item_counts.sum())
        history, counts, n_train_users = part if part is not None else (None, None, 0)
        return cls(user_ids, np.asarray(item_ids, dtype=object), test_m, history, counts, n_train_users, paths,
                   vectors, present, notes, desc)


def _item_universe(test, train, extra_items) -> Catalog:
    """Items in test, train and the lists, in order of appearance."""
    parts = [test.df["item_id"].astype(str).unique()]
    if train is not None:
        parts.append(train.df["item_id"].astype(str).unique())
    parts.append(np.asarray(list(extra_items), dtype=object).astype(str))
    return Catalog.from_frame(pd.DataFrame({"item_id": pd.unique(np.concatenate(parts))}))


def _unknown_items(ds: Dataset) -> list:
    return [r for r in ds.report.skipped if r["reason"] == "item_id not in catalog"]


def _binary(m: sp.csr_matrix) -> sp.csr_matrix:
    m = m.copy()
    m.data[:] = 1
    return m


def _test_matrix(test_ds: Dataset, test, notes: list) -> sp.csr_matrix:
    """The binary test matrix; notes on dropped interactions and users are appended to ``notes``."""
    bad = _unknown_items(test_ds)
    if bad:
        notes.append(f"{len(bad)} test interaction(s) name items not in the catalog and were dropped (first: "
                     f"{test.source} line {bad[0]['row']}, item {bad[0]['value']!r})")
    n_dropped_users = test.df["user_id"].nunique() - len(test_ds.users.ids)
    if n_dropped_users:
        notes.append(f"{n_dropped_users} test user(s) have no test item in the catalog and are not evaluated")
    return _binary(test_ds.matrix())


def _training_part(universe, train, test_users, notes: list) -> TrainingPart:
    """History of the test users, item popularity and the number of training users."""
    train_ds = Dataset(universe, train, on_unknown="skip")
    bad = _unknown_items(train_ds)
    if bad:
        notes.append(f"{len(bad)} training interaction(s) name items not in the catalog and were ignored "
                     f"(first: item {bad[0]['value']!r})")
    counts = train_ds.item_counts()
    n_train_users = int(train.df["user_id"].nunique())
    history = _binary(Dataset(universe, train, users=test_users, on_unknown="skip").matrix())
    return TrainingPart(history, counts, n_train_users)


def align_features(features, item_ids) -> tuple[np.ndarray, np.ndarray]:
    """Item vectors aligned with ``item_ids``.

    Parameters
    ----------
    features : FeatureTable, (item_ids, vectors, present) or ItemFeatures
        A tuple is matched on its item ids (items it lacks get a zero vector and ``present=False``);
        an ``ItemFeatures`` must already be in the order of ``item_ids``.
    item_ids : array-like of str

    Returns
    -------
    vectors : ndarray (n_items, d)
    present : ndarray of bool (n_items,)
    """
    if isinstance(features, tuple):
        ids, vec, pres = features
        pos = pd.Index(np.asarray(ids).astype(str)).get_indexer(np.asarray(item_ids).astype(str))
        vec = np.asarray(vec, np.float32)
        out = np.zeros((len(item_ids), vec.shape[1]), np.float32)
        ok = pos >= 0
        out[ok] = vec[pos[ok]]
        p = np.zeros(len(item_ids), bool)
        p[ok] = np.asarray(pres, bool)[pos[ok]]
        return out, p
    vec, pres = features.vectors, features.present
    if len(vec) != len(item_ids):
        raise ValueError(f"features have {len(vec)} rows but there are {len(item_ids)} items")
    return vec, pres


def load_features_npz(path) -> FeatureTable:
    """Item vectors from an ``.npz`` written by ``visrec embed``.

    Parameters
    ----------
    path : str or Path

    Returns
    -------
    FeatureTable
        ``(item_ids, vectors, present)``; ``present`` is all True when the file has none.
    """
    with np.load(path, allow_pickle=False) as z:
        if "item_ids" not in z.files or "vectors" not in z.files:
            raise DataError(f"{path}: expected arrays 'item_ids' and 'vectors' (as written by `visrec embed`), "
                            f"found {z.files}")
        vec = z["vectors"]
        present = z["present"] if "present" in z.files else np.ones(len(vec), bool)
        return FeatureTable(z["item_ids"].astype(str), vec, present)


def encode_lists(rec: RecommendationFile, data: EvalData, kmax: int) -> tuple[np.ndarray, dict]:
    """Encode a list file on ``data``'s users and items.

    Parameters
    ----------
    rec : RecommendationFile
    data : EvalData
    kmax : int
        Minimum width of the encoded lists.

    Returns
    -------
    lists : ndarray of int (n_users, L)
        ``L = max(kmax, longest list)``; slots past a list's end are -1, and so are items unknown
        to the item universe. Test users absent from the file get an all -1 (empty) list.
    stats : dict
        Users of the file missing from / not in the test set, unknown items, dropped duplicates,
        short lists (with a few examples).
    """
    upos = pd.Index(data.user_ids).get_indexer(pd.Index(rec.users, dtype=object))
    lengths = np.fromiter((len(x) for x in rec.items), np.int64, len(rec.items))
    L = max(int(kmax), int(lengths.max()) if len(lengths) else 0)
    lists = np.full((data.n_users, L), -1, np.int64)
    flat = np.concatenate([np.asarray(x, dtype=object) for x in rec.items]) if len(rec.items) else np.array([], object)
    idx = pd.Index(data.item_ids).get_indexer(pd.Index(flat, dtype=object)) if len(flat) else np.array([], np.int64)
    row = np.repeat(upos, lengths)
    col = np.concatenate([np.arange(n) for n in lengths]) if len(lengths) else np.array([], np.int64)
    ok = row >= 0
    lists[row[ok], col[ok]] = idx[ok]
    unknown_items = (idx < 0) & ok
    not_test = [u for u, p in zip(rec.users, upos) if p < 0]
    covered = np.zeros(data.n_users, bool)
    covered[upos[upos >= 0]] = True
    short = int(((lengths < kmax) & (upos >= 0)).sum())
    stats = {"path": rec.path, "n_users_in_file": len(rec.users), "n_test_users_missing": int((~covered).sum()),
             "n_users_not_in_test": len(not_test), "examples_users_not_in_test": not_test[:5],
             "n_unknown_items": int(unknown_items.sum()),
             "examples_unknown_items": pd.unique(flat[unknown_items])[:5].tolist(),
             "n_duplicate_items_dropped": int(rec.n_duplicate_items), "n_lists_shorter_than_k": short,
             "max_list_length": int(lengths.max()) if len(lengths) else 0}
    return lists, stats
