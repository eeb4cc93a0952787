"""``create_app``: the visrec HTTP service as an ASGI app (FastAPI), for ``visrec serve`` or to mount
in a shop's own ASGI application."""

from __future__ import annotations

import asyncio
import logging
import signal
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import Depends, FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from recsys import __version__

from .access import require
from .changes import CatalogChanges
from .events import EventLog
from .errors import install_error_handlers
from .arms import Arms
from .holder import ModelHolder
from .routes_images import Thumbnails, catalog_photos
from .keys import KeyRing
from .telemetry import Metrics, MetricsMiddleware
from .uploads import DEFAULT_MAX_UPLOAD_BYTES
from .variants import DEFAULT_EXPERIMENT, open_experiment, parse_split

log = logging.getLogger("visrec.serve")


def default_state_path(model_dir) -> Path:
    """Where catalog changes are kept by default: ``<model folder>.serve.sqlite`` beside the model."""
    model_dir = Path(model_dir).resolve()
    return model_dir.parent / f"{model_dir.name}.serve.sqlite"


def create_app(model_dir, *, catalog=None, images_root=None, keys=None, allow_origins=(),
               max_upload_bytes: int = DEFAULT_MAX_UPLOAD_BYTES, state_path=None, cache_k: int = 100,
               warm: bool = True, photo_search: bool = True, reload_on_sighup: bool = True,
               split=None, experiment: str = DEFAULT_EXPERIMENT, demo_page: bool = False,
               index: str = "auto", text_search=True) -> FastAPI:
    """The visrec service for a saved model folder, or for an online A/B experiment between several.

    Parameters
    ----------
    model_dir : path or dict
        A folder written by ``Recommender.save`` / ``visrec train``; or ``{variant: folder}`` for an
        experiment, each visitor/user answered by one variant (stamped ``variant`` on every answer).
    catalog : path or recsys.data.Catalog, optional
        Titles, categories, prices, ``image_url`` and ``in_stock`` of the items.
    images_root : path, optional
        Folder that ``POST /v1/items`` with an ``image_path`` may read photos from.
    keys : KeyRing, path of a keys TOML file, or None
        None reads ``VISREC_READ_KEY`` / ``VISREC_ADMIN_KEY``; no keys at all means open access
        (``visrec serve`` then listens on 127.0.0.1 only).
    allow_origins : sequence of str
        Origins (shop pages) allowed to call the API from a browser (CORS).
    max_upload_bytes : int
        Largest photo upload (413 above).
    state_path : path, optional
        SQLite file of catalog changes and events (default :func:`default_state_path`).
    cache_k : int
        Length of the top lists cached per user and per item.
    warm : bool
        Fill the caches in a background thread after loading.
    split : str or sequence of float, optional
        The experiment's traffic split, ``"50/50"`` or weights in variant order (default: equal).
    experiment : str
        Name of the experiment; its salt and split are kept in the state file, so assignments
        survive restarts. A new name reshuffles visitors.
    demo_page : bool
        Serve the demo shop at ``GET /demo`` (the catalog's items with the widgets on them).
    index : str
        Nearest-neighbour index over the image vectors (similar items, search by photo): ``auto``
        (exact for small catalogs, approximate by size; a model saved with an index keeps it),
        ``flat``, ``hnsw``, ``hnsw-sq8``, ``ivf-sq8``.
    """
    from recsys.data import load_catalog
    if isinstance(catalog, (str, Path)):
        catalog = load_catalog(catalog, images_root)
    if isinstance(keys, (str, Path)):
        keys = KeyRing.from_file(keys)
    keys = KeyRing.from_env() if keys is None else keys
    dirs = dict(model_dir) if isinstance(model_dir, dict) else {None: model_dir}
    if not dirs:
        raise ValueError("no model to serve")
    changes = CatalogChanges(state_path or default_state_path(next(iter(dirs.values()))))
    variants = None
    if len(dirs) > 1:
        weights = parse_split("/".join(map(str, split)) if split is not None and not isinstance(split, str)
                              else split or "/".join(["1"] * len(dirs)), len(dirs))
        variants = open_experiment(changes.path, dirs, weights, name=experiment)
    events = EventLog(changes.path)
    metrics = Metrics()
    arms = Arms({v: ModelHolder(d, catalog=catalog, changes=changes, cache_k=cache_k, warm=warm,
                                photo_search=photo_search, metrics=metrics, variant=v, index=index,
                                text_search=text_search)
                 for v, d in dirs.items()}, variants)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if reload_on_sighup:
            try:
                loop = asyncio.get_running_loop()
                loop.add_signal_handler(signal.SIGHUP, lambda: loop.create_task(_sighup_reload(arms)))
            except (NotImplementedError, RuntimeError, ValueError, AttributeError):
                pass  # not the main thread or no SIGHUP on this platform
        yield
        arms.close()
        events.close()
        changes.close()

    app = FastAPI(title="visrec", version=__version__, lifespan=lifespan,
                  description="Visually similar items, personal and session lists, search by photo.")
    app.state.arms, app.state.keys, app.state.changes, app.state.metrics = arms, keys, changes, metrics
    app.state.events, app.state.demo_page = events, bool(demo_page)
    app.state.thumbnails = Thumbnails(catalog_photos(catalog))
    app.state.max_upload_bytes = int(max_upload_bytes)
    app.state.images_root = Path(images_root).resolve() if images_root else None
    install_error_handlers(app)

    from .routes_admin import router as admin_router
    from .routes_events import BeaconBody, router as events_router
    from .routes_images import router as images_router
    from .routes_pages import router as pages_router
    from .routes_read import router as read_router
    app.include_router(read_router)
    app.include_router(events_router)
    app.include_router(images_router)
    app.include_router(admin_router)
    app.include_router(pages_router)

    @app.get("/healthz", tags=["ops"])
    def healthz():
        """The process answers."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["ops"])
    def readyz(request: Request):
        """The models are loaded and answering (one entry per variant in an experiment)."""
        arms = request.app.state.arms
        served = [{"variant": v, "model": f"{m.name}@{m.version}", "model_dir": str(m.dir),
                   "items": m.model.n_items, "users": len(m.model.users_), "cached_users": len(m.user_cache),
                   "cached_item_lists": len(m.similar_cache), "cache_bytes": m.memory_bytes(),
                   "photo_search": m.photo is not None, "text_search": m.text is not None,
                   "sessions": m.model.scores_sessions,
                   "index": None if m.index is None else m.index.describe()}
                  for v, m in arms.served()]
        out = {"status": "ready", **served[0]}
        if arms.variants is not None:
            out.update(experiment=arms.variants.experiment, split=arms.variants.split(), variants=served)
        return out

    @app.get("/metrics", tags=["ops"], dependencies=[Depends(require("admin"))],
             response_class=Response, responses={200: {"content": {"text/plain": {}}}})
    def prometheus():
        """Prometheus text format: requests and latency per endpoint, model version, memory."""
        return Response(metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")

    app.add_middleware(BeaconBody)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    if allow_origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(allow_origins), allow_methods=["GET", "POST"],
                           allow_headers=["X-API-Key", "Content-Type"], max_age=600)
    return app


async def _sighup_reload(arms: Arms):
    try:
        await run_in_threadpool(arms.reload_all)
    except Exception:
        log.exception("reload on SIGHUP failed; the old model keeps serving")
