"""Search by words on H&M: typed descriptions against photos that carry no text, split by product.

    python benchmarks/hm_text_search.py [--data-dir ../shared/datasets/hm-sample] [--dev-fraction 0.3]
        [--grid | --param epochs=20] [--ship features/heads/text-hm-efficientnet_lite0-pad-224.safetensors]
        [--out result.json]

Products (``product_code``) are split as in ``hm_adaptation.py`` (seed 0): ``dev-fraction`` of them to
dev, 15% of the rest to validation, the rest to fit; colour variants never sit on both sides. An
aligner (``features.align.TextAligner``, MiniLM text -> raw EfficientNet-Lite0 vectors) is trained on
the fit products' ``prod_name + detail_desc`` and photos; ``--grid`` chooses its settings on
validation, then it is retrained on fit + validation and judged once on dev.

Query = a dev article's ``prod_name`` + ``detail_desc``; corpus = photos only (no text attached):

- ``dev``: the photos of the dev articles that have metadata (type labels known);
- ``dev + unlabelled``: those plus the photos of every article without metadata (about 16,800
  distractors; variant recall only).

Metrics: variant recall@10 (a colour variant of the query's product, the article itself included, in
the top 10) and product-type precision@10. Anchors in the same run: random vectors, and TF-IDF /
MiniLM text -> text over the photos' own hidden text (what a text-only search would reach if every
item had text).
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

GRID = [{}, {"hidden": 0}, {"temperature": 0.1}, {"epochs": 20}, {"epochs": 80}, {"dropout": 0.5}]


def judge(Q, C, q_codes, c_codes, q_types, c_types, k=10) -> dict:
    """Variant recall@k and type precision@k of queries ``Q`` against corpus ``C`` (rows L2-normalised)."""
    out_rec, out_prec = [], []
    for s in range(0, len(Q), 512):
        S = Q[s:s + 512] @ C.T
        top = np.argpartition(-S, k, axis=1)[:, :k]
        for j, t in enumerate(top):
            i = s + j
            out_rec.append(bool((c_codes[t] == q_codes[i]).any()))
            if c_types is not None:
                out_prec.append(float((c_types[t] == q_types[i]).mean()))
    res = {"variant_recall@10": round(float(np.mean(out_rec)), 4)}
    if c_types is not None:
        res["type_precision@10"] = round(float(np.mean(out_prec)), 4)
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", default=str(Path(__file__).resolve().parents[2] / "shared/datasets/hm-sample"))
    ap.add_argument("--dev-fraction", type=float, default=0.3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cache", default=str(Path.home() / ".cache/visrec/embeddings/efficientnet_lite0-pad-224"))
    ap.add_argument("--grid", action="store_true", help="choose the aligner's settings on validation")
    ap.add_argument("--param", action="append", default=[],
                    help="TextAligner key=value used without --grid (e.g. epochs=20, the best on validation)")
    ap.add_argument("--ship", default=None, help="also save (float16) an aligner trained on ALL articles here")
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    from machine import cpu_name

    from evaluation.splits import group_holdout
    from features import embed_catalog
    from features.align import TextAligner
    from features.text import TfidfEncoder, minilm_vectors
    from recsys.data import load_hm
    from recsys.vectors import normalize_rows
    from visual import ImageEmbedder
    catalog, _ = load_hm(a.data_dir)
    feats = embed_catalog(catalog, ImageEmbedder(preprocess="pad", progress=False), cache_dir=a.cache)
    df = catalog.df
    texts = (df["title"].fillna("") + ". " + df["description"].fillna("")).str.strip(". ").tolist()
    labelled = df["category"].notna().to_numpy() & df["description"].notna().to_numpy() & feats.present
    codes = df["product_code"].to_numpy(dtype=object)
    types = df["category"].astype(object).to_numpy()
    dev = group_holdout(codes, a.dev_fraction, a.seed)
    val = ~dev & group_holdout(codes, 0.15, a.seed + 1)
    fit = ~dev & ~val
    t = time.perf_counter()
    T = np.zeros((len(df), 384), np.float32)
    T[labelled] = minilm_vectors([texts[i] for i in np.flatnonzero(labelled)])
    minilm_s = time.perf_counter() - t
    V = normalize_rows(feats.vectors)
    result = {"cpu": cpu_name(), "date": time.strftime("%Y-%m-%d"), "minilm_seconds": round(minilm_s, 1),
              "articles_with_text": int(labelled.sum()),
              "split": {m: int((labelled & s).sum()) for m, s in (("fit", fit), ("validation", val), ("dev", dev))}}

    def train(mask, **params):
        al = TextAligner(progress=False, **params)
        t0 = time.perf_counter()
        al.fit(np.where(mask & labelled, texts, ""), feats, groups=codes, text_vectors=T)
        return al, time.perf_counter() - t0

    def scores(al, part):
        q = labelled & part
        Q = al.project(T[q])
        return judge(Q, V[q], codes[q], codes[q], types[q], types[q])

    chosen = {k: json.loads(v) for k, v in (p.split("=", 1) for p in a.param)}
    if a.grid:
        result["validation"] = []
        best = -1.0
        for params in GRID:
            al, secs = train(fit, **params)
            s = scores(al, val)
            result["validation"].append({"params": params, **s, "fit_seconds": round(secs, 1)})
            print("validation", params, s, f"{secs:.1f}s", flush=True)
            if s["variant_recall@10"] + s["type_precision@10"] > best:
                best, chosen = s["variant_recall@10"] + s["type_precision@10"], params
    result["chosen"] = chosen
    al, secs = train(fit | val, **chosen)
    q = labelled & dev
    Q = al.transform_texts([texts[i] for i in np.flatnonzero(q)])
    result["aligner"] = {"params": al.get_params(), "pairs": al.n_pairs_, "fit_seconds": round(secs, 1)}
    big = q | (~labelled & feats.present)
    c_codes_big = codes[big]
    rng = np.random.default_rng(0)
    R = normalize_rows(rng.normal(size=Q.shape).astype(np.float32))
    tf = TfidfEncoder(256).fit([texts[i] for i in np.flatnonzero(labelled & ~dev)])
    TF = tf.transform([texts[i] for i in np.flatnonzero(q)])
    rows = {
        "random": (R, V[q], V[big]),
        "aligned text -> photos (visrec)": (Q, V[q], V[big]),
        "upper bound: TF-IDF text -> the photos' hidden text": (TF, TF, None),
        "upper bound: MiniLM text -> the photos' hidden text": (T[q], T[q], None),
    }
    result["dev"] = {}
    for name, (queries, corpus, corpus_big) in rows.items():
        r = judge(queries, corpus, codes[q], codes[q], types[q], types[q])
        if corpus_big is not None:
            r["variant_recall@10, dev + unlabelled photos"] = judge(queries, corpus_big, codes[q], c_codes_big,
                                                                    None, None)["variant_recall@10"]
        result["dev"][name] = r
        print(f"dev {name}: {r}", flush=True)
    if a.ship:
        al, secs = train(np.ones(len(df), bool), **chosen)
        card = {"data": "H&M Personalized Fashion Recommendations sample (../shared/datasets/hm-sample): "
                        "non-commercial research use only",
                "trained_on": f"{al.n_pairs_} articles with prod_name + detail_desc and a photo",
                "dev_split_by_product": result["dev"]["aligned text -> photos (visrec)"],
                "command": "python benchmarks/hm_text_search.py " + " ".join(sys.argv[1:])}
        al.save(a.ship, half=True, card=card)
        print(f"shipped aligner trained on {al.n_pairs_} articles -> {a.ship}")
    if a.out:
        Path(a.out).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
