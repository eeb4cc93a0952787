"""Lists of wide catalogs from candidates: each model proposes its best items cheaply, and only those
are scored exactly -- no dense ``users x items`` block.

A model takes part through three capabilities (checked, never its name):

- ``_candidate_matrix(user_index, c)`` (optional): a CSR ``users x items`` whose entries are a few
  hundred of each user's best items with their exact scores (EASE from its exact block and sparse
  tail weights, the visual model from its nearest-image graph);
- ``_pair_scores(user_index, C)`` (optional): exact scores at the entries of a CSR pattern ``C``;
- ``_factor_form()``: ``(U, V)`` with ``score = U @ V.T`` (ALS, VBPR, LightFM): candidates come from a
  nearest-neighbour index over ``V`` (inner product), pair scores are dot products.

Anything else falls back to dense scores of the block (correct, not fast).
"""

from __future__ import annotations

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
    """Candidates of a factor model from an inner-product index over its item vectors (built once)."""

    def __init__(self, V: np.ndarray):
        from recsys.index import VectorIndex
        self.source = V  # the model's own array: a refit or grown model has another one
        self.V = np.ascontiguousarray(V, np.float32)
        self.index = VectorIndex(self.V, np.ones(len(self.V), bool))

    def candidates(self, U: np.ndarray, c: int) -> sp.csr_matrix:
        idx, sc = self.index.search(np.ascontiguousarray(U, np.float32), c)
        return pattern(idx, len(self.V), sc)


def own_answer(m, method: str, *args):
    """What model ``m``'s own ``method`` answers (None when it has none, or declines)."""
    own = getattr(m, method, None)
    return own(*args) if own is not None else None


def candidate_matrix(m, user_index: np.ndarray, c: int, cache: dict) -> sp.csr_matrix:
    """Model ``m``'s ``c`` best items per user, with their scores, as CSR (see the module doc)."""
    C = own_answer(m, "_candidate_matrix", user_index, c)
    ff = m._factor_form() if C is None else None
    if ff is not None:  # an inner-product index over the item vectors, built once per model
        fc = cache.get(id(m))
        if fc is None or fc.source is not ff[1]:
            fc = cache[id(m)] = FactorCandidates(ff[1])
        C = fc.candidates(ff[0][user_index], c)
    if C is None:
        s = m.score_index(user_index)
        idx, val = topk(s, min(c, s.shape[1]))
        C = pattern(idx, s.shape[1], val)
    return C


def factor_pairs(U: np.ndarray, V: np.ndarray, user_index: np.ndarray, C: sp.csr_matrix) -> np.ndarray:
    """``U[user] . V[item]`` at the entries of ``C``, in bounded blocks of pairs."""
    r = rows_of(C)
    out = np.empty(len(r), np.float32)
    for s in range(0, len(r), 1 << 20):
        sl = slice(s, s + (1 << 20))
        out[sl] = np.einsum("ij,ij->i", U[user_index[r[sl]]], V[C.indices[sl]])
    return out


def pair_scores(m, user_index: np.ndarray, C: sp.csr_matrix) -> np.ndarray:
    """Exact scores of model ``m`` at the entries of ``C`` (rows: ``user_index``)."""
    out = own_answer(m, "_pair_scores", user_index, C)
    ff = m._factor_form() if out is None else None
    if ff is not None:
        out = factor_pairs(ff[0], ff[1], user_index, C)
    if out is None:
        out = np.asarray(m.score_index(user_index), np.float32)[rows_of(C), C.indices]
    return out
