"""``visrec search``: catalog items similar to a photo (embedded in memory, never stored)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from .options import adapter_for, add_item_source_args, embed, load_catalog, make_embedder, report_index


def add_parser(sub):
    q = sub.add_parser("search", help="catalog items similar to a photo (the photo is never stored)")
    add_item_source_args(q, "model folder of a visual, hybrid or lightfm model "
                            "(or give --catalog/--images-root to search a catalog directly)")
    q.add_argument("--image", required=True, action="append", help="query photo (repeatable)")
    q.add_argument("--out", default=None, help="write JSONL here instead of standard output")
    q.set_defaults(func=run)


def run(args):
    from recsys.io.lists import list_entries
    from recsys.search import PhotoSearch
    if args.model:
        from recsys.models import Recommender
        model = Recommender.load(args.model)
        adapter = adapter_for(args.embedder, args.head, model.feature_signature_) \
            if (args.head or args.embedder == "adapted") else None
        search = PhotoSearch(model, weights=args.weights, device=args.device, adapter=adapter, index=args.index)
    else:  # search a catalog directly, embedded with --embedder
        catalog = load_catalog(args)
        emb = make_embedder(args)
        feats = embed(args, catalog, report_path=None, embedder=emb)
        adapter = adapter_for(args.embedder, args.head, emb.signature())
        search = PhotoSearch(feats, emb, item_ids=catalog.item_ids, adapter=adapter, index=args.index)
    report_index(search.index)
    ids, scores = search.search(args.image, k=args.k)  # photos are embedded in memory, never stored
    lines = [json.dumps({"query": Path(p).name, "similar": list_entries(i, s)})
             for p, i, s in zip(args.image, ids, scores)]
    text = "\n".join(lines) + "\n"
    if args.out:
        from recsys.io import atomic_write_text
        atomic_write_text(args.out, text)
    else:
        sys.stdout.write(text)
