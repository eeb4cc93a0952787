"""Segments of a comparison: user groups (light/heavy, new/returning), cold/warm test items, and the
item-popularity bins of the recommended items. Needs the training interactions."""

from __future__ import annotations

from typing import NamedTuple, TypedDict

import numpy as np
import scipy.sparse as sp

from .definitions import SEGMENTS
from .metrics import METRICS, ranking_metrics

#: labels of :func:`popularity_distribution`'s bins, most popular first
POPULARITY_BINS = ["top 1%", "1–5%", "5–20%", "20–50%", "50–100%", "cold"]
_POPULARITY_EDGES = [0.0, 0.01, 0.05, 0.2, 0.5, 1.0]


class Segment(TypedDict):
    """One segment of a comparison (a plain dict)."""

    description: str
    users: np.ndarray  # rows of the segment's users in the EvalData
    per_user: dict  # {system: {metric: ndarray (len(users),)}}


class _UserGroup(NamedTuple):
    name: str
    mask: np.ndarray
    detail: str  # appended to the segment's description


def user_segments(per_user: dict, n_hist: np.ndarray, k: int, notes: list) -> dict:
    """The user segments ``users:light/heavy/new/returning``, restricted from the all-user metrics.

    Parameters
    ----------
    per_user : {system: {metric: ndarray (n_users,)}}
        The all-user metrics; the segments keep the accuracy metrics at ``k`` and ``auc``.
    n_hist : ndarray of int (n_users,)
        Distinct training items per user.
    k : int
    notes : list of str
        Empty segments are noted here.

    Returns
    -------
    {name: Segment}
        Non-empty segments; ``users:returning`` is left out when every user is returning.
    """
    main = [f"{m}@{k}" for m in METRICS] + ["auc"]
    returning = n_hist > 0
    med = float(np.median(n_hist[returning])) if returning.any() else 0.0
    median = f" (median = {med:g} items)"
    groups = [_UserGroup("users:light", returning & (n_hist <= med), median),
              _UserGroup("users:heavy", returning & (n_hist > med), median),
              _UserGroup("users:new", ~returning, ""), _UserGroup("users:returning", returning, "")]
    out = {}
    for g in groups:
        idx = np.flatnonzero(g.mask)
        if len(idx) == 0:
            notes.append(f"segment {g.name} is empty ({SEGMENTS[g.name]}) and is omitted")
            continue
        if g.name == "users:returning" and len(idx) == len(n_hist):
            continue  # every user is returning: the segment is "all"
        out[g.name] = Segment(description=SEGMENTS[g.name] + g.detail, users=idx,
                              per_user={n: {m: d[m][idx] for m in main} for n, d in per_user.items()})
    return out


def item_segments(lists: dict, test: sp.csr_matrix, item_counts: np.ndarray, k: int, notes: list) -> dict:
    """The item segments ``items:cold`` / ``items:warm``: accuracy at ``k`` recomputed against only the
    test items without / with training interactions.

    Parameters
    ----------
    lists : {system: ndarray of int (n_users, >= k)}
    test : csr_matrix (n_users, n_items)
    item_counts : ndarray (n_items,)
        Distinct training users per item.
    k : int
    notes : list of str
        Where an empty segment is noted.

    Returns
    -------
    {name: Segment}
        Users without such test items are left out of the segment.
    """
    cold = item_counts == 0
    out = {}
    for kind, keep in (("cold", cold), ("warm", ~cold)):
        name = f"items:{kind}"
        t = (test @ sp.diags(keep.astype(np.float32))).tocsr()
        t.eliminate_zeros()
        idx = np.flatnonzero(np.diff(t.indptr) > 0)
        if len(idx) == 0:
            notes.append(f"segment {name} is empty (no test item is {kind}) and is omitted")
            continue
        out[name] = Segment(description=SEGMENTS[name], users=idx,
                            per_user={n: ranking_metrics(v[idx][:, :k], t, idx, (k,)) for n, v in lists.items()})
    return out


def popularity_distribution(lists: dict, item_counts: np.ndarray, test: sp.csr_matrix, k: int) -> dict:
    """Share of each system's top-k recommendations (and of the test items) per item-popularity bin.

    Items are ranked by training popularity (most popular first); the bins
    (:data:`POPULARITY_BINS`) are the top 1%, 1-5%, 5-20%, 20-50% and 50-100% of the
    popularity-ranked items that have training interactions, plus the items without training
    interactions (cold).

    Parameters
    ----------
    lists : {system: ndarray of int (n_users, >= k)}
    item_counts : ndarray (n_items,)
        Distinct training users per item.
    test : csr_matrix (n_users, n_items)
    k : int

    Returns
    -------
    {system or "test items": list of float}
        One share per bin, summing to 1 (all 0 for no items).
    """
    warm = np.flatnonzero(item_counts > 0)
    order = warm[np.argsort(-item_counts[warm], kind="stable")]
    edges = _POPULARITY_EDGES
    bin_of = np.full(len(item_counts), len(edges) - 1, np.int64)  # cold bin
    rank_share = (np.arange(len(order)) + 0.5) / max(len(order), 1)
    bin_of[order] = np.searchsorted(edges[1:-1], rank_share, side="right")

    def shares(items) -> list:
        h = np.bincount(bin_of[items], minlength=len(POPULARITY_BINS)).astype(float)
        return (h / max(h.sum(), 1)).tolist()

    out = {}
    for n, v in lists.items():
        top = v[:, :k]
        out[n] = shares(top[top >= 0])
    out["test items"] = shares(test.indices)
    return out
