"""``visrec serve``: the HTTP service for a saved model (FastAPI on uvicorn)."""

from __future__ import annotations

import ipaddress
import sys

from .arg_types import UsageError, positive_int
from .options import add_index_arg

LOOPBACK = ("127.0.0.1", "::1", "localhost")


def add_parser(sub):
    s = sub.add_parser("serve", help="serve a saved model over HTTP (similar items, user and session lists, "
                                     "search by photo, catalog changes)")
    s.add_argument("--model", required=True, action="append", metavar="[VARIANT=]DIR",
                   help="saved model folder (visrec train --out, visrec demo's OUT/model); repeat as A=dirA "
                        "--model B=dirB for an online A/B experiment")
    s.add_argument("--split", help="traffic split of the variants in --model order, e.g. 50/50 (default: equal)")
    s.add_argument("--experiment", default="default",
                   help="experiment name: its salt and split are kept in the state file, so visitors keep "
                        "their variant across restarts; a new name reshuffles them (default 'default')")
    s.add_argument("--demo-page", action="store_true", help="also serve the demo shop page at /demo")
    add_index_arg(s)
    s.add_argument("--text-head", default=None,
                   help="text aligner from `visrec align` for GET /v1/search/text (default: the one shipped for the "
                        "model's backbone, when there is one)")
    s.add_argument("--catalog", help="catalog CSV/Parquet: titles, categories, prices, image_url, in_stock")
    s.add_argument("--images-root", help="folder of the catalog's photos (also where POST /v1/items may read "
                                         "image_path from)")
    s.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    s.add_argument("--port", type=int, default=8000)
    s.add_argument("--keys", help="API keys TOML file (see recsys/serve/keys.py); else $VISREC_READ_KEY / "
                                  "$VISREC_ADMIN_KEY; without keys the server is open and listens on loopback only")
    s.add_argument("--allow-origin", action="append", default=[],
                   help="shop page origin allowed to call the API from a browser (repeatable)")
    s.add_argument("--max-upload-mb", type=float, default=10.0, help="largest photo upload (default 10 MB)")
    s.add_argument("--state", help="SQLite file of catalog changes (default MODEL.serve.sqlite beside the model)")
    s.add_argument("--cache-k", type=positive_int, default=100, help="top-list length cached per user and item")
    s.add_argument("--no-warm", action="store_true", help="do not fill the caches at start (compute on demand)")
    s.add_argument("--log-level", default="warning", choices=["critical", "error", "warning", "info", "debug"])
    s.set_defaults(func=run)


def _loopback(host: str) -> bool:
    if host in LOOPBACK:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def model_dirs(specs: list) -> str | dict:
    """``--model DIR`` (one model) or ``--model A=dirA --model B=dirB`` (variants)."""
    if len(specs) == 1 and "=" not in specs[0]:
        return specs[0]
    dirs = {}
    for spec in specs:
        name, sep, path = spec.partition("=")
        if not sep or not name or not path:
            raise UsageError(f"--model {spec!r}: with several models give each as VARIANT=DIR")
        if name in dirs:
            raise UsageError(f"--model: variant {name!r} is given twice")
        if len(name) > 64 or not name.replace("-", "").replace("_", "").isalnum():
            raise UsageError(f"--model: variant name {name!r} must be letters, digits, - or _ (at most 64)")
        dirs[name] = path
    if len(dirs) == 1:
        raise UsageError("an experiment needs at least two variants (--model A=dirA --model B=dirB)")
    return dirs


def run(args):
    import uvicorn

    from recsys.serve import KeyRing, create_app
    keys = KeyRing.from_file(args.keys) if args.keys else KeyRing.from_env()
    if not keys and not _loopback(args.host):
        raise UsageError(f"refusing to listen on {args.host} without API keys: anyone could call the admin "
                         "endpoints. Give --keys keys.toml (or $VISREC_ADMIN_KEY), or listen on 127.0.0.1")
    if args.max_upload_mb <= 0:
        raise UsageError("--max-upload-mb must be positive")
    app = create_app(model_dirs(args.model), split=args.split, experiment=args.experiment,
                     demo_page=args.demo_page, index=args.index, catalog=args.catalog,
                     images_root=args.images_root, keys=keys,
                     allow_origins=args.allow_origin, max_upload_bytes=int(args.max_upload_mb * 1024 * 1024),
                     state_path=args.state, cache_k=args.cache_k, warm=not args.no_warm,
                     text_search=args.text_head or True)
    arms = app.state.arms
    if not keys:
        print("[serve] no API keys: open access, listening on loopback only", file=sys.stderr, flush=True)
    for v, m in arms.served():
        print(f"[serve] {'' if v is None else f'variant {v}: '}{m.name}@{m.version}: {m.model.n_items} items, "
              f"{len(m.model.users_)} users; search by words: "
              f"{'on' if m.text is not None else m.text_unavailable}", file=sys.stderr, flush=True)
    if arms.variants is not None:
        split = ", ".join(f"{v} {100 * w:g}%" for v, w in arms.variants.split().items())
        print(f"[serve] experiment {arms.variants.experiment!r}: {split}", file=sys.stderr, flush=True)
    page = f", demo shop http://{args.host}:{args.port}/demo" if args.demo_page else ""
    print(f"[serve] http://{args.host}:{args.port}/docs{page}", file=sys.stderr, flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level, access_log=False,
                server_header=False, timeout_graceful_shutdown=10)
