"""Lists of wide catalogs from candidates: each model proposes its best items cheaply, and only those
are scored exactly -- no dense ``users x items`` block.

A model takes part through its capabilities (checked, never its name):

- ``_block_scorer(user_index)`` (optional): a :class:`BlockScorer` for a block of users, whose work
  (e.g. the users' sparse scores) is done once and serves every question: ``candidates(c)``, a CSR
  ``users x items`` pattern of a few hundred of each user's best items (EASE from its exact block and
  sparse tail weights, the visual model from its nearest-image graph), ``pairs(C)``, exact scores at
  the entries of a CSR pattern ``C``, and ``columns(items)``, a dense block of scores of the same items
  for every user;
- ``_factor_form()``: ``(U, V)`` with ``score = U @ V.T`` (ALS, VBPR, LightFM): candidates come from a
  nearest-neighbour index over ``V`` (inner product), pair scores are dot products.

Anything else falls back to dense scores of the block (correct, not fast).
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np
import scipy.sparse as sp

from .scoring import topk


def rows_of(C: sp.csr_matrix) -> np.ndarray:
    """The row of each stored entry of ``C``."""
    return np.repeat(np.arange(C.shape[0]), np.diff(C.indptr))


def gather(M: sp.csr_matrix, C: sp.csr_matrix, missing: np.ndarray | float = 0.0) -> np.ndarray:
    """Values of ``M`` at the stored entries of ``C`` (same shape); ``missing`` (per row, or one value)
    where ``M`` has none."""
    M = sp.csr_matrix(M)
    M.sum_duplicates()
    n = np.int64(M.shape[1])
    keys = rows_of(M).astype(np.int64) * n + M.indices
    want = rows_of(C).astype(np.int64) * n + C.indices
    pos = np.searchsorted(keys, want)
    pos_ok = np.minimum(pos, max(len(keys) - 1, 0))
    hit = (pos < len(keys)) & (keys[pos_ok] == want) if len(keys) else np.zeros(len(want), bool)
    miss = np.broadcast_to(np.asarray(missing, np.float32), (C.shape[0],))[rows_of(C)] if np.ndim(missing) \
        else np.full(len(want), missing, np.float32)
    return np.where(hit, M.data[pos_ok] if len(keys) else 0.0, miss).astype(np.float32)


def pattern(idx: np.ndarray, n: int, values: np.ndarray | None = None) -> sp.csr_matrix:
    """CSR ``len(idx) x n`` with an entry at each ``idx[r, j] >= 0`` (data: ``values`` or 1)."""
    ok = idx >= 0
    r = np.repeat(np.arange(len(idx)), ok.sum(axis=1))
    v = values[ok] if values is not None else np.ones(int(ok.sum()), np.float32)
    M = sp.csr_matrix((v.astype(np.float32), (r, idx[ok])), shape=(len(idx), n))
    M.sum_duplicates()
    return M


class FactorCandidates:
    """Candidates of a factor model from an inner-product index over its item vectors (built once, or
    ``index``: one saved with the model and loaded for these vectors)."""

    def __init__(self, V: np.ndarray, index=None):
        from recsys.index import VectorIndex
        self.source = V  # the model's own array: a refit or grown model has another one
        self.V = np.ascontiguousarray(V, np.float32)
        self.index = index if index is not None else VectorIndex(self.V, np.ones(len(self.V), bool))

    def candidates(self, U: np.ndarray, c: int) -> sp.csr_matrix:
        idx, sc = self.index.search(np.ascontiguousarray(U, np.float32), c)
        return pattern(idx, len(self.V), sc)


#: key of ``cache`` holding ``{id(model): folder}`` of factor indexes saved with a model
SAVED = "saved-indexes"


def factor_candidates(m, cache: dict) -> FactorCandidates | None:
    """The factor index of model ``m`` (None when it has no factor form): from ``cache``, else loaded from
    the folder ``cache[SAVED]`` names for it (checked against its vectors; rebuilt with a warning when it
    does not match), else built."""
    ff = m._factor_form()
    if ff is None:
        return None
    fc = cache.get(id(m))
    if fc is None or fc.source is not ff[1]:
        index, folder = None, cache.get(SAVED, {}).pop(id(m), None)
        if folder is not None:
            import warnings

            from recsys.index import IndexFileError, VectorIndex
            try:
                index = VectorIndex.load(folder, np.ascontiguousarray(ff[1], np.float32))
            except IndexFileError as e:
                warnings.warn(f"{e}; rebuilding it", RuntimeWarning, stacklevel=2)
        fc = cache[id(m)] = FactorCandidates(ff[1], index)
    return fc


class BlockScorer(NamedTuple):
    """A block of users' scores, computed once: ``candidates(c)`` (CSR pattern of each user's ``c`` best
    items; its values are not scores), ``pairs(C)`` (scores at the entries of the CSR pattern ``C``) and
    ``columns(items)`` (dense ``users x len(items)`` scores: the same items for every user)."""

    candidates: Callable
    pairs: Callable
    columns: Callable


def dense_columns(M: sp.csr_matrix, cols: np.ndarray, fill: float = 0.0) -> np.ndarray:
    """``M[:, cols]`` as a dense float32 array, ``fill`` where ``M`` stores nothing (``M``: no duplicate
    entries, as sparse products give): one pass over ``M``'s entries, no search."""
    where = np.full(M.shape[1], -1, np.int64)
    where[cols] = np.arange(len(cols))
    j = where[M.indices]
    sel = j >= 0
    out = np.full((M.shape[0], len(cols)), fill, np.float32)
    out[rows_of(M)[sel], j[sel]] = M.data[sel]
    return out


def dense_scorer(s: np.ndarray) -> BlockScorer:
    """The scorer of a dense ``users x items`` score block."""
    def candidates(c):
        idx, val = topk(s, min(c, s.shape[1]))
        return pattern(idx, s.shape[1], val)
    return BlockScorer(candidates, lambda C: s[rows_of(C), C.indices], lambda cols: s[:, cols])


def block_scorer(m, user_index: np.ndarray, cache: dict) -> BlockScorer:
    """Model ``m``'s scorer for ``user_index`` (see the module doc); ``cache`` keeps factor indexes."""
    own = getattr(m, "_block_scorer", None)
    sc = own(user_index) if own is not None else None
    if sc is not None:
        return sc
    ff = m._factor_form()
    if ff is not None:  # candidates from an inner-product index over the item vectors, built once per model
        U, V = ff
        Ub = U[user_index]
        return BlockScorer(lambda c: factor_candidates(m, cache).candidates(Ub, c),
                           lambda C: factor_pairs(U, V, user_index, C), lambda cols: Ub @ V[cols].T)
    return dense_scorer(np.asarray(m.score_index(user_index), np.float32))


def candidate_matrix(m, user_index: np.ndarray, c: int, cache: dict) -> sp.csr_matrix:
    """Model ``m``'s ``c`` best items per user, with their scores, as CSR (see the module doc)."""
    sc = block_scorer(m, user_index, cache)
    C = sc.candidates(c)
    C.data = sc.pairs(C)
    return C


def factor_pairs(U: np.ndarray, V: np.ndarray, user_index: np.ndarray, C: sp.csr_matrix) -> np.ndarray:
    """``U[user] . V[item]`` at the entries of ``C``, in blocks of pairs small enough to stay in cache
    (2x faster than blocks of a million pairs)."""
    r = rows_of(C)
    Ub = U[user_index]
    out = np.empty(len(r), np.float32)
    for s in range(0, len(r), 1 << 14):
        sl = slice(s, s + (1 << 14))
        out[sl] = np.einsum("ij,ij->i", Ub[r[sl]], V[C.indices[sl]])
    return out


def pair_scores(m, user_index: np.ndarray, C: sp.csr_matrix) -> np.ndarray:
    """Exact scores of model ``m`` at the entries of ``C`` (rows: ``user_index``)."""
    return block_scorer(m, user_index, {}).pairs(C)


def factor_indexes(names, weights, parts, cache: dict) -> dict:
    """``{name: VectorIndex}`` of the weighted parts that propose candidates through a factor index
    (built now if not yet)."""
    out = {}
    for name, w, m in zip(names, weights, parts):
        fc = factor_candidates(m, cache) if w and getattr(m, "_block_scorer", None) is None else None
        if fc is not None:
            out[name] = fc.index
    return out


def attach_saved(names, parts, folder, cache: dict) -> None:
    """Make :func:`factor_candidates` load each part's index from ``folder / name`` (when saved there)."""
    from pathlib import Path
    cache[SAVED] = {id(m): Path(folder) / n for n, m in zip(names, parts) if (Path(folder) / n).is_dir()}

