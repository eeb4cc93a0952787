"""Similar items for the service: visual neighbours (cosine of the image vectors) and the hybrid
feed, visual cosine plus co-interaction cosine (items bought or viewed by the same people), with
filters applied as a mask -- nothing is rebuilt when stock or visibility changes."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from recsys.models import topk


class CoInteractions:
    """Item--item cosine of co-interaction counts, computed per query from the training matrix."""

    def __init__(self, user_items: sp.csr_matrix):
        X = sp.csr_matrix(user_items, dtype=np.float32, copy=True)
        X.data[:] = 1.0
        self.by_user = X
        self.by_item = X.tocsc()
        self.counts = np.asarray(X.sum(axis=0)).ravel().astype(np.float32)

    def widen(self, n_items: int) -> "CoInteractions":
        """The same interactions over a catalog grown to ``n_items`` (new items have none)."""
        X = sp.csr_matrix((self.by_user.data, self.by_user.indices, self.by_user.indptr),
                          shape=(self.by_user.shape[0], n_items))
        return CoInteractions(X)

    def cosine(self, item: int) -> np.ndarray:
        n = self.by_user.shape[1]
        if item >= self.by_item.shape[1] or self.counts[item] == 0:
            return np.zeros(n, np.float32)
        users = self.by_item.indices[self.by_item.indptr[item]:self.by_item.indptr[item + 1]]
        c = np.asarray(self.by_user[users].sum(axis=0)).ravel().astype(np.float32)
        return c / np.sqrt(np.maximum(self.counts * self.counts[item], 1e-12))


def neighbour_scores(item: int, mode: str, vectors: np.ndarray | None, present: np.ndarray | None,
                     co: CoInteractions) -> np.ndarray:
    """Scores of every item as a neighbour of ``item`` (``-inf``: cannot be one)."""
    n = co.by_user.shape[1]
    if vectors is not None and present[item]:
        s = vectors @ vectors[item]
        s[~present] = -np.inf
    else:
        s = np.full(n, -np.inf, np.float32) if mode == "visual" else np.zeros(n, np.float32)
    if mode == "hybrid":
        c = co.cosine(item)
        s = np.where(np.isfinite(s), s, 0.0) + c
        if vectors is None or not present[item]:  # no picture: only co-interacted items are neighbours
            s[c == 0] = -np.inf
        elif vectors is not None:
            s[~present & (c == 0)] = -np.inf
    s = s.astype(np.float32)
    s[item] = -np.inf
    return s


def top_allowed(scores: np.ndarray, allowed: np.ndarray | None, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` indices and scores of one score row among ``allowed`` items, best first (finite only)."""
    if allowed is not None:
        scores = np.where(allowed, scores, -np.inf)
    idx, sc = topk(scores[None, :], k)
    keep = np.isfinite(sc[0])
    return idx[0][keep], sc[0][keep]


def filter_cached(idx: np.ndarray, sc: np.ndarray, allowed: np.ndarray | None, k: int, complete: bool):
    """Entries of a cached top list that pass ``allowed``: ``(idx, sc)`` if they answer a top-``k``
    query exactly (enough left, or the list held every candidate), else None."""
    if allowed is not None:
        keep = allowed[idx]
        idx, sc = idx[keep], sc[keep]
    if len(idx) >= k or complete:
        return idx[:k], sc[:k]
    return None
