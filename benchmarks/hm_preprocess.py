"""Pad-to-square vs centre-crop preprocessing of product photos, raw EfficientNet-Lite0 vectors.

    python benchmarks/hm_preprocess.py [--data-dir ../shared/datasets/hm-sample] [--n 5000]

Takes the first N H&M articles in id order (colour variants share an id prefix, so the subset
keeps product groups whole) and prints product-type precision@10 and same-product variant
recall@10 of the raw vectors made with each preprocessing.
"""

import argparse
import sys
from pathlib import Path


sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", default=str(Path(__file__).resolve().parents[2] / "shared/datasets/hm-sample"))
    ap.add_argument("--n", type=int, default=5000)
    a = ap.parse_args()
    from evaluation.retrieval import group_recall_at_k, label_precision_at_k
    from features import embed_catalog
    from recsys.data import Catalog, load_hm
    from visual import ImageEmbedder
    catalog, _ = load_hm(a.data_dir)
    sub = Catalog(catalog.df.iloc[: a.n].reset_index(drop=True), catalog.images_root)
    cats = sub.df["category"].astype(object).where(sub.df["category"].notna(), None).to_numpy()
    codes = sub.df["product_code"].to_numpy(dtype=object)
    for mode in ("pad", "center_crop"):
        cache = Path.home() / f".cache/visrec/embeddings/efficientnet_lite0-{mode}-224"
        f = embed_catalog(sub, ImageEmbedder(preprocess=mode, progress=False), cache_dir=cache)
        p = label_precision_at_k(f.vectors, cats, 10, f.present).mean()
        r = group_recall_at_k(f.vectors, codes, 10, f.present).mean()
        print(f"{mode:<12} {len(sub)} items: type_precision@10 {p:.4f}  variant_recall@10 {r:.4f}")


if __name__ == "__main__":
    main()
