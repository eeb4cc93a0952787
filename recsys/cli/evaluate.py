"""``visrec evaluate``: load a dataset, split it by a protocol, compare models, write metrics.json + report.html."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from evaluation.protocols import PROTOCOLS
from recsys.models.registry import model_names

from .data_source import add_dataset_args, load_data
from .arg_types import UsageError, open_fraction, parse_params, positive_int
from .options import add_embed_args, embed


def add_parser(sub):
    v = sub.add_parser("evaluate", help="compare models on a held-out split; writes metrics.json and report.html")
    add_dataset_args(v, default="demo", interactions="required")
    v.add_argument("--protocol", default="random", choices=list(PROTOCOLS),
                   help="random: per-user 80/20; temporal: global time cut; recbole-811: per-user 8:1:1 "
                        "train/valid/test, valid items excluded from test rankings (MovieLens: ratings >= 3); "
                        "cold-items: --test-fraction of items held out with all their interactions, "
                        "users rank only those (AUC, Recall@k)")
    v.add_argument("--test-fraction", type=open_fraction, default=0.2)
    v.add_argument("--test-days", type=float, default=None,
                   help="temporal: last N days as test (default 56 on hm; else --test-fraction of events); "
                        "with --folds: the length of each test window (default 28 on hm)")
    v.add_argument("--folds", type=positive_int, default=None,
                   help="temporal: rolling origin -- N successive cuts, fold i trains on everything before its cut "
                        "and tests on the next window (--test-days days, else --test-fraction of the events); "
                        "windows do not overlap and the last ends with the data; metrics pooled over the "
                        "(fold, user) units, per fold in metrics.json and report.html (default 1: one cut; "
                        "recommended on hm: --folds 4, i.e. 4 x 28 days)")
    v.add_argument("--until", default=None, metavar="DATE",
                   help="drop every interaction on or after DATE (e.g. 2020-06-02, UTC) before splitting: the "
                        "split, or the --folds windows, then end at DATE (validation folds before a test period); "
                        "recorded in metrics.json's split")
    v.add_argument("--min-rating", type=float, default=None, help="movielens-1m: keep ratings >= this")
    v.add_argument("--weight", default="binary", choices=["binary", "rating"],
                   help="movielens-1m: interaction weights, 1 for every kept rating (default, as the published "
                        "protocols) or the rating itself (e.g. for time-ease's rating_alpha)")
    v.add_argument("--models", default=None, help=f"comma-separated (default: all): {', '.join(model_names())}")
    v.add_argument("--param", action="append", help="model.key=value hyper-parameter (repeatable)")
    v.add_argument("--compare", default=None, metavar="A,B",
                   help="also write an A/B report of model B against model A (CIs, Wilcoxon, Holm, segments) "
                        "to OUT/compare/")
    v.add_argument("--k", type=positive_int, default=None, help="list length (default 10; 12 for temporal on hm)")
    v.add_argument("--seen", default="auto", choices=["auto", "exclude", "keep"],
                   help="leave the user's training items out of the lists (auto: keep them for the temporal "
                        "protocol, where repurchases count; exclude otherwise)")
    v.add_argument("--new-users", default="popular", choices=["popular", "skip"],
                   help="test users without training history (new customers of a time split): kept with "
                        "the same best-seller list for every model (default), or left out")
    v.add_argument("--random-state", "--seed", dest="random_state", type=int, default=0,
                   help="seed of the random draws (default 0)")
    add_embed_args(v)
    # None: the protocol's item vectors (cold-items: fused with catalog text, raw without; see
    # evaluation.protocols.protocol_embedder); --embedder / --text-weight override them
    v.set_defaults(embedder=None, text_weight=None)
    v.add_argument("--out", required=True, help="output folder")
    v.set_defaults(func=run)


def model_params(items) -> dict:
    """``--param model.key=value`` items as ``{model: {key: value}}``."""
    params = {}
    for k, v in parse_params(items).items():
        if "." not in k:
            raise UsageError(f"--param for evaluate is model.key=value, got {k!r}")
        m, key = k.split(".", 1)
        params.setdefault(m, {})[key] = v
    return params


def run(args):
    from evaluation import Experiment
    from evaluation.protocols import model_settings, protocol_embedder, protocol_settings
    from evaluation.experiment_report import render_report
    from evaluation.rolling import RollingExperiment
    from evaluation.rolling_report import fold_table
    from recsys.io import atomic_write_text
    from recsys.models import make_model

    names = args.models.split(",") if args.models else model_names()
    params = model_params(args.param)
    if args.compare:
        pair = args.compare.split(",")
        if len(pair) != 2 or not set(pair) <= set(names):
            raise UsageError(f"--compare needs two of the evaluated models as A,B, got {args.compare!r}")
    if args.folds is not None and args.protocol != "temporal":
        raise UsageError(f"--folds (rolling-origin cuts) needs --protocol temporal, got --protocol {args.protocol}")
    ps = protocol_settings(args.protocol, args.dataset, k=args.k, test_days=args.test_days,
                           min_rating=args.min_rating, seen=args.seen, folds=args.folds)
    until = parse_until(args.until)
    catalog, inter = load_data(args, min_rating=ps.min_rating, weight=args.weight,
                               demo_dir=Path(args.out) / "data")
    inter, until_desc = drop_from(inter, until) if until is not None else (inter, None)
    settings = model_settings(names, args.protocol, params, args.dataset)
    models = {n: make_model(n, **settings[n]) for n in names}
    splits = make_splits_or_usage_error(args, ps, inter)
    for split in splits:
        describe_split(split.description, args, ps, settings)
        if until_desc:
            split.description["until"] = until_desc
    need_feats = any(m.requires_features for m in models.values())
    vectors = protocol_embedder(args.protocol, any(catalog.text()), args.embedder, args.text_weight,
                                dataset=args.dataset)
    args.embedder, args.text_weight = vectors.embedder, vectors.text_weight
    for split in splits if need_feats else []:  # the item vectors used, and why
        split.description["item_vectors"] = vectors.to_json()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    feats = embed(args, catalog, out / "skipped_images.jsonl") if need_feats else None
    if ps.folds > 1:
        result = RollingExperiment(models, splits, catalog, feats, ks=(ps.k,), exclude_seen=ps.exclude_seen,
                                   new_users=args.new_users).run()
        extra, samples = fold_table(result, html=True), result.folds[-1]
    else:
        result = Experiment(models, splits[0], catalog, feats, ks=(ps.k,), exclude_seen=ps.exclude_seen,
                            new_users=args.new_users).run()
        extra, samples = "", None
    print(result.table())
    atomic_write_text(out / "metrics.json", json.dumps(result.to_json(), indent=1))
    render_report(result, out / "report.html", title=f"visrec evaluation: {args.dataset}", extra_html=extra,
                  samples=samples)
    if args.compare:
        a, b = args.compare.split(",")
        comp = result.compare(a, b, k=ps.k)
        pooled = f", {ps.folds} folds pooled ((fold, user) units)" if ps.folds > 1 else ""
        comp.write(out / "compare", title=f"{b} vs {a}: {args.dataset}, {args.protocol}{pooled}")
        print(comp.table())
    print(f"wrote {out / 'metrics.json'} and {out / 'report.html'}", file=sys.stderr)


def parse_until(text):
    """``--until DATE`` as a UTC :class:`pandas.Timestamp` (None without it); a bad date is a usage error."""
    if text is None:
        return None
    import pandas as pd
    try:
        ts = pd.Timestamp(text)
    except (ValueError, TypeError, OverflowError):
        ts = None
    if ts is None or ts is pd.NaT:
        raise UsageError(f"--until: not a date: {text!r} (give e.g. 2020-06-02 or 2020-06-02T12:00)")
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def drop_from(inter, until):
    """``(interactions before until, description)``: events on or after ``until`` are dropped (events without
    a time are kept); a date that leaves no timed event is a usage error."""
    cut = int(until.timestamp())
    ts = inter.df["timestamp"].to_numpy()
    late = ts >= cut
    timed = ts >= 0
    if not timed.any():
        raise UsageError("--until needs interactions with timestamps; these have none")
    if not (timed & ~late).any():
        first = pd_iso(int(ts[timed].min()))
        raise UsageError(f"--until {until.isoformat()} drops every interaction: the first is at {first}")
    desc = {"date": until.isoformat(), "n_dropped": int(late.sum()), "n_kept": int((~late).sum()),
            "data_end": pd_iso(int(ts[timed].max()))}
    return inter.subset(~late), desc


def pd_iso(seconds: int) -> str:
    import pandas as pd
    return pd.Timestamp(seconds, unit="s", tz="UTC").isoformat()


def make_splits_or_usage_error(args, ps, inter) -> list:
    """The split of ``--protocol`` (one), or the ``--folds`` rolling-origin splits; windows that leave a fold
    without training or test data are a usage error."""
    from evaluation.protocols import make_split, make_splits
    if ps.folds == 1:
        return [make_split(args.protocol, inter, test_fraction=args.test_fraction, test_days=ps.test_days,
                           random_state=args.random_state)]
    try:
        return make_splits(inter, ps.folds, test_fraction=args.test_fraction, test_days=ps.test_days)
    except ValueError as e:
        window = f"--test-days {ps.test_days:g}" if ps.test_days else f"--test-fraction {args.test_fraction:g}"
        raise UsageError(f"--folds {ps.folds} with {window}: {e}") from None


def describe_split(desc: dict, args, ps, settings: dict) -> None:
    """Add the run's settings (dataset, k, seen items, model settings, ...) to a split description, in place."""
    if args.dataset == "movielens-1m" and ps.min_rating is not None:
        desc["min_rating"] = ps.min_rating
    desc["dataset"] = args.dataset
    desc["exclude_seen"] = ps.exclude_seen
    desc["k"] = ps.k
    if any(settings.values()):
        desc["model_settings"] = {n: v for n, v in settings.items() if v}
    if ps.window_reason:
        desc["window_choice"] = ps.window_reason
