"""A compact sparse encoding of the visual space for LightFM.

LightFM sums one embedding per non-zero feature, so a dense 1280-d image vector makes every
item touch 1280 feature embeddings per update (hundreds of times slower; see
``benchmarks/lightfm_dense_vs_compact.py``). Instead each item is coded by its few nearest
k-means centroids of the visual space ("visual words"), a handful of non-zeros per item.
"""

from __future__ import annotations


import numpy as np
import scipy.sparse as sp

from recsys.vectors import normalize_rows

from .item_features import ItemFeatures


class VisualCodebook:
    """k-means codebook of item vectors; items are coded by their ``n_nearest`` centroids.

    Parameters
    ----------
    n_clusters : int or None
        Number of visual words; default ``~ 2 * sqrt(n_items)`` clipped to [8, 1024].
    n_nearest : int
        Non-zeros per item.
    temperature : float
        Softmax temperature over cosine similarities to the nearest centroids.
    random_state : int
        Seed of the k-means initialisation.
    """

    def __init__(self, n_clusters: int | None = None, n_nearest: int = 3, temperature: float = 0.05,
                 random_state: int = 0):
        self.n_clusters = n_clusters
        self.n_nearest = n_nearest
        self.temperature = temperature
        self.random_state = random_state

    def _check_params(self) -> int:
        """Validate the settings; returns the k-means seed."""
        if self.n_clusters is not None and self.n_clusters < 1:
            raise ValueError(f"n_clusters must be >= 1 or None, got {self.n_clusters}")
        if self.n_nearest < 1:
            raise ValueError(f"n_nearest must be >= 1, got {self.n_nearest}")
        if not self.temperature > 0:
            raise ValueError(f"temperature must be > 0, got {self.temperature}")
        return self.random_state

    def fit(self, features: ItemFeatures) -> "VisualCodebook":
        import faiss
        random_state = self._check_params()
        x = features.vectors[features.present]
        if len(x) < 2:
            raise ValueError("need at least 2 items with visual vectors to build a visual codebook")
        k = self.n_clusters or int(np.clip(2 * np.sqrt(len(x)), 8, 1024))
        k = min(k, len(x))
        km = faiss.Kmeans(x.shape[1], k, niter=20, seed=random_state, spherical=True, verbose=False,
                          min_points_per_centroid=1, max_points_per_centroid=100000)
        km.train(np.ascontiguousarray(x))
        self.centroids_ = normalize_rows(km.centroids)
        return self

    def transform(self, features: ItemFeatures) -> sp.csr_matrix:
        """``n_items x n_clusters`` CSR; rows sum to 1; items without a vector have an empty row."""
        if not hasattr(self, "centroids_"):
            raise RuntimeError("VisualCodebook is not fitted: call fit(features) first")
        c = self.centroids_
        m = min(self.n_nearest, len(c))
        sims = features.vectors @ c.T
        top = np.argpartition(-sims, m - 1, axis=1)[:, :m]
        s = np.take_along_axis(sims, top, axis=1) / self.temperature
        w = np.exp(s - s.max(axis=1, keepdims=True))
        w /= w.sum(axis=1, keepdims=True)
        w[~features.present] = 0
        rows = np.repeat(np.arange(features.n_items), m)
        out = sp.csr_matrix((w.ravel().astype(np.float32), (rows, top.ravel())), shape=(features.n_items, len(c)))
        out.eliminate_zeros()
        return out


def lightfm_item_features(n_items: int, *blocks, identity: bool = True, weights=None) -> sp.csr_matrix:
    """Stack ``[identity | block_1 | block_2 ...]`` into one row-normalised item-feature matrix.

    Parameters
    ----------
    blocks : sparse or dense matrices with ``n_items`` rows
    identity : bool
        Include a per-item indicator (lets warm items learn their own embedding; cold items
        rely on the other blocks).
    weights : sequence of float, optional
        Relative weight of each block (after the identity, which has weight 1).
    """
    parts = [sp.identity(n_items, dtype=np.float32, format="csr")] if identity else []
    weights = weights or [1.0] * len(blocks)
    for b, w in zip(blocks, weights):
        b = sp.csr_matrix(b, dtype=np.float32)
        if b.shape[0] != n_items:
            raise ValueError(f"feature block has {b.shape[0]} rows, expected {n_items}")
        parts.append(b * np.float32(w))
    m = sp.hstack(parts, format="csr").astype(np.float32)
    s = np.asarray(m.sum(axis=1)).ravel()
    s[s == 0] = 1
    return sp.csr_matrix(sp.diags(1.0 / s) @ m, dtype=np.float32)
