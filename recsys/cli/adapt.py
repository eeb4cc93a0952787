"""``visrec adapt``: train a projection head that adapts image vectors to a catalog."""

from __future__ import annotations

import numpy as np

from .data_source import add_dataset_args, load_data
from .arg_types import parse_params
from .options import add_embed_args, embed


def add_parser(sub):
    a = sub.add_parser("adapt", help="train a projection head that adapts image vectors to a catalog")
    add_dataset_args(a)
    add_embed_args(a)
    a.add_argument("--group-column", default=None, help="variant-group column (e.g. product_code)")
    a.add_argument("--label-column", default=None, help="category column (e.g. category)")
    a.add_argument("--pair-signal", action="store_true",
                   help="with --dataset movielens-1m|hm|demo: their interactions' co-interaction pairs as a further "
                        "signal (always on with --interactions)")
    a.add_argument("--param", action="append", help="VisualAdapter key=value (repeatable)")
    a.add_argument("--unfreeze", type=int, default=0, metavar="N",
                   help="also fine-tune the last N blocks of the CNN (an efficientnet_lite0/1/2 backbone; 16, 21 or 21 "
                        "blocks) with the head, early-stopped on a validation split by --group-column; writes a "
                        "backbone checkpoint. --device cuda trains in bfloat16")
    a.add_argument("--backbone-out", default=None,
                   help="with --unfreeze: the fine-tuned backbone (.safetensors; default <out>.backbone.safetensors)")
    a.add_argument("--out", required=True, help="head file (.safetensors; settings in <out>.json)")
    a.set_defaults(func=run)


def co_interaction_pairs(data, min_items: int = 2, max_items: int = 50) -> np.ndarray:
    """``(n, 2)`` item-index pairs bought/viewed by one user (users with 2..50 items)."""
    X = data.matrix()
    pairs = []
    for u in range(X.shape[0]):
        items = X[u].indices
        if min_items <= len(items) <= max_items:
            pairs.extend((a, b) for k, a in enumerate(items) for b in items[k + 1:])
    return np.asarray(pairs, dtype=np.int64).reshape(-1, 2)


def run(args):
    from features.adapt import VisualAdapter
    catalog, inter = load_data(args)
    if args.unfreeze and args.interactions:
        raise ValueError("--unfreeze trains on --group-column / --label-column only, not --interactions")
    if args.unfreeze:
        return fine_tune(args, catalog)
    feats = embed(args, catalog, report_path=None, embedder_kind="raw", head=None)
    df = catalog.df
    for col in (args.group_column, args.label_column):
        if col and col not in df.columns:
            raise ValueError(f"catalog has no column {col!r} (columns: {list(df.columns)})")
    groups = df[args.group_column].to_numpy(dtype=object) if args.group_column else None
    labels = df[args.label_column].to_numpy(dtype=object) if args.label_column else None
    pairs = None
    if inter is not None and (args.interactions or args.pair_signal):
        from recsys.data import Dataset
        data = Dataset(catalog, inter, on_unknown="skip")
        pairs = co_interaction_pairs(data)
    params = parse_params(args.param)
    if pairs is not None:
        params.setdefault("pair_weight", 0.3)
    ad = VisualAdapter(**params)
    ad.fit(feats, groups=groups, labels=labels, pairs=pairs)
    ad.save(args.out)
    print(f"adapter head trained on {int(feats.present.sum())} images -> {args.out}")


def fine_tune(args, catalog):
    """``--unfreeze N``: the last N blocks and a head trained on the catalog's photos, saved as a backbone
    checkpoint (use it with ``--weights``) and a head for its vectors (``--embedder adapted --head``)."""
    from pathlib import Path

    from features.finetune import BackboneFineTuner
    from .options import make_embedder, report_skipped
    df = catalog.df
    for col in (args.group_column, args.label_column):
        if col and col not in df.columns:
            raise ValueError(f"catalog has no column {col!r} (columns: {list(df.columns)})")
    paths, refused = catalog.checked_image_paths()
    keep = [i for i, p in enumerate(paths) if p is not None and i not in refused]
    groups = df[args.group_column].to_numpy(dtype=object)[keep] if args.group_column else None
    labels = df[args.label_column].to_numpy(dtype=object)[keep] if args.label_column else None
    emb = make_embedder(args)
    ft = BackboneFineTuner(unfreeze=args.unfreeze, **parse_params(args.param))
    ft.fit(emb, [paths[i] for i in keep], groups=groups, labels=labels)
    errors = [{"item_id": catalog.item_ids[keep[e["index"]]], "path": e["path"], "reason": e["reason"]}
              for e in ft.errors_]
    errors += [{"item_id": catalog.item_ids[i], "path": p, "reason": r} for i, (p, r) in refused.items()]
    report_skipped(errors, Path(str(args.out) + ".skipped.jsonl"))
    backbone = args.backbone_out or str(Path(args.out).with_suffix("")) + ".backbone.safetensors"
    bb, head = ft.save(backbone, args.out, emb)
    last = ft.history_[-1]
    print(f"fine-tuned the last {args.unfreeze} block(s) on {len(keep) - len(errors)} photos in "
          f"{ft.frozen_seconds_ + ft.train_seconds_:.0f}s ({len(ft.history_)} epochs, validation score "
          f"{ft.validation_score_:.4f}, last {last['validation']:.4f}) -> {bb} and head {head}\n"
          f"use: --weights {bb}{' --pooling ' + emb.pooling if emb.pooling != 'avg' else ''}"
          f"{' --tta ' + emb.tta if emb.tta != 'none' else ''} --embedder adapted "
          f"--head {head}")
