"""``visrec compare``: offline A/B comparison of two (or more) recommendation files on one test set
(``--a``, ``--b``, ``--test``), or the online A/B report of the events a server logged (``--events``).

Either way writes ``metrics.json``, ``summary.md`` and a self-contained ``report.html`` to ``--out``.
"""

from __future__ import annotations

import sys
from pathlib import Path

from .arg_types import UsageError, non_negative_int, open_fraction, positive_int
from .options import add_column_args, load_interactions_arg, report_rows, table_columns


def add_parser(sub):
    p = sub.add_parser("compare", help="A/B-compare recommendation files (JSONL/CSV/Parquet) on one test set "
                                       "(CIs, Wilcoxon + Holm, segments), or the variants of an online experiment "
                                       "from its logged events (--events); writes report.html, metrics.json, "
                                       "summary.md")
    p.add_argument("--a", default=None, metavar="A.jsonl",
                   help="baseline lists (JSONL as written by `visrec recommend`/`visrec demo`, or CSV/Parquet "
                        "with user_id, rank, item_id)")
    p.add_argument("--b", default=None, metavar="B.jsonl", help="lists of the system compared with the baseline")
    p.add_argument("--also", action="append", default=[], metavar="NAME=PATH",
                   help="a further system's lists, compared with the baseline too (repeatable)")
    p.add_argument("--name-a", default=None, help="display name of A (default: file name)")
    p.add_argument("--name-b", default=None, help="display name of B (default: file name)")
    p.add_argument("--test", default=None, help="test interactions CSV/Parquet (user_id, item_id, ...)")
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
    add_column_args(p)
    p.add_argument("--title", default=None, help="report title (default: visrec offline A/B comparison, or visrec "
                                                 "online A/B report with --events)")
    p.add_argument("--out", required=True, help="output folder (metrics.json, summary.md, report.html)")
    g = p.add_argument_group("online A/B report (instead of --a/--b/--test)")
    g.add_argument("--events", default=None, metavar="EVENTS",
                   help="logged events: .parquet/.csv from `visrec events export`, or the server's SQLite store "
                        "(.sqlite/.db, whose experiment gives the expected split)")
    g.add_argument("--split", default=None, help="expected split of the units, e.g. 50/50 (variants in sorted order) "
                                                 "or A=70/B=30 (default: the store's experiment, else equal shares)")
    g.add_argument("--baseline", default=None, help="baseline variant (default: the first in sorted order)")
    g.add_argument("--srm-alpha", type=open_fraction, default=0.001,
                   help="the sample-ratio-mismatch check fails below this p-value (default 0.001)")
    p.set_defaults(func=run)


def run(args):
    """Run ``visrec compare`` from parsed arguments."""
    if _check_mode(args):
        return run_events(args)
    from recsys.data import load_catalog
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
    test = load_interactions_arg(args, args.test)
    train = load_interactions_arg(args, args.train) if args.train else None
    catalog = load_catalog(args.catalog, args.images_root, on_error=args.on_error,
                           columns=table_columns(args, "catalog")) if args.catalog else None
    feats = load_features_npz(args.features) if args.features else None
    if catalog is not None:
        report_rows(catalog.report)
    comp = compare_files(files, test, train, catalog=catalog, features=feats, k=args.k, ks=ks, n_boot=args.n_boot,
                         alpha=args.alpha, random_state=args.random_state)
    print(comp.table())
    for n in comp.notes:
        print(f"note: {n}", file=sys.stderr)
    out = comp.write(args.out, title=args.title or "visrec offline A/B comparison", n_sample_users=args.sample_users,
                     random_state=args.random_state)
    print(f"wrote {out['report']}, {out['metrics']} and {out['summary']}", file=sys.stderr)


def _unique(name: str, taken) -> str:
    base, i = name, 2
    while name in taken:
        name = f"{base}-{i}"
        i += 1
    return name


#: options of the offline comparison that do not go with --events, and those only --events uses
OFFLINE_OPTIONS = ("a", "b", "test", "also", "name_a", "name_b", "train", "catalog", "features")
ONLINE_OPTIONS = ("split", "baseline")


def _check_mode(args) -> bool:
    """True for the online report (``--events``), False for the offline comparison; UsageError when
    neither is complete or options of both are mixed."""
    if args.events:
        mixed = [f"--{o.replace('_', '-')}" for o in OFFLINE_OPTIONS if getattr(args, o)]
        if mixed:
            raise UsageError(f"--events (online report) does not go with {', '.join(mixed)} (offline comparison)")
        return True
    stray = [f"--{o}" for o in ONLINE_OPTIONS if getattr(args, o)]
    if stray:
        raise UsageError(f"{', '.join(stray)} only go with --events")
    missing = [f"--{o}" for o in ("a", "b", "test") if not getattr(args, o)]
    if missing:
        raise UsageError(f"give --a, --b and --test (offline lists; missing {', '.join(missing)}) or --events (the "
                         "online report of a server's logged events)")
    return False


def parse_split_text(text: str):
    """``--split``: ``50/50`` as weights (variants in sorted order), or ``A=70/B=30`` as ``{variant: weight}``."""
    parts = [x.strip() for x in text.replace(",", "/").split("/") if x.strip()]
    named = ["=" in x for x in parts]
    if not parts or (any(named) and not all(named)):
        raise UsageError(f"--split {text!r}: give 50/50 or A=50/B=50")
    pairs = [x.split("=", 1) if "=" in x else (None, x) for x in parts]
    try:
        weights = [float(w) for _, w in pairs]
    except ValueError:
        raise UsageError(f"--split {text!r}: the parts must be numbers, e.g. 50/50 or A=70/B=30") from None
    if any(not w > 0 for w in weights):
        raise UsageError(f"--split {text!r}: every part must be positive")
    return {k.strip(): w for (k, _), w in zip(pairs, weights)} if all(named) else weights


def load_events(path):
    """The events of ``--events`` and the split of the store's experiment (None for an exported file)."""
    import pandas as pd
    from recsys.data import DataError
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    if path.is_dir():
        raise DataError(f"{path}: is a folder, not an event file")
    suffix = path.suffix.lower()
    if suffix in (".sqlite", ".sqlite3", ".db"):
        from recsys.serve.events import read_events
        from recsys.serve.variants import read_split
        return read_events(path), read_split(path)
    if suffix not in (".parquet", ".csv"):
        raise UsageError(f"--events {path}: expected an export (.parquet or .csv) or the server's store (.sqlite, .db)")
    try:
        if suffix == ".parquet":
            return pd.read_parquet(path), None
        ids = ("event_id", "type", "rec_id", "variant", "user_id", "visitor_id", "item_id", "key_name")
        return pd.read_csv(path, dtype=dict.fromkeys(ids, str)), None
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: empty file, no events") from None
    except (ValueError, OSError, pd.errors.ParserError) as e:
        raise DataError(f"{path}: cannot be read as {suffix[1:]} ({e})") from None


def run_events(args):
    """``visrec compare --events``: the online A/B report."""
    from evaluation.online import compare_events
    events, stored = load_events(args.events)
    split, source = stored, f"experiment stored in {Path(args.events).name}"
    if args.split:
        split, source = parse_split_text(args.split), "--split"
    elif stored is None:
        source = "equal shares (no --split, no stored experiment)"
    comp = compare_events(events, split=split, baseline=args.baseline, alpha=args.alpha, n_boot=args.n_boot,
                          random_state=args.random_state, srm_alpha=args.srm_alpha, source=str(args.events),
                          split_source=source)
    print(comp.table())
    for n in comp.notes:
        print(f"{'warning' if n.startswith('SAMPLE RATIO') else 'note'}: {n}", file=sys.stderr)
    out = comp.write(args.out, title=args.title or "visrec online A/B report")
    print(f"wrote {out['report']}, {out['metrics']} and {out['summary']}", file=sys.stderr)
