"""Per-user list job: top-k for every user of a fitted model, as `visrec recommend --users all` does.

Part 1 (real data): fit models on all of MovieLens-1M and time the scoring of all 6,040 users'
top-k (``recommend_index``; best of ``--repeat``), then the whole CLI job with JSONL output.
Part 2 (extrapolation): a 64-factor model with ``--items`` synthetic items scored for a sample
of users, extrapolated to ``--users`` users; with ``--device cuda`` the same on the GPU.

    python benchmarks/list_job.py --data-dir ../shared/datasets/movielens-1m --k 100
    python benchmarks/list_job.py --skip-real --device cuda --users 1000000 --items 100000
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def best_of(fn, repeat):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return min(times), out


def real(args):
    from features import embed_catalog
    from recsys.data import Dataset, load_movielens_1m
    from recsys.models import make_model
    from visual import ImageEmbedder
    cat, inter = load_movielens_1m(args.data_dir)
    data = Dataset(cat, inter)
    names = args.models.split(",")
    feats = None
    if any(make_model(n).requires_features for n in names):
        emb = ImageEmbedder(progress=False)
        cache = Path.home() / ".cache" / "visrec" / "embeddings" / f"{emb.backbone}-{emb.preprocess}-{emb.input_size}"
        feats = embed_catalog(cat, emb, cache_dir=cache)
    users = np.arange(data.n_users)
    print(f"MovieLens-1M: {data.n_users} users x {data.n_items} items, top-{args.k}, best of {args.repeat}")
    for n in names:
        kw = {"progress": False} if "progress" in make_model(n).get_params() else {}
        if n == "vbpr":
            kw["epochs"] = args.vbpr_epochs
        t = time.perf_counter()
        m = make_model(n, **kw).fit(data, feats)
        fit = time.perf_counter() - t
        dt, (idx, _) = best_of(lambda m=m: m.recommend_index(users, args.k, precision=args.precision), args.repeat)
        line = f"  {n:12s} fit {fit:7.1f}s   score all users {dt:6.2f}s  ({len(users) / dt:,.0f} users/s)"
        if args.cli:
            with tempfile.TemporaryDirectory() as d:
                m.save(Path(d) / "model")
                t = time.perf_counter()
                r = subprocess.run([sys.executable, "-m", "recsys.cli", "recommend", "--model", str(Path(d) / "model"),
                                    "--users", "all", "--k", str(args.k), "--out", str(Path(d) / "recs.jsonl")],
                                   capture_output=True, text=True, cwd=ROOT)
                wall = time.perf_counter() - t
                if r.returncode:
                    print(r.stderr, file=sys.stderr)
                line += f"   CLI job (load + score + JSONL) {wall:5.1f}s: {r.stdout.strip()}"
        print(line, flush=True)


def synthetic(args):
    from recsys.models import topk
    from recsys.models.scoring import mask_pairs
    rng = np.random.default_rng(0)
    f = 64
    V = rng.standard_normal((args.items, f)).astype(np.float32)
    n_sample = min(args.sample_users, args.users)
    U = rng.standard_normal((n_sample, f)).astype(np.float32)
    # ~50 seen items per user to exclude, as in a real job
    cols = rng.integers(0, args.items, n_sample * 50)
    seen = sp.csr_matrix((np.ones(len(cols), np.float32), (np.repeat(np.arange(n_sample), 50), cols)),
                         shape=(n_sample, args.items))
    print(f"synthetic: {args.items:,} items x {f} factors, top-{args.k}, {n_sample:,} users timed")
    if args.device == "cpu":
        def run():
            out = []
            for s in range(0, n_sample, 1024):
                sc = U[s:s + 1024] @ V.T
                mask_pairs(sc, seen[s:s + 1024])
                out.append(topk(sc, args.k)[0])
            return out
    else:
        from recsys.models.gpu import topk_factors_torch
        import torch
        topk_factors_torch(U[:1024], V, args.k, exclude=[seen[:1024]], device=args.device)  # warm-up

        def run():
            r = topk_factors_torch(U, V, args.k, exclude=[seen], device=args.device, batch_size=args.batch_size,
                                   dtype=args.dtype)
            torch.cuda.synchronize()
            return r
    dt, _ = best_of(run, args.repeat)
    per_user = dt / n_sample
    print(f"  {args.device}: {n_sample / dt:,.0f} users/s -> {args.users:,} users x {args.items:,} items: "
          f"{per_user * args.users:,.1f}s ({per_user * args.users / 60:.1f} min)")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "datasets" / "movielens-1m"))
    ap.add_argument("--models", default="popularity,als,ease,vbpr,hybrid")
    ap.add_argument("--k", type=int, default=100)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--vbpr-epochs", type=int, default=5, help="epochs do not change scoring time")
    ap.add_argument("--precision", default="float32", choices=["float32", "bfloat16"],
                    help="products of EASE and the visual kernel (bfloat16: AMX/AVX512-BF16 CPUs)")
    ap.add_argument("--cli", action="store_true", help="also time `visrec recommend --users all` end to end")
    ap.add_argument("--skip-real", action="store_true")
    ap.add_argument("--users", type=int, default=1_000_000, help="extrapolation: number of users")
    ap.add_argument("--items", type=int, default=100_000, help="extrapolation: number of items")
    ap.add_argument("--sample-users", type=int, default=20_000)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--batch-size", type=int, default=16384)
    ap.add_argument("--dtype", default="float32", choices=["float32", "bfloat16"])
    args = ap.parse_args()
    if not args.skip_real:
        if not Path(args.data_dir).is_dir():
            print(f"{args.data_dir} not found: skipping the MovieLens-1M part", file=sys.stderr)
        else:
            real(args)
    synthetic(args)


if __name__ == "__main__":
    main()
