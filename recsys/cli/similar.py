"""``visrec similar``: the similar-items feed, from a trained model or straight from catalog images."""

from __future__ import annotations

import numpy as np

from .data_source import add_item_source_args, check_item_source, load_catalog_data
from .options import embed, report_index


def add_parser(sub):
    s = sub.add_parser("similar", help="similar items for every item (pure visual with --catalog/--images-root)")
    add_item_source_args(s, "use a trained model's item vectors instead of images")
    s.add_argument("--out", required=True, help=".jsonl, .csv or .parquet")
    s.set_defaults(func=run)


def run(args):
    from recsys.io.lists import write_similar
    check_item_source(args)
    if args.model:
        from recsys.models import Recommender
        model = Recommender.load(args.model)
        items = model.items_.ids
        index = model.similar_index() if args.index == "auto" else model.build_index(args.index)
        report_index(index)
        ids, scores = model.similar_items(items, k=args.k)
        write_similar(args.out, items, ids, scores)
        print(f"{len(items)} items -> {args.out}")
        return
    from recsys.data import IdMap
    from recsys.index import VectorIndex
    catalog = load_catalog_data(args)
    feats = embed(args, catalog)
    index = VectorIndex(feats.vectors, feats.present, kind=args.index)
    report_index(index)
    ok = np.flatnonzero(feats.present)
    idx, scores = index.search_items(ok, args.k)
    items = IdMap(catalog.item_ids, kind="item")
    write_similar(args.out, items.ids[ok], items.to_ids(idx), scores)
    print(f"neighbours for {len(ok)}/{len(catalog)} items (the rest have no readable image) -> {args.out}")
