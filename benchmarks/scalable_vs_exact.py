"""The scalable variants against the exact models where both fit, on the protocols, in the same run.

    python benchmarks/scalable_vs_exact.py ease --dataset movielens-1m --protocol recbole-811 --sizes 500,1000,2000
    python benchmarks/scalable_vs_exact.py ease --dataset hm --protocol temporal --sizes 1000,3000,6000
    python benchmarks/scalable_vs_exact.py visual --dataset hm --protocol cold-items --sizes 100,200
    python benchmarks/scalable_vs_exact.py hybrid --dataset movielens-1m --protocol recbole-811 --sizes 100,200

``ease``: exact EASE against the head--tail EASE with ``max_items`` = each size (the exact block over
that many most-interacted items, first-order weights for the rest). ``visual``: the exact visual
kernel against the sparse nearest-image graph with ``neighbours`` = each size. ``hybrid``: the default
hybrid's dense lists against its candidate lists (``dense_items=1``, ``candidates`` = each size), the
blend weights learned once and shared (``--own-weights``: also candidate-list models that search their own
weights on candidate lists, as the hybrid does over ``dense_items``). Data from
``../shared/datasets``; H&M image vectors from the embedding cache (EfficientNet-Lite0, pad, 224 px).
"""

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
SHARED = Path(__file__).resolve().parents[2] / "shared/datasets"
CACHE = Path.home() / ".cache/visrec/embeddings/efficientnet_lite0-pad-224"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("part", choices=["ease", "visual", "hybrid"])
    ap.add_argument("--dataset", default="movielens-1m", choices=["movielens-1m", "hm"])
    ap.add_argument("--protocol", default="recbole-811")
    ap.add_argument("--sizes", default="1000,2000")
    ap.add_argument("--own-weights", action="store_true",
                    help="hybrid: also the candidate lists with weights searched on candidate lists")
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    from machine import cpu_name

    from evaluation import Experiment
    from evaluation.protocols import make_split, protocol_settings
    from recsys.data import load_hm, load_movielens_1m
    from recsys.models import make_model
    ps = protocol_settings(a.protocol, a.dataset, k=None, test_days=None, min_rating=None, seen="auto", folds=None)
    if a.dataset == "hm":
        catalog, inter = load_hm(SHARED / "hm-sample")
    else:
        catalog, inter = load_movielens_1m(SHARED / "movielens-1m", min_rating=ps.min_rating)
    split = make_split(a.protocol, inter, test_fraction=0.2, test_days=ps.test_days, random_state=0)
    feats = None
    sizes = [int(s) for s in a.sizes.split(",")]
    if a.part == "ease":
        lam = 500.0 if a.dataset == "movielens-1m" else 100.0
        models = {"ease exact": make_model("ease", lambda_=lam, max_items=10**6)}
        models.update({f"ease head-tail {s}": make_model("ease", lambda_=lam, max_items=s, variant="head-tail")
                       for s in sizes})
    else:
        from evaluation.protocols import protocol_embedder
        from features import embed_catalog
        from visual import ImageEmbedder
        feats = embed_catalog(catalog, ImageEmbedder(preprocess="pad", progress=False), cache_dir=CACHE)
        if a.part == "visual":
            models = {"visual exact": make_model("visual", exact_items=10**7)}
            models.update({f"visual graph {s}": make_model("visual", exact_items=1, neighbours=s) for s in sizes})
        else:  # the blend learned once (on the training part of the split), then listed both ways
            assert protocol_embedder(a.protocol, False, None, None).embedder == "raw"
            from recsys.data import Dataset
            base = make_model("hybrid", progress=False).fit(Dataset(catalog, split.train), feats)
            w = [float(x) for x in base.weights_]
            print("hybrid weights learned on validation:", w)
            models = {"hybrid dense": make_model("hybrid", weights=w, progress=False)}
            models.update({f"hybrid candidates {s}": make_model("hybrid", weights=w, dense_items=1, candidates=s,
                                                                progress=False) for s in sizes})
            if a.own_weights:  # the wide model's own weight search, on candidate lists
                models.update({f"hybrid candidates {s}, own weights": make_model(
                    "hybrid", dense_items=1, candidates=s, progress=False) for s in sizes})
    t = time.perf_counter()
    res = Experiment(models, split, catalog, feats, ks=(ps.k,), exclude_seen=ps.exclude_seen).run()
    print(res.table())
    for name, m in models.items():  # fitted in place by the experiment
        if hasattr(m, "weights_"):
            print(name, "weights", [float(x) for x in m.weights_])
    if a.out:
        Path(a.out).write_text(json.dumps({"cpu": cpu_name(), "date": time.strftime("%Y-%m-%d"), "args": vars(a),
                                           "seconds": round(time.perf_counter() - t, 1), "result": res.to_json()},
                                          indent=1))


if __name__ == "__main__":
    main()
