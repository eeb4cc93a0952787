"""New arrivals of a time split: test purchases of items without training interactions before the cut,
and how many of them each model's top-k lists hit (``new_item_recall@k``, ``new_item_hits@k``).

The unit is a distinct user--item test pair of an evaluated user (what the ranking metrics score;
repeat purchases of one article by one customer count once). ``new_item_recall@k`` is pooled over
the pairs (hits / new-arrival pairs), not a mean over users.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from .metrics import hits_matrix

#: metrics.json / table names: the test-set summary keys and the per-model metric prefixes
SUMMARY_KEYS = ("n_test_pairs", "n_new_arrival_pairs", "new_arrival_share", "n_new_arrival_items",
                "n_users_with_new_arrival")
RECALL, HITS = "new_item_recall", "new_item_hits"


def new_arrival_summary(test: sp.spmatrix, users: np.ndarray, item_counts: np.ndarray) -> dict:
    """How many of the evaluated users' test pairs are new arrivals.

    Parameters
    ----------
    test : sparse matrix (all users x items)
        Test interactions; any stored entry is a test pair.
    users : ndarray of int
        Rows of the evaluated users.
    item_counts : ndarray (n_items,)
        Training interactions (distinct users) per item; 0 = a new arrival.

    Returns
    -------
    dict
        The :data:`SUMMARY_KEYS`: test pairs, new-arrival pairs, their share (0 without test pairs),
        distinct new-arrival items and users with at least one.
    """
    t = sp.csr_matrix(test)[np.asarray(users, np.int64)]
    new = np.asarray(item_counts)[t.indices] == 0
    rows = np.repeat(np.arange(t.shape[0]), np.diff(t.indptr))
    n_new = int(new.sum())
    return {"n_test_pairs": int(t.nnz), "n_new_arrival_pairs": n_new,
            "new_arrival_share": n_new / t.nnz if t.nnz else 0.0,
            "n_new_arrival_items": int(len(np.unique(t.indices[new]))),
            "n_users_with_new_arrival": int(len(np.unique(rows[new])))}


def new_item_metrics(lists: np.ndarray, test: sp.spmatrix, users: np.ndarray, item_counts: np.ndarray,
                     k: int) -> dict:
    """Hits of the top-k lists on the new-arrival test pairs.

    Parameters
    ----------
    lists : ndarray of int (n_users, >= k)
        Item indices, best first; -1 for empty slots.
    test : sparse matrix (all users x items)
    users : ndarray of int (n_users,)
        Row of each list in ``test``.
    item_counts : ndarray (n_items,)
        Training interactions per item; 0 = a new arrival.
    k : int

    Returns
    -------
    dict
        ``new_item_recall@k``: hits / new-arrival pairs (None when there are none), and
        ``new_item_hits@k``: the number of hits.
    """
    top = np.asarray(lists)[:, :k]
    hit = hits_matrix(top, test, users)
    is_new = np.asarray(item_counts)[np.where(top >= 0, top, 0)] == 0
    n_hits = int((hit & is_new).sum())
    n_new = new_arrival_summary(test, users, item_counts)["n_new_arrival_pairs"]
    return {f"{RECALL}@{k}": n_hits / n_new if n_new else None, f"{HITS}@{k}": n_hits}


def pool_summaries(summaries: list) -> dict:
    """The :func:`new_arrival_summary` of several folds together (counts summed, share recomputed).

    Parameters
    ----------
    summaries : list of dict

    Returns
    -------
    dict
        ``n_new_arrival_items`` counts an item once per fold in which it is a new arrival.
    """
    out = {key: int(sum(s[key] for s in summaries)) for key in SUMMARY_KEYS if key != "new_arrival_share"}
    out["new_arrival_share"] = out["n_new_arrival_pairs"] / out["n_test_pairs"] if out["n_test_pairs"] else 0.0
    return {key: out[key] for key in SUMMARY_KEYS}


def pooled_recall(hits: list, n_new: list, k: int) -> dict:
    """``new_item_recall@k`` and ``new_item_hits@k`` of several folds together.

    Parameters
    ----------
    hits : list of int
        New-arrival hits per fold.
    n_new : list of int
        New-arrival test pairs per fold.
    k : int

    Returns
    -------
    dict
    """
    h, n = int(sum(hits)), int(sum(n_new))
    return {f"{RECALL}@{k}": h / n if n else None, f"{HITS}@{k}": h}


def describe(summary: dict) -> str:
    """One line on the new arrivals of a test set, e.g. for the console.

    Parameters
    ----------
    summary : dict
        From :func:`new_arrival_summary` or :func:`pool_summaries`.

    Returns
    -------
    str
    """
    return (f"new arrivals (items without training interactions before the cut): {summary['n_new_arrival_pairs']:,} "
            f"of {summary['n_test_pairs']:,} test purchases (new_arrival_share {summary['new_arrival_share']:.4f}; "
            f"{summary['n_new_arrival_items']:,} items, {summary['n_users_with_new_arrival']:,} customers)")

