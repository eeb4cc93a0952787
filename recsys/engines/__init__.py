"""Engines that run the big jobs: ``local`` (this process, streamed block by block) or ``ray`` (a Ray
cluster's actors, the optional extra ``visrec[ray]``).

- :mod:`recsys.engines.lists`: top-k lists of many users written block by block (local engine);
- :mod:`recsys.engines.ray_lists`: the same blocks scored by Ray actors, one model per actor;
- :mod:`recsys.engines.ray_embed`: catalog images embedded by Ray actors, one network per actor;
- :mod:`recsys.engines.parts`: the resumable Parquet part files both Ray jobs write;
- :mod:`recsys.engines.cluster`: attaching to (or starting) Ray and sizing actor pools.

This package sits above :mod:`features` and :mod:`recsys.models` (it drives them) and below the
command line; nothing under it is imported by the layers it drives. Ray is imported only when a
Ray job runs.
"""

#: the values of ``--engine``
ENGINES = ("local", "ray")

__all__ = ["ENGINES"]
