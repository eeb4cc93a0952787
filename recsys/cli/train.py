"""``visrec train``: fit a model on a catalog and interactions and save it to a folder."""

from __future__ import annotations

import time

from recsys.models.registry import model_help

from .data_source import add_dataset_args, load_data
from .arg_types import parse_params
from .options import add_embed_args, add_index_arg, embed, report_index, report_rows


def add_parser(sub):
    t = sub.add_parser("train", help="fit a model and save it to a folder")
    add_dataset_args(t, interactions="required")
    t.add_argument("--model", default="hybrid", help=model_help())
    t.add_argument("--param", action="append", help="model hyper-parameter key=value (repeatable)")
    add_embed_args(t)
    add_index_arg(t)
    t.add_argument("--out", required=True, help="model folder")
    t.set_defaults(func=run)


def run(args):
    from recsys.data import Dataset
    from recsys.models import make_model
    catalog, inter = load_data(args)
    data = Dataset(catalog, inter, on_unknown=args.on_error)
    report_rows(data.report)
    model = make_model(args.model, **parse_params(args.param))
    feats = embed(args, catalog) if model.requires_features else None
    t = time.perf_counter()
    model.fit(data, feats)
    if model.item_vectors() is not None:  # the similar-items index, saved with the model when approximate
        report_index(model.build_index(args.index))
    model.save(args.out)
    print(f"trained {args.model} on {data} in {time.perf_counter() - t:.1f}s -> {args.out}")
