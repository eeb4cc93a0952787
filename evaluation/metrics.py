"""Per-user top-k ranking metrics, vectorised (one row per user, arrays kept for significance tests).

Accuracy definitions (``rel`` = the user's held-out test items, ``L`` = the first ``k`` items of the
user's list, ``hit_i`` = 1 if the i-th item of ``L`` is relevant, positions ``i = 1..k``):

- ``precision@k = |L ∩ rel| / k`` -- the denominator is always ``k``, also when the list is shorter
  (missing slots count as misses; an empty list scores 0)
- ``recall@k = |L ∩ rel| / |rel|`` -- the denominator is the number of test items, as in RecBole and
  Cornac (some papers use ``min(|rel|, k)``; that variant is not computed)
- ``ndcg@k = sum_i hit_i / log2(i + 1) / IDCG@k``, with binary gains and IDCG over ``min(|rel|, k)``
  ideal hits
- ``map@k = sum_i precision@i * hit_i / min(|rel|, k)`` (the Kaggle / RecBole MAP@k; TREC-style AP as
  in ``ranx`` divides by ``|rel|`` instead -- the two agree whenever ``|rel| <= k``)
- ``mrr@k = 1 / rank of the first hit in L`` (0 when there is none)
- ``hitrate@k = 1 if |L ∩ rel| > 0 else 0``
- ``auc`` (from lists, :func:`auc_from_lists`): the probability that a random test item is ranked
  above a random non-test candidate, where listed items rank in list order above all unlisted
  candidates and unlisted candidates tie (counted one half); :func:`auc_per_user` is the same
  quantity from full score rows.

Beyond-accuracy definitions (``pop(i)`` = number of distinct training users of item ``i``,
``n_u`` = number of training users):

- catalog coverage@k (:func:`catalog_coverage`): distinct items in all top-k lists / catalog size
- intra-list diversity@k (:func:`intra_list_diversity`): mean pairwise cosine distance
  ``1 - cos(v_i, v_j)`` between the visual vectors of the listed items (items without a vector are
  left out; lists with fewer than two such items get NaN)
- novelty@k (:func:`novelty`): mean self-information ``-log2(max(pop(i), 1) / n_u)`` of the listed
  items (Zhou et al. 2010); an item never seen in training counts as seen once
- average recommendation popularity ARP@k (:func:`average_popularity`): mean ``pop(i)`` of the listed
  items (Abdollahpouri et al. 2019)
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from recsys.vectors import normalize_rows

METRICS = ("precision", "recall", "ndcg", "map", "mrr", "hitrate")


def _check_lists(lists) -> np.ndarray:
    lists = np.asarray(lists)
    if lists.ndim != 2:
        raise ValueError(f"lists must be a 2-d array (n_users, k) of item indices, got shape {lists.shape}")
    if not np.issubdtype(lists.dtype, np.integer):
        raise ValueError(f"lists must hold integer item indices (-1 = empty slot), got dtype {lists.dtype}")
    return lists


def hits_matrix(lists: np.ndarray, test: sp.csr_matrix, users: np.ndarray) -> np.ndarray:
    """Boolean ``(n_users, k)``: is ``lists[u, i]`` among user ``users[u]``'s test items.

    Negative entries (empty slots, or items unknown to ``test``) are never hits.
    """
    lists = _check_lists(lists)
    test = sp.csr_matrix(test)
    if not test.has_sorted_indices:
        test = test.sorted_indices()
    users = np.asarray(users, np.int64)
    indptr, indices = test.indptr, test.indices
    if len(indices) == 0:
        return np.zeros(lists.shape, dtype=bool)
    # membership through one global sorted search on (user, item) keys
    n_items = np.int64(test.shape[1])
    keys = np.repeat(np.arange(test.shape[0], dtype=np.int64), np.diff(indptr)) * n_items + indices
    valid = (lists >= 0) & (lists < n_items)
    q = users[:, None] * n_items + np.where(valid, lists, 0)
    pos = np.searchsorted(keys, q)
    np.minimum(pos, len(keys) - 1, out=pos)
    return (keys[pos] == q) & valid


def ranking_metrics(lists: np.ndarray, test: sp.csr_matrix, users: np.ndarray, ks=(10,), *,
                    metrics=METRICS) -> dict:
    """Per-user metric arrays ``{"recall@10": array, ...}`` for top-k lists of item indices.

    Parameters
    ----------
    lists : ndarray of int, shape (n_users, >= max(ks))
        Item indices, best first; ``-1`` marks an empty slot (a short or missing list).
    test : sparse matrix (all users x items)
        Held-out interactions; any non-zero is relevant.
    users : ndarray of int, shape (n_users,)
        Row of each list in ``test``. Every such row needs at least one test item.
    ks : iterable of int
        Cut-offs.
    metrics : iterable of str
        A subset of :data:`METRICS`.

    Returns
    -------
    dict
        ``"<metric>@<k>"`` -> float64 array of shape ``(n_users,)``.
    """
    lists, test, users, ks, n_rel = _check_ranking_args(lists, test, users, ks, metrics)
    kmax = ks[-1]
    hits = hits_matrix(lists[:, :kmax], test, users)
    hf = hits.astype(np.float64)
    disc = 1.0 / np.log2(np.arange(2, kmax + 2))
    cum_hits = np.cumsum(hits, axis=1, dtype=np.float64)
    need_map = "map" in metrics
    ap_terms = np.cumsum(hf * (cum_hits / np.arange(1, kmax + 1)), axis=1) if need_map else None
    need_ndcg = "ndcg" in metrics
    dcg = np.cumsum(hf * disc, axis=1) if need_ndcg else None
    idcg_tab = np.concatenate([[0.0], np.cumsum(disc)])
    if "mrr" in metrics:
        any_hit = hits.any(axis=1)
        first = np.where(any_hit, hits.argmax(axis=1), kmax)  # 0-based rank of the first hit
        rr = np.where(any_hit, 1.0 / (first + 1.0), 0.0)
    out = {}
    for k in ks:
        h = cum_hits[:, k - 1]
        ideal = np.minimum(n_rel, k)
        for m in metrics:
            if m == "precision":
                v = h / k
            elif m == "recall":
                v = h / n_rel
            elif m == "ndcg":
                v = dcg[:, k - 1] / idcg_tab[ideal.astype(np.int64)]
            elif m == "map":
                v = ap_terms[:, k - 1] / ideal
            elif m == "mrr":
                v = np.where(first < k, rr, 0.0)
            else:  # hitrate
                v = (h > 0).astype(np.float64)
            out[f"{m}@{k}"] = v
    return out


def _check_ranking_args(lists, test, users, ks, metrics):
    """The arguments of :func:`ranking_metrics` checked and converted, with each user's number of test items."""
    lists = _check_lists(lists)
    users = np.asarray(users, np.int64)
    if len(users) != len(lists):
        raise ValueError(f"{len(lists)} lists but {len(users)} users")
    unknown = set(metrics) - set(METRICS)
    if unknown:
        raise ValueError(f"unknown metric(s) {sorted(unknown)}; known: {list(METRICS)}")
    ks = sorted({int(k) for k in ks})
    if not ks or ks[0] < 1:
        raise ValueError(f"cut-offs must be positive integers, got {ks}")
    test = sp.csr_matrix(test)
    n_rel = np.diff(test.indptr)[users].astype(np.float64)
    if (n_rel == 0).any():
        bad = users[n_rel == 0][:5].tolist()
        raise ValueError(f"every evaluated user needs at least one test item; rows {bad} have none")
    if lists.shape[1] < ks[-1]:
        raise ValueError(f"lists have {lists.shape[1]} items, need {ks[-1]} (pad short lists with -1)")
    return lists, test, users, ks, n_rel


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


def auc_from_lists(lists: np.ndarray, test: sp.csr_matrix, users: np.ndarray,
                   n_candidates) -> np.ndarray:
    """Per-user AUC of a ranked list against all candidates (see the module docstring).

    Listed items rank above every unlisted candidate in list order; unlisted candidates tie
    among themselves (a pair of tied items counts one half). Listed items that are not test
    items are negatives.

    Parameters
    ----------
    lists : ndarray of int (n_users, L), ``-1`` = empty slot
    test : sparse matrix (all users x items)
    users : ndarray of int (n_users,)
    n_candidates : int or ndarray (n_users,)
        Number of items each user could have been recommended (e.g. catalog size minus the
        user's training items). Clipped below at ``|rel| + listed negatives``.

    Returns
    -------
    ndarray of float64 (n_users,); NaN where a user has no test item or no negative.
    """
    lists = _check_lists(lists)
    users = np.asarray(users, np.int64)
    test = sp.csr_matrix(test)
    n_rel = np.diff(test.indptr)[users].astype(np.float64)
    hits = hits_matrix(lists, test, users)
    listed = lists >= 0
    neg_listed = (listed & ~hits).sum(axis=1).astype(np.float64)
    n_neg = np.maximum(np.broadcast_to(np.asarray(n_candidates, np.float64), n_rel.shape) - n_rel, neg_listed)
    neg_unlisted = n_neg - neg_listed
    # a listed positive at a position with j listed negatives above it beats n_neg - j negatives
    neg_above = np.cumsum(listed & ~hits, axis=1, dtype=np.float64)
    won_listed = np.where(hits, n_neg[:, None] - neg_above, 0.0).sum(axis=1)
    pos_unlisted = n_rel - hits.sum(axis=1)
    won = won_listed + 0.5 * pos_unlisted * neg_unlisted
    with np.errstate(invalid="ignore", divide="ignore"):
        auc = won / (n_rel * n_neg)
    auc[(n_rel == 0) | (n_neg <= 0)] = np.nan
    return auc


def catalog_coverage(lists: np.ndarray, n_items: int, k: int | None = None) -> float:
    """Share of the ``n_items`` catalog items that appear in at least one top-``k`` list."""
    lists = _check_lists(lists)
    top = lists[:, :k] if k else lists
    top = top[(top >= 0) & (top < n_items)]
    return float(len(np.unique(top)) / n_items) if n_items else 0.0


def _membership(lists: np.ndarray, n_items: int, k: int | None) -> sp.csr_matrix:
    """Sparse 0/1 ``(n_users, n_items)`` of the items in each top-``k`` list (-1 slots dropped)."""
    top = lists[:, :k] if k else lists
    r, c = np.nonzero((top >= 0) & (top < n_items))
    m = sp.csr_matrix((np.ones(len(r), np.float32), (r, top[r, c])), shape=(len(top), n_items))
    m.data[:] = 1.0  # a repeated item counts once
    return m


def intra_list_diversity(lists: np.ndarray, vectors: np.ndarray, k: int | None = None,
                         present: np.ndarray | None = None) -> np.ndarray:
    """Per-user mean pairwise cosine distance of the listed items' vectors.

    Uses ``sum_{i != j} cos(v_i, v_j) = ||sum_i v_i||^2 - n`` for unit vectors, so the cost is one
    sparse product instead of ``k^2`` pairs per user.

    Parameters
    ----------
    lists : ndarray of int (n_users, L)
    vectors : ndarray (n_items, d)
        Item vectors (normalised here); rows with ``present=False`` or zero norm are left out.
    k : int, optional
        Use the first ``k`` items of each list.
    present : ndarray of bool (n_items,), optional
    """
    lists = _check_lists(lists)
    unit, norms = normalize_rows(np.asarray(vectors, dtype=np.float32), return_norms=True)
    ok = norms > 0
    if present is not None:
        ok &= np.asarray(present, bool)
    v = np.where(ok[:, None], unit, 0).astype(np.float32)
    m = _membership(lists, len(v), k)
    m = m @ sp.diags(ok.astype(np.float32))
    m.eliminate_zeros()
    n = np.diff(m.indptr).astype(np.float64)
    sq = np.empty(len(n))
    step = max(1, 8_000_000 // max(v.shape[1], 1))  # bounds the dense (users x dim) block
    for a in range(0, len(n), step):
        s = m[a:a + step] @ v
        sq[a:a + step] = np.einsum("ij,ij->i", s, s, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_cos = (sq - n) / (n * (n - 1))
    out = 1.0 - mean_cos
    out[n < 2] = np.nan
    return out


def _per_user_mean(lists: np.ndarray, values: np.ndarray, k: int | None) -> np.ndarray:
    top = lists[:, :k] if k else lists
    ok = (top >= 0) & (top < len(values))
    x = np.where(ok, values[np.where(ok, top, 0)], 0.0)
    n = ok.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = x.sum(axis=1) / n
    out[n == 0] = np.nan
    return out


def novelty(lists: np.ndarray, item_counts: np.ndarray, n_train_users: int, k: int | None = None) -> np.ndarray:
    """Per-user mean self-information ``-log2(max(pop(i), 1) / n_train_users)`` of the listed items
    (NaN for an empty list)."""
    pop = np.maximum(np.asarray(item_counts, np.float64), 1.0)
    info = -np.log2(np.minimum(pop / max(n_train_users, 1), 1.0))
    return _per_user_mean(_check_lists(lists), info, k)


def average_popularity(lists: np.ndarray, item_counts: np.ndarray, k: int | None = None) -> np.ndarray:
    """Per-user mean training popularity (distinct users) of the listed items (NaN for an empty list)."""
    return _per_user_mean(_check_lists(lists), np.asarray(item_counts, np.float64), k)
