"""``visrec search``: catalog items similar to a photo or matching typed words (queries are embedded in
memory and never stored)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from .data_source import add_item_source_args, check_item_source, load_catalog_data
from .arg_types import UsageError
from .options import adapter_for, embed, make_embedder, report_index


def add_parser(sub):
    q = sub.add_parser("search", help="catalog items similar to a photo or matching words (queries are never stored)")
    add_item_source_args(q, "model folder of a visual, hybrid or lightfm model "
                            "(or give --catalog/--images-root to search a catalog directly)")
    q.add_argument("--image", action="append", default=[], help="query photo (repeatable)")
    q.add_argument("--text", action="append", default=[],
                   help="query words, e.g. 'red floral summer dress' (repeatable); photo-only items are found too")
    q.add_argument("--text-head", default=None,
                   help="text aligner from `visrec align` (default: the one shipped for the backbone)")
    q.add_argument("--out", default=None, help="write JSONL here instead of standard output")
    q.set_defaults(func=run)


def run(args):
    from recsys.io.lists import list_entries
    from recsys.search import PhotoSearch
    from recsys.text_search import TextSearch
    if not args.image and not args.text:
        raise UsageError("give --image PHOTO and/or --text WORDS")
    check_item_source(args)
    if args.model:
        from recsys.models import Recommender
        source = Recommender.load(args.model)
        adapter = adapter_for(args.embedder, args.head, source.feature_signature_) \
            if (args.head or args.embedder == "adapted") else None
        ids_of, embedder = None, None
        photo_kw = {"weights": args.weights, "device": args.device}
    else:  # search a catalog directly, embedded with --embedder
        catalog = load_catalog_data(args)
        emb = make_embedder(args)
        source = embed(args, catalog, report_path=None, embedder=emb)
        adapter = adapter_for(args.embedder, args.head, emb.signature())
        ids_of, embedder, photo_kw = catalog.item_ids, emb, {}
    lines, index = [], args.index
    if args.image:
        search = PhotoSearch(source, embedder, item_ids=ids_of, adapter=adapter, index=index, **photo_kw)
        index = search.index  # built once, shared with the text queries
        report_index(index)
        ids, scores = search.search(args.image, k=args.k)  # photos are embedded in memory, never stored
        lines += [{"query": Path(p).name, "similar": list_entries(i, s)} for p, i, s in zip(args.image, ids, scores)]
    if args.text:
        search = TextSearch(source, args.text_head, item_ids=ids_of, adapter=adapter, index=index)
        if not args.image:
            report_index(search.index)
        ids, scores = search.search(args.text, k=args.k)
        lines += [{"query": t, "similar": list_entries(i, s)} for t, i, s in zip(args.text, ids, scores)]
    text = "".join(json.dumps(line) + "\n" for line in lines)
    if args.out:
        from recsys.io import atomic_write_text
        atomic_write_text(args.out, text)
    else:
        sys.stdout.write(text)
