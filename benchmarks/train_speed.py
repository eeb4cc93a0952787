"""Training speed with raw dense image vectors: VBPR (torch) against LightFM fed the same vectors.

MovieLens-1M users are sampled until about ``--interactions`` ratings remain; each user's items
are split 80/20 at random. Item features are the raw 1280-d EfficientNet-Lite0 poster vectors.

- VBPR trains for ``--vbpr-epochs`` (wall time and NDCG@10 on the test part).
- LightFM with the dense vectors (``item_features="visual-dense"``: identity + 1280 dense columns) is
  trained epoch by epoch, NDCG@10 measured after each (not timed), until it matches VBPR's NDCG
  or ``--lightfm-budget`` seconds of training are spent.
- LightFM with compact visual codes (visrec's default) is shown for reference.

    python benchmarks/train_speed.py --interactions 50000
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", default=str(ROOT.parent / "shared" / "datasets" / "movielens-1m"))
    ap.add_argument("--interactions", type=int, default=50_000)
    ap.add_argument("--vbpr-epochs", type=int, default=20)
    ap.add_argument("--device", default="cpu", help="VBPR device (cpu, cuda)")
    ap.add_argument("--lightfm-budget", type=float, default=600.0, help="seconds of LightFM-dense training at most")
    ap.add_argument("--lightfm-epochs", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--skip-lightfm", action="store_true")
    ap.add_argument("--export", default=None, help="only write the subsample (ids + vectors) to this .npz")
    ap.add_argument("--from", dest="from_file", default=None, help="read the subsample from an --export file")
    args = ap.parse_args()

    from evaluation import random_split
    from evaluation.metrics import ranking_metrics
    from features import embed_catalog
    from recsys.data import Dataset, load_movielens_1m
    from recsys.models import make_model, topk
    from recsys.models.scoring import mask_pairs
    from visual import ImageEmbedder

    if args.from_file:  # a subsample exported with --export (e.g. for a GPU machine without the data)
        import pandas as pd
        from features import ItemFeatures
        from recsys.data import Catalog, Interactions
        with np.load(args.from_file, allow_pickle=False) as z:
            cat = Catalog.from_frame(pd.DataFrame({"item_id": z["items"]}))
            tr = Interactions.from_frame(pd.DataFrame({"user_id": z["train_u"], "item_id": z["train_i"]}))
            te = Interactions.from_frame(pd.DataFrame({"user_id": z["test_u"], "item_id": z["test_i"]}))
            feats = ItemFeatures(z["vectors"].astype(np.float32), z["present"])
            keep_users = set(z["train_u"].tolist())
    else:
        cat, inter = load_movielens_1m(args.data_dir)
        rng = np.random.default_rng(args.seed)
        df = inter.df
        users = rng.permutation(df["user_id"].unique())
        sizes = df.groupby("user_id").size().reindex(users).to_numpy()
        keep_users = set(users[:int(np.searchsorted(np.cumsum(sizes), args.interactions)) + 1])
        inter = inter.subset(df["user_id"].isin(keep_users).to_numpy())
        split = random_split(inter, 0.2, random_state=args.seed)
        tr, te = split.train, split.test
        emb = ImageEmbedder(progress=False)
        cache = Path.home() / ".cache" / "visrec" / "embeddings" / f"{emb.backbone}-{emb.preprocess}-{emb.input_size}"
        feats = embed_catalog(cat, emb, cache_dir=cache)
        if args.export:
            np.savez_compressed(args.export, items=cat.item_ids.astype(str), vectors=feats.vectors.astype(np.float16),
                                present=feats.present, train_u=tr.df["user_id"].to_numpy(str),
                                train_i=tr.df["item_id"].to_numpy(str), test_u=te.df["user_id"].to_numpy(str),
                                test_i=te.df["item_id"].to_numpy(str))
            print(f"exported the subsample to {args.export}")
            return
    train = Dataset(cat, tr)
    test = train.encode(te)
    uidx = np.flatnonzero(np.diff(test.indptr) > 0)
    X = train.matrix()
    print(f"{len(keep_users)} users, {train.n_items} items, {X.nnz} train / {test.nnz} test interactions, "
          f"{feats.dim}-d image vectors; {os.cpu_count()} CPUs", flush=True)

    def ndcg_of(scores):
        sc = mask_pairs(np.array(scores, dtype=np.float32), X[uidx])
        idx, _ = topk(sc, 10)
        return float(ranking_metrics(idx, test, uidx, (10,))["ndcg@10"].mean())

    t = time.perf_counter()
    vbpr = make_model("vbpr", epochs=args.vbpr_epochs, device=args.device, progress=False).fit(train, feats)
    t_vbpr = time.perf_counter() - t
    n_vbpr = ndcg_of(vbpr.score_index(uidx))
    print(f"VBPR ({args.device}, {args.vbpr_epochs} epochs): {t_vbpr:.1f}s, NDCG@10 {n_vbpr:.4f}", flush=True)

    results = {}
    for mode in () if args.skip_lightfm else ("visual", "visual-dense"):
        from lightfm import LightFM
        helper = make_model("lightfm", item_features=mode, progress=False)
        t0 = time.perf_counter()
        F = helper.item_feature_matrix(feats)
        prep = time.perf_counter() - t0
        Xb = X.tocoo(copy=True)
        Xb.data[:] = 1
        model = LightFM(no_components=64, loss="warp", learning_rate=0.05, random_state=args.seed)
        spent, best, reached = prep, 0.0, None
        for ep in range(1, args.lightfm_epochs + 1):
            t0 = time.perf_counter()
            model.fit_partial(Xb, item_features=F, num_threads=os.cpu_count())
            spent += time.perf_counter() - t0
            item_repr = np.asarray(F @ model.item_embeddings)
            bias = np.asarray(F @ model.item_biases)
            nd = ndcg_of(model.user_embeddings[uidx] @ item_repr.T + bias)
            best = max(best, nd)
            print(f"  LightFM {mode:12s} epoch {ep:2d}: {spent:7.1f}s NDCG@10 {nd:.4f}", flush=True)
            if reached is None and nd >= n_vbpr:
                reached = spent
            if mode == "visual-dense" and (reached is not None or spent > args.lightfm_budget):
                break
        results[mode] = (spent, best, reached, F.nnz / F.shape[0])
    print("\nsummary")
    print(f"  VBPR {args.device}: {t_vbpr:.1f}s to NDCG@10 {n_vbpr:.4f}")
    for mode, (spent, best, reached, nnz) in results.items():
        if reached is not None:
            verdict = f"matched VBPR after {reached:.1f}s -> VBPR {reached / t_vbpr:.1f}x faster"
        else:
            verdict = (f"best NDCG@10 {best:.4f} < VBPR's after {spent:.1f}s (stopped) -> VBPR "
                       f">= {spent / t_vbpr:.1f}x faster")
        print(f"  LightFM {mode} ({nnz:.0f} non-zeros per item): {verdict}")


if __name__ == "__main__":
    main()
