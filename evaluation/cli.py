"""``visrec evaluate``: load a dataset, split it, compare models, write metrics.json + report.html."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def load_for_evaluation(args):
    """(catalog, interactions) for ``--dataset``."""
    from recsys.data import load_hm, load_interactions, load_movielens_1m
    if args.dataset == "demo":
        from recsys.demo import materialise_demo
        from recsys.data import load_catalog
        d = materialise_demo(Path(args.out) / "data")
        return load_catalog(d / "catalog.csv", d), load_interactions(d / "interactions.csv")
    if args.dataset in ("movielens-1m", "hm"):
        if not args.data_dir:
            raise SystemExit(f"error: --dataset {args.dataset} needs --data-dir")
        if args.dataset == "hm":
            return load_hm(args.data_dir)
        return load_movielens_1m(args.data_dir, min_rating=args.min_rating)
    if not (args.catalog and args.interactions):
        raise SystemExit("error: --dataset csv needs --catalog and --interactions")
    from recsys.cli import _load_catalog
    return _load_catalog(args), load_interactions(args.interactions)


#: model settings each protocol starts from (``--param`` overrides them); printed in metrics.json
PROTOCOL_PRESETS = {
    # shop data, next-period purchases: repurchases count, recency matters, and the hybrid
    # learns its blend on the last four weeks of the training data
    "temporal": {
        "hybrid": {"components": ["repurchase", "ease", "visual", "als-visual"],
                   "component_params": {"visual": {"half_life_days": 14}}, "validation": "temporal"},
        "visual": {"half_life_days": 14},
    },
    # new items only: VBPR's image part and ALS's visual prior both place them; EASE is stood in for
    "cold-items": {
        "hybrid": {"components": ["ease", "als-visual", "vbpr"]},
    },
}


def run_evaluate(args):
    from evaluation import Experiment, cold_item_split, random_split, ratio_split, temporal_split
    from evaluation.report import render_report
    from recsys.cli import _embed, _parse_params
    from recsys.models import MODELS, make_model
    from visual.store import atomic_write_text

    catalog, inter = load_for_evaluation(args)
    names = args.models.split(",") if args.models else list(MODELS)
    params = {}
    for k, v in _parse_params(args.param).items():
        if "." not in k:
            raise SystemExit(f"error: --param for evaluate is model.key=value, got {k!r}")
        m, key = k.split(".", 1)
        params.setdefault(m, {})[key] = v
    if args.compare:
        pair = args.compare.split(",")
        if len(pair) != 2 or not set(pair) <= set(names):
            raise SystemExit(f"error: --compare needs two of the evaluated models as A,B, got {args.compare!r}")
    preset = PROTOCOL_PRESETS.get(args.protocol, {})
    settings = {n: {**preset.get(n, {}), **params.get(n, {})} for n in names}
    models = {n: make_model(n, **settings[n]) for n in names}
    exclude_seen = args.seen == "exclude" or (args.seen == "auto" and args.protocol != "temporal")
    if args.k is None:
        args.k = 12 if (args.protocol == "temporal" and args.dataset == "hm") else 10  # H&M's MAP@12
    if args.protocol == "temporal" and args.test_days is None and args.dataset == "hm":
        args.test_days = 56.0  # the last 8 weeks
    if args.protocol == "recbole-811":
        if args.dataset == "movielens-1m" and args.min_rating is None:
            args.min_rating = 3  # the published protocol: ratings >= 3 are positives
            catalog, inter = load_for_evaluation(args)
        split = ratio_split(inter, (0.8, 0.1, 0.1), seed=args.seed)
    elif args.protocol == "cold-items":
        split = cold_item_split(inter, args.test_fraction, seed=args.seed)
    elif args.protocol == "random":
        split = random_split(inter, args.test_fraction, seed=args.seed)
    else:
        split = temporal_split(inter, test_days=args.test_days) if args.test_days else \
            temporal_split(inter, test_fraction=args.test_fraction)
    if args.dataset == "movielens-1m" and args.min_rating is not None:
        split.description["min_rating"] = args.min_rating
    split.description["dataset"] = args.dataset
    split.description["exclude_seen"] = bool(exclude_seen)
    split.description["k"] = int(args.k)
    if any(settings.values()):
        split.description["model_settings"] = {n: v for n, v in settings.items() if v}
    need_feats = any(m.requires_features for m in models.values())
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    feats = _embed(args, catalog, out / "skipped_images.jsonl") if need_feats else None
    result = Experiment(models, split, catalog, feats, ks=(args.k,), exclude_seen=exclude_seen,
                        new_users=args.new_users).run()
    print(result.table())
    atomic_write_text(out / "metrics.json", json.dumps(result.to_json(), indent=1))
    render_report(result, out / "report.html", title=f"visrec evaluation: {args.dataset}")
    if args.compare:
        a, b = args.compare.split(",")
        comp = result.compare(a, b, k=args.k)
        comp.write(out / "compare", title=f"{b} vs {a}: {args.dataset}, {args.protocol}")
        print(comp.table())
    print(f"wrote {out / 'metrics.json'} and {out / 'report.html'}", file=sys.stderr)
