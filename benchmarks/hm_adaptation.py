"""Adapted vs raw image embeddings on H&M, split by product (colour variants never on both sides).

    python benchmarks/hm_adaptation.py [--data-dir ../shared/datasets/hm-sample] [--dev-fraction 0.3]
        [--out-head PATH] [--param key=value ...]

Products (``product_code`` = first 7 digits of ``article_id``) are split at random (seed 0):
``1 - dev-fraction`` to train (with 15% of those held out for model selection), ``dev-fraction``
to dev. The head is trained on the train products only, from variant groups and
``product_type_name`` labels, and judged on the dev products:

- product-type precision@10 of similar items (dev items that have metadata);
- recall@10 of same-product colour variants (all dev items with a variant in dev).
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def scores(vectors, present, cats, codes, mask, k=10):
    from evaluation.retrieval import group_recall_at_k, label_precision_at_k
    v = vectors[mask]
    p = present[mask]
    return {"type_precision@10": float(label_precision_at_k(v, cats[mask], k, p).mean()),
            "variant_recall@10": float(group_recall_at_k(v, codes[mask], k, p).mean())}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", default=str(Path(__file__).resolve().parents[2] / "shared/datasets/hm-sample"))
    ap.add_argument("--dev-fraction", type=float, default=0.3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--preprocess", default="pad", choices=["pad", "center_crop"])
    ap.add_argument("--cache", default=None,
                    help="default ~/.cache/visrec/embeddings/efficientnet_lite0-<preprocess>-224")
    ap.add_argument("--out-head", default=None, help="also save the head trained on train+validation here")
    ap.add_argument("--ship", default=None, help="also save (float16) a head trained on ALL products here")
    ap.add_argument("--param", action="append", default=[], help="VisualAdapter key=value")
    a = ap.parse_args()
    from evaluation.splits import group_holdout as split_products
    from features import embed_catalog
    from features.adapt import VisualAdapter
    from recsys.data import load_hm
    catalog, _ = load_hm(a.data_dir)
    from visual import ImageEmbedder
    cache = a.cache or Path.home() / f".cache/visrec/embeddings/efficientnet_lite0-{a.preprocess}-224"
    feats = embed_catalog(catalog, ImageEmbedder(preprocess=a.preprocess), cache_dir=cache)
    df = catalog.df
    codes = df["product_code"].to_numpy(dtype=object)
    cats = df["category"].astype(object).where(df["category"].notna(), None).to_numpy()
    dev = split_products(codes, a.dev_fraction, a.seed)
    val = ~dev & split_products(codes, 0.15, a.seed + 1)
    fit = ~dev & ~val
    params = {k: json.loads(v) for k, v in (p.split("=", 1) for p in a.param)}
    print(f"items: fit {fit.sum()}, validation {val.sum()}, dev {dev.sum()}; params {params}")

    def train(mask):
        ad = VisualAdapter(**params, progress=False)
        t = time.perf_counter()
        g = np.where(mask, codes, None)
        lab = np.where(mask, cats, None)
        ad.fit(feats, groups=g, labels=lab)
        return ad, time.perf_counter() - t

    ad, secs = train(fit)
    adapted = ad.transform(feats)
    for name, mask in (("validation", val), ("dev", dev)):
        raw = scores(feats.vectors, feats.present, cats, codes, mask)
        new = scores(adapted.vectors, adapted.present, cats, codes, mask)
        print(f"{name:<10} raw     {raw}")
        print(f"{name:<10} adapted {new}   (head trained in {secs:.1f}s)")
    if a.out_head:
        ad, _ = train(~dev)
        ad.save(a.out_head)
        print(f"saved head trained on train+validation products -> {a.out_head}")
    if a.ship:
        ad, _ = train(np.ones(len(codes), bool))
        ad.save(a.ship, half=True)
        print(f"saved head trained on all {len(codes)} products -> {a.ship}")


if __name__ == "__main__":
    main()
