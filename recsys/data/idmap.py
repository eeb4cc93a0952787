"""Bidirectional mapping between external ids (strings) and dense integer indices."""

from __future__ import annotations

from typing import Iterable

import numpy as np

from .errors import UnknownIdError


class IdMap:
    """Map external ids to ``0..n-1`` and back.

    External ids are kept as strings (``"0108775015"`` keeps its leading zero).
    This is the only place in visrec where ids are translated; models work on indices.

    Parameters
    ----------
    ids : iterable of str
        Distinct ids in index order.
    kind : str
        ``"user"`` or ``"item"``; used in error messages.
    """

    def __init__(self, ids: Iterable, kind: str = "item"):
        arr = np.asarray([str(i) for i in ids], dtype=object)
        index = {}
        for i, key in enumerate(arr):
            if key in index:
                raise ValueError(f"duplicate {kind} id {key!r} at positions {index[key]} and {i}")
            index[key] = i
        self.ids = arr
        self.kind = kind
        self._index = index

    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, key) -> bool:
        return str(key) in self._index

    def __eq__(self, other) -> bool:
        return isinstance(other, IdMap) and self.kind == other.kind and np.array_equal(self.ids, other.ids)

    def to_index(self, ids, *, missing: str = "raise") -> np.ndarray:
        """Indices of ``ids``.

        Parameters
        ----------
        ids : str or array-like of str
        missing : {"raise", "ignore"}
            ``"raise"`` raises :class:`UnknownIdError` naming the unknown ids;
            ``"ignore"`` returns ``-1`` for them.
        """
        scalar = isinstance(ids, (str, int, np.integer))
        keys = [str(ids)] if scalar else [str(i) for i in ids]
        out = np.fromiter((self._index.get(k, -1) for k in keys), dtype=np.int64, count=len(keys))
        if missing == "raise" and (out < 0).any():
            unknown = [k for k, i in zip(keys, out) if i < 0]
            raise UnknownIdError(self.kind, unknown, hint=f"{len(self)} {self.kind}s are known")
        return out[0] if scalar else out

    def to_ids(self, index) -> np.ndarray:
        """External ids of dense indices (same shape as ``index``, dtype object); ``None`` where the
        index is negative (an empty slot of a top-k list)."""
        index = np.asarray(index, dtype=np.int64)
        ids = self.ids[np.maximum(index, 0)].astype(object)
        ids[index < 0] = None
        return ids

    def to_list(self) -> list[str]:
        return [str(i) for i in self.ids]

    def __repr__(self) -> str:
        return f"IdMap(kind={self.kind!r}, n={len(self)})"


def pairs_matrix(pairs, users: IdMap, items: IdMap):
    """``(len(users) x len(items) CSR matrix, n_ignored)`` marking (user, item) pairs.

    ``pairs``: ``{user_id: [item_id, ...]}`` or a table (or anything with a ``df`` table) with
    ``user_id`` and ``item_id`` columns; pairs naming an unknown id are counted in ``n_ignored``.
    """
    import scipy.sparse as sp
    if isinstance(pairs, dict):
        u = [str(k) for k, v in pairs.items() for _ in v]
        i = [str(x) for v in pairs.values() for x in v]
    else:
        df = getattr(pairs, "df", pairs)
        missing = {"user_id", "item_id"} - set(df.columns)
        if missing:
            raise ValueError(f"exclude_items needs user_id and item_id columns; missing {sorted(missing)}")
        u, i = df["user_id"].astype(str).to_numpy(), df["item_id"].astype(str).to_numpy()
    ui = users.to_index(np.asarray(u, object), missing="ignore")
    ii = items.to_index(np.asarray(i, object), missing="ignore")
    ok = (ui >= 0) & (ii >= 0)
    M = sp.csr_matrix((np.ones(int(ok.sum()), np.float32), (ui[ok], ii[ok])), shape=(len(users), len(items)))
    return M, int((~ok).sum())
