"""Per-user top-k ranking metrics, vectorised.

Definitions (``rel`` = the user's test items, ``L`` = the top-k list, ``hit_i`` = 1 if the
i-th item of ``L`` is relevant):

- ``precision@k = |L ∩ rel| / k`` (k, not the list length, is the denominator)
- ``recall@k = |L ∩ rel| / |rel|`` (as RecBole and Cornac; some papers use ``min(|rel|, k)``)
- ``ndcg@k = sum_i hit_i / log2(i + 1) / IDCG``, IDCG over ``min(|rel|, k)`` ideal hits
- ``map@k = sum_i precision@i * hit_i / min(|rel|, k)`` (the Kaggle MAP@k)
- ``hitrate@k = 1 if |L ∩ rel| > 0``
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

METRICS = ("precision", "recall", "ndcg", "map", "hitrate")


def hits_matrix(lists: np.ndarray, test: sp.csr_matrix, users: np.ndarray) -> np.ndarray:
    """Boolean ``(n_users, k)``: is ``lists[u, i]`` among user ``users[u]``'s test items."""
    test = test.tocsr()
    if not test.has_sorted_indices:
        test = test.sorted_indices()
    out = np.zeros(lists.shape, dtype=bool)
    indptr, indices = test.indptr, test.indices
    # row-wise membership via a global search on (user, item) keys
    n_items = test.shape[1]
    keys = np.repeat(np.arange(test.shape[0], dtype=np.int64), np.diff(indptr)) * n_items + indices
    q = users[:, None].astype(np.int64) * n_items + np.where(lists >= 0, lists, 0)
    pos = np.searchsorted(keys, q)
    pos = np.minimum(pos, len(keys) - 1) if len(keys) else pos
    if len(keys):
        out = (keys[pos] == q) & (lists >= 0)
    return out


def ranking_metrics(lists: np.ndarray, test: sp.csr_matrix, users: np.ndarray, ks=(10,)) -> dict:
    """Per-user metric arrays ``{"recall@10": array, ...}`` for top-k lists of item indices.

    Parameters
    ----------
    lists : ndarray (n_users, >= max(ks)) of item indices, best first (-1 = empty slot)
    test : CSR (all users x items) of held-out interactions
    users : ndarray (n_users,) row of each list in ``test``
    """
    users = np.asarray(users, np.int64)
    n_rel = np.diff(test.tocsr().indptr)[users].astype(np.float64)
    if (n_rel == 0).any():
        raise ValueError("every evaluated user needs at least one test item")
    kmax = max(ks)
    if lists.shape[1] < kmax:
        raise ValueError(f"lists have {lists.shape[1]} items, need {kmax}")
    hits = hits_matrix(lists[:, :kmax], test, users).astype(np.float64)
    disc = 1.0 / np.log2(np.arange(2, kmax + 2))
    cum_hits = np.cumsum(hits, axis=1)
    prec_at_i = cum_hits / np.arange(1, kmax + 1)
    out = {}
    for k in ks:
        h = cum_hits[:, k - 1]
        ideal = np.minimum(n_rel, k).astype(int)
        idcg = np.concatenate([[0.0], np.cumsum(disc[:k])])[ideal]
        out[f"precision@{k}"] = h / k
        out[f"recall@{k}"] = h / n_rel
        out[f"ndcg@{k}"] = (hits[:, :k] @ disc[:k]) / idcg
        out[f"map@{k}"] = (prec_at_i[:, :k] * hits[:, :k]).sum(axis=1) / np.minimum(n_rel, k)
        out[f"hitrate@{k}"] = (h > 0).astype(np.float64)
    return out


def auc_per_user(scores: np.ndarray, positives: np.ndarray) -> np.ndarray:
    """Per-row AUC: the probability that a random positive outranks a random negative (ties
    count one half). ``scores`` and boolean ``positives`` are ``(n_users, n_candidates)``; rows
    without positives or without negatives get NaN."""
    from scipy.stats import rankdata
    r = rankdata(scores, axis=1)  # average ranks handle ties
    n_pos = positives.sum(axis=1)
    n_neg = positives.shape[1] - n_pos
    sum_pos = (r * positives).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        auc = (sum_pos - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
    auc[(n_pos == 0) | (n_neg == 0)] = np.nan
    return auc
