"""Gallery augmentation for similar-items feeds: each catalog vector pulled towards its nearest neighbours.

Database-side augmentation (DBA, Arandjelović & Zisserman 2012; Radenović et al. 2018's weighted form): an item's
vector is replaced by the normalised sum of itself and its ``k - 1`` nearest catalog vectors, each weighted by
``max(cos, 0) ** power``. Neighbourhoods become tighter and an item's colour variants or near-duplicates move
together, so a feed over the augmented vectors returns more items of the same kind. It uses the catalog only
(no labels), costs one ``k``-nearest-neighbour search per item (through :class:`~recsys.index.VectorIndex`, so it
scales with the index), and is measured in benchmarks/RESULTS.md.
"""

from __future__ import annotations

import numpy as np

from .vector_index import VectorIndex


def augment_gallery(vectors: np.ndarray, present: np.ndarray | None = None, k: int = 5, power: float = 3.0,
                    index: VectorIndex | None = None, block: int = 4096) -> np.ndarray:
    """Augmented, L2-normalised copies of catalog ``vectors`` (rows not ``present`` are returned unchanged).

    Parameters
    ----------
    vectors : ndarray, shape (n_items, dim)
        Unit rows (cosine similarity).
    present : ndarray of bool, optional
        Items that have a vector; the others neither change nor count as neighbours.
    k : int
        Vectors summed per item, the item itself included (``k = 1`` returns a copy).
    power : float
        Neighbour weights are ``max(cos, 0) ** power``: higher trusts only the closest.
    index : VectorIndex, optional
        An index over ``vectors`` / ``present`` to find the neighbours with (default: one chosen by size).
    """
    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    if vectors.ndim != 2:
        raise ValueError(f"vectors must be a 2-d array, got shape {vectors.shape}")
    present = np.ones(len(vectors), bool) if present is None else np.asarray(present, bool)
    if len(present) != len(vectors):
        raise ValueError(f"present has {len(present)} entries for {len(vectors)} vectors")
    if int(k) != k or k < 1:
        raise ValueError(f"k (vectors summed per item, itself included) must be a whole number >= 1, got {k}")
    if not np.isfinite(power) or power < 0:
        raise ValueError(f"power must be a finite number >= 0, got {power}")
    out = vectors.copy()
    rows = np.flatnonzero(present)
    if k == 1 or len(rows) < 2:
        return out
    if index is None:
        index = VectorIndex(vectors, present)
    elif index.vectors.shape != vectors.shape or not np.array_equal(index.present, present):
        raise ValueError("the index was built over other vectors than the ones to augment")
    for s in range(0, len(rows), block):
        q = rows[s:s + block]
        nn, sc = index.search_items(q, int(k) - 1)
        w = np.where(nn >= 0, np.clip(np.nan_to_num(sc, neginf=0.0), 0.0, None) ** power, 0.0).astype(np.float32)
        acc = vectors[q].copy()  # the item itself, weight cos = 1
        for j in range(nn.shape[1]):
            acc += w[:, j:j + 1] * vectors[np.maximum(nn[:, j], 0)]
        out[q] = acc / np.maximum(np.linalg.norm(acc, axis=1, keepdims=True), 1e-12)
    return out
