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


def chunked_topk(X: np.ndarray, queries: np.ndarray, k: int, *, rows: np.ndarray | None = None, exclude=None,
                 chunk: int = 1 << 16) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-``k`` ``(positions, scores)`` by inner product of each query against ``X[rows]`` (all of
    ``X`` when ``rows`` is None), positions counted in ``rows``; ``exclude[q]``: a position to leave out
    (negative: none). ``X[rows]`` is read ``chunk`` rows at a time, never copied whole, and score blocks
    hold at most about 16 M values."""
    m = len(X) if rows is None else len(rows)
    step = max(1, min(256, (1 << 24) // max(1, min(m, chunk))))
    ids = np.full((len(queries), k), -1, np.int64)
    D = np.full((len(queries), k), -np.inf, np.float32)
    for s in range(0, len(queries), step):
        q = queries[s:s + step]
        ex = None if exclude is None else np.asarray(exclude)[s:s + step]
        best_i = best_v = None
        for c in range(0, m, chunk):
            e = min(m, c + chunk)
            Xc = X[c:e] if rows is None else X[rows[c:e]]
            exc = None if ex is None else np.where((ex >= c) & (ex < e), ex - c, -1)
            i, v = topk_rows(q @ Xc.T, k, exc)
            i = np.where(i >= 0, i + c, -1)
            if best_i is not None:  # merge with the chunks before
                i, v = np.hstack([best_i, i]), np.hstack([best_v, v])
                j, v = topk_rows(v, k)
                i = np.where(j >= 0, np.take_along_axis(i, np.maximum(j, 0), 1), -1)
            best_i, best_v = i, v
        if best_i is not None:
            ids[s:s + len(q)], D[s:s + len(q)] = best_i, best_v
    return ids, D


def exact_topk(X: np.ndarray, queries: np.ndarray, k: int, exclude=None, rows: np.ndarray | None = None) -> np.ndarray:
    """Exact top-``k`` row numbers of ``X`` (positions in ``rows`` when given) by inner product for each
    query (:func:`chunked_topk`)."""
    return chunked_topk(X, queries, k, rows=rows, exclude=exclude)[0]


def recall_at_k(found: np.ndarray, truth: np.ndarray) -> float:
    """Mean share of each query's exact top-k found by the approximate search."""
    hits = [len(set(f[f >= 0]) & set(t[t >= 0])) / max(1, (t >= 0).sum()) for f, t in zip(found, truth)]
    return float(np.mean(hits)) if hits else 1.0
