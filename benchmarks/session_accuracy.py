"""Session (anonymous) lists against known-user lists: how much accuracy a visitor's list loses when
the model gets the history at query time instead of knowing the user from training.

Each model is fitted on the train part of a per-user random 80/20 split
(``evaluation.splits.random_split(inter, 0.2, random_state=0)``, the index space of
``evaluation.experiment.Experiment``). For the test users (all, or ``--max-users`` sampled):

- known-user lists: ``model.recommend_index(users, k=10, exclude_seen=True)``;
- session lists: ``model.recommend_history_index(X_train[users], k=10, exclude_seen=True)`` -- the same
  user's training history (training weights) given at query time as if the user were anonymous.

Both are scored with ``evaluation.metrics.ranking_metrics`` (Recall@10, NDCG@10) on the same test
matrix and users; also the mean overlap@10 of the two lists (``|known ∩ session| / 10``), the share of
users whose two lists are identical, and the latency of one session list (ms, median and p99 over
``--timing-calls`` single-history calls of ``recommend_history_index``, BLAS limited to
``--timing-threads``, default 1: one request per core, no oversubscription on a shared machine).
Visual models get the item features of ``features.embed_catalog`` from the CLI's embedding cache
(``~/.cache/visrec/embeddings``).

    python benchmarks/session_accuracy.py --dataset demo --out session-demo.json
    python benchmarks/session_accuracy.py --dataset movielens-1m --max-users 2000 --out ml.json
    python benchmarks/session_accuracy.py --dataset hm --models ease,hybrid --out hm.json

MovieLens-1M keeps ratings >= 3 as positives (the recbole-811 loader setting); on H&M (20,920 items)
EASE and the hybrid's EASE part get ``max_items=25000``. ``--param model.key=value`` overrides.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from machine import cpu_name

from recsys.models import HybridRecommender

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MODELS = ("popularity", "itemknn", "ease", "als", "als-visual", "visual", "vbpr", "lightfm", "hybrid")
DATA_DIRS = {"movielens-1m": ROOT.parent / "shared" / "datasets" / "movielens-1m",
             "hm": ROOT.parent / "shared" / "datasets" / "hm-sample"}
#: settings a dataset needs before ``--param`` overrides (H&M: 20,920 items > EASE's default guard)
DATASET_PARAMS = {"hm": {"ease": {"max_items": 25000},
                         "hybrid": {"component_params": {"ease": {"max_items": 25000}}}}}


def load_data(dataset: str, data_dir, work: Path):
    """``(catalog, interactions)`` of the dataset."""
    from recsys.data import load_catalog, load_hm, load_interactions, load_movielens_1m
    if dataset == "demo":
        from recsys.data.demo import materialise_demo
        d = materialise_demo(Path(data_dir) if data_dir else work / "demo-data")
        return load_catalog(d / "catalog.csv", d), load_interactions(d / "interactions.csv")
    d = Path(data_dir) if data_dir else DATA_DIRS[dataset]
    if dataset == "hm":
        return load_hm(d)
    return load_movielens_1m(d, min_rating=3)


def model_params(items, dataset: str) -> dict:
    """``{model: {key: value}}``: the dataset's settings, overridden by ``--param model.key=value``."""
    from recsys.cli.evaluate import model_params as given_params
    params = json.loads(json.dumps(DATASET_PARAMS.get(dataset, {})))
    for m, kv in given_params(items).items():
        params.setdefault(m, {}).update(kv)
    return params


def make(name: str, params: dict):
    from recsys.models import make_model
    m = make_model(name, **params)
    if "progress" in m.get_params() and "progress" not in params:
        m.progress = False
    return m


def overlap(a: np.ndarray, b: np.ndarray, k: int) -> np.ndarray:
    """Per row: the share of the ``k`` slots of ``a`` whose item is also in ``b`` (empty slots never count)."""
    return np.array([len(set(x[x >= 0]) & set(y[y >= 0])) / k for x, y in zip(a, b)])


def session_latency(model, X, R, rows, k: int, n_calls: int, threads: int) -> tuple[float, float]:
    """Median and p99 wall time (ms) of one ``recommend_history_index`` call on one history row, with
    BLAS/OpenMP limited to ``threads`` (0: the libraries' default)."""
    from threadpoolctl import threadpool_limits
    times = []
    with threadpool_limits(threads or None):
        model.recommend_history_index(X[rows[:1]], k, True, R=None if R is None else R[rows[:1]])  # warm-up
        for i in range(n_calls):
            r = rows[i % len(rows)]
            x, rr = X[r:r + 1], None if R is None else R[r:r + 1]
            t0 = time.perf_counter()
            model.recommend_history_index(x, k, True, R=rr)
            times.append((time.perf_counter() - t0) * 1e3)
    return float(np.median(times)), float(np.percentile(times, 99))


def evaluate_model(model, train, feats, test, users, k, n_calls, threads) -> dict:
    from evaluation.metrics import ranking_metrics
    t0 = time.perf_counter()
    model.fit(train, feats if (model.requires_features or model.uses_visual) else None)
    t1 = time.perf_counter()
    known, _ = model.recommend_index(users, k, exclude_seen=True)
    t2 = time.perf_counter()
    X, R = model.user_items_, model.recency_  # the training weights (and event ages) in model index space
    sess, _ = model.recommend_history_index(X[users], k, exclude_seen=True, R=None if R is None else R[users])
    t3 = time.perf_counter()
    mk = ranking_metrics(known, test, users, (k,), metrics=("recall", "ndcg"))
    ms = ranking_metrics(sess, test, users, (k,), metrics=("recall", "ndcg"))
    ov = overlap(known, sess, k)
    p50, p99 = session_latency(model, X, R, users[:n_calls], k, n_calls, threads)
    return {"known": {m: float(v.mean()) for m, v in mk.items()},
            "session": {m: float(v.mean()) for m, v in ms.items()},
            f"overlap@{k}": float(ov.mean()), "identical_lists": float(np.mean(np.all(known == sess, axis=1))),
            "session_ms_p50": round(p50, 3), "session_ms_p99": round(p99, 3), "timing_calls": n_calls,
            "timing_threads": threads,
            "fit_seconds": round(t1 - t0, 2), "known_batch_seconds": round(t2 - t1, 3),
            "session_batch_seconds": round(t3 - t2, 3), "visual": bool(model.uses_visual),
            "params": {p: v for p, v in model.get_params().items() if p != "progress"},
            **({"blend_weights": model.weights_.round(3).tolist()} if isinstance(model, HybridRecommender) else {})}


def table(results: dict, k: int) -> str:
    head = (f"| model | known Recall@{k} | session Recall@{k} | known NDCG@{k} | session NDCG@{k} | overlap@{k} "
            f"| session ms p50 / p99 |")
    lines = [head, "|" + "---|" * 7]
    for name, r in results.items():
        if "error" in r:
            lines.append(f"| {name} | error: {r['error']} | | | | | |")
            continue
        kn, se = r["known"], r["session"]
        lines.append(f"| {name} | {kn[f'recall@{k}']:.4f} | {se[f'recall@{k}']:.4f} | {kn[f'ndcg@{k}']:.4f} "
                     f"| {se[f'ndcg@{k}']:.4f} | {r[f'overlap@{k}']:.3f} | "
                     f"{r['session_ms_p50']:.2f} / {r['session_ms_p99']:.2f} |")
    return "\n".join(lines)




def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", default="demo", choices=["demo", "movielens-1m", "hm"])
    ap.add_argument("--data-dir", default=None, help="dataset folder (default ../shared/datasets/<dataset>; "
                    "demo: materialised into a temporary folder)")
    ap.add_argument("--models", default=",".join(MODELS), help=f"comma-separated (default: {','.join(MODELS)})")
    ap.add_argument("--max-users", type=int, default=None, help="sample this many test users (default all)")
    ap.add_argument("--param", action="append", help="model.key=value hyper-parameter (repeatable)")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--timing-calls", type=int, default=200, help="single-history calls timed per model")
    ap.add_argument("--timing-threads", type=int, default=1,
                    help="BLAS/OpenMP threads during the timed calls (default 1, one request per core; 0: default)")
    ap.add_argument("--cache", default=None,
                    help="embedding cache (default $VISREC_CACHE or ~/.cache/visrec/embeddings)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the split and the user sample")
    ap.add_argument("--out", default=None, help="write the results as JSON here")
    args = ap.parse_args(argv)

    from evaluation.splits import random_split
    from recsys.data import Dataset

    t_start = time.perf_counter()
    names = [n.strip() for n in args.models.split(",") if n.strip()]
    params = model_params(args.param, args.dataset)
    with tempfile.TemporaryDirectory(prefix="session-accuracy-") as work:
        catalog, inter = load_data(args.dataset, args.data_dir, Path(work))
        split = random_split(inter, 0.2, random_state=args.seed)
        train = Dataset(catalog, split.train)
        test = train.encode(split.test)  # test users/items in the training index space
        users = np.flatnonzero(np.diff(test.indptr) > 0)
        n_test_users = len(users)
        if args.max_users and len(users) > args.max_users:
            users = np.sort(np.random.default_rng(args.seed).choice(users, args.max_users, replace=False))
        print(f"[session-accuracy] {args.dataset}: {train.n_items} items, {train.n_users} training users, "
              f"{len(train.interactions)} train events; evaluating {len(users)} of {n_test_users} test users",
              flush=True)
        models = {n: make(n, params.get(n, {})) for n in names}
        feats = None
        if any(m.requires_features or m.uses_visual for m in models.values()):
            from features import embed_catalog
            from recsys.cli.options import cache_dir, store_dir
            from visual import ImageEmbedder
            t0 = time.perf_counter()
            emb = ImageEmbedder(progress=False)
            feats = embed_catalog(catalog, emb, cache_dir=store_dir(cache_dir(args.cache), emb))
            print(f"[session-accuracy] item features: {int(feats.present.sum())} of {feats.n_items} items "
                  f"with an image vector ({time.perf_counter() - t0:.1f}s)", flush=True)
        results = {}
        for name, model in models.items():
            t0 = time.perf_counter()
            try:
                results[name] = evaluate_model(model, train, feats, test, users, args.k, args.timing_calls,
                                               args.timing_threads)
            except (MemoryError, NotImplementedError, ValueError, RuntimeError) as e:
                results[name] = {"error": f"{type(e).__name__}: {e}"}
            r = results[name]
            summary = r.get("error") or (f"known {r['known']}, session {r['session']}, overlap "
                                         f"{r[f'overlap@{args.k}']:.3f}, {r['session_ms_p50']:.2f} ms p50")
            print(f"[session-accuracy] {name} ({time.perf_counter() - t0:.1f}s): {summary}", flush=True)
            del model
            models[name] = None

    wall = time.perf_counter() - t_start
    print()
    print(table(results, args.k))
    print(f"\nwall time {wall:.0f}s", flush=True)
    if args.out:
        out = {"dataset": args.dataset, "command": " ".join([Path(sys.executable).name, *sys.argv]),
               "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
               "cpu": cpu_name(), "loadavg_end": list(os.getloadavg()), "wall_seconds": round(wall, 1),
               "k": args.k, "split": split.description,
               "n_items": int(train.n_items), "n_train_users": int(train.n_users), "n_test_users": int(n_test_users),
               "n_users_evaluated": int(len(users)), "params": params, "models": results}
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
