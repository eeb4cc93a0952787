"""Top-k lists of many users, block by block: what ``visrec recommend`` runs with ``--engine local``
and what each Ray actor runs on its blocks (:mod:`recsys.engines.ray_lists`).

Memory holds one block of users' lists at a time, whatever the number of users: a block is scored
(:meth:`recsys.models.Recommender.recommend_index`), its ids looked up and its lists appended to the
output file (:class:`recsys.io.lists.ListWriter`) before the next block starts.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass

import numpy as np

from recsys.io.lists import ListWriter

#: users per block: a block's lists are what memory holds (65,536 users x top-100 ~ 80 MB of arrays)
BLOCK_USERS = 65_536


@dataclass
class ListJob:
    """How lists are made: ``k``, whether seen items are left out, a further ``exclude`` matrix
    (users x items, or None), and the scoring ``device``, ``precision`` and threads (``n_jobs``)."""

    k: int = 10
    exclude_seen: bool = True
    exclude: object = None
    device: str = "cpu"
    precision: str = "float32"
    n_jobs: int | None = None

    def describe(self) -> dict:
        """The settings that change the lists (JSON), for a resumable job's ``meta.json``."""
        return {"k": self.k, "exclude_seen": self.exclude_seen, "device": self.device, "precision": self.precision}


def blocks(n: int, block_users: int) -> list[tuple[int, int]]:
    """``(start, stop)`` of consecutive blocks of at most ``block_users`` over ``n`` users."""
    if block_users < 1:
        raise ValueError(f"block_users must be >= 1, got {block_users}")
    return [(s, min(s + block_users, n)) for s in range(0, n, block_users)]


def score_block(model, user_index: np.ndarray, job: ListJob):
    """``(user ids, item ids, scores)`` of one block of users given by dense index.

    Returns
    -------
    user_ids : ndarray of object, shape (n,)
    item_ids : ndarray of object, shape (n, k); None in empty slots
    scores : ndarray of float32, shape (n, k); -inf in empty slots
    """
    idx, sc = model.recommend_index(user_index, job.k, job.exclude_seen, exclude=job.exclude, device=job.device,
                                    precision=job.precision, n_jobs=job.n_jobs)
    return model.users_.ids[user_index], model.items_.to_ids(idx), sc


def write_lists(model, user_index, out, job: ListJob, *, block_users: int = BLOCK_USERS,
                progress: bool = False) -> int:
    """Write the lists of users ``user_index`` (dense indices) to ``out`` block by block.

    Parameters
    ----------
    model : recsys.models.Recommender
        Fitted.
    user_index : ndarray of int
    out : path-like
        ``.jsonl``, ``.csv`` or ``.parquet`` (:class:`recsys.io.lists.ListWriter`); written atomically.
    job : ListJob
    block_users : int
        Users per block.
    progress : bool
        A line on stderr per block.

    Returns
    -------
    int
        Lists written.
    """
    user_index = np.asarray(user_index, np.int64)
    t = time.perf_counter()
    with ListWriter(out) as w:
        for s, e in blocks(len(user_index), block_users):
            w.write(*score_block(model, user_index[s:e], job))
            if progress:
                print(f"  {e}/{len(user_index)} users, {e / (time.perf_counter() - t):,.0f} users/s",
                      file=sys.stderr)
    return w.n_lists
