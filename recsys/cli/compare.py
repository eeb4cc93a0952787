"""``visrec compare``: offline A/B comparison of two (or more) recommendation files on one test set.

Writes ``metrics.json``, ``summary.md`` and a self-contained ``report.html`` to ``--out``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from .options import UsageError, report_rows, positive_int, non_negative_int, open_fraction


def add_parser(sub):
    p = sub.add_parser("compare", help="A/B-compare recommendation files (JSONL/CSV/Parquet) on one test set: "
                                       "CIs, Wilcoxon + Holm, segments; writes report.html, metrics.json, summary.md")
    p.add_argument("--a", required=True, metavar="A.jsonl",
                   help="baseline lists (JSONL as written by `visrec recommend`/`visrec demo`, or CSV/Parquet "
                        "with user_id, rank, item_id)")
    p.add_argument("--b", required=True, metavar="B.jsonl", help="lists of the system compared with the baseline")
    p.add_argument("--also", action="append", default=[], metavar="NAME=PATH",
                   help="a further system's lists, compared with the baseline too (repeatable)")
    p.add_argument("--name-a", default=None, help="display name of A (default: file name)")
    p.add_argument("--name-b", default=None, help="display name of B (default: file name)")
    p.add_argument("--test", required=True, help="test interactions CSV/Parquet (user_id, item_id, ...)")
    p.add_argument("--train", default=None,
                   help="training interactions: enables the user segments (light/heavy, new/returning), cold/warm "
                        "item segments, novelty, popularity and the popularity distribution")
    p.add_argument("--catalog", default=None, help="catalog CSV/Parquet (item_id, image, ...): item universe for "
                                                   "coverage and AUC, thumbnails in the report")
    p.add_argument("--images-root", default=None, help="folder catalog image paths are relative to "
                                                       "(default: the catalog's folder)")
    p.add_argument("--features", default=None,
                   help="item vectors .npz from `visrec embed` (item_ids, vectors): intra-list diversity")
    p.add_argument("--k", type=positive_int, default=10, help="cut-off of the tests (default 10)")
    p.add_argument("--ks", default=None, help="comma-separated cut-offs of the metric@k curves "
                                              "(default 1,5,10,20,50,100 up to the list length)")
    p.add_argument("--n-boot", type=positive_int, default=2000, help="bootstrap resamples (default 2000)")
    p.add_argument("--alpha", type=open_fraction, default=0.05, help="significance level (default 0.05; CI 1-alpha)")
    p.add_argument("--random-state", "--seed", dest="random_state", type=int, default=0,
                   help="seed of the random draws (default 0)")
    p.add_argument("--sample-users", type=non_negative_int, default=4, help="users shown with thumbnails in the report")
    p.add_argument("--on-error", default="raise", choices=["raise", "skip"],
                   help="malformed rows of the interaction files: stop (default) or skip and report")
    p.add_argument("--title", default="visrec offline A/B comparison")
    p.add_argument("--out", required=True, help="output folder (metrics.json, summary.md, report.html)")
    p.set_defaults(func=run)


def run(args):
    """Run ``visrec compare`` from parsed arguments."""
    from recsys.data import load_catalog, load_interactions
    from evaluation.compare import compare_files, load_features_npz

    files = {}
    for name, path in ((args.name_a, args.a), (args.name_b, args.b)):
        files[_unique(name or Path(path).stem, files)] = path
    for spec in args.also or []:
        if "=" not in spec:
            raise UsageError(f"--also takes NAME=PATH, got {spec!r}")
        name, path = spec.split("=", 1)
        if name in files:
            raise UsageError(f"two systems are named {name!r}; use --name-a/--name-b")
        files[name] = path
    ks = [int(x) for x in args.ks.split(",") if x.strip()] if args.ks else None
    if args.k < 1 or (ks and min(ks) < 1):
        raise UsageError("cut-offs must be positive integers")
    test = load_interactions(args.test, on_error=args.on_error)
    train = load_interactions(args.train, on_error=args.on_error) if args.train else None
    catalog = load_catalog(args.catalog, args.images_root, on_error=args.on_error) if args.catalog else None
    feats = load_features_npz(args.features) if args.features else None
    for rep in [test.report] + ([train.report] if train is not None else []) + \
            ([catalog.report] if catalog is not None else []):
        report_rows(rep)
    comp = compare_files(files, test, train, catalog=catalog, features=feats, k=args.k, ks=ks, n_boot=args.n_boot,
                         alpha=args.alpha, random_state=args.random_state)
    print(comp.table())
    for n in comp.notes:
        print(f"note: {n}", file=sys.stderr)
    out = comp.write(args.out, title=args.title, n_sample_users=args.sample_users, random_state=args.random_state)
    print(f"wrote {out['report']}, {out['metrics']} and {out['summary']}", file=sys.stderr)


def _unique(name: str, taken) -> str:
    base, i = name, 2
    while name in taken:
        name = f"{base}-{i}"
        i += 1
    return name
