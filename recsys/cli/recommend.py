"""``visrec recommend``: top-k lists for users of a trained model, written block by block."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from .data_source import add_dataset_args, load_data
from .arg_types import positive_int
from .options import add_column_args, add_engine_args, check_engine, load_interactions_arg


def add_parser(sub):
    r = sub.add_parser("recommend", help="top-k lists for users of a trained model")
    r.add_argument("--model", required=True, help="model folder from `visrec train`")
    r.add_argument("--users", default="all", help="'all', comma-separated ids, or @file with one id per line")
    r.add_argument("--k", type=positive_int, default=10)
    r.add_argument("--include-seen", action="store_true", help="do not exclude items the user already has")
    r.add_argument("--exclude", default=None, metavar="FILE",
                   help="CSV/Parquet of user_id,item_id pairs never to recommend (returns, dislikes, already shown)")
    add_dataset_args(r, catalog=False)
    add_column_args(r)
    r.add_argument("--device", default="cpu", help="cpu, or cuda to score factor models (als, vbpr, lightfm) on a GPU")
    r.add_argument("--precision", default="float32", choices=["float32", "bfloat16"],
                   help="EASE / visual-kernel products on the CPU; bfloat16 is several times faster on CPUs "
                        "with AMX or AVX512-BF16, with the same measured accuracy")
    r.add_argument("--out", required=True, help=".jsonl, .csv or .parquet")
    g = add_engine_args(r, "block of users")
    g.add_argument("--block-users", type=positive_int, default=None,
                   help="users scored and written at a time, what memory holds (default 65536)")
    g.add_argument("--keep-parts", action="store_true", help="ray: keep the Parquet parts after --out is written")
    r.set_defaults(func=run)


def read_users(spec: str, users) -> np.ndarray:
    """``all``, ``a,b,c`` or ``@file`` (one id per line) as an array of user ids (``users``: the model's
    :class:`recsys.data.IdMap` of users)."""
    if spec == "all":
        return users.ids
    if spec.startswith("@"):
        lines = Path(spec[1:]).read_text().splitlines()
        return np.asarray([ln.strip() for ln in lines if ln.strip()], object)
    return np.asarray(spec.split(","), object)


def open_model(args):
    """``(model or its saved parts, users IdMap, items IdMap)``: the local engine loads the model; the Ray
    engine only reads its folder (the actors build the model)."""
    if args.engine == "ray":
        from recsys.data import IdMap
        from recsys.models.persistence import read_model_parts
        parts = read_model_parts(args.model)
        return parts, IdMap(parts.users, kind="user"), IdMap(parts.items, kind="item")
    from recsys.models import Recommender
    model = Recommender.load(args.model)
    return model, model.users_, model.items_


def excluded_pairs(pairs, users_map, items_map, source):
    """The users x items matrix of ``pairs`` (interactions) to leave out, with a line on stderr."""
    from recsys.data.idmap import pairs_matrix
    m, n_ignored = pairs_matrix(pairs, users_map, items_map)
    print(f"excluding {len(pairs.df) - n_ignored} user-item pairs from {source}"
          + (f" ({n_ignored} name users or items unknown to the model: nothing to remove)" if n_ignored else ""),
          file=sys.stderr)
    return m


def run(args):
    from recsys.engines.lists import BLOCK_USERS, ListJob, write_lists
    check_engine(args)
    model, users_map, items_map = open_model(args)
    users = read_users(args.users, users_map)
    uidx = np.arange(len(users_map)) if args.users == "all" else users_map.to_index(list(users))
    exclude = None
    if args.exclude:
        pairs = load_interactions_arg(args, args.exclude, on_error="raise")  # a bad row is named by file and line
        exclude = excluded_pairs(pairs, users_map, items_map, args.exclude)
    if args.dataset != "csv" or args.interactions:  # the users' current histories: what they already have
        history = load_data(args)[1]
        source = args.interactions or f"--dataset {args.dataset}"
        if args.include_seen:
            print(f"note: --include-seen: the histories of {source} are not excluded", file=sys.stderr)
        else:
            seen = excluded_pairs(history, users_map, items_map, source)
            exclude = seen if exclude is None else (exclude + seen).tocsr()
    job = ListJob(args.k, not args.include_seen, exclude, args.device, args.precision)
    block = args.block_users or BLOCK_USERS
    t = time.perf_counter()
    if args.engine == "ray":
        from recsys.engines.ray_lists import recommend_ray
        n = recommend_ray(args.model, args.out, job, uidx, block_users=block, workers=args.workers,
                          parts_dir=args.parts, keep_parts=args.keep_parts, model_parts=model)
    else:
        n = write_lists(model, uidx, args.out, job, block_users=block, progress=len(uidx) > block)
    dt = time.perf_counter() - t
    print(f"{n} users x top-{args.k} in {dt:.2f}s -> {args.out}")
