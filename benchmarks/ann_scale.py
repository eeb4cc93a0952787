"""Nearest-neighbour indexes at catalog scale: build time, memory, recall@10 against exact search,
single-query latency (one thread) and batch throughput, per index kind, on a million vectors.

The vectors: the real EfficientNet-Lite0 image vectors of a catalog (``--vectors-from``: a saved
visual/hybrid model, e.g. the H&M sample's 20,920 photos, or an ``.npz`` with ``vectors``),
expanded to ``--n`` by interpolating each real vector with one of its 10 nearest real neighbours
at a random point and adding isotropic noise, then normalising: new points lie on the real data's
manifold (a million distinct products "between" the photographed ones), not in tight clusters
of copies. The noise scale is set so that the median nearest-neighbour similarity of the
synthetic set matches that of the real vectors (printed). Queries are further synthetic points
that are not in the index (as uploaded photos are not).

    python benchmarks/ann_scale.py --vectors-from /path/to/hm-model --n 1000000 --out ann.json

The exact (``flat``) index is the anchor, measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from machine import cpu_name




def real_vectors(src: str) -> np.ndarray:
    p = Path(src)
    if p.suffix == ".npz":
        with np.load(p, allow_pickle=False) as z:
            V, present = z["vectors"], z["present"] if "present" in z.files else None
    else:
        from recsys.models import Recommender
        V, present = Recommender.load(p).visual_vectors()
    V = np.asarray(V, np.float32)[present if present is not None else slice(None)]
    return V / np.linalg.norm(V, axis=1, keepdims=True)


def neighbours(V: np.ndarray) -> np.ndarray:
    """The 10 nearest real neighbours of each real vector."""
    from recsys.index.recall import exact_topk
    return exact_topk(V, V, 10, exclude=np.arange(len(V)))


def expand(V: np.ndarray, nbrs: np.ndarray, n: int, sigma: float, seed: int) -> np.ndarray:
    """``n`` points interpolated between real neighbours, plus noise ``sigma`` per dimension."""
    rng = np.random.default_rng(seed)
    out = np.empty((n, V.shape[1]), np.float32)
    for s in range(0, n, 100_000):
        m = min(100_000, n - s)
        i = rng.integers(0, len(V), m)
        j = nbrs[i, rng.integers(0, 10, m)]
        lam = rng.random((m, 1), dtype=np.float32)
        x = (1 - lam) * V[i] + lam * V[j] + sigma * rng.standard_normal((m, V.shape[1]), dtype=np.float32)
        out[s:s + m] = x / np.linalg.norm(x, axis=1, keepdims=True)
    return out


def nn_similarity(X: np.ndarray, sample: int = 2000, seed: int = 0) -> float:
    from recsys.index.recall import exact_topk
    rng = np.random.default_rng(seed)
    q = rng.choice(len(X), min(sample, len(X)), replace=False)
    top = exact_topk(X, X[q], 2, exclude=q)[:, 0]
    return float(np.median(np.sum(X[q] * X[top], axis=1)))


def calibrate_sigma(V: np.ndarray, nbrs: np.ndarray, seed: int) -> float:
    """The noise at which a synthetic set of the real set's size has its nearest-neighbour similarity."""
    target = nn_similarity(V)
    lo, hi = 0.0, 0.1
    for _ in range(10):
        mid = (lo + hi) / 2
        if nn_similarity(expand(V, nbrs, len(V), mid, seed + 1)) > target:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def latency(index, Q: np.ndarray, k: int, n_single: int = 1000) -> dict:
    """Single queries through ``VectorIndex.search`` (what the service calls) on one thread, and
    all of ``Q`` as one batch on every core."""
    import faiss
    faiss.omp_set_num_threads(1)
    ts = []
    for q in Q[:n_single]:
        t = time.perf_counter()
        index.search(q[None, :], k)
        ts.append(time.perf_counter() - t)
    faiss.omp_set_num_threads(os.cpu_count() or 1)
    t = time.perf_counter()
    index.search(Q, k)
    batch = time.perf_counter() - t
    ts = np.asarray(ts) * 1e3
    return {"p50_ms": round(float(np.percentile(ts, 50)), 3), "p99_ms": round(float(np.percentile(ts, 99)), 3),
            "batch_qps": round(len(Q) / batch)}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--vectors-from", required=True, help="saved visual/hybrid model folder, or .npz with vectors")
    p.add_argument("--n", type=int, default=1_000_000)
    p.add_argument("--queries", type=int, default=1000)
    p.add_argument("--kinds", default="flat,hnsw-sq8,ivf-sq8,hnsw")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None)
    args = p.parse_args(argv)
    from recsys.index import VectorIndex
    from recsys.index.recall import exact_topk, recall_at_k
    from recsys.index.kinds import memory_estimate

    t0 = time.perf_counter()
    V = real_vectors(args.vectors_from)
    nbrs = neighbours(V)
    sigma = calibrate_sigma(V, nbrs, args.seed)
    X = expand(V, nbrs, args.n + args.queries, sigma, args.seed)
    Q, X = X[args.n:], X[:args.n]
    res = {"cpu": cpu_name(), "cores": os.cpu_count(), "date": time.strftime("%Y-%m-%d"), "n": args.n,
           "dim": int(X.shape[1]), "real_vectors": int(len(V)), "noise_sigma": round(sigma, 5),
           "nn_similarity_real": round(nn_similarity(V), 4), "nn_similarity_synthetic": round(nn_similarity(X), 4),
           "prepare_seconds": round(time.perf_counter() - t0, 1), "kinds": {}}
    print(json.dumps(res), flush=True)
    t = time.perf_counter()
    truth = exact_topk(X, Q, 10)
    res["exact_truth_seconds"] = round(time.perf_counter() - t, 1)
    for kind in args.kinds.split(","):
        t = time.perf_counter()
        ix = VectorIndex(X, kind=kind, n_recall_queries=500)
        build = time.perf_counter() - t
        found, _ = ix.search(Q, 10)
        row = {"build_seconds": round(build, 1), "knob": ix.knob_, "recall_at_build": round(ix.recall_, 4),
               "recall@10_queries": round(recall_at_k(found, truth), 4),
               "memory_estimate_bytes": memory_estimate(kind, args.n, X.shape[1])}
        with tempfile.TemporaryDirectory() as d:
            ix.save(d)
            row["index_file_bytes"] = (Path(d) / "index.faiss").stat().st_size
            t = time.perf_counter()
            VectorIndex.load(d, X)
            row["load_seconds"] = round(time.perf_counter() - t, 2)
        row.update(latency(ix, Q, 10, n_single=200 if kind == "flat" else 1000))
        res["kinds"][kind] = row
        print(kind, json.dumps(row), flush=True)
        del ix
    if args.out:
        Path(args.out).write_text(json.dumps(res, indent=1))
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
