"""``visrec embed``: catalog images -> item vectors (``.npz``), cached by image content."""

from __future__ import annotations

from pathlib import Path

from .options import add_catalog_args, add_embed_args, embed, load_catalog


def add_parser(sub):
    e = sub.add_parser("embed", help="embed catalog images (cached by content hash)")
    add_catalog_args(e)
    add_embed_args(e)
    e.add_argument("--out", required=True, help="output .npz (item_ids, vectors, present)")
    e.set_defaults(func=run)


def run(args):
    catalog = load_catalog(args)
    feats = embed(args, catalog)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    feats.save(out, item_ids=catalog.item_ids)
    print(f"embedded {int(feats.present.sum())}/{len(catalog)} items -> {out}")
