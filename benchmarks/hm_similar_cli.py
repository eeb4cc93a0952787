"""The H&M dev products judged through `visrec similar`, as a held-out set would be.

    python benchmarks/hm_similar_cli.py --head HEAD.safetensors [--data-dir ../shared/datasets/hm-sample]

Copies the dev products' photos (same split as benchmarks/hm_adaptation.py: 30% of products,
seed 0) into a temporary folder, runs `visrec similar --images-root DIR` with `--embedder raw`
and `--embedder adapted --head HEAD`, and scores both feeds: product-type precision@10 (over
neighbours that have metadata) and recall@10 of same-product colour variants. Use a head trained
without the dev products (hm_adaptation.py --out-head), not the shipped one (trained on all).
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", default=str(Path(__file__).resolve().parents[2] / "shared/datasets/hm-sample"))
    ap.add_argument("--head", required=True)
    ap.add_argument("--dev-fraction", type=float, default=0.3)
    a = ap.parse_args()
    from evaluation.splits import group_holdout as split_products  # the split of hm_adaptation.py
    from evaluation.retrieval import score_similar_feed
    from recsys.data import load_hm
    catalog, _ = load_hm(a.data_dir)
    df = catalog.df
    codes = df["product_code"].to_numpy(dtype=object)
    dev = split_products(codes, a.dev_fraction, 0)
    labels = {i: c for i, c in zip(df["item_id"], df["category"]) if isinstance(c, str)}
    groups = dict(zip(df["item_id"], df["product_code"]))
    root = Path(ROOT)
    with tempfile.TemporaryDirectory() as d:
        imgs = Path(d) / "images"
        for rel in df.loc[dev, "image"]:
            (imgs / Path(rel).parent.name).mkdir(parents=True, exist_ok=True)
            shutil.copy(Path(a.data_dir) / rel, imgs / Path(rel).parent.name / Path(rel).name)
        for kind, extra in (("raw", []), ("adapted", ["--head", a.head])):
            out = Path(d) / f"{kind}.jsonl"
            subprocess.run([sys.executable, "-m", "recsys.cli", "similar", "--images-root", str(imgs), "--k", "10",
                            "--embedder", kind, *extra, "--out", str(out)], check=True, cwd=root,
                           env=dict(os.environ, PYTHONPATH=str(root)), stderr=subprocess.DEVNULL)
            rows = [json.loads(line) for line in out.read_text().splitlines()]
            print(f"{kind:<8} {len(rows)} dev items: {score_similar_feed(rows, labels, groups)}")


ROOT = Path(__file__).resolve().parents[1]

if __name__ == "__main__":
    main()
