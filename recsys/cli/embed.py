"""``visrec embed``: catalog images -> item vectors (``.npz``), cached by image content."""

from __future__ import annotations

from pathlib import Path

from .data_source import add_dataset_args, load_catalog_data
from .arg_types import positive_int
from .options import add_embed_args, add_engine_args, check_engine, embed


def add_parser(sub):
    e = sub.add_parser("embed", help="embed catalog images (cached by content hash)")
    add_dataset_args(e, interactions=None)
    add_embed_args(e)
    e.add_argument("--out", required=True, help="output .npz (item_ids, vectors, present)")
    g = add_engine_args(e, "shard of images")
    g.add_argument("--shard-rows", type=positive_int, default=1024, help="ray: images per shard (default 1024)")
    e.set_defaults(func=run)


def run(args):
    check_engine(args)
    catalog = load_catalog_data(args)
    feats = embed(args, catalog)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    feats.save(out, item_ids=catalog.item_ids)
    print(f"embedded {int(feats.present.sum())}/{len(catalog)} items -> {out}")
