"""Raw vectors vs an adapter head vs partial fine-tuning (last 1 / 2 blocks + head) on H&M, judged on
products never seen in training -- split by product, and by product type.

    python benchmarks/hm_finetune.py [--data-dir ../shared/datasets/hm-sample] [--max-train 4000]
        [--unfreeze 1,2] [--epochs 8] [--label-probs 0.5] [--out result.json]

``--tta flip`` embeds every photo with its mirror image (twice the network time; its own cache folder).

``--pooling multi`` scores multi-depth vectors (``visual.multi_depth``; the fine-tuner then trains them too) and,
in the same run, the standard vectors they start with (raw and head rows prefixed "avg part:").

On a GPU (the fine-tuner and the embedder pick CUDA by themselves), the whole of EfficientNet-Lite1 on every
training photo: ``--backbone efficientnet_lite1 --max-train 1000000 --unfreeze 21 --epochs 10``.

Splits (seed 0):

- ``by-product``: 30% of the products (``product_code``) held out as dev, as ``hm_adaptation.py``;
- ``by-type``: 30% of the product types (``product_type_name``) held out: dev = the articles of those
  types, training = the articles of the other types and the photos without metadata, so the head is
  judged on kinds of products it never saw.

Training uses at most ``--max-train`` training photos (whole products drawn at random), the same for
every variant; the fine-tuner early-stops on 15% of them (by product). Dev metrics: product-type
precision@10 (labelled dev articles) and variant recall@10 (dev articles with a colour variant in dev),
nearest neighbours among the dev photos. Training time on this machine's CPU is reported.
"""

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

HEAD = {"temperature": 0.1, "hidden": 256, "dropout": 0.4}  # the shipped head's settings


def scores(v, present, types, codes, mask) -> dict:
    from evaluation.retrieval import group_recall_at_k, label_precision_at_k
    return {"type_precision@10": round(float(label_precision_at_k(v[mask], types[mask], 10, present[mask]).mean()), 4),
            "variant_recall@10": round(float(group_recall_at_k(v[mask], codes[mask], 10, present[mask]).mean()), 4)}


def augmented_row(v, present, dev, k, types, codes) -> dict:
    """Scores after gallery augmentation (``recsys.index.augment_gallery``) among the dev photos: the feed's
    catalog is the dev photos, so their vectors are augmented with each other only."""
    from recsys.index import augment_gallery
    t = time.perf_counter()
    aug = v.copy()
    rows = np.flatnonzero(dev & present)
    aug[rows] = augment_gallery(v[rows], k=k)
    return {**scores(aug, present, types, codes, dev), "augment_seconds": round(time.perf_counter() - t, 1)}


def head_rows(feats, prefix, train, dev, label_probs, label_l2, types, codes, split, augment=1) -> dict:
    """Raw, head and head + type probabilities rows of one vector space (each also augmented with ``augment``)."""
    from features.adapt import VisualAdapter
    rows = {prefix + "raw": scores(feats.vectors, feats.present, types, codes, dev)}
    print(split, f"train {train.sum()} photos, dev {dev.sum()}", prefix + "raw", rows[prefix + "raw"], flush=True)
    settings = [("head only", {})]
    if label_probs:
        settings.append((f"head + type probabilities ({label_probs:g})",
                         {"label_probs_weight": label_probs, "label_probs_l2": label_l2}))
    for key, extra in settings:
        t = time.perf_counter()
        ad = VisualAdapter(**HEAD, **extra, progress=False).fit(feats, groups=np.where(train, codes, None),
                                                               labels=np.where(train, types, None))
        v = ad.transform(feats).vectors
        rows[prefix + key] = {**scores(v, feats.present, types, codes, dev),
                              "train_seconds": round(time.perf_counter() - t, 1)}
        print(split, prefix + key, rows[prefix + key], flush=True)
        if augment > 1:
            key += f" + gallery augmentation ({augment})"
            rows[prefix + key] = augmented_row(v, feats.present, dev, augment, types, codes)
            print(split, prefix + key, rows[prefix + key], flush=True)
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", default=str(Path(__file__).resolve().parents[2] / "shared/datasets/hm-sample"))
    ap.add_argument("--backbone", default="efficientnet_lite0",
                    help="efficientnet_lite0/1/2 (1 and 2 with visrec[backbones])")
    ap.add_argument("--input-size", type=int, default=None, help="default: the backbone's own (224/240/260)")
    ap.add_argument("--pooling", default="avg", choices=["avg", "multi"],
                    help="multi: multi-depth vectors (visual.multi_depth), also the ones fine-tuned")
    ap.add_argument("--tta", default="none", choices=["none", "flip"],
                    help="flip: every photo embedded with its mirror image (ImageEmbedder(tta='flip'))")
    ap.add_argument("--cache", default=None,
                    help="embedding store (default ~/.cache/visrec/embeddings/<backbone>-pad-<size>)")
    ap.add_argument("--max-train", type=int, default=4000)
    ap.add_argument("--unfreeze", default="1,2")
    ap.add_argument("--epochs", type=int, default=8)
    ap.add_argument("--augment", action="store_true", help="fine-tune on randomly mirrored photos")
    ap.add_argument("--splits", default="by-product,by-type")
    ap.add_argument("--label-probs", type=float, default=0.5,
                    help="also the head with a product-type classifier's probabilities at this weight (0: skip); "
                         "the fine-tuned rows carry them too")
    ap.add_argument("--label-l2", type=float, default=None,
                    help="the type classifier's L2 penalty (default: features.label_probs.LABEL_PROBS_L2)")
    ap.add_argument("--gallery-augment", type=int, default=1, metavar="K",
                    help="also each head row after gallery augmentation over the dev photos with K "
                         "(recsys.index.augment_gallery, as visrec similar --gallery-augment K); 1: off")
    ap.add_argument("--tuned-only", action="store_true",
                    help="skip the raw and frozen-head rows (measured by an earlier run of the same split)")
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    from machine import cpu_name

    from evaluation.splits import group_holdout
    from features import ItemFeatures, embed_catalog
    from features.adapt import VisualAdapter
    from features.finetune import BackboneFineTuner
    from features.label_probs import LABEL_PROBS_L2
    from recsys.cli.options import store_dir
    from recsys.data import load_hm
    from visual import ImageEmbedder
    catalog, _ = load_hm(a.data_dir)
    emb = ImageEmbedder(a.backbone, preprocess="pad", input_size=a.input_size, pooling=a.pooling, tta=a.tta,
                        progress=False)
    size = emb.input_size  # the backbone's own unless given
    tag = store_dir(Path(), emb).name  # <backbone>-pad-<size>[-multi][-flip], as the command line's stores
    cache = a.cache or str(Path.home() / ".cache/visrec/embeddings" / tag)
    raw = embed_catalog(catalog, emb, cache_dir=cache)
    df = catalog.df
    codes = df["product_code"].to_numpy(dtype=object)
    types = df["category"].astype(object).where(df["category"].notna(), None).to_numpy()
    paths, _ = catalog.checked_image_paths()
    splits = {"by-product": group_holdout(codes, 0.3, 0),
              "by-type": group_holdout(np.where(types == None, "", types), 0.3, 0) & (types != None)}  # noqa: E711
    spaces = {"": raw}
    if a.pooling == "multi":  # the standard vectors are the multi-depth vector's first part (same run, no re-embedding)
        from visual.multi_depth import standard_part
        spaces = {"avg part: ": ItemFeatures(standard_part(raw.vectors), raw.present), "": raw}
    l2 = LABEL_PROBS_L2 if a.label_l2 is None else a.label_l2
    result = {"cpu": cpu_name(), "date": time.strftime("%Y-%m-%d"), "backbone": tag, "max_train": a.max_train,
              "label_l2": l2, "splits": {}}
    for name in a.splits.split(","):
        dev = splits[name]
        train_pool = ~dev & raw.present
        rng = np.random.default_rng(0)
        prods = rng.permutation(np.unique(codes[train_pool]))
        train = np.zeros(len(codes), bool)
        for p in prods:
            if train.sum() >= a.max_train:
                break
            train |= train_pool & (codes == p)
        rows = {}
        for prefix, feats in ({} if a.tuned_only else spaces).items():
            rows.update(head_rows(feats, prefix, train, dev, a.label_probs, l2, types, codes, name, a.gallery_augment))
        idx = np.flatnonzero(train)
        dev_idx = np.flatnonzero(dev & raw.present)
        for n in [int(x) for x in a.unfreeze.split(",") if x]:
            ft = BackboneFineTuner(unfreeze=n, epochs=a.epochs, label_probs_weight=a.label_probs, augment=a.augment,
                                   label_probs_l2=l2, progress=False, **HEAD)
            ft.fit(emb, [paths[i] for i in idx], groups=codes[idx], labels=types[idx])
            with tempfile.TemporaryDirectory() as tmp:
                bb, head = ft.save(Path(tmp) / "bb.safetensors", Path(tmp) / "head.safetensors", emb)
                tuned = ImageEmbedder(a.backbone, weights=bb, preprocess="pad", input_size=size, pooling=a.pooling,
                                      tta=a.tta, progress=False)
                got = tuned.embed_paths([paths[i] for i in dev_idx])
                adv = VisualAdapter.load(head).transform(ItemFeatures(got.vectors, got.present,
                                                                      signature=tuned.signature())).vectors
            v = np.zeros((len(codes), adv.shape[1]), np.float32)
            v[dev_idx] = adv
            pres = np.zeros(len(codes), bool)
            pres[dev_idx] = got.present
            key = f"unfreeze {n}" + (" with flips" if a.augment else "") + (
                f" + type probabilities ({a.label_probs:g})" if a.label_probs else "")
            rows[key] = {**scores(v, pres, types, codes, dev), "epochs": len(ft.history_),
                                     "frozen_pass_seconds": round(ft.frozen_seconds_, 1),
                                     "train_seconds": round(ft.train_seconds_, 1), "history": ft.history_}
            print(name, key, {k: v for k, v in rows[key].items() if k != "history"}, flush=True)
            if a.gallery_augment > 1:
                k = a.gallery_augment
                rows[key + f" + gallery augmentation ({k})"] = augmented_row(v, pres, dev, k, types, codes)
        result["splits"][name] = {"train_photos": int(train.sum()), "dev_photos": int(dev.sum()), "rows": rows}
        if a.out:
            Path(a.out).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
