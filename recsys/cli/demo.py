"""``visrec demo``: the whole flow on the embedded Fashion-MNIST shop."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from .arg_types import positive_int


def add_parser(sub):
    d = sub.add_parser("demo", help="run the whole flow on the embedded Fashion-MNIST shop")
    d.add_argument("--out", default="visrec-demo", help="output folder (default ./visrec-demo)")
    d.add_argument("--k", type=positive_int, default=10)
    d.add_argument("--cache", default=None, help="embedding cache folder (default OUT/cache/embeddings)")
    d.add_argument("--serve", action="store_true",
                   help="then serve the model with the demo shop at http://127.0.0.1:PORT/demo (Ctrl-C stops)")
    d.add_argument("--port", type=int, default=8000, help="port of --serve (default 8000)")
    d.set_defaults(func=run)


def run(args):
    import shlex
    summary = run_demo(args.out, k=args.k, cache_dir=args.cache)
    if args.serve:
        import argparse
        from . import serve
        parser = argparse.ArgumentParser(prog="visrec")
        serve.add_parser(parser.add_subparsers())
        serve_args = parser.parse_args([*shlex.split(summary["serve_command"])[1:], "--port", str(args.port)])
        print(f"[demo] the demo shop: http://127.0.0.1:{args.port}/demo", flush=True)
        return serve_args.func(serve_args)


def new_arrival_precision(models: dict, catalog, shoppers_csv, k: int = 10) -> dict:
    """For fitted models: share of each shopper's top-``k`` new arrivals that fall in the
    shopper's planted favourite categories (``shoppers.csv``)."""
    import pandas as pd
    shoppers = pd.read_csv(shoppers_csv, dtype=str)
    df = catalog.df
    new = df.loc[df["new_arrival"].astype(int) == 1, "item_id"].tolist()
    cat = dict(zip(df["item_id"], df["category"]))
    known = [u for u in shoppers["user_id"] if u in next(iter(models.values())).users_]
    prefs = dict(zip(shoppers["user_id"], shoppers["preferred_categories"].str.split("|")))
    out = {}
    for name, m in models.items():
        ids, _ = m.recommend(known, k=k, items=new)
        hits = [cat[i] in prefs[u] for u, row in zip(known, ids) for i in row if i is not None]
        out[name] = round(float(np.mean(hits)), 4) if hits else 0.0
    return out


def serve_command(out) -> str:
    """The ``visrec serve`` command line for the model and catalog ``visrec demo`` wrote to ``out``."""
    import shlex
    out = Path(out)
    return (f"visrec serve --model {shlex.quote(str(out / 'model'))} --catalog "
            f"{shlex.quote(str(out / 'data' / 'catalog.csv'))} --images-root {shlex.quote(str(out / 'data'))} "
            "--demo-page")


def run_demo(out, *, k: int = 10, cache_dir=None, progress: bool = True) -> dict:
    """Embed the demo images, compare the models on a held-out split, and write
    ``recommendations.jsonl``, ``similar_items.jsonl``, ``report.html`` and ``metrics.json`` to ``out``."""
    from evaluation import Experiment, random_split
    from evaluation.experiment_report import render_report
    from features import embed_catalog
    from recsys.data import Dataset, load_catalog, load_interactions
    from recsys.data.demo import materialise_demo
    from recsys.models import make_model
    from recsys.io.lists import write_recommendations, write_similar
    from visual import ImageEmbedder
    from recsys.io import atomic_write_text

    out = Path(out)
    t0 = time.perf_counter()
    data_dir = materialise_demo(out / "data")
    catalog = load_catalog(data_dir / "catalog.csv", data_dir)
    inter = load_interactions(data_dir / "interactions.csv")
    print(f"[demo] catalog: {len(catalog)} items; interactions: {len(inter)} events", flush=True)

    embedder = ImageEmbedder(progress=progress)
    feats = embed_catalog(catalog, embedder, cache_dir=Path(cache_dir) if cache_dir else out / "cache" / "embeddings")
    t_embed = time.perf_counter()
    print(f"[demo] embedded {int(feats.present.sum())} images ({len(feats.errors)} skipped) "
          f"in {t_embed - t0:.1f}s", flush=True)

    names = ["popularity", "als", "lightfm", "visual", "als-visual", "vbpr", "hybrid"]
    models = {n: make_model(n, **({"progress": False} if "progress" in make_model(n).get_params() else {}))
              for n in names}
    split = random_split(inter, 0.2, random_state=0)
    result = Experiment(models, split, catalog, feats, ks=(k,)).run()
    print(result.table(), flush=True)
    metrics = result.to_json()
    planted = new_arrival_precision(models, catalog, data_dir / "shoppers.csv", k)
    for name, v in planted.items():
        metrics[name][f"new_arrivals_preferred@{k}"] = v
    print(f"[demo] share of each model's top-{k} new arrivals in the shopper's planted favourite "
          f"categories (chance ~0.15): {planted}", flush=True)
    atomic_write_text(out / "metrics.json", json.dumps(metrics, indent=1))
    rows = "".join(f"<tr><td>{n}</td><td>{v:.3f}</td></tr>" for n, v in planted.items())
    extra = (f"<h2>New arrivals (photo only, no interactions)</h2><p class='small'>Each model ranks only the "
             f"200 new arrivals for every shopper; the table gives the share of its top-{k} that fall in the "
             f"shopper's planted favourite categories (chance is about 0.15). Collaborative filtering alone "
             f"cannot tell new arrivals apart; the visual models can.</p><table><tr><th>model</th>"
             f"<th>preferred share@{k}</th></tr>{rows}</table>")
    render_report(result, out / "report.html", title="visrec demo: Fashion-MNIST shop, simulated shoppers",
                  extra_html=extra)
    comp = result.compare("als", "hybrid")  # the offline A/B report: per-user CIs, Wilcoxon + Holm, segments
    comp.write(out / "compare", title="visrec demo: hybrid vs ALS")

    full = Dataset(catalog, inter)
    hybrid = make_model("hybrid", progress=False).fit(full, feats)
    hybrid.save(out / "model")
    ids, scores = hybrid.recommend(full.users.ids, k=k)
    write_recommendations(out / "recommendations.jsonl", full.users.ids, ids, scores)
    visual = make_model("visual").fit(full, feats)
    sid, ssc = visual.similar_items(full.items.ids, k=k)
    write_similar(out / "similar_items.jsonl", full.items.ids, sid, ssc)
    elapsed = time.perf_counter() - t0
    summary = {"out": str(out), "seconds": round(elapsed, 1), "embed_seconds": round(t_embed - t0, 1),
               "users": full.n_users, "items": full.n_items, "cold_items": int(len(full.cold_items())),
               "skipped_images": feats.errors}
    print(f"[demo] wrote {out / 'recommendations.jsonl'}, {out / 'similar_items.jsonl'}, {out / 'report.html'}, "
          f"{out / 'compare' / 'report.html'} in {elapsed:.1f}s", flush=True)
    summary["serve_command"] = serve_command(out)
    print(f"[demo] serve the saved model over HTTP (API http://127.0.0.1:8000/docs, demo shop "
          f"http://127.0.0.1:8000/demo), or run `visrec demo --serve`:\n  {summary['serve_command']}", flush=True)
    return summary
