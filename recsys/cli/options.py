"""Arguments and plumbing shared by the commands: catalog and embedding options, ``--param``."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from .arg_types import UsageError, positive_int, unit_interval


def cache_dir(arg) -> Path:
    """``--cache``, else ``$VISREC_CACHE``, else ``~/.cache/visrec/embeddings``."""
    if arg:
        return Path(arg)
    return Path(os.environ.get("VISREC_CACHE", Path.home() / ".cache" / "visrec" / "embeddings"))


def store_dir(cache: Path, embedder) -> Path:
    """The embedding store of one backbone, preprocessing, input size, pooling and augmentation inside a cache
    folder."""
    pooling, tta = getattr(embedder, "pooling", "avg"), getattr(embedder, "tta", "none")
    return cache / (f"{embedder.backbone}-{embedder.preprocess}-{embedder.input_size}"
                    + ("" if pooling == "avg" else f"-{pooling}") + ("" if tta == "none" else f"-{tta}"))


def make_embedder(args):
    """The :class:`visual.ImageEmbedder` the embedding options describe."""
    from visual import ImageEmbedder
    return ImageEmbedder(args.backbone, args.weights, device=args.device, batch_size=args.batch_size,
                         preprocess=args.preprocess, input_size=getattr(args, "input_size", None),
                         pooling=getattr(args, "pooling", "avg"), tta=getattr(args, "tta", "none"))


def add_embed_args(p):
    g = p.add_argument_group("image embeddings")
    g.add_argument("--backbone", default="efficientnet_lite0",
                   help="efficientnet_lite0 (offline default), efficientnet_lite1/2 (offline with visrec[backbones]) "
                        "or a torchvision model name, e.g. resnet50")
    g.add_argument("--weights", default=None, help="backbone weights: local file, URL or torchvision tag")
    g.add_argument("--input-size", type=positive_int, default=None,
                   help="square input side in pixels (default: the backbone's own, 224; 240/260 for "
                        "efficientnet_lite1/2); vectors of different sizes are kept apart")
    g.add_argument("--pooling", default="avg", choices=["avg", "multi"],
                   help="avg: the last features, average-pooled; multi (EfficientNet-Lite): joined by pooled "
                        "features of the last three stages (3808-d; better heads on unseen products, see README)")
    g.add_argument("--tta", default="none", choices=["none", "flip"],
                   help="test-time augmentation: flip embeds each photo and its mirror image and sums the two "
                        "(twice the network time; a product and its mirror image embed alike)")
    g.add_argument("--device", default="auto", help="auto, cpu or cuda")
    g.add_argument("--batch-size", type=positive_int, default=32)
    g.add_argument("--preprocess", default="pad", choices=["pad", "center_crop"])
    g.add_argument("--cache", default=None, help="embedding cache folder (default $VISREC_CACHE or "
                                                 "~/.cache/visrec/embeddings)")
    g.add_argument("--embedder", default="raw", choices=["raw", "adapted", "fused"],
                   help="raw backbone vectors; adapted: through a projection head (--head); fused: image "
                        "(adapted if --head is given) + catalog text (title, category, description)")
    g.add_argument("--head", default=None, help="adapter head (.safetensors) from `visrec adapt`; default for "
                   "--embedder adapted: the head shipped for the backbone (EfficientNet-Lite0: trained on H&M)")
    g.add_argument("--text-weight", type=unit_interval, default=0.3, help="fused: weight of the text cosine")
    g.add_argument("--text-model", default="auto", choices=["auto", "minilm", "tfidf"])
    g.add_argument("--fetch-workers", type=positive_int, default=8,
                   help="image URLs (http/https) downloaded at once (default 8); cached under $VISREC_CACHE/images")
    g.add_argument("--allow-private-urls", action="store_true",
                   help="also fetch image URLs on loopback, private and link-local addresses (refused by default)")


def add_catalog_args(p):
    p.add_argument("--catalog", required=False, help="catalog CSV/Parquet (item_id, image, ...)")
    p.add_argument("--images-root", default=None, help="folder image paths are relative to; with no "
                   "--catalog, every image under it becomes an item (id = file name)")
    p.add_argument("--on-error", default="raise", choices=["raise", "skip"],
                   help="malformed rows (catalog, interactions) and unknown items: stop with an error naming the "
                        "file and line, or skip and report them")
    p.add_argument("--allow-outside-root", action="store_true",
                   help="read catalog images outside --images-root too (default: such paths are skipped and reported)")
    add_column_args(p)


def add_column_args(p):
    """``--columns`` and ``--event-weights``: tables read with the shop's own column and event names."""
    p.add_argument("--columns", type=column_map, default={}, metavar="MAP",
                   help="the tables' own column names, e.g. user_id=customer_id,item_id=article_id,timestamp=t_dat "
                        "(common export names such as customer_id, article_id, sku, t_dat, event_name, "
                        "event_timestamp are recognised without it)")
    p.add_argument("--event-weights", type=event_weight_map, default=None, metavar="MAP",
                   help="weights of the event column's values, e.g. view_item=1,add_to_cart=3,purchase=5")


def column_map(text: str) -> dict:
    from recsys.data.columns import parse_columns
    try:
        return parse_columns(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def event_weight_map(text: str) -> dict:
    from recsys.data.columns import parse_event_weights
    try:
        return parse_event_weights(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def table_columns(args, kind: str) -> dict:
    """The ``--columns`` entries that apply to a table of ``kind`` (interactions or catalog)."""
    from recsys.data.columns import TABLE_COLUMNS
    return {k: v for k, v in (getattr(args, "columns", None) or {}).items() if k in TABLE_COLUMNS[kind]}


def load_interactions_arg(args, path, *, on_error=None):
    """An interactions file of the command line: ``--columns``, ``--event-weights``, ``--on-error``,
    and a note on stderr for what the load skipped, merged or read through an alias."""
    from recsys.data import load_interactions
    inter = load_interactions(path, on_error=on_error or getattr(args, "on_error", "raise"),
                              event_weights=getattr(args, "event_weights", None),
                              columns=table_columns(args, "interactions"))
    report_rows(inter.report)
    return inter


def add_index_arg(p):
    """``--index``: the nearest-neighbour index of similar items and search by photo."""
    from recsys.index import KINDS
    p.add_argument("--index", default="auto", choices=["auto", *KINDS],
                   help="nearest-neighbour index: auto (exact for small catalogs, approximate by size), flat "
                        "(exact), hnsw, hnsw-sq8 (8-bit codes), ivf-sq8; approximate ones report their "
                        "measured recall@10 against exact search")


def report_index(index) -> None:
    """One line on stderr naming the index built and, when approximate, its measured recall."""
    d = index.describe()
    if d["kind"] == "flat":
        print(f"index: exact ({d['n']} items)", file=sys.stderr)
    else:
        print(f"index: {d['kind']} ({d['factory']}, {d['n']} items), recall@10 {d['recall@10']:.3f} against "
              f"exact search at search setting {d['knob']}, built in {d['build_seconds']}s", file=sys.stderr)


def load_catalog(args):
    """The catalog of ``--catalog`` (images under ``--images-root``), or every image under ``--images-root``."""
    from recsys.data import load_catalog as load_table, load_folder_catalog
    if args.catalog:
        catalog = load_table(args.catalog, args.images_root, on_error=args.on_error,
                             allow_outside_root=args.allow_outside_root, columns=table_columns(args, "catalog"))
    elif args.images_root:
        catalog = load_folder_catalog(args.images_root)
    else:
        raise UsageError("give --catalog CATALOG.csv and/or --images-root DIR (or --dataset movielens-1m|hm|demo)")
    report_rows(catalog.report)
    return catalog


def report_rows(report) -> None:
    """Rows a load skipped, merged or read in a stated way: a note on stderr, each skipped row named."""
    if not report:
        return
    print(f"note: {report.summary()}", file=sys.stderr)
    for r in report.skipped[1:10]:
        print(f"  {r['source']}" + (f" line {r['row']}" if r["row"] is not None else "") + f": {r['reason']}",
              file=sys.stderr)


def embed(args, catalog, report_path=None, embedder=None, *, embedder_kind=None, head=None):
    """Item features for the catalog; items without a usable image are listed on stderr and,
    in full, in ``report_path`` (default ``<--out>.skipped.jsonl``).

    ``embedder_kind`` / ``head`` override ``--embedder`` / ``--head`` (e.g. ``"raw"`` to train a head)."""
    emb = embedder or make_embedder(args)
    feats = raw_features(args, catalog, emb)
    kind = embedder_kind or getattr(args, "embedder", "raw")
    head = getattr(args, "head", None) if embedder_kind is None else head
    feats = transform_features(args, catalog, feats, kind, head)
    if report_path is None and getattr(args, "out", None):
        report_path = Path(str(args.out).rstrip("/") + ".skipped.jsonl")
    report_skipped(feats.errors, report_path)
    return feats


def raw_features(args, catalog, emb):
    """The catalog's image vectors through the embedding cache: in this process, or with ``--engine ray``
    on Ray actors, in resumable Parquet parts (``--parts``, default ``<--out>.parts``)."""
    store = store_dir(cache_dir(args.cache), emb)
    if getattr(args, "engine", "local") == "ray":
        from recsys.engines.ray_embed import embed_catalog_ray, embedder_settings
        parts = args.parts or f"{str(args.out).rstrip('/')}.parts"
        return embed_catalog_ray(catalog, embedder_settings(emb), parts, store=store, shard_rows=args.shard_rows,
                                 workers=args.workers)
    from features import embed_catalog
    return embed_catalog(catalog, emb, cache_dir=store, fetcher=url_fetcher(args))


def url_fetcher(args):
    """The downloader of catalog image URLs, as ``--fetch-workers`` / ``--allow-private-urls`` set it."""
    from visual.fetch import UrlFetcher
    return UrlFetcher(concurrency=getattr(args, "fetch_workers", 8),
                      allow_private=getattr(args, "allow_private_urls", False))


def check_engine(args) -> None:
    """With ``--engine ray``: Ray must import (else a usage error saying how to install it), checked
    before any work starts."""
    if getattr(args, "engine", "local") == "ray":
        from recsys.engines.cluster import import_ray
        try:
            import_ray()
        except ImportError as e:
            raise UsageError(str(e)) from None


def add_engine_args(p, unit: str):
    """``--engine local|ray``, ``--workers`` and ``--parts`` of the commands that can run on Ray."""
    from recsys.engines import ENGINES
    g = p.add_argument_group("engine")
    g.add_argument("--engine", default="local", choices=ENGINES,
                   help="local: this process; ray: Ray actors (the cluster at $RAY_ADDRESS, else a local Ray; "
                        "needs pip install 'visrec[ray]'), each " + unit + " written to a resumable Parquet part")
    g.add_argument("--workers", type=positive_int, default=None,
                   help="ray: actors (default: one per GPU when used, else one per CPU of the cluster)")
    g.add_argument("--parts", default=None, metavar="DIR",
                   help="ray: folder of the Parquet parts (default <--out>.parts, on storage all nodes reach); a "
                        "rerun of the same job resumes from it")
    return g


def transform_features(args, catalog, feats, kind: str = "raw", head=None):
    """Apply ``--embedder adapted|fused`` (``kind``) to raw image features."""
    adapter = adapter_for(kind, head, feats.signature)
    if adapter is not None:
        feats = adapter.transform(feats)
    if kind == "fused":
        from features import TextEmbedder, fuse
        text = TextEmbedder(args.text_model, progress=False).embed(catalog.text())
        feats = fuse(feats, text, args.text_weight)
    return feats


def adapter_for(kind: str, head, signature):
    """The head for ``--embedder adapted`` (``--head``, else the one shipped for this backbone), or None."""
    from features.adapt import VisualAdapter, load_default_head
    if head:
        return VisualAdapter.load(head)
    if kind == "adapted":
        return load_default_head(signature)
    return None


def report_skipped(errors, rep):
    """Items without a usable image: a summary on stderr, every one in ``rep`` (JSONL)."""
    if not errors:
        return
    print(f"warning: {len(errors)} item(s) have no usable image and no visual vector:", file=sys.stderr)
    for e in errors[:10]:
        print(f"  {e['item_id']}: {e['path']}: {e['reason']}", file=sys.stderr)
    if rep:
        from recsys.io import atomic_write_text
        rep = Path(rep)
        rep.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(rep, "".join(json.dumps(e) + "\n" for e in errors))
        print(f"  full list: {rep}", file=sys.stderr)
