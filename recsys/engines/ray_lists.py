"""Top-k lists of many users on a Ray cluster: the model read once from its saved folder and put once
into the object store, blocks of users scored by actors that each build the model once, each block's
lists written as a Parquet part, then the parts streamed into the output file in user order.

A part (``part-NNNNNN.parquet``) holds one block: ``user_id`` (str), ``item_ids`` (list of str) and
``scores`` (list of float32), best first, empty slots left out. The output file is written by the
same :class:`recsys.io.lists.ListWriter` as the local engine's, from the same float32 scores, so both
engines write the same file. A rerun of the same job skips the blocks whose part is there.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from recsys.io import file_sha256
from recsys.io.lists import ListWriter
from recsys.models.persistence import MANIFEST, build_model, read_model_parts

from .cluster import plan_actors, ray_session, run_actors
from .lists import BLOCK_USERS, ListJob, blocks, score_block
from .parts import PartsFolder, digest, write_part


class BlockScorer:
    """Ray Data actor: builds the model once from the object store; each call scores blocks of users
    and writes their parts.

    Parameters
    ----------
    refs : list
        Object refs of the model's :class:`~recsys.models.persistence.ModelParts`, the user indices
        and the exclusion matrix (or None).
    job : dict
        :class:`~recsys.engines.lists.ListJob` fields, less ``exclude``.
    parts_dir : str
    """

    def __init__(self, refs: list, job: dict, parts_dir: str):
        import warnings

        import ray
        model_parts, self.users, exclude = ray.get(refs)
        # arrays from the object store are shared and read-only: scoring only reads them
        warnings.filterwarnings("ignore", message="The given NumPy array is not writable")
        self.model = build_model(model_parts)
        self.job = ListJob(**job, exclude=exclude)
        self.parts_dir = parts_dir

    def __call__(self, batch: dict) -> dict:
        done = {"block": [], "n": [], "seconds": []}
        for b, s, e in zip(batch["block"], batch["start"], batch["stop"]):
            t = time.perf_counter()
            write_part(self.parts_dir, int(b), lists_table(*score_block(self.model, self.users[s:e], self.job)))
            done["block"].append(int(b))
            done["n"].append(int(e - s))
            done["seconds"].append(time.perf_counter() - t)
        return {k: np.asarray(v) for k, v in done.items()}


def lists_table(user_ids, item_ids, scores):
    """One block's lists as a ``pyarrow.Table`` (empty slots, id None or score -inf, left out)."""
    import pyarrow as pa
    keep = (item_ids != None) & np.isfinite(scores)  # noqa: E711  (elementwise on an object array)
    offsets = pa.array(np.concatenate([[0], np.cumsum(keep.sum(axis=1))]).astype(np.int32))
    return pa.table({
        "user_id": pa.array([str(u) for u in user_ids], pa.string()),
        "item_ids": pa.ListArray.from_arrays(offsets, pa.array(item_ids[keep].tolist(), pa.string())),
        "scores": pa.ListArray.from_arrays(offsets, pa.array(scores[keep], pa.float32())),
    })


def recommend_ray(model_dir, out, job: ListJob, user_index=None, *, block_users: int = BLOCK_USERS,
                  workers: int | None = None, parts_dir=None, keep_parts: bool = False,
                  progress: bool = True, model_parts=None) -> int:
    """Write the lists of users of the saved model ``model_dir`` to ``out`` with Ray actors.

    Parameters
    ----------
    model_dir : path-like
        A folder from ``visrec train`` / :meth:`Recommender.save`; read and verified once here
        (never unpickled from disk).
    out : path-like
        ``.jsonl``, ``.csv`` or ``.parquet``, as :func:`recsys.engines.lists.write_lists` writes.
    job : ListJob
        ``device="cuda"`` gives each actor a GPU.
    user_index : ndarray of int, optional
        Dense user indices (default: every user of the model, in index order).
    block_users : int
        Users per block (one part, one actor call).
    workers : int, optional
        Actors (default: one per CPU, or per GPU with a CUDA device).
    parts_dir : path-like, optional
        Folder of the parts (default ``<out>.parts``; on storage every node reaches).
    keep_parts : bool
        Keep the parts after ``out`` is written (default: removed).
    progress : bool
    model_parts : ModelParts, optional
        ``model_dir`` already read with :func:`~recsys.models.persistence.read_model_parts`.

    Returns
    -------
    int
        Lists written.
    """
    model_dir = Path(model_dir)
    model_parts = model_parts or read_model_parts(model_dir)
    users = np.arange(len(model_parts.users), dtype=np.int64) if user_index is None else \
        np.asarray(user_index, np.int64)
    ex = job.exclude
    parts = PartsFolder(parts_dir or Path(f"{out}.parts"), {
        "job": "recommend", "model": _model_digest(model_dir), "users": digest(users), "block_users": block_users,
        "exclude": None if ex is None else digest(ex.indptr, ex.indices, np.asarray(ex.shape)), **job.describe()})
    spans = blocks(len(users), block_users)
    rows = [{"block": b, "start": s, "stop": e} for b, (s, e) in enumerate(spans)
            if not parts.finished(b, lambda t, n=e - s: t.num_rows == n, columns=["user_id"])]
    with ray_session() as ray:
        plan = plan_actors(ray, workers, gpu=job.device != "cpu")
        if progress:
            print(f"scoring {len(users)} users in {len(spans)} block(s) on {plan.describe()}: "
                  f"{len(spans) - len(rows)} already done in {parts.path}", file=sys.stderr)
        refs = [ray.put(model_parts), ray.put(users), ray.put(ex)]
        fields = {**job.describe(), "n_jobs": max(1, int(plan.num_cpus))}
        t, n = time.perf_counter(), 0
        for r in run_actors(ray, rows, BlockScorer, (refs, fields, str(parts.path.resolve())), plan):
            n += int(r["n"])
            if progress:
                print(f"  block {int(r['block'])}: {n} users scored, {n / (time.perf_counter() - t):,.0f} users/s",
                      file=sys.stderr)
        del refs
    n_lists = merge_parts(parts, len(spans), out)
    if not keep_parts:
        parts.clear()
    return n_lists


def merge_parts(parts: PartsFolder, n_parts: int, out) -> int:
    """Stream parts ``0..n_parts-1`` into the list file ``out``, one part in memory at a time."""
    with ListWriter(out) as w:
        for b in range(n_parts):
            t = parts.read(b)
            if t is None:
                raise RuntimeError(f"{parts.part(b)}: missing or unreadable after the Ray job")
            w.write(t.column("user_id").to_pylist(), t.column("item_ids").to_pylist(), t.column("scores").to_pylist())
    return w.n_lists


def _model_digest(model_dir: Path) -> str:
    """The identity of a saved model: its manifest's SHA-256 (every file's hash), else model.json's."""
    f = model_dir / MANIFEST
    return file_sha256(f if f.exists() else model_dir / "model.json")
