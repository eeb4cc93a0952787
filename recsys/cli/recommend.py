"""``visrec recommend``: top-k lists for users of a trained model."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from .options import positive_int


def add_parser(sub):
    r = sub.add_parser("recommend", help="top-k lists for users of a trained model")
    r.add_argument("--model", required=True, help="model folder from `visrec train`")
    r.add_argument("--users", default="all", help="'all', comma-separated ids, or @file with one id per line")
    r.add_argument("--k", type=positive_int, default=10)
    r.add_argument("--include-seen", action="store_true", help="do not exclude items the user already has")
    r.add_argument("--exclude", default=None, metavar="FILE",
                   help="CSV/Parquet of user_id,item_id pairs never to recommend (returns, dislikes, already shown)")
    r.add_argument("--device", default="cpu", help="cpu, or cuda to score factor models (als, vbpr, lightfm) on a GPU")
    r.add_argument("--precision", default="float32", choices=["float32", "bfloat16"],
                   help="EASE / visual-kernel products on the CPU; bfloat16 is several times faster on CPUs "
                        "with AMX or AVX512-BF16, with the same measured accuracy")
    r.add_argument("--out", required=True, help=".jsonl, .csv or .parquet")
    r.set_defaults(func=run)


def read_users(spec: str, model) -> np.ndarray:
    """``all``, ``a,b,c`` or ``@file`` (one id per line) as an array of user ids."""
    if spec == "all":
        return model.users_.ids
    if spec.startswith("@"):
        lines = Path(spec[1:]).read_text().splitlines()
        return np.asarray([ln.strip() for ln in lines if ln.strip()], object)
    return np.asarray(spec.split(","), object)


def run(args):
    from recsys.io.lists import write_recommendations
    from recsys.models import Recommender
    model = Recommender.load(args.model)
    users = read_users(args.users, model)
    exclude = None
    if args.exclude:
        from recsys.data import load_interactions
        pairs = load_interactions(args.exclude)  # validated: a bad row is named by file and line
        exclude, n_ignored = model.exclusion_matrix(pairs)
        print(f"excluding {len(pairs.df) - n_ignored} user-item pairs from {args.exclude}"
              + (f" ({n_ignored} name users or items unknown to the model: nothing to remove)" if n_ignored else ""),
              file=sys.stderr)
    t = time.perf_counter()
    ids, scores = model.recommend(users, k=args.k, exclude_seen=not args.include_seen, exclude_items=exclude,
                                  device=args.device, precision=args.precision)
    dt = time.perf_counter() - t
    write_recommendations(args.out, users, ids, scores)
    print(f"{len(users)} users x top-{args.k} in {dt:.2f}s -> {args.out}")
