"""``visrec similar``: the similar-items feed, from a trained model or straight from catalog images."""

from __future__ import annotations

import numpy as np

from .arg_types import positive_int
from .data_source import add_item_source_args, check_item_source, load_catalog_data
from .options import embed, report_index


def add_parser(sub):
    s = sub.add_parser("similar", help="similar items for every item (pure visual with --catalog/--images-root)")
    add_item_source_args(s, "use a trained model's item vectors instead of images")
    s.add_argument("--out", required=True, help=".jsonl, .csv or .parquet")
    s.add_argument("--gallery-augment", type=positive_int, default=1, metavar="K",
                   help="gallery augmentation: each item's vector summed with its K-1 nearest (weights cos^3) "
                        "before the search, for feeds of the same kind of product (default 1: off; 5 measured "
                        "on H&M, see README)")
    s.set_defaults(func=run)


def augmented(args, index):
    """The index to search after ``--gallery-augment`` (``index`` itself when it is 1)."""
    if args.gallery_augment == 1:
        return index
    from recsys.index import VectorIndex, augment_gallery
    vectors = augment_gallery(index.vectors, index.present, k=args.gallery_augment, index=index)
    index = VectorIndex(vectors, index.present, kind=args.index)
    report_index(index)
    return index


def run(args):
    from recsys.io.lists import write_similar
    check_item_source(args)
    if args.model:
        from recsys.models import Recommender
        model = Recommender.load(args.model)
        items = model.items_.ids
        index = model.similar_index() if args.index == "auto" else model.build_index(args.index)
        report_index(index)
        idx, scores = augmented(args, index).search_items(np.arange(len(items)), args.k)
        write_similar(args.out, items, model.items_.to_ids(idx), scores)
        print(f"{len(items)} items -> {args.out}")
        return
    from recsys.data import IdMap
    from recsys.index import VectorIndex
    catalog = load_catalog_data(args)
    feats = embed(args, catalog)
    index = VectorIndex(feats.vectors, feats.present, kind=args.index)
    report_index(index)
    ok = np.flatnonzero(feats.present)
    idx, scores = augmented(args, index).search_items(ok, args.k)
    items = IdMap(catalog.item_ids, kind="item")
    write_similar(args.out, items.ids[ok], items.to_ids(idx), scores)
    print(f"neighbours for {len(ok)}/{len(catalog)} items (the rest have no readable image) -> {args.out}")
