"""Sparse user histories times dense item matrices: the product behind EASE and the visual kernel."""

from __future__ import annotations

import warnings
import weakref
from contextlib import contextmanager

import numpy as np
import scipy.sparse as sp

#: below this many stored entries scipy's product is as fast and avoids torch's call overhead
_TORCH_MIN_NNZ = 20_000
PRECISIONS = ("float32", "bfloat16")
_precision = ["float32"]  # process-wide, so that the scoring threads of a list job see it
_bf16_cache: dict = {}


def get_precision() -> str:
    """The precision :func:`sparse_dense` uses now (see :func:`matmul_precision`)."""
    return _precision[0]


@contextmanager
def matmul_precision(precision: str):
    """Run the :func:`sparse_dense` products inside the block in ``precision``.

    ``"bfloat16"`` multiplies dense bfloat16 copies (fp32 accumulation, bf16 result): with AMX
    or AVX512-BF16 (recent Intel/AMD CPUs) this is several times faster than the float32 sparse
    product; on MovieLens-1M recbole-811 EASE and the hybrid gave the same Recall/NDCG@10 to 3
    decimals (``benchmarks/RESULTS.md``). Process-wide: do not mix precisions across threads.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    old = _precision[0]
    _precision[0] = precision
    try:
        yield
    finally:
        _precision[0] = old


def _bf16(D: np.ndarray):
    import torch
    key = id(D)
    hit = _bf16_cache.get(key)
    if hit is not None and hit[0]() is D:
        return hit[1]
    t = torch.from_numpy(np.ascontiguousarray(D, dtype=np.float32)).to(torch.bfloat16)
    _bf16_cache[key] = (weakref.ref(D), t)
    weakref.finalize(D, _bf16_cache.pop, key, None)
    return t


def sparse_dense(X: sp.spmatrix, D: np.ndarray) -> np.ndarray:
    """``X @ D`` as a float32 array for sparse ``X`` (users x items) and dense ``D`` (items x m).

    float32: scipy's CSR x dense product runs on one core without SIMD; torch's CSR kernel (MKL
    on x86) is vectorised and multi-threaded, about twice as fast on MovieLens-1M (0.37 s vs
    0.73 s for 6,040 users x 3,883 items on 2 cores). Small products stay in scipy.
    bfloat16 (inside :func:`matmul_precision`): a dense bf16 product; ``D``'s bf16 copy is
    cached while ``D`` lives.
    """
    X = sp.csr_matrix(X, dtype=np.float32)
    if get_precision() == "bfloat16":
        import torch
        C = X.tocoo()
        Xd = torch.zeros(X.shape, dtype=torch.bfloat16)
        Xd[torch.from_numpy(C.row.astype(np.int64)), torch.from_numpy(C.col.astype(np.int64))] = \
            torch.from_numpy(C.data).to(torch.bfloat16)
        return (Xd @ _bf16(D)).float().numpy()
    D = np.ascontiguousarray(D, dtype=np.float32)
    if X.nnz < _TORCH_MIN_NNZ:
        return np.asarray(X @ D, dtype=np.float32)
    import torch
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "sparse CSR support is in beta"
        Xt = torch.sparse_csr_tensor(torch.from_numpy(X.indptr.astype(np.int64)),
                                     torch.from_numpy(X.indices.astype(np.int64)),
                                     torch.from_numpy(X.data), size=X.shape)
    return torch.sparse.mm(Xt, torch.from_numpy(D)).numpy()


def binary(X: sp.csr_matrix) -> sp.csr_matrix:
    """A float32 copy of ``X`` with every stored entry set to 1."""
    B = X.copy().astype(np.float32)
    B.data[:] = 1.0
    return B


def first_columns(M: sp.csr_matrix, n: int) -> sp.csr_matrix:
    """``M[:, :n]`` (``M`` itself when it has ``n`` columns: no copy per part)."""
    return M if M.shape[1] == n else M[:, :n].tocsr()
