"""Exact top-k, the recall of an approximate index against it, and the sample of queries it is
measured on."""

from __future__ import annotations

import numpy as np


class IndexRecallWarning(UserWarning):
    """An approximate index could not reach its recall floor at any search setting."""


def sample_queries(n: int, n_queries: int, random_state: int = 0) -> np.ndarray:
    """Row numbers of up to ``n_queries`` indexed vectors used as queries (sorted, seeded)."""
    rng = np.random.default_rng(random_state)
    return np.sort(rng.choice(n, min(n, n_queries), replace=False))


def topk_rows(S: np.ndarray, k: int, exclude=None) -> tuple[np.ndarray, np.ndarray]:
    """Columns of the ``k`` largest entries of each row of the score block ``S`` (best first),
    leaving out ``exclude[r]`` in row ``r`` (negative: none); ``-1``/``-inf`` pads short rows."""
    S = np.asarray(S, np.float32)
    n, m = S.shape
    if exclude is not None:
        ex = np.asarray(exclude)
        rows = np.flatnonzero(ex >= 0)
        S = S.copy()
        S[rows, ex[rows]] = -np.inf
    kk = min(k, m)
    ids = np.full((n, k), -1, np.int64)
    D = np.full((n, k), -np.inf, np.float32)
    if kk == 0:
        return ids, D
    part = np.argpartition(-S, kk - 1, axis=1)[:, :kk] if kk < m else np.tile(np.arange(m), (n, 1))
    vals = np.take_along_axis(S, part, 1)
    order = np.argsort(-vals, axis=1, kind="stable")
    part, vals = np.take_along_axis(part, order, 1), np.take_along_axis(vals, order, 1)
    part[~np.isfinite(vals)] = -1
    ids[:, :kk], D[:, :kk] = part, vals
    return ids, D


def exact_topk(X: np.ndarray, queries: np.ndarray, k: int, exclude=None) -> np.ndarray:
    """Exact top-``k`` row numbers of ``X`` by inner product for each query (blocks of queries
    holding at most about 64 M scores)."""
    block = max(1, min(256, 64_000_000 // max(1, len(X))))
    out = []
    for s in range(0, len(queries), block):
        ex = None if exclude is None else np.asarray(exclude)[s:s + block]
        out.append(topk_rows(queries[s:s + block] @ X.T, k, ex)[0])
    return np.vstack(out) if out else np.zeros((0, k), np.int64)


def recall_at_k(found: np.ndarray, truth: np.ndarray) -> float:
    """Mean share of each query's exact top-k found by the approximate search."""
    hits = [len(set(f[f >= 0]) & set(t[t >= 0])) / max(1, (t >= 0).sum()) for f, t in zip(found, truth)]
    return float(np.mean(hits)) if hits else 1.0
