"""What a model measures on its own held-out training data (the hybrid's blend search)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def mean_ndcg(lists: np.ndarray, truth: sp.csr_matrix, users: np.ndarray, k: int = 10) -> float:
    """Mean binary-gain NDCG@k of top-k lists (item indices, -1 = empty) against the rows
    ``users`` of ``truth``; every such row needs a held-out item. The same definition as
    ``evaluation.metrics.ranking_metrics``' ``ndcg@k`` (a parity test keeps them equal)."""
    lists = np.asarray(lists)[:, :k]
    rows = truth[np.asarray(users, np.int64)]
    hit = np.zeros(lists.shape, bool)
    for r in range(len(lists)):
        hit[r] = np.isin(lists[r], rows.indices[rows.indptr[r]:rows.indptr[r + 1]]) & (lists[r] >= 0)
    disc = 1.0 / np.log2(np.arange(2, k + 2))
    dcg = np.cumsum(hit.astype(np.float64) * disc, axis=1)[:, k - 1]
    ideal = np.concatenate([[0.0], np.cumsum(disc)])[np.minimum(np.diff(rows.indptr), k)]
    return float((dcg / ideal).mean())
