"""Top-k selection over dense score blocks: the scoring loop every model's ``recommend`` runs."""

from __future__ import annotations

import os

import numpy as np
import scipy.sparse as sp


#: score blocks of at least this many cells are selected by ``torch.topk`` (about 10x faster than
#: ``numpy.argpartition`` on wide rows: 0.2 s instead of 2 s for 335 users x 100,000 items)
TORCH_TOPK_CELLS = 1 << 16


def topk(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices and values of the ``k`` largest entries of each row, best first (equal scores by index)."""
    n = scores.shape[1]
    k = min(k, n)
    if k <= 0:
        return np.zeros((len(scores), 0), np.int64), np.zeros((len(scores), 0), np.float32)
    if k < n and scores.size >= TORCH_TOPK_CELLS and scores.dtype == np.float32 and scores.flags.c_contiguous:
        import torch
        vals, part = torch.topk(torch.from_numpy(scores), k, dim=1, sorted=False)
        vals, part = vals.numpy(), part.numpy()
    else:
        part = np.argpartition(-scores, k - 1, axis=1)[:, :k] if k < n else np.tile(np.arange(n), (len(scores), 1))
        vals = np.take_along_axis(scores, part, axis=1)
    order = np.lexsort((part, -vals))
    return np.take_along_axis(part, order, axis=1), np.take_along_axis(vals, order, axis=1)


def widen(X: sp.csr_matrix, n_items: int) -> sp.csr_matrix:
    """``X`` with empty columns appended up to ``n_items`` (items added after fitting)."""
    return sp.csr_matrix((X.data, X.indices, X.indptr), shape=(X.shape[0], n_items))


def mask_pairs(scores: np.ndarray, pairs: sp.csr_matrix) -> np.ndarray:
    """Set ``scores[r, c] = -inf`` for every stored entry ``(r, c)`` of ``pairs`` (same row count); in place."""
    scores[np.repeat(np.arange(pairs.shape[0]), np.diff(pairs.indptr)), pairs.indices] = -np.inf
    return scores


def blocked_items(candidates, n_items: int) -> np.ndarray | None:
    """Mask of items outside ``candidates`` (item indices to rank among; None: all items)."""
    if candidates is None:
        return None
    blocked = np.ones(n_items, bool)
    blocked[np.asarray(candidates, np.int64)] = False
    return blocked


def list_masks(seen: sp.csr_matrix | None, exclude: sp.csr_matrix | None) -> tuple:
    """The pair masks of a list job: the seen items (None: kept) and further exclusions."""
    return tuple(M for M in (seen, exclude) if M is not None)


#: dense score cells (users x items) a block may hold: 2^25 float32 = 128 MB (1,024 users up to 32k items)
BLOCK_CELLS = 1 << 25


def block_users(n_items: int, batch_size: int | None = None) -> int:
    """Users scored at a time: ``batch_size``, or as many as keep a block within :data:`BLOCK_CELLS`
    (at most 1,024), so that memory stays bounded whatever the catalog size."""
    if batch_size is not None:
        return int(batch_size)
    return int(max(1, min(1024, BLOCK_CELLS // max(1, n_items))))


def topk_blocks(score, user_index: np.ndarray, k: int, *, n_items: int, masks=(), blocked=None,
                batch_size: int | None = None, n_jobs: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` items of users scored in blocks of ``batch_size``, in threads.

    Parameters
    ----------
    score : callable
        ``score(user_index_block) -> (len(block), n_items)`` dense scores.
    user_index : ndarray of int
    k : int
    n_items : int
    masks : sequence of scipy.sparse.csr_matrix
        ``n_users x n_items`` matrices whose stored pairs are never returned (seen items, exclusions).
    blocked : ndarray of bool, optional
        Items never returned for anyone (``True`` = blocked).
    batch_size : int, optional
        Users per block (default :func:`block_users`: bounded by the catalog size).
    n_jobs : int, optional
        Threads over blocks (default: all cores). Sparse products, partitions and BLAS release the
        GIL. The first block runs alone, since models build lazy caches (e.g. a kernel) there.

    Returns
    -------
    (ndarray of int64, ndarray of float32), shape ``(len(user_index), min(k, n_items))``;
    ``-1`` / ``-inf`` where fewer items could be returned.
    """
    k = min(k, n_items)
    batch_size = block_users(n_items, batch_size)
    out_i = np.full((len(user_index), k), -1, np.int64)
    out_s = np.full((len(user_index), k), -np.inf, np.float32)

    def block(s):
        u = user_index[s:s + batch_size]
        sc = np.asarray(score(u), dtype=np.float32)
        if blocked is not None:
            sc[:, blocked] = -np.inf
        for M in masks:
            mask_pairs(sc, M[u])
        idx, val = topk(sc, k)
        idx[~np.isfinite(val)] = -1
        out_i[s:s + len(u)], out_s[s:s + len(u)] = idx, val

    starts = list(range(0, len(user_index), batch_size))
    if not starts:
        return out_i, out_s
    block(starts[0])
    in_threads(block, starts[1:], n_jobs)
    return out_i, out_s


def in_threads(fn, items, n_jobs: int | None = None) -> None:
    """``fn(item)`` for every item, in up to ``n_jobs`` threads (default: the CPU count); for work that
    releases the GIL (NumPy, SciPy's sparse kernels, torch, faiss). Exceptions are raised here."""
    n_jobs = min(n_jobs or os.cpu_count() or 1, len(items))
    if n_jobs > 1:
        from concurrent.futures import ThreadPoolExecutor
        with ThreadPoolExecutor(n_jobs) as pool:
            list(pool.map(fn, items))
    else:
        for it in items:
            fn(it)
