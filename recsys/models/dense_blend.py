"""The hybrid's dense blend: each part's scores over the whole catalog, standardised per user."""

from __future__ import annotations

import numpy as np


def zscore(s: np.ndarray) -> np.ndarray:
    s = np.asarray(s, dtype=np.float32)
    mu = s.mean(axis=1, keepdims=True)
    sd = s.std(axis=1, keepdims=True)
    s = s - mu
    s /= np.maximum(sd, 1e-6)
    return s


def part_zscores(user_index, parts, cold, history=None) -> list:
    """Per-user z-scores of each part of ``parts`` (``[(weight, model)]``; None for parts with weight 0).

    Collaborative parts cannot score items without history: their z-score on those items
    is replaced by the mean z-score of all visual parts -- those with weight 0 included --
    which place such items from their image, so a new item competes on an equal footing
    instead of sitting at the average. ``history``: ``(X, R)`` rows given at query time
    scored instead of the users ``user_index``."""
    n = len(cold)
    need_proxy = bool(cold.any()) and any(w and not m.scores_cold_items for w, m in parts)

    def z_of(m):
        if history is None:
            s = np.asarray(m.score_index(user_index), np.float32)
        else:
            w = m.n_items
            X, R = history
            s = m.score_history(X[:, :w].tocsr(), None if R is None else R[:, :w].tocsr())
        if s.shape[1] < n:  # items added later that this part cannot score
            s = np.hstack([s, np.repeat(s.mean(axis=1, keepdims=True), n - s.shape[1], axis=1)])
        return zscore(s)

    Z = [z_of(m) if w else None for w, m in parts]
    if need_proxy:
        vis = [z[:, cold] if z is not None else z_of(m)[:, cold]
               for z, (w, m) in zip(Z, parts) if m.uses_visual]
        if vis:
            proxy = sum(vis) / len(vis)
            for z, (_, m) in zip(Z, parts):
                if z is not None and not m.scores_cold_items:
                    z[:, cold] = proxy
    return Z
