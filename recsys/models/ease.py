"""EASE (Steck 2019): the closed-form item-item autoencoder, a strong non-visual baseline."""

from __future__ import annotations

import os

import numpy as np
import scipy.sparse as sp

from recsys.io.npz import csr_arrays, csr_from_arrays

from .base import Recommender
from .linalg import binary, sparse_dense
from .candidates import BlockScorer, dense_columns, gather, pattern, rows_of
from .scoring import topk
from .sparse_items import first_order_scale, head_tail_weights, top_per_row


def spd_inverse(G: np.ndarray, block: int = 2048) -> np.ndarray:
    """Inverse of a symmetric positive definite float32 matrix by Cholesky (LAPACK potrf/potri), in
    ``G``'s own memory when ``G`` is a float32 C- or Fortran-ordered array (``G`` is then overwritten:
    no second ``n x n`` copy); about 4x faster than a float64 LU inverse. Falls back to
    ``numpy.linalg.inv`` in float64 when the factorisation fails."""
    from scipy.linalg import lapack
    orig = G
    A = G.T if G.flags.c_contiguous else G  # symmetric: the transpose of a C array is it, Fortran-ordered
    c, info = lapack.spotrf(A, lower=False, clean=False, overwrite_a=True)
    if info == 0:
        P, info = lapack.spotri(c, lower=False, overwrite_c=True)
        if info == 0:  # the upper triangle holds the inverse: mirror it, block by block
            n = len(P)
            for s in range(0, n, block):
                P[s:s + block, :s] = P[:s, s:s + block].T
                b = np.triu(P[s:s + block, s:s + block])
                P[s:s + block, s:s + block] = b + np.triu(b, 1).T
            return P.T if orig.flags.c_contiguous and not P.flags.c_contiguous else P
    if not np.shares_memory(c, orig):
        return np.linalg.inv(orig.astype(np.float64)).astype(np.float32)
    raise np.linalg.LinAlgError("the Gram matrix is not positive definite (raise lambda_)")


def gram(X: sp.spmatrix, block: int = 2048) -> np.ndarray:
    """Dense float32 ``X^T X``, built column block by column block (no sparse ``n x n`` product held)."""
    X = sp.csc_matrix(X, dtype=np.float32)
    Xt = X.T.tocsr()
    n = X.shape[1]
    G = np.empty((n, n), np.float32)
    for s in range(0, n, block):
        G[:, s:s + block] = (Xt @ X[:, s:s + block]).toarray()
    return G


def available_memory() -> int | None:
    """Bytes of memory available now (None where the system does not say)."""
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def exact_weights(X: sp.csr_matrix, lambda_: float) -> np.ndarray:
    """EASE's ``B`` (zero diagonal) over the columns of the binary ``X``, in one ``n x n`` float32 array."""
    n = X.shape[1]
    G = gram(X)
    G[np.diag_indices(n)] += lambda_
    P = spd_inverse(G)
    P /= -np.diag(P)[None, :].copy()
    P[np.diag_indices(n)] = 0.0
    return P


class EASERecommender(Recommender):
    """Embarrassingly Shallow Autoencoder: ``B = I - P / diag(P)``, ``P = (X^T X + lambda I)^-1``.

    Cannot rank items without interactions: the weights cover the items that have interactions
    only (``active_``), and every other item scores 0 -- exactly what EASE over the whole catalog
    gives them -- so catalog items with only a photo cost nothing.

    Up to ``max_items`` items with interactions the inverse is exact (``variant_ = "exact"``: memory
    ``8 * n^2`` bytes, time ``n^3``). Beyond, ``variant="auto"`` fits the head--tail EASE
    (``variant_ = "head-tail"``): the exact inverse over the ``max_items`` most-interacted items, and
    for every pair involving another item the first-order EASE weight ``G_ij / (G_ii + lambda)``
    (:mod:`recsys.models.sparse_items`), ``neighbours`` per item and direction, rescaled by the
    least-squares factor that matches them to the exact weights of the head. Memory then grows with
    ``max_items^2 + neighbours * n``, so catalogs of millions of items fit.

    Parameters
    ----------
    lambda_ : float
        L2 regularisation (500 is a good start for MovieLens-1M).
    max_items : int
        The most items in the exact inverse.
    variant : {"auto", "exact", "head-tail"}
        ``"exact"`` refuses more than ``max_items`` items with interactions (naming the memory needed).
    neighbours : int
        Head--tail: first-order neighbours kept per tail item.

    Attributes
    ----------
    weights_ : ndarray of shape (n_head, n_head)
        ``B`` over the exact block.
    head_ : ndarray of int
        Item indices of the exact block (all items with interactions for ``"exact"``).
    active_ : ndarray of int
        Item indices with interactions.
    tail_weights_ : csr_matrix over ``active_`` x ``active_``, or None
    tail_scale_ : float
    variant_ : str
    """

    name = "ease"
    scores_cold_items = False

    def __init__(self, lambda_: float = 500.0, max_items: int = 20000, variant: str = "auto",
                 neighbours: int = 100):
        self.lambda_ = lambda_
        self.max_items = max_items
        self.variant = variant
        self.neighbours = neighbours

    def _check_params(self):
        if self.variant not in ("auto", "exact", "head-tail"):
            raise ValueError(f"variant must be 'auto', 'exact' or 'head-tail', got {self.variant!r}")
        if self.max_items < 1 or self.neighbours < 1:
            raise ValueError(f"max_items and neighbours must be >= 1, got {self.max_items} and {self.neighbours}")
        if self.lambda_ <= 0:
            raise ValueError(f"lambda_ must be > 0, got {self.lambda_}")

    def _fit(self, user_items, features):
        X = binary(user_items)
        active = np.flatnonzero(np.diff(X.tocsc().indptr)).astype(np.int64)
        n = len(active)
        variant = self.variant if self.variant != "auto" else ("exact" if n <= self.max_items else "head-tail")
        need, avail = 8 * min(n, self.max_items) ** 2, available_memory()
        if variant == "exact" and (n > self.max_items or (avail is not None and need > avail)):
            have = f", {avail / 2**30:.1f} GB available" if avail is not None else ""
            raise ValueError(f"exact EASE needs a dense {n}x{n} inverse (about {8 * n * n / 2**30:.1f} GB{have}) for "
                             f"the {n} items with interactions (max_items={self.max_items}). Use variant='head-tail' "
                             f"(--param ease.variant=head-tail) or raise max_items if memory allows.")
        if avail is not None and need > avail:
            raise ValueError(f"EASE's exact block of {self.max_items} items needs about {need / 2**30:.1f} GB, "
                             f"{avail / 2**30:.1f} GB available: lower max_items (--param ease.max_items=N)")
        X = X[:, active]
        self.active_, self.variant_, self._head_pos = active, variant, None
        self.tail_weights_, self.tail_scale_ = None, 1.0
        if variant == "exact":
            self.weights_, self.head_ = exact_weights(X, self.lambda_), active
            return
        counts = np.asarray(X.sum(axis=0)).ravel()
        order = np.argsort(-counts, kind="stable")
        head, tail = np.sort(order[:self.max_items]), np.sort(order[self.max_items:])
        Xh = X[:, head].tocsc()
        self.weights_ = exact_weights(Xh, self.lambda_)
        rows = np.random.default_rng(0).choice(len(head), min(1000, len(head)), replace=False)
        G_rows = (Xh[:, rows].T @ Xh).toarray().astype(np.float32)
        self.tail_scale_ = first_order_scale(self.weights_[rows], G_rows, rows,
                                             counts[head[rows]].astype(np.float32) + self.lambda_)
        W = head_tail_weights(X.tocsr(), tail, self.lambda_, self.neighbours)
        W.data *= np.float32(self.tail_scale_)
        self.head_, self.tail_weights_ = active[head], W

    def _score_history(self, X, R):
        X = binary(X)
        if len(self.head_) == X.shape[1]:
            return sparse_dense(X, self.weights_)
        out = np.zeros((X.shape[0], X.shape[1]), np.float32)
        out[:, self.head_] = sparse_dense(X[:, self.head_], self.weights_)
        if self.tail_weights_ is not None:
            out[:, self.active_] += (X[:, self.active_] @ self.tail_weights_).toarray()
        return out

    # -- candidates for wide catalogs (recsys.models.candidates) --------------------------------
    def _parts_of(self, user_index):
        """``(dense scores over head_, sparse scores in item space or None)`` of the users' histories."""
        X = binary(self.user_items_[user_index])
        H = sparse_dense(X[:, self.head_], self.weights_)
        if self.tail_weights_ is None:
            return H, None
        T = (X[:, self.active_] @ self.tail_weights_).tocsr()
        return H, sp.csr_matrix((T.data, self.active_[T.indices], T.indptr), shape=(len(user_index), self.n_items))

    def _block_scorer(self, user_index):
        H, T = self._parts_of(user_index)

        def candidates(c):
            hi, _ = topk(H, min(c, H.shape[1]))
            C = pattern(self.head_[hi], self.n_items)
            if T is not None:
                C = C + top_per_row(T, c)
            C.data[:] = 1
            return C
        def columns(cols):
            out = dense_columns(T, cols) if T is not None else np.zeros((len(H), len(cols)), np.float32)
            hp = self._head_positions()[cols]
            out[:, hp >= 0] += H[:, hp[hp >= 0]]
            return out
        return BlockScorer(candidates, lambda C: self._pairs(H, T, C), columns)

    def _head_positions(self):
        """Each item's column in the exact block (-1: not in it)."""
        pos = getattr(self, "_head_pos", None)
        if pos is None or len(pos) != self.n_items:
            pos = np.full(self.n_items, -1, np.int64)
            pos[self.head_] = np.arange(len(self.head_))
            self._head_pos = pos
        return pos

    def _pairs(self, H, T, C):
        r, hp = rows_of(C), self._head_positions()[C.indices]
        out = np.zeros(len(r), np.float32)
        inh = hp >= 0
        out[inh] = H[r[inh], hp[inh]]
        if T is not None:
            out += gather(T, C)
        return out

    def _get_state(self):
        state = {"weights": self.weights_, "active": self.active_, "head": self.head_,
                 "variant": np.asarray(self.variant_), "tail_scale": np.float32(self.tail_scale_)}
        if self.tail_weights_ is not None:
            state.update(csr_arrays(self.tail_weights_, prefix="tail_"))
        return state

    def _set_state(self, state):
        self.weights_, self._head_pos = state["weights"], None
        # models saved before the active items were kept hold a full catalog x catalog matrix
        self.active_ = np.asarray(state.get("active", np.arange(len(self.weights_))), np.int64)
        self.head_ = np.asarray(state.get("head", self.active_), np.int64)
        self.variant_ = str(state["variant"]) if "variant" in state else "exact"
        self.tail_scale_ = float(state.get("tail_scale", 1.0))
        self.tail_weights_ = csr_from_arrays(state, prefix="tail_") if "tail_data" in state else None
