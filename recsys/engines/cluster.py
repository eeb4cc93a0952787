"""Ray for the distributed engines: attach to a cluster or start a local one, size the actor pool,
and run a Ray Data job whose rows are handled by stateful actors.

``RAY_ADDRESS`` set: attach to that cluster (the visrec package and the files a job reads and writes
must be reachable from its nodes); else a local Ray is started for the job and shut down after it.
A Ray already initialised by the caller (e.g. a test fixture) is used as it is and left running.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

#: what to do when Ray is missing
INSTALL_HINT = "the Ray engine needs Ray: pip install 'visrec[ray]' (or pip install 'ray[data]')"


def import_ray():
    """The ``ray`` module with Ray Data, or ImportError saying how to install it."""
    try:
        import ray
        import ray.data  # noqa: F401  (Ray Data is the ``data`` extra of ray)
    except ImportError as e:
        raise ImportError(f"{INSTALL_HINT} ({e})") from None
    return ray


@contextmanager
def ray_session(num_cpus: int | None = None):
    """Ray for the length of a job.

    Parameters
    ----------
    num_cpus : int, optional
        CPUs of a local Ray started here (default: all cores); ignored when attaching.

    Yields
    ------
    module
        ``ray``, initialised: as the caller left it, attached to ``$RAY_ADDRESS``, or a local
        instance without dashboard that is shut down when the block ends.
    """
    ray = import_ray()
    if ray.is_initialized():
        yield ray
        return
    address = os.environ.get("RAY_ADDRESS")
    kwargs = {"address": address} if address else {"num_cpus": num_cpus, "include_dashboard": False}
    ray.init(logging_level=logging.WARNING, **kwargs)
    try:
        yield ray
    finally:
        ray.shutdown()


@dataclass(frozen=True)
class ActorPlan:
    """A pool of ``size`` actors, each holding ``num_cpus`` CPUs and ``num_gpus`` GPUs."""

    size: int
    num_cpus: float
    num_gpus: float

    def describe(self) -> str:
        gpus = f", {self.num_gpus:g} GPU" if self.num_gpus else ""
        return f"{self.size} Ray actor(s) of {self.num_cpus:g} CPU{gpus}"


def plan_actors(ray, workers: int | None = None, *, gpu: bool = False) -> ActorPlan:
    """The actor pool of a job on the cluster ``ray`` is attached to.

    Parameters
    ----------
    ray : module
    workers : int, optional
        Actors wanted (default: one per GPU with ``gpu``, else one per CPU).
    gpu : bool
        One GPU per actor (and the cluster's CPUs shared among them); ValueError when the cluster
        has no GPU.
    """
    res = ray.cluster_resources()
    cpus = max(1, int(res.get("CPU", 1)))
    if gpu:
        gpus = int(res.get("GPU", 0))
        if gpus < 1:
            raise ValueError("a GPU was asked for, but the Ray cluster has none; use --device cpu")
        size = workers or gpus
        return ActorPlan(size, max(1, cpus // max(size, 1)), 1)
    size = workers or cpus
    return ActorPlan(size, 1 if size <= cpus else cpus / size, 0)


def cluster_has_gpu(ray) -> bool:
    """Whether the cluster ``ray`` is attached to offers at least one GPU."""
    return ray.cluster_resources().get("GPU", 0) >= 1


def run_actors(ray, rows: list[dict], actor_cls: type, ctor_args: tuple, plan: ActorPlan) -> Iterator[dict]:
    """Hand each of ``rows`` to one call of a pool of ``actor_cls`` actors and yield what they return.

    A Ray Data job: one block per row, ``map_batches`` with one row per call over an actor pool of
    ``plan`` (each actor built once with ``actor_cls(*ctor_args)``), consumed as a stream, so the
    driver holds only the small rows the actors return.
    """
    if not rows:
        return
    import ray.data
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False  # the engines print a line per part instead
    logging.getLogger("ray.data").setLevel(logging.WARNING)
    logging.getLogger("ray.data._internal.progress").setLevel(logging.ERROR)  # "progress bars disabled"
    ds = ray.data.from_items(rows, override_num_blocks=len(rows))
    ds = ds.map_batches(actor_cls, batch_size=1, compute=ray.data.ActorPoolStrategy(size=min(plan.size, len(rows))),
                        num_cpus=plan.num_cpus, num_gpus=plan.num_gpus or None, fn_constructor_args=ctor_args)
    yield from ds.iter_rows()
