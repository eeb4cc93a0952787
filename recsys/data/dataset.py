"""Catalog + interactions encoded on dense indices (cf. LightFM's ``Dataset``)."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import scipy.sparse as sp

from .errors import DataError, ValidationReport
from .idmap import IdMap
from .tables import Catalog, Interactions


def item_user_counts(user_items: sp.spmatrix) -> np.ndarray:
    """Number of users with an interaction per item (column non-zeros of a user--item matrix)."""
    return np.asarray(user_items.getnnz(axis=0))


class Dataset:
    """Users and items on dense indices, and the user--item matrix.

    Every catalog item gets an index, also items with no interactions (cold items that have
    only a photo). Users are those that appear in ``interactions`` (or ``users`` if given).

    Parameters
    ----------
    catalog : Catalog
    interactions : Interactions
    users : IdMap, optional
        Reuse an existing user mapping (e.g. to encode a test split like the train split);
        interactions of users outside it are dropped and reported.
    on_unknown : {"raise", "skip"}
        What to do with interactions whose item is not in the catalog.
    """

    def __init__(self, catalog: Catalog, interactions: Interactions, *, users: IdMap | None = None,
                 on_unknown: str = "raise"):
        self.catalog = catalog
        self.items = IdMap(catalog.item_ids, kind="item")
        self.report = ValidationReport()
        df = interactions.df
        item_idx = self.items.to_index(df["item_id"].to_numpy(), missing="ignore")
        unknown = item_idx < 0
        if unknown.any():
            first = int(np.flatnonzero(unknown)[0])
            if on_unknown == "raise":
                raise DataError(
                    f"{interactions.source}: line {int(df['line'].iat[first])}: item_id "
                    f"{df['item_id'].iat[first]!r} is not in the catalog ({catalog.source}); "
                    f"{int(unknown.sum())} interaction(s) name unknown items. Add them to the catalog "
                    "or pass on_unknown='skip' to drop and report them."
                )
            for i in np.flatnonzero(unknown):
                self.report.skip(interactions.source, int(df["line"].iat[i]), "item_id not in catalog",
                                 df["item_id"].iat[i])
        if users is None:
            users = IdMap(pd.unique(df["user_id"].to_numpy()[~unknown]), kind="user")
            user_idx = users.to_index(df["user_id"].to_numpy())
        else:
            user_idx = users.to_index(df["user_id"].to_numpy(), missing="ignore")
            n_drop = int(((user_idx < 0) & ~unknown).sum())
            if n_drop:
                self.report.skip(interactions.source, None,
                                 f"{n_drop} interaction(s) of users unknown to the model dropped")
        keep = (item_idx >= 0) & (user_idx >= 0)
        self.users = users
        self.interactions = interactions.subset(keep) if not keep.all() else interactions
        self.user_index = user_idx[keep]
        self.item_index = item_idx[keep]
        self._matrix = None

    @property
    def n_users(self) -> int:
        return len(self.users)

    @property
    def n_items(self) -> int:
        return len(self.items)

    def matrix(self) -> sp.csr_matrix:
        """``n_users x n_items`` CSR of summed weights (repeat events of a pair are merged)."""
        if self._matrix is None:
            w = self.interactions.df["weight"].to_numpy(dtype=np.float32)
            m = sp.coo_matrix((w, (self.user_index, self.item_index)), shape=(self.n_users, self.n_items))
            m = m.tocsr()
            m.sum_duplicates()
            m.sort_indices()
            self._matrix = m
        return self._matrix

    def recency(self) -> sp.csr_matrix | None:
        """Days from each user--item pair's latest event to the dataset's latest event, plus one
        (so the newest pair is 1, never an implicit zero); same sparsity as :meth:`matrix`.
        None when the interactions have no timestamps."""
        if not self.interactions.has_timestamps:
            return None
        ts = self.interactions.df["timestamp"].to_numpy(dtype=np.float64)
        known = ts >= 0
        end = ts[known].max()
        age = np.where(known, (end - ts) / 86400.0, np.inf)  # events without a time count as old
        # latest event per pair: min age; csr sums duplicates, so reduce first
        key = self.user_index.astype(np.int64) * self.n_items + self.item_index
        order = np.lexsort((age, key))
        first = np.ones(len(order), bool)
        first[1:] = key[order][1:] != key[order][:-1]
        sel = order[first]
        vals = np.minimum(age[sel], 1e6).astype(np.float32) + 1.0
        m = sp.csr_matrix((vals, (self.user_index[sel], self.item_index[sel])), shape=(self.n_users, self.n_items))
        m.sort_indices()
        return m

    def with_users(self, user_ids) -> "Dataset":
        """This dataset with further users, without interactions, appended to its user map (e.g.
        new customers of a test period); no interaction is re-encoded."""
        out = copy.copy(self)
        out.users = IdMap(np.concatenate([self.users.ids, np.asarray(user_ids, dtype=self.users.ids.dtype)]),
                          kind="user")
        out._matrix = None
        return out

    def item_counts(self) -> np.ndarray:
        """Number of distinct users per item."""
        return item_user_counts(self.matrix())

    def cold_items(self) -> np.ndarray:
        """Indices of items with no interactions."""
        return np.flatnonzero(self.item_counts() == 0)

    def encode(self, interactions: Interactions) -> sp.csr_matrix:
        """Encode other interactions (e.g. a test split) on this dataset's users and items.

        Interactions of users or items unknown here are dropped.
        """
        other = Dataset(self.catalog, interactions, users=self.users, on_unknown="skip")
        return other.matrix()

    def __repr__(self) -> str:
        return (f"Dataset(users={self.n_users}, items={self.n_items}, "
                f"interactions={len(self.interactions)}, cold_items={len(self.cold_items())})")
