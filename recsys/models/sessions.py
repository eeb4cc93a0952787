"""Lists for anonymous visitors: score a history given at query time (a session's viewed or carted
items) instead of a user known to the training data -- the ``recommend_items_for`` part of every
model's interface.

Models that can do it implement ``_score_history(X, R)``: dense scores of the rows of a CSR
``histories x items`` matrix ``X`` (``R``: days since each entry's event + 1, or None). Models
whose known-user scores are a function of the user's history (EASE, item-kNN, the visual kernel,
popularity, repurchase) use that same function for known users, so a session equal to a user's
training history gets exactly that user's list. Factor models fold the session in: ALS solves
the user's least-squares problem with implicit's own solver (``recalculate_user``), BPR-trained
factor models (VBPR, LightFM) fit the user vector by Newton steps on the BPR loss with the item
side fixed; the hybrid blends its parts' session scores.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from recsys.data import UnknownIdError

from .scoring import blocked_items, list_masks, topk_blocks


class SessionScoring:
    """Mixed into :class:`recsys.models.Recommender`: lists for histories given at query time."""

    def _score_history(self, X: sp.csr_matrix, R: sp.csr_matrix | None) -> np.ndarray:
        raise NotImplementedError

    @property
    def scores_sessions(self) -> bool:
        """Capability flag: the model can rank items for a history given at query time."""
        return type(self)._score_history is not SessionScoring._score_history

    def _check_sessions(self):
        if not self.scores_sessions:
            from .registry import model_class, model_names
            able = [n for n in model_names() if _class_scores_sessions(model_class(n))]
            raise NotImplementedError(f"{type(self).__name__} cannot rank items for a session given at query "
                                      f"time; models that can: {', '.join(able)}")

    def score_history(self, X: sp.csr_matrix, R: sp.csr_matrix | None = None) -> np.ndarray:
        """Dense float32 scores ``(n_histories, n_items)`` of histories given as a CSR matrix in
        item index space (weights as in training; ``R`` optional event ages in days + 1)."""
        self._check_fitted()
        self._check_sessions()
        X = sp.csr_matrix(X, dtype=np.float32)
        if X.shape[1] != self.n_items:
            raise ValueError(f"histories have {X.shape[1]} item columns, the model has {self.n_items} items")
        return np.asarray(self._score_history(X, R), dtype=np.float32)

    def history_matrix(self, histories, *, on_unknown: str = "raise") -> tuple[sp.csr_matrix, list]:
        """``(X, unknown)``: the CSR ``histories x items`` matrix of histories given by external ids,
        and per history the ids the model does not know.

        Each history is a sequence of item ids (a repeated id adds weight 1 each time) or a
        mapping ``{item_id: weight}``. ``on_unknown``: ``"raise"`` (:class:`UnknownIdError`
        naming them) or ``"ignore"`` (left out, and returned in ``unknown``).
        """
        if on_unknown not in ("raise", "ignore"):
            raise ValueError(f"on_unknown must be 'raise' or 'ignore', got {on_unknown!r}")
        if isinstance(histories, (str, bytes)) or isinstance(histories, dict):
            raise TypeError("histories is a list of histories, one per visitor: e.g. [['item1', 'item2']]")
        rows, cols, vals, unknown = [], [], [], []
        for r, h in enumerate(histories):
            pairs = list(h.items()) if isinstance(h, dict) else [(i, 1.0) for i in h]
            if isinstance(h, (str, bytes)):
                raise TypeError(f"history {r} is a string, not a list of item ids")
            ids = [str(i) for i, _ in pairs]
            idx = self.items_.to_index(ids, missing="ignore") if ids else np.zeros(0, np.int64)
            unknown.append([i for i, j in zip(ids, idx) if j < 0])
            for (_, w), j in zip(pairs, idx):
                w = float(w)
                if not np.isfinite(w) or w <= 0:
                    raise ValueError(f"history {r}: weight {w!r} of an item must be a positive number")
                if j >= 0:
                    rows.append(r)
                    cols.append(j)
                    vals.append(w)
        bad = [i for u in unknown for i in u]
        if bad and on_unknown == "raise":
            raise UnknownIdError("item", bad, hint=f"{self.n_items} items are known")
        X = sp.csr_matrix((np.asarray(vals, np.float32), (rows, cols)), shape=(len(unknown), self.n_items))
        X.sum_duplicates()
        return X, unknown

    def recommend_history_index(self, X: sp.csr_matrix, k: int = 10, exclude_seen: bool = True, *,
                                R: sp.csr_matrix | None = None, candidates: np.ndarray | None = None,
                                exclude: sp.csr_matrix | None = None, batch_size: int | None = None,
                                n_jobs: int | None = 1) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` item indices and scores for histories in index space (``-1``/``-inf`` = no item);
        ``exclude_seen`` leaves the history's own items out. See :meth:`recommend_index`."""
        self._check_fitted()
        self._check_sessions()
        X = sp.csr_matrix(X, dtype=np.float32)
        blocked = blocked_items(candidates, self.n_items)
        masks = list_masks(X if exclude_seen else None, exclude)

        def score(rows):
            return self.score_history(X[rows], None if R is None else R[rows])

        return topk_blocks(score, np.arange(X.shape[0]), k, n_items=self.n_items, masks=masks, blocked=blocked,
                           batch_size=batch_size, n_jobs=n_jobs)

    def recommend_items_for(self, histories, k: int = 10, exclude_seen: bool = True, *, items=None,
                            exclude_items=None, on_unknown: str = "raise") -> tuple[np.ndarray, np.ndarray]:
        """Recommend ``k`` items to visitors unknown to the model, from the items of their session.

        Parameters
        ----------
        histories : sequence of (sequence of str or dict)
            One history per visitor: the item ids viewed/carted/bought in the session, or
            ``{item_id: weight}``.
        k : int
        exclude_seen : bool
            Leave the history's own items out of its list.
        items : array-like of str, optional
            Rank only these items.
        exclude_items : sequence of (sequence of str), optional
            Per history, further item ids never to show (unknown ids are ignored).
        on_unknown : {"raise", "ignore"}
            What to do with history items the model does not know.

        Returns
        -------
        item_ids : ndarray of object, shape (n_histories, k)
        scores : ndarray of float32, shape (n_histories, k)

        Raises
        ------
        NotImplementedError
            For models that cannot (the message names the models that can).
        """
        self._check_fitted()
        self._check_sessions()
        X, _ = self.history_matrix(histories, on_unknown=on_unknown)
        cand = None if items is None else self.items_.to_index(list(items))
        ex = None
        if exclude_items is not None:
            if len(exclude_items) != X.shape[0]:
                raise ValueError(f"exclude_items has {len(exclude_items)} rows for {X.shape[0]} histories")
            ex, _ = self.history_matrix([list(e) for e in exclude_items], on_unknown="ignore")
        idx, sc = self.recommend_history_index(X, k, exclude_seen, candidates=cand, exclude=ex)
        return self.items_.to_ids(idx), sc


def _class_scores_sessions(cls) -> bool:
    prop = getattr(cls, "scores_sessions", None)
    if isinstance(prop, property) and prop.fget is not SessionScoring.scores_sessions.fget:
        return True  # decided per instance (e.g. the hybrid, by its parts)
    return getattr(cls, "_score_history", None) is not SessionScoring._score_history
