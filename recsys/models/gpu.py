"""Top-k of factor models (``score = U @ V.T``) on a CUDA GPU with torch, in user batches."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def topk_factors_torch(U: np.ndarray, V: np.ndarray, k: int, *, exclude: list | None = None,
                       blocked: np.ndarray | None = None, device: str = "cuda", batch_size: int = 16384,
                       dtype: str = "float32") -> tuple[np.ndarray, np.ndarray]:
    """Top-``k`` items of ``U @ V.T`` per row, computed with torch on ``device``.

    Parameters
    ----------
    U : ndarray (n_users, f) -- the users to rank for
    V : ndarray (n_items, f)
    exclude : list of CSR (n_users x n_items), optional -- items to leave out per user
    blocked : bool ndarray (n_items,), optional -- items left out for everyone
    dtype : "float32" or "bfloat16" (matmul precision; top-k scores are returned as float32)

    Returns
    -------
    (indices, scores) as numpy arrays of shape (n_users, k); ``-1`` / ``-inf`` for empty slots.
    """
    import torch
    dev = torch.device(device)
    tdt = {"float32": torch.float32, "bfloat16": torch.bfloat16}[dtype]
    Vt = torch.from_numpy(np.ascontiguousarray(V, dtype=np.float32)).to(dev, tdt)
    k = min(k, V.shape[0])
    bl = None if blocked is None else torch.from_numpy(np.asarray(blocked, bool)).to(dev)
    out_i = np.empty((len(U), k), np.int64)
    out_s = np.empty((len(U), k), np.float32)
    for s in range(0, len(U), batch_size):
        Ub = torch.from_numpy(np.ascontiguousarray(U[s:s + batch_size], dtype=np.float32)).to(dev, tdt)
        sc = (Ub @ Vt.T).float()
        if bl is not None:
            sc[:, bl] = -torch.inf
        for M in exclude or ():
            sub = sp.csr_matrix(M[s:s + batch_size])
            if sub.nnz:
                rows = torch.from_numpy(np.repeat(np.arange(sub.shape[0]), np.diff(sub.indptr))).to(dev)
                cols = torch.from_numpy(sub.indices.astype(np.int64)).to(dev)
                sc[rows, cols] = -torch.inf
        val, idx = torch.topk(sc, k, dim=1)
        out_i[s:s + len(Ub)] = idx.cpu().numpy()
        out_s[s:s + len(Ub)] = val.cpu().numpy()
    out_i[~np.isfinite(out_s)] = -1
    return out_i, out_s
