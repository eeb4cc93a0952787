"""Hold-out draws shared by the evaluation splits and the models' internal validation.

The splits in :mod:`evaluation.splits` hold out rows of interaction tables; a model that learns
settings on its own training data (the hybrid's blend) holds out entries of the user--item matrix.
Both draw from here, so one protocol means one draw.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def choose_held(values, fraction: float, rng: np.random.Generator, *, at_least: int = 0) -> np.ndarray:
    """``round(len(values) * fraction)`` (at least ``at_least``) distinct ``values``, drawn without
    replacement (items of a cold-item split, users of a cold-user split, product groups)."""
    values = np.asarray(values)
    return rng.choice(values, size=max(at_least, int(round(len(values) * fraction))), replace=False)


def random_entries(user_items: sp.csr_matrix, fraction: float, rng: np.random.Generator, *,
                   min_user_items: int = 5) -> np.ndarray:
    """Mask over ``user_items.tocoo()``'s entries: each entry of a user with at least
    ``min_user_items`` items is held out with probability ``fraction``."""
    X = user_items.tocoo()
    per_user = np.diff(user_items.indptr)[X.row]
    return (rng.random(len(X.data)) < fraction) & (per_user >= min_user_items)


def recent_entries(user_items: sp.csr_matrix, recency: sp.csr_matrix, days: float) -> np.ndarray:
    """Mask over ``user_items.tocoo()``'s entries whose latest event is in the last ``days``
    (``recency``: days since the pair's latest event + 1, aligned with ``user_items``)."""
    X, R = user_items.tocoo(), recency.tocoo()
    if not (np.array_equal(R.row, X.row) and np.array_equal(R.col, X.col)):
        raise ValueError("recency and interaction matrices do not align")
    return R.data <= days + 1.0


def item_entries(user_items: sp.csr_matrix, held_items) -> np.ndarray:
    """Mask over ``user_items.tocoo()``'s entries that belong to ``held_items``."""
    return np.isin(user_items.tocoo().col, held_items)


def split_entries(M: sp.spmatrix, held: np.ndarray, *, shift: float = 0.0):
    """``(kept, held)`` CSR matrices of ``M``'s entries by a mask over ``M.tocoo()``'s entries;
    ``shift`` is subtracted from the kept values (recency moved to a new "now")."""
    C = M.tocoo()
    kept = sp.csr_matrix((C.data[~held] - shift if shift else C.data[~held], (C.row[~held], C.col[~held])),
                         shape=C.shape)
    out = sp.csr_matrix((C.data[held], (C.row[held], C.col[held])), shape=C.shape)
    return kept, out
