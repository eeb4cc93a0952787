"""``--dataset demo|movielens-1m|hm|csv --data-dir DIR``: one data option on every command that reads a
catalog or interactions (``train``, ``embed``, ``similar``, ``search``, ``recommend``, ``evaluate``).

- ``csv`` (the default where a command has no other default): the shop's own files, ``--catalog`` /
  ``--images-root`` and ``--interactions``, read with ``--columns`` / ``--event-weights``;
- ``movielens-1m`` and ``hm``: the GroupLens and Kaggle layouts under ``--data-dir``;
- ``demo``: the embedded demo shop, written as real files into a folder (``--out``'s ``data/`` for
  ``evaluate``, else the embedding cache's ``demo-data/``).
"""

from __future__ import annotations

from pathlib import Path

from .arg_types import UsageError, positive_int
from .options import (add_catalog_args, add_embed_args, add_index_arg, cache_dir, load_catalog,
                      load_interactions_arg)

DATASETS = ("demo", "movielens-1m", "hm", "csv")


def add_dataset_args(p, *, default: str = "csv", interactions: str | None = "optional", catalog: bool = True):
    """Add ``--dataset``, ``--data-dir``, the catalog options (when ``catalog``) and ``--interactions``.

    ``interactions``: ``"optional"``, ``"required"`` (for ``--dataset csv``, checked at load time) or None
    (the command reads no interactions)."""
    p.add_argument("--dataset", default=default, choices=DATASETS,
                   help="where the data comes from: csv (--catalog/--images-root"
                        + (", --interactions" if interactions else "") + "), movielens-1m or hm (their "
                        f"published layouts under --data-dir), demo (the embedded demo shop); default {default}")
    p.add_argument("--data-dir", default=None, help="dataset folder for --dataset movielens-1m or hm")
    if catalog:
        add_catalog_args(p)
    if interactions:
        p.add_argument("--interactions", default=None,
                       help="interactions CSV/Parquet (user_id, item_id[, timestamp, weight | event]) for "
                            "--dataset csv" + (" (required)" if interactions == "required" else ""))
    p.set_defaults(interactions_needed=interactions == "required")


def demo_folder(args, demo_dir=None) -> Path:
    """Where ``--dataset demo`` writes its files: ``demo_dir``, else ``<cache>/demo-data``."""
    from recsys.data.demo import materialise_demo
    return materialise_demo(demo_dir or cache_dir(getattr(args, "cache", None)) / "demo-data")


def _named(args, *, min_rating=None, weight: str = "binary"):
    """(catalog, interactions) of ``--dataset movielens-1m|hm`` (a note on what was loaded)."""
    from recsys.data import load_hm, load_movielens_1m
    if not args.data_dir:
        raise UsageError(f"--dataset {args.dataset} needs --data-dir (the dataset's folder)")
    if not Path(args.data_dir).is_dir():
        raise UsageError(f"--data-dir {args.data_dir}: no such folder")
    if args.dataset == "hm":
        return load_hm(args.data_dir, on_error=getattr(args, "on_error", "raise"))
    return load_movielens_1m(args.data_dir, min_rating=min_rating, weight=weight,
                             on_error=getattr(args, "on_error", "raise"))


def _check_no_files(args) -> None:
    given = [f"--{n.replace('_', '-')}" for n in ("catalog", "images_root", "interactions")
             if getattr(args, n, None)]
    if given:
        raise UsageError(f"--dataset {args.dataset} brings its own files: drop {', '.join(given)} "
                         f"(or use --dataset csv)")


def load_data(args, *, min_rating=None, weight: str = "binary", demo_dir=None):
    """``(catalog, interactions)`` of ``--dataset``; interactions are None for ``csv`` without
    ``--interactions`` where the command does not require them."""
    from recsys.data import load_catalog as load_table, load_interactions
    if args.dataset != "csv":
        _check_no_files(args)
    if args.dataset == "demo":
        d = demo_folder(args, demo_dir)
        return load_table(d / "catalog.csv", d), load_interactions(d / "interactions.csv")
    if args.dataset in ("movielens-1m", "hm"):
        return _named(args, min_rating=min_rating, weight=weight)
    inter_path = getattr(args, "interactions", None)
    if getattr(args, "interactions_needed", False) and not inter_path:
        raise UsageError("give --interactions FILE (or --dataset movielens-1m|hm|demo)")
    catalog = load_catalog(args) if hasattr(args, "catalog") else None
    return catalog, (load_interactions_arg(args, inter_path) if inter_path else None)


def load_catalog_data(args, demo_dir=None):
    """The catalog of ``--dataset`` (``embed``, ``similar``, ``search``)."""
    if args.dataset == "csv":
        return load_catalog(args)
    return load_data(args, demo_dir=demo_dir)[0]


def add_item_source_args(p, model_help: str):
    """``--model`` (a trained model's vectors) or a catalog (``--dataset``) embedded on the fly, and ``--k``."""
    p.add_argument("--model", default=None, help=model_help)
    add_dataset_args(p, interactions=None)
    add_embed_args(p)
    p.add_argument("--k", type=positive_int, default=10, help="neighbours per item or photo (default 10)")
    add_index_arg(p)


def check_item_source(args) -> None:
    """``--model`` and a ``--dataset`` other than csv name two sources: a usage error."""
    if args.model and args.dataset != "csv":
        raise UsageError(f"give --model DIR or --dataset {args.dataset}, not both")
