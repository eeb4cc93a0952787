"""Sparse CSR matrices in ``.npz`` files (``data``, ``indices``, ``indptr``, ``shape``; no pickle)."""

from __future__ import annotations

import io

import numpy as np
import scipy.sparse as sp

from .atomic import atomic_write_bytes


def csr_arrays(X: sp.spmatrix, prefix: str = "") -> dict:
    """The arrays of a CSR matrix under ``prefix + "data"`` etc., for ``np.savez``."""
    X = sp.csr_matrix(X)
    return {f"{prefix}data": X.data, f"{prefix}indices": X.indices, f"{prefix}indptr": X.indptr,
            f"{prefix}shape": np.asarray(X.shape, np.int64)}


def csr_from_arrays(z, prefix: str = "") -> sp.csr_matrix:
    """The CSR matrix stored by :func:`csr_arrays` (``z``: a mapping such as an open ``NpzFile``)."""
    return sp.csr_matrix((z[f"{prefix}data"], z[f"{prefix}indices"], z[f"{prefix}indptr"]),
                         shape=tuple(int(s) for s in z[f"{prefix}shape"]))


def save_csr(path, X: sp.spmatrix) -> None:
    """Write ``X`` to ``path`` atomically."""
    buf = io.BytesIO()
    np.savez(buf, **csr_arrays(X))
    atomic_write_bytes(path, buf.getvalue())


def load_csr(path) -> sp.csr_matrix:
    """Read a matrix written by :func:`save_csr`."""
    with np.load(path, allow_pickle=False) as z:
        return csr_from_arrays(z)
