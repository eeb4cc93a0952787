"""``visrec doctor``: check a model folder, an embedding cache or a catalog before serving, and list
every problem with its file (exit status 1 when there is any)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from .arg_types import UsageError


def add_parser(sub):
    d = sub.add_parser("doctor", help="check a model folder, an embedding cache or a catalog and its images; "
                                      "exit status 1 if anything is wrong")
    d.add_argument("--model", default=None, help="model folder from `visrec train`")
    d.add_argument("--cache", default=None, help="embedding cache folder (a store, or a folder of stores)")
    d.add_argument("--catalog", default=None, help="catalog CSV/Parquet to check with its images")
    d.add_argument("--images-root", default=None, help="folder catalog image paths are relative to")
    d.add_argument("--allow-outside-root", action="store_true", help="as for the other commands")
    d.set_defaults(func=run)


def check_model(path) -> list:
    """Problems of a saved model folder (manifest, readability, id counts, finite state)."""
    from recsys.models.persistence import load_model, verify_manifest
    path = Path(path)
    problems = verify_manifest(path)
    try:
        load_model(path)
    except (ValueError, OSError, KeyError) as e:
        msg = str(e)
        if msg not in "; ".join(problems):
            problems.append(msg)
    return problems


def check_cache(path) -> list:
    """Problems of an embedding cache: unreadable ``meta.json``, bad shards, shards set aside before."""
    from visual.store import shard_problem
    path = Path(path)
    if not path.is_dir():
        return [f"{path}: not a folder"]
    stores = [path] if (path / "meta.json").exists() else sorted(p.parent for p in path.glob("*/meta.json"))
    if not stores:
        return [f"{path}: no embedding store (no meta.json) here or one level down"]
    problems = []
    for store in stores:
        try:
            dim = json.loads((store / "meta.json").read_text()).get("dim")
        except (ValueError, OSError) as e:
            problems.append(f"{store / 'meta.json'}: unreadable ({e})")
            continue
        for f in sorted(store.glob("part-*.npz")):
            got = shard_problem(f, dim)
            if isinstance(got, str):
                problems.append(f"{f}: {got}")
        problems += [f"{f}: set aside earlier as unreadable (delete it once checked)" for f in store.glob("*.bad")]
    return problems


def check_catalog(args) -> list:
    """Problems of a catalog: skipped rows, refused image paths, images that cannot be read or decoded."""
    from tqdm.auto import tqdm

    from recsys.data import load_catalog
    from visual.images import ImageError, load_image, read_image_bytes
    catalog = load_catalog(args.catalog, args.images_root, on_error="skip",
                           allow_outside_root=args.allow_outside_root)
    problems = [f"{r['source']}" + (f": line {r['row']}" if r["row"] is not None else "") + f": {r['reason']}"
                + (f": {r['value']!r}" if r.get("value") is not None else "") for r in catalog.report.skipped]
    paths, refused = catalog.checked_image_paths()
    problems += [f"item {catalog.item_ids[i]}: {p}: {why}" for i, (p, why) in refused.items()]
    for iid, p in tqdm(list(zip(catalog.item_ids, paths)), desc="checking images", unit="img"):
        if p is None:
            continue
        try:
            load_image(read_image_bytes(p))
        except ImageError as e:
            problems.append(f"item {iid}: {p}: {e}")
    return problems


def run(args) -> int:
    if not (args.model or args.cache or args.catalog):
        raise UsageError("give --model DIR, --cache DIR and/or --catalog FILE to check")
    problems = []
    if args.model:
        problems += check_model(args.model)
    if args.cache:
        problems += check_cache(args.cache)
    if args.catalog:
        problems += check_catalog(args)
    for p in problems:
        print(f"problem: {p}")
    print(f"{len(problems)} problem(s) found" if problems else "no problems found", file=sys.stderr)
    return 1 if problems else 0
