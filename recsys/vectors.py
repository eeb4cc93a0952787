"""Small array helpers shared from item features to evaluation (bottom of the tree)."""

from __future__ import annotations

import numpy as np


def normalize_rows(v: np.ndarray, *, return_norms: bool = False):
    """Rows of ``v`` scaled to unit L2 norm (float32); all-zero rows stay zero.

    With ``return_norms`` also the ``(n,)`` norms before scaling (``> 0`` marks rows with a vector).
    """
    v = np.asarray(v)
    n = np.linalg.norm(v, axis=1, keepdims=True)
    out = (v / np.maximum(n, 1e-12)).astype(np.float32)
    return (out, n[:, 0]) if return_norms else out
