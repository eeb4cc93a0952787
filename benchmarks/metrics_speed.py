"""Speed of the vectorised per-user metrics on 100,000 users x top-100 lists, checked against
independent implementations in the same run: ``ranx`` (numba; ``pip install visrec[bench]``)
when it is installed, and a plain per-user Python loop on a sample of users (extrapolated).

    python benchmarks/metrics_speed.py [--users 100000] [--k 100] [--items 20011] [--dim 1280]

Prints the timings and the largest difference from each reference; exits 1 if the metrics take
longer than ``--budget`` seconds (default 10) or disagree with a reference.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from evaluation.metrics import (METRICS, auc_from_lists, average_popularity, catalog_coverage,  # noqa: E402
                                intra_list_diversity, novelty, ranking_metrics)

KS = (1, 5, 10, 20, 50, 100)


def make_data(n_users: int, n_items: int, k: int, seed: int = 0):
    """Distinct top-k lists (an affine map modulo a prime item count keeps them distinct) and
    test sets of 1..30 items, about a third of them taken from the user's own list."""
    rng = np.random.default_rng(seed)
    base = rng.permutation(n_items)[:k].astype(np.int64)
    a = rng.integers(1, n_items, n_users)[:, None]
    b = rng.integers(0, n_items, n_users)[:, None]
    lists = (a * base[None, :] + b) % n_items
    n_rel = rng.integers(1, 31, n_users)
    n_from_list = rng.binomial(n_rel, 0.3)
    cand = np.concatenate([np.take_along_axis(lists, rng.integers(0, k, (n_users, 30)), 1),
                           rng.integers(0, n_items, (n_users, 30))], axis=1)
    take = np.concatenate([np.arange(30)[None, :] < n_from_list[:, None],
                           np.arange(30)[None, :] < (n_rel - n_from_list)[:, None]], axis=1)
    r, c = np.nonzero(take)
    test = sp.csr_matrix((np.ones(len(r), np.float32), (r, cand[r, c])), shape=(n_users, n_items))
    test.sum_duplicates()
    test.data[:] = 1
    counts = rng.zipf(1.3, n_items).clip(0, n_users)
    return lists, test, counts


def ours(lists, test, counts, vectors, k_div: int = 10):
    users = np.arange(len(lists))
    t = {}
    t0 = time.perf_counter()
    res = ranking_metrics(lists, test, users, KS)
    t["ranking (6 metrics x 6 cut-offs)"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    res["auc"] = auc_from_lists(lists, test, users, test.shape[1])
    t["auc"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    res["novelty@100"] = novelty(lists, counts, len(lists))
    res["arp@100"] = average_popularity(lists, counts)
    cov = catalog_coverage(lists, test.shape[1])
    t["novelty + arp + coverage"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    res[f"ild@{k_div}"] = intra_list_diversity(lists, vectors, k_div)
    t[f"ild@{k_div} ({vectors.shape[1]}-d vectors)"] = time.perf_counter() - t0
    return res, t, cov


def python_loop(lists, test, users, k):
    """The documented definitions as a plain per-user loop."""
    out = {m: np.zeros(len(users)) for m in METRICS}
    indptr, indices = test.indptr, test.indices
    logs = [1 / math.log2(r + 2) for r in range(k)]
    for j, u in enumerate(users):
        rel = set(indices[indptr[u]:indptr[u + 1]].tolist())
        hits = [1 if i in rel else 0 for i in lists[u, :k].tolist()]
        h = sum(hits)
        out["precision"][j] = h / k
        out["recall"][j] = h / len(rel)
        out["ndcg"][j] = sum(x * w for x, w in zip(hits, logs)) / sum(logs[:min(len(rel), k)])
        ap, n, first = 0.0, 0, 0.0
        for r, x in enumerate(hits):
            if x:
                n += 1
                ap += n / (r + 1)
                if n == 1:
                    first = 1 / (r + 1)
        out["map"][j] = ap / min(len(rel), k)
        out["mrr"][j] = first
        out["hitrate"][j] = float(h > 0)
    return out


def ranx_metrics(lists, test, ks):
    from numba.typed import List
    from ranx.metrics import average_precision, hit_rate, ndcg, precision, recall, reciprocal_rank
    fns = {"precision": precision, "recall": recall, "ndcg": ndcg, "map": average_precision,
           "mrr": reciprocal_rank, "hitrate": hit_rate}
    t0 = time.perf_counter()
    tiny_q, tiny_r = List(), List()
    tiny_q.append(np.array([[1.0, 1.0]]))
    tiny_r.append(np.array([[1.0, 2.0], [2.0, 1.0]]))
    for f in fns.values():  # compile (or load the numba cache) outside the timing
        f(tiny_q, tiny_r, 1)
    t_jit = time.perf_counter() - t0
    t0 = time.perf_counter()
    qrels, run = List(), List()
    scores = np.arange(lists.shape[1], 0, -1, dtype=np.float64)
    for u in range(len(lists)):
        rel = test.indices[test.indptr[u]:test.indptr[u + 1]]
        qrels.append(np.stack([rel.astype(np.float64), np.ones(len(rel))], axis=1))
        run.append(np.stack([lists[u].astype(np.float64), scores], axis=1))
    t_conv = time.perf_counter() - t0
    t0 = time.perf_counter()
    out = {f"{m}@{k}": f(qrels, run, k) for k in ks for m, f in fns.items()}
    t_run = time.perf_counter() - t0
    return out, t_jit, t_conv, t_run


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--users", type=int, default=100_000)
    p.add_argument("--items", type=int, default=20_011, help="a prime keeps the synthetic lists distinct")
    p.add_argument("--k", type=int, default=100)
    p.add_argument("--dim", type=int, default=1280, help="visual vector size for intra-list diversity")
    p.add_argument("--python-sample", type=int, default=5000, help="users scored by the plain Python loop")
    p.add_argument("--no-ranx", action="store_true")
    p.add_argument("--budget", type=float, default=10.0)
    args = p.parse_args(argv)

    t0 = time.perf_counter()
    lists, test, counts = make_data(args.users, args.items, args.k)
    vectors = np.random.default_rng(1).standard_normal((args.items, args.dim), dtype=np.float32)
    print(f"data: {args.users} users x top-{args.k} over {args.items} items, {test.nnz} test items "
          f"({time.perf_counter() - t0:.1f}s to generate)")

    t0 = time.perf_counter()
    res, parts, cov = ours(lists, test, counts, vectors)
    total = time.perf_counter() - t0
    for name, s in parts.items():
        print(f"  visrec {name:<34} {s:7.2f} s")
    print(f"visrec metrics total: {total:.2f} s for {len(res)} per-user arrays (+ coverage {cov:.3f})"
          f"  [budget {args.budget:.0f} s: {'PASS' if total <= args.budget else 'FAIL'}]")
    ok = total <= args.budget

    ks = [k for k in KS if k <= args.k]
    if not args.no_ranx:
        try:
            ref, t_jit, t_conv, t_run = ranx_metrics(lists, test, ks)
        except ImportError:
            print("ranx not installed (pip install visrec[bench]); skipping the ranx comparison")
        else:
            n_rel = np.diff(test.indptr).astype(np.float64)
            worst = 0.0
            for key, v in ref.items():
                if key.startswith("map@"):  # ranx's AP divides by |rel|, MAP@k by min(|rel|, k)
                    kk = int(key.split("@")[1])
                    v = v * n_rel / np.minimum(n_rel, kk)
                worst = max(worst, float(np.max(np.abs(res[key] - v))))
            print(f"ranx: {t_run:.2f} s for the same {len(ref)} accuracy arrays (+ {t_conv:.2f} s building its "
                  f"typed lists, {t_jit:.2f} s numba compile/cache load); max |difference| = {worst:.2e}")
            ok &= worst < 1e-9

    n = min(args.python_sample, args.users)
    if n:
        users = np.arange(n)
        t0 = time.perf_counter()
        worst = 0.0
        for k in ks:
            ref = python_loop(lists, test, users, k)
            for m, v in ref.items():
                worst = max(worst, float(np.max(np.abs(res[f"{m}@{k}"][:n] - v))))
        dt = time.perf_counter() - t0
        print(f"plain Python loop: {dt:.2f} s for {n} users ({dt * args.users / n:.1f} s extrapolated to "
              f"{args.users}); max |difference| = {worst:.2e}")
        ok &= worst < 1e-9
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
