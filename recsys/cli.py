"""Command line: ``visrec demo|embed|train|recommend|similar|search|adapt|evaluate``."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path


def _cache_dir(arg) -> Path:
    if arg:
        return Path(arg)
    return Path(os.environ.get("VISREC_CACHE", Path.home() / ".cache" / "visrec" / "embeddings"))


def _store_dir(cache: Path, embedder) -> Path:
    return cache / f"{embedder.backbone}-{embedder.preprocess}-{embedder.input_size}"


def _embedder(args):
    from visual import ImageEmbedder
    return ImageEmbedder(args.backbone, args.weights, device=args.device, batch_size=args.batch_size,
                         preprocess=args.preprocess)


def _add_embed_args(p):
    g = p.add_argument_group("image embeddings")
    g.add_argument("--backbone", default="efficientnet_lite0",
                   help="efficientnet_lite0 (offline default) or a torchvision model name, e.g. resnet50")
    g.add_argument("--weights", default=None, help="backbone weights: local file, URL or torchvision tag")
    g.add_argument("--device", default="auto", help="auto, cpu or cuda")
    g.add_argument("--batch-size", type=int, default=32)
    g.add_argument("--preprocess", default="pad", choices=["pad", "center_crop"])
    g.add_argument("--cache", default=None, help="embedding cache folder (default $VISREC_CACHE or "
                                                 "~/.cache/visrec/embeddings)")
    g.add_argument("--embedder", default="raw", choices=["raw", "adapted", "fused"],
                   help="raw backbone vectors; adapted: through a projection head (--head); fused: image "
                        "(adapted if --head is given) + catalog text (title, category, description)")
    g.add_argument("--head", default=None, help="adapter head (.safetensors) from `visrec adapt`; default for "
                   "--embedder adapted: the head shipped for the backbone (EfficientNet-Lite0: trained on H&M)")
    g.add_argument("--text-weight", type=float, default=0.3, help="fused: weight of the text cosine")
    g.add_argument("--text-model", default="auto", choices=["auto", "minilm", "tfidf"])


def _add_catalog_args(p):
    p.add_argument("--catalog", required=False, help="catalog CSV/Parquet (item_id, image, ...)")
    p.add_argument("--images-root", default=None, help="folder image paths are relative to; with no "
                   "--catalog, every image under it becomes an item (id = file name)")


def _load_catalog(args):
    from recsys.data import load_catalog, load_folder_catalog
    if args.catalog:
        return load_catalog(args.catalog, args.images_root)
    if args.images_root:
        return load_folder_catalog(args.images_root)
    raise SystemExit("error: give --catalog CATALOG.csv and/or --images-root DIR")


def _embed(args, catalog, report_path=None, embedder=None):
    """Item features for the catalog; items without a usable image are listed on stderr and,
    in full, in ``report_path`` (default ``<--out>.skipped.jsonl``)."""
    from features import embed_catalog
    emb = embedder or _embedder(args)
    feats = embed_catalog(catalog, emb, cache_dir=_store_dir(_cache_dir(args.cache), emb))
    feats = _transform_features(args, catalog, feats)
    if report_path is None and getattr(args, "out", None):
        report_path = Path(str(args.out).rstrip("/") + ".skipped.jsonl")
    _report_skipped(feats.errors, report_path)
    return feats


def _transform_features(args, catalog, feats):
    """Apply ``--embedder adapted|fused`` to raw image features."""
    kind = getattr(args, "embedder", "raw")
    adapter = _adapter(args, feats.signature)
    if adapter is not None:
        feats = adapter.transform(feats)
    if kind == "fused":
        from features import TextEmbedder, fuse
        text = TextEmbedder(args.text_model, progress=False).embed(catalog.text())
        feats = fuse(feats, text, args.text_weight)
    return feats


def _adapter(args, signature):
    """The head for ``--embedder adapted`` (``--head``, else the one shipped for this backbone)."""
    from features.adapt import VisualAdapter, load_default_head
    if getattr(args, "head", None):
        return VisualAdapter.load(args.head)
    if getattr(args, "embedder", "raw") == "adapted":
        return load_default_head(signature)
    return None


def _report_skipped(errors, rep):
    if not errors:
        return
    print(f"warning: {len(errors)} item(s) have no usable image and no visual vector:", file=sys.stderr)
    for e in errors[:10]:
        print(f"  {e['item_id']}: {e['path']}: {e['reason']}", file=sys.stderr)
    if rep:
        rep = Path(rep)
        rep.parent.mkdir(parents=True, exist_ok=True)
        rep.write_text("".join(json.dumps(e) + "\n" for e in errors))
        print(f"  full list: {rep}", file=sys.stderr)


def _parse_params(items) -> dict:
    out = {}
    for it in items or []:
        if "=" not in it:
            raise SystemExit(f"error: --param expects key=value, got {it!r}")
        k, v = it.split("=", 1)
        try:
            out[k] = json.loads(v)
        except json.JSONDecodeError:
            out[k] = v
    return out


# -- commands ------------------------------------------------------------------------------------
def cmd_demo(args):
    from recsys.demo import run_demo
    run_demo(args.out, k=args.k, cache_dir=args.cache)


def cmd_embed(args):
    catalog = _load_catalog(args)
    feats = _embed(args, catalog)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    feats.save(out, item_ids=catalog.item_ids)
    print(f"embedded {int(feats.present.sum())}/{len(catalog)} items -> {out}")


def cmd_train(args):
    from recsys.data import Dataset, load_interactions
    from recsys.models import make_model
    catalog = _load_catalog(args)
    inter = load_interactions(args.interactions, on_error=args.on_error)
    data = Dataset(catalog, inter, on_unknown=args.on_error)
    for rep in (catalog.report, inter.report, data.report):
        if rep:
            print(f"note: {rep.summary()}", file=sys.stderr)
    model = make_model(args.model, **_parse_params(args.param))
    feats = _embed(args, catalog) if model.requires_features else None
    t = time.perf_counter()
    model.fit(data, feats)
    model.save(args.out)
    print(f"trained {args.model} on {data} in {time.perf_counter() - t:.1f}s -> {args.out}")


def cmd_recommend(args):
    import numpy as np
    from recsys.models import Recommender
    from recsys.output import write_recommendations
    model = Recommender.load(args.model)
    if args.users == "all":
        users = model.users_.ids
    elif args.users.startswith("@"):
        users = np.asarray([ln.strip() for ln in Path(args.users[1:]).read_text().splitlines() if ln.strip()], object)
    else:
        users = np.asarray(args.users.split(","), object)
    exclude = None
    if args.exclude:
        from recsys.data import load_interactions
        pairs = load_interactions(args.exclude)  # validated: a bad row is named by file and line
        exclude, n_ignored = model.exclusion_matrix(pairs)
        print(f"excluding {len(pairs.df) - n_ignored} user-item pairs from {args.exclude}"
              + (f" ({n_ignored} name users or items unknown to the model: nothing to remove)" if n_ignored else ""),
              file=sys.stderr)
    t = time.perf_counter()
    ids, scores = model.recommend(users, k=args.k, exclude_seen=not args.include_seen, exclude_items=exclude,
                                  device=args.device, precision=args.precision)
    dt = time.perf_counter() - t
    write_recommendations(args.out, users, ids, scores)
    print(f"{len(users)} users x top-{args.k} in {dt:.2f}s -> {args.out}")


def cmd_similar(args):
    from recsys.output import write_similar
    if args.model:
        from recsys.models import Recommender
        model = Recommender.load(args.model)
        items = model.items_.ids
        ids, scores = model.similar_items(items, k=args.k)
        write_similar(args.out, items, ids, scores)
        print(f"{len(items)} items -> {args.out}")
        return
    from recsys.index import VectorIndex
    catalog = _load_catalog(args)
    feats = _embed(args, catalog)
    index = VectorIndex(feats.vectors, feats.present)
    import numpy as np
    ok = np.flatnonzero(feats.present)
    idx, scores = index.search_items(ok, args.k)
    all_ids = catalog.item_ids
    ids = all_ids[np.maximum(idx, 0)].astype(object)
    ids[idx < 0] = None
    write_similar(args.out, all_ids[ok], ids, scores)
    print(f"neighbours for {len(ok)}/{len(catalog)} items (the rest have no readable image) -> {args.out}")


def cmd_search(args):
    from recsys.output import _entries
    from recsys.search import PhotoSearch
    if args.model:
        from recsys.models import Recommender
        model = Recommender.load(args.model)
        adapter = _adapter(args, model.feature_signature_) if (args.head or args.embedder == "adapted") else None
        search = PhotoSearch(model, weights=args.weights, device=args.device, adapter=adapter)
    else:  # search a catalog directly, embedded with --embedder
        catalog = _load_catalog(args)
        emb = _embedder(args)
        feats = _embed(args, catalog, report_path=None, embedder=emb)
        adapter = _adapter(args, emb.signature())
        search = PhotoSearch(feats, emb, item_ids=catalog.item_ids, adapter=adapter)
    ids, scores = search.search(args.image, k=args.k)  # photos are embedded in memory, never stored
    lines = [json.dumps({"query": Path(p).name, "similar": _entries(i, s)}) for p, i, s in zip(args.image, ids, scores)]
    text = "\n".join(lines) + "\n"
    if args.out:
        from visual.store import atomic_write_text
        atomic_write_text(args.out, text)
    else:
        sys.stdout.write(text)


def cmd_adapt(args):
    import numpy as np
    from features.adapt import VisualAdapter
    catalog = _load_catalog(args)
    args.embedder, args.head = "raw", None
    feats = _embed(args, catalog, report_path=None)
    df = catalog.df
    groups = df[args.group_column].to_numpy(dtype=object) if args.group_column else None
    labels = df[args.label_column].to_numpy(dtype=object) if args.label_column else None
    for col in (args.group_column, args.label_column):
        if col and col not in df.columns:
            raise ValueError(f"catalog has no column {col!r} (columns: {list(df.columns)})")
    pairs = None
    if args.interactions:
        from recsys.data import Dataset, load_interactions
        data = Dataset(catalog, load_interactions(args.interactions), on_unknown="skip")
        X = data.matrix()
        pairs = []
        for u in range(X.shape[0]):
            items = X[u].indices
            if 2 <= len(items) <= 50:
                pairs.extend((a, b) for k, a in enumerate(items) for b in items[k + 1:])
        pairs = np.asarray(pairs, dtype=np.int64).reshape(-1, 2)
    ad = VisualAdapter(**_parse_params(args.param))
    if pairs is not None and "pair_weight" not in (_parse_params(args.param) or {}):
        ad.pair_weight = 0.3
    ad.fit(feats, groups=groups, labels=labels, pairs=pairs)
    ad.input_signature_ = feats.signature
    ad.save(args.out)
    print(f"adapter head trained on {int(feats.present.sum())} images -> {args.out}")


def cmd_evaluate(args):
    from evaluation.cli import run_evaluate
    run_evaluate(args)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="visrec", description="Visual-similarity recommendations for e-commerce.")
    p.add_argument("--version", action="version", version=f"visrec {__import__('recsys').__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    d = sub.add_parser("demo", help="run the whole flow on the embedded Fashion-MNIST shop")
    d.add_argument("--out", default="visrec-demo", help="output folder (default ./visrec-demo)")
    d.add_argument("--k", type=int, default=10)
    d.add_argument("--cache", default=None, help="embedding cache folder (default OUT/cache/embeddings)")
    d.set_defaults(func=cmd_demo)

    e = sub.add_parser("embed", help="embed catalog images (cached by content hash)")
    _add_catalog_args(e)
    _add_embed_args(e)
    e.add_argument("--out", required=True, help="output .npz (item_ids, vectors, present)")
    e.set_defaults(func=cmd_embed)

    t = sub.add_parser("train", help="fit a model and save it to a folder")
    _add_catalog_args(t)
    t.add_argument("--interactions", required=True, help="interactions CSV/Parquet (user_id, item_id, ...)")
    t.add_argument("--model", default="hybrid", help="popularity, als, lightfm, visual or hybrid")
    t.add_argument("--param", action="append", help="model hyper-parameter key=value (repeatable)")
    t.add_argument("--on-error", default="raise", choices=["raise", "skip"],
                   help="malformed rows / unknown items: stop with an error, or skip and report them")
    _add_embed_args(t)
    t.add_argument("--out", required=True, help="model folder")
    t.set_defaults(func=cmd_train)

    r = sub.add_parser("recommend", help="top-k lists for users of a trained model")
    r.add_argument("--model", required=True, help="model folder from `visrec train`")
    r.add_argument("--users", default="all", help="'all', comma-separated ids, or @file with one id per line")
    r.add_argument("--k", type=int, default=10)
    r.add_argument("--include-seen", action="store_true", help="do not exclude items the user already has")
    r.add_argument("--exclude", default=None, metavar="FILE",
                   help="CSV/Parquet of user_id,item_id pairs never to recommend (returns, dislikes, already shown)")
    r.add_argument("--device", default="cpu", help="cpu, or cuda to score factor models (als, vbpr, lightfm) on a GPU")
    r.add_argument("--precision", default="float32", choices=["float32", "bfloat16"],
                   help="EASE / visual-kernel products on the CPU; bfloat16 is several times faster on CPUs "
                        "with AMX or AVX512-BF16, with the same measured accuracy")
    r.add_argument("--out", required=True, help=".jsonl, .csv or .parquet")
    r.set_defaults(func=cmd_recommend)

    s = sub.add_parser("similar", help="similar items for every item (pure visual with --catalog/--images-root)")
    s.add_argument("--model", default=None, help="use a trained model's item vectors instead of images")
    _add_catalog_args(s)
    _add_embed_args(s)
    s.add_argument("--k", type=int, default=10)
    s.add_argument("--out", required=True, help=".jsonl, .csv or .parquet")
    s.set_defaults(func=cmd_similar)

    q = sub.add_parser("search", help="catalog items similar to a photo (the photo is never stored)")
    q.add_argument("--model", default=None, help="model folder of a visual, hybrid or lightfm model "
                   "(or give --catalog/--images-root to search a catalog directly)")
    _add_catalog_args(q)
    _add_embed_args(q)
    q.add_argument("--image", required=True, action="append", help="query photo (repeatable)")
    q.add_argument("--k", type=int, default=10)
    q.add_argument("--out", default=None, help="write JSONL here instead of standard output")
    q.set_defaults(func=cmd_search)

    a = sub.add_parser("adapt", help="train a projection head that adapts image vectors to a catalog")
    _add_catalog_args(a)
    _add_embed_args(a)
    a.add_argument("--group-column", default=None, help="variant-group column (e.g. product_code)")
    a.add_argument("--label-column", default=None, help="category column (e.g. category)")
    a.add_argument("--interactions", default=None, help="co-interaction pairs as a further signal")
    a.add_argument("--param", action="append", help="VisualAdapter key=value (repeatable)")
    a.add_argument("--out", required=True, help="head file (.safetensors; settings in <out>.json)")
    a.set_defaults(func=cmd_adapt)

    v = sub.add_parser("evaluate", help="compare models on a held-out split; writes metrics.json and report.html")
    v.add_argument("--dataset", default="demo", choices=["demo", "movielens-1m", "hm", "csv"])
    v.add_argument("--data-dir", default=None, help="dataset folder (movielens-1m, hm)")
    _add_catalog_args(v)
    v.add_argument("--interactions", default=None, help="for --dataset csv")
    v.add_argument("--protocol", default="random", choices=["random", "temporal", "recbole-811", "cold-items"],
                   help="random: per-user 80/20; temporal: global time cut; recbole-811: per-user 8:1:1 "
                        "train/valid/test, valid items excluded from test rankings (MovieLens: ratings >= 3); "
                        "cold-items: --test-fraction of items held out with all their interactions, "
                        "users rank only those (AUC, Recall@k)")
    v.add_argument("--test-fraction", type=float, default=0.2)
    v.add_argument("--test-days", type=float, default=None,
                   help="temporal: last N days as test (default 56 on hm; else --test-fraction of events)")
    v.add_argument("--min-rating", type=float, default=None, help="movielens-1m: keep ratings >= this")
    v.add_argument("--models", default=None, help="comma-separated (default: all)")
    v.add_argument("--param", action="append", help="model.key=value hyper-parameter (repeatable)")
    v.add_argument("--compare", default=None, metavar="A,B",
                   help="also write an A/B report of model B against model A (CIs, Wilcoxon, Holm, segments) "
                        "to OUT/compare/")
    v.add_argument("--k", type=int, default=None, help="list length (default 10; 12 for temporal on hm)")
    v.add_argument("--seen", default="auto", choices=["auto", "exclude", "keep"],
                   help="leave the user's training items out of the lists (auto: keep them for the temporal "
                        "protocol, where repurchases count; exclude otherwise)")
    v.add_argument("--new-users", default="popular", choices=["popular", "skip"],
                   help="test users without training history (new customers of a time split): kept with "
                        "the same best-seller list for every model (default), or left out")
    v.add_argument("--seed", type=int, default=0)
    _add_embed_args(v)
    v.add_argument("--out", required=True, help="output folder")
    v.set_defaults(func=cmd_evaluate)

    from evaluation.compare_cli import add_arguments as add_compare_arguments, run_compare
    c = sub.add_parser("compare", help="A/B-compare recommendation files (JSONL/CSV/Parquet) on one test set: "
                                       "CIs, Wilcoxon + Holm, segments; writes report.html, metrics.json, summary.md")
    add_compare_arguments(c)
    c.set_defaults(func=run_compare)
    return p


def main(argv=None) -> int:
    from recsys.data import DataError, UnknownIdError
    from visual import ImageError, StoreMismatchError
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except (DataError, UnknownIdError, StoreMismatchError, ImageError, FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
