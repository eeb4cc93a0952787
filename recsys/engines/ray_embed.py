"""Catalog images -> item vectors on a Ray cluster: shards of images embedded by actors that each
load the network once, written as resumable Parquet parts, then gathered like the local path.

The Ray Data job's rows are shards of the catalog (``shard_rows`` images: their rows, item ids and
paths); ``map_batches`` hands each to an :class:`ShardEmbedder` actor (one GPU each when the cluster
has GPUs, else one CPU), which reads, hashes, decodes and embeds the images with
:meth:`visual.ImageEmbedder.embed_paths` -- the local pipeline, so an unusable image is skipped with
the same reason -- and writes ``part-NNNNNN.parquet``::

    index (int64)  item_id (str)  path (str)  key (sha256 hex or null)  vector (float32[dim])  error (str or null)

A rerun skips the shards whose part is there for the same rows and paths. The driver then reads the
parts one by one into :class:`features.ItemFeatures` and appends the new vectors to the embedding
store (``store``), so later commands with the same ``--cache`` find them.
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np

from features.item_features import ItemFeatures, fetch_images, item_errors

from .cluster import cluster_has_gpu, plan_actors, ray_session, run_actors
from .parts import PartsFolder, write_part

#: images per shard (one Parquet part, one actor call)
SHARD_ROWS = 1024
#: :class:`visual.ImageEmbedder` arguments the actors take from ``embedder_settings``
SETTINGS = ("backbone", "weights", "batch_size", "preprocess", "input_size", "decoder", "pooling", "tta")


def embedder_settings(embedder) -> dict:
    """The settings of a :class:`visual.ImageEmbedder` to rebuild it in an actor (its ``device`` too)."""
    return {k: getattr(embedder, k) for k in (*SETTINGS, "device")}


class ShardEmbedder:
    """Ray Data actor: the network is built once; each call embeds shards and writes their parts.

    Parameters
    ----------
    settings : dict
        :class:`visual.ImageEmbedder` arguments (see :data:`SETTINGS`).
    device : str
        ``"cpu"`` or ``"cuda"``.
    parts_dir : str
        Where the Parquet parts go (an absolute path on storage all nodes reach).
    cwd : str
        The driver's working folder, which relative image paths start from.
    """

    def __init__(self, settings: dict, device: str, parts_dir: str, cwd: str):
        from visual import ImageEmbedder
        self.embedder = ImageEmbedder(**settings, device=device, progress=False)
        self.parts_dir = parts_dir
        self.cwd = cwd

    def __call__(self, batch: dict) -> dict:
        done = {"shard": [], "n": [], "n_failed": [], "seconds": []}
        for shard, index, item_ids, paths in zip(batch["shard"], batch["index"], batch["item_id"], batch["path"]):
            t = time.perf_counter()
            paths = list(paths)  # relative paths are the driver's: read them from its working folder
            res = self.embedder.embed_paths([None if p is None else os.path.join(self.cwd, p) for p in paths])
            write_part(self.parts_dir, int(shard), shard_table(index, item_ids, paths, res))
            done["shard"].append(int(shard))
            done["n"].append(len(paths))
            done["n_failed"].append(len(res.errors))
            done["seconds"].append(time.perf_counter() - t)
        return {k: np.asarray(v) for k, v in done.items()}


def shard_table(index, item_ids, paths, res):
    """One shard's embeddings (a :class:`visual.EmbeddingResult`) as a ``pyarrow.Table``."""
    import pyarrow as pa
    errors = [None] * len(paths)
    for e in res.errors:
        errors[e["index"]] = e["reason"]
    vectors = np.ascontiguousarray(res.vectors, np.float32)
    return pa.table({
        "index": pa.array(np.asarray(index, np.int64)),
        "item_id": pa.array([str(i) for i in item_ids], pa.string()),
        "path": pa.array([None if p is None else str(p) for p in paths], pa.string()),
        "key": pa.array(res.keys, pa.string()),
        "vector": pa.FixedSizeListArray.from_arrays(pa.array(vectors.ravel()), vectors.shape[1]),
        "error": pa.array(errors, pa.string()),
    })


def embed_catalog_ray(catalog, embedder_settings: dict | None = None, out_dir=None, *, store=None,
                      shard_rows: int = SHARD_ROWS, workers: int | None = None,
                      progress: bool = True) -> ItemFeatures:
    """Embed every catalog image on a Ray cluster (see the module's description).

    Parameters
    ----------
    catalog : recsys.data.Catalog
    embedder_settings : dict, optional
        :class:`visual.ImageEmbedder` arguments (:func:`embedder_settings` of an embedder):
        ``backbone`` (a name), ``weights``, ``batch_size``, ``preprocess``, ``input_size``,
        ``decoder``, and ``device``: ``"auto"`` (a GPU per actor when the cluster has GPUs),
        ``"cpu"`` or ``"cuda"``.
    out_dir : path-like
        Folder of the Parquet parts (on storage every node reaches); a rerun resumes from it.
    store : path-like, optional
        An embedding store folder (:class:`visual.EmbeddingStore`) to append the vectors to.
    shard_rows : int
        Images per part.
    workers : int, optional
        Actors (default: one per GPU, else one per CPU of the cluster).
    progress : bool
        A line on stderr as the parts are done.

    Returns
    -------
    ItemFeatures
        In catalog order, with the same errors and signature as :func:`features.embed_catalog`.
    """
    from visual import EmbeddingStore, ImageEmbedder
    if out_dir is None:
        raise ValueError("embed_catalog_ray needs out_dir, the folder of its Parquet parts")
    settings = {k: v for k, v in (embedder_settings or {}).items() if k in SETTINGS}
    want = (embedder_settings or {}).get("device", "auto")
    paths, refused = fetch_images(*catalog.checked_image_paths())  # URLs downloaded here, read by the actors
    ids = list(catalog.item_ids)
    with ray_session() as ray:
        gpu = want.startswith("cuda") or (want == "auto" and cluster_has_gpu(ray))
        device = "cuda" if gpu else "cpu"
        if settings.get("decoder", "auto") == "auto":  # as ImageEmbedder's "auto" on the actors' device
            settings["decoder"] = "torchvision" if gpu else "pil"
        signature = ImageEmbedder(**settings, device="cpu", progress=False).signature()
        cache = None if store is None else EmbeddingStore(store, signature)  # other settings: fails now, not after
        parts = PartsFolder(out_dir, {"job": "embed", "signature": signature, "shard_rows": shard_rows})
        shards = [(s, min(s + shard_rows, len(ids))) for s in range(0, len(ids), shard_rows)]
        rows = [_shard_row(i, s, e, ids, paths) for i, (s, e) in enumerate(shards)
                if not parts.finished(i, _same_rows(s, e, paths), columns=["index", "path"])]
        plan = plan_actors(ray, workers, gpu=gpu)
        if progress:
            print(f"embedding {len(ids)} images in {len(shards)} shard(s) on {plan.describe()}: "
                  f"{len(shards) - len(rows)} already done in {parts.path}", file=sys.stderr)
        t, n, todo = time.perf_counter(), 0, sum(len(r["index"]) for r in rows)
        for r in run_actors(ray, rows, ShardEmbedder, (settings, device, str(parts.path.resolve()), os.getcwd()),
                            plan):
            n += int(r["n"])
            if progress:
                print(f"  shard {int(r['shard'])}: {int(r['n'])} images ({int(r['n_failed'])} unusable); "
                      f"{n}/{todo} at {n / (time.perf_counter() - t):.1f} images/s", file=sys.stderr)
    vectors, present, errors = _gather(parts, len(shards), len(ids), signature["dim"], cache)
    return ItemFeatures(vectors, present, signature["backbone"], item_errors(errors, ids, refused), signature)


def _shard_row(i: int, start: int, stop: int, ids, paths) -> dict:
    return {"shard": i, "index": list(range(start, stop)), "item_id": ids[start:stop],
            "path": [None if p is None else str(p) for p in paths[start:stop]]}


def _same_rows(start: int, stop: int, paths):
    """A check that a part holds rows ``start:stop`` with the catalog's paths."""
    want = [None if p is None else str(p) for p in paths[start:stop]]

    def check(table) -> bool:
        return (table.column("index").to_pylist() == list(range(start, stop))
                and table.column("path").to_pylist() == want)
    return check


def _gather(parts: PartsFolder, n_shards: int, n: int, dim: int, store):
    """Vectors, present flags and errors of all parts, in catalog order; new vectors go to ``store``."""
    vectors = np.zeros((n, dim), np.float32)
    present = np.zeros(n, bool)
    errors = []
    for i in range(n_shards):
        t = parts.read(i)
        if t is None:
            raise RuntimeError(f"{parts.part(i)}: missing or unreadable after the Ray job")
        index = t.column("index").to_numpy()
        v = t.column("vector").combine_chunks().flatten().to_numpy().reshape(len(index), dim)
        err = t.column("error").to_pylist()
        ok = np.array([e is None for e in err], bool)
        vectors[index[ok]] = v[ok]
        present[index[ok]] = True
        paths = t.column("path").to_pylist()
        errors += [{"index": int(j), "path": p, "reason": e} for j, p, e in zip(index, paths, err) if e is not None]
        if store is not None:
            keys = t.column("key").to_pylist()
            new = {keys[j]: j for j in np.flatnonzero(ok) if keys[j] not in store}
            if new:
                store.add(list(new), v[list(new.values())])
    return vectors, present, errors
