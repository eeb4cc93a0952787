"""LightFM fit time: raw dense image vectors vs visrec's compact visual codes, same data.

    python benchmarks/lightfm_dense_vs_compact.py [--data-dir ../shared/datasets/movielens-1m]
        [--n-interactions 100000] [--epochs 1]

Embeds the MovieLens-1M posters (cached in ~/.cache/visrec), subsamples the ratings >= 3, and
times LightFM (WARP, 64 components, 2 threads) for the given epochs with item features
``none`` (identity only), ``visual`` (identity + 3 nearest of k visual words) and
``visual-dense`` (identity + the 1280-d EfficientNet-Lite0 vector).
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", default=str(Path(__file__).resolve().parents[2] / "shared/datasets/movielens-1m"))
    ap.add_argument("--n-interactions", type=int, default=100_000)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--cache", default=str(Path.home() / ".cache/visrec/embeddings/efficientnet_lite0-pad-224"))
    a = ap.parse_args()
    from features import embed_catalog
    from recsys.data import Dataset, load_movielens_1m
    from recsys.models import LightFMRecommender
    catalog, inter = load_movielens_1m(a.data_dir, min_rating=3)
    feats = embed_catalog(catalog, cache_dir=a.cache)
    rng = np.random.default_rng(0)
    keep = np.zeros(len(inter), bool)
    keep[rng.choice(len(inter), min(a.n_interactions, len(inter)), replace=False)] = True
    data = Dataset(catalog, inter.subset(keep))
    print(f"{data}; LightFM WARP, 64 components, {a.epochs} epoch(s)")
    times = {}
    for mode in ("none", "visual", "visual-dense"):
        m = LightFMRecommender(item_features=mode, epochs=a.epochs, progress=False)
        F = m.item_feature_matrix(feats if mode != "none" else None)
        nnz = F.nnz / F.shape[0] if F is not None else 1.0
        t = time.perf_counter()
        m.fit(data, feats if mode != "none" else None)
        times[mode] = time.perf_counter() - t
        print(f"  features={mode:<13} non-zeros per item {nnz:7.1f}   fit {times[mode]:8.2f} s")
    print(f"dense / compact fit time: {times['visual-dense'] / times['visual']:.0f}x")


if __name__ == "__main__":
    main()
