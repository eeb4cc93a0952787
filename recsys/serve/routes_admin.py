"""Admin endpoints: catalog changes (persisted in SQLite before they are acknowledged) and reloads."""

from __future__ import annotations

import json
from pathlib import Path as FsPath

from fastapi import APIRouter, Depends, Path, Request
from starlette.concurrency import run_in_threadpool

from .access import require
from .errors import APIError
from .schemas import Error, ItemEdit, ItemState, NewItem, Reload
from .uploads import embed_photo, read_image_upload

router = APIRouter(prefix="/v1", dependencies=[Depends(require("admin"))],
                   responses={401: {"model": Error}, 403: {"model": Error}, 422: {"model": Error},
                              429: {"model": Error}})

NEW_ITEM_BODY = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": NewItem.model_json_schema()},
    "multipart/form-data": {"schema": {
        "type": "object", "required": ["item_id", "image"],
        "properties": {"item_id": {"type": "string"}, "title": {"type": "string"}, "category": {"type": "string"},
                       "image": {"type": "string", "format": "binary"}}}}}}}


def _photo_from_path(request: Request, image_path: str) -> bytes:
    root = request.app.state.images_root
    if root is None:
        raise APIError(422, "no images root", "the server was started without --images-root: upload the photo "
                       "as multipart/form-data instead")
    p = (root / image_path).resolve()
    if not p.is_relative_to(root):
        raise APIError(422, "image path outside the images root", f"{image_path!r} leads outside --images-root")
    from visual.images import ImageError, read_image_bytes
    try:
        return read_image_bytes(p)
    except (ImageError, OSError) as e:
        raise APIError(422, "unusable image", f"{image_path}: {e}") from None


@router.post("/items", status_code=201, response_model=ItemState, openapi_extra=NEW_ITEM_BODY,
             responses={409: {"model": Error}, 413: {"model": Error}, 415: {"model": Error}})
async def add_item(request: Request):
    """Add a product from its photo: recommendable and searchable at once, kept across restarts (in
    an experiment, added to every variant)."""
    served = [m for _, m in request.app.state.arms.served()]
    m = served[0]
    ctype = request.headers.get("content-type", "")
    if ctype.startswith("application/json"):
        try:
            body = NewItem.model_validate_json(await request.body())
        except ValueError as e:
            raise APIError(422, "invalid request", str(e).splitlines()[:3]) from None
        fields = body.model_dump(exclude={"item_id", "image_path"})
        item_id, data = body.item_id, _photo_from_path(request, body.image_path)
    else:
        data, form = await read_image_upload(request, request.app.state.max_upload_bytes)
        item_id = form.pop("item_id", "").strip()
        if not item_id or len(item_id) > 200:
            raise APIError(422, "invalid request", "the form needs an item_id field (1 to 200 characters)")
        unknown = set(form) - {"title", "category", "in_stock"}
        if unknown:
            raise APIError(422, "invalid request", f"unknown form field(s): {sorted(unknown)}")
        fields = {k: form.get(k) for k in ("title", "category")}
        if "in_stock" in form:
            fields["in_stock"] = form["in_stock"].strip().lower() in ("1", "true", "yes")
    for other in served:
        if other.photo is None:
            raise APIError(422, "no images", f"model {other.name!r} does not use images: it cannot place a new item")
    if len({_signature(x) for x in served}) > 1:
        raise APIError(422, "cannot add items", "the experiment's variants embed photos differently; add the "
                       "item to their catalogs and retrain, or run variants that share the image model")
    if item_id in m.model.items_:
        raise APIError(409, "item exists", f"item {item_id!r} is already in the catalog; PATCH it instead")
    vector = await run_in_threadpool(embed_photo, m, data)
    del data
    await run_in_threadpool(_add, request, served, item_id, vector, fields)
    return m.state(item_id)


def _signature(m) -> str:
    return json.dumps(m.model.feature_signature_ or {}, sort_keys=True, default=str)


def _add(request, served, item_id, vector, fields):
    for m in served:
        try:
            m.add_item(item_id, vector, **fields)
        except NotImplementedError as e:
            raise APIError(422, "cannot add items", str(e)) from None
        except ValueError as e:
            raise APIError(409 if "already" in str(e) else 422, "cannot add item", str(e)) from None
    request.app.state.changes.add_item(item_id, vector, dict(served[0].model.feature_signature_ or {}), **fields)


@router.patch("/items/{item_id}", response_model=ItemState, responses={404: {"model": Error}})
def edit_item(request: Request, body: ItemEdit, item_id: str = Path(max_length=200)):
    """Mark an item sold out / back in stock, hide or show it, or change its title or category; the
    change applies to the next request and survives restarts."""
    served = [m for _, m in request.app.state.arms.served()]
    if item_id not in served[0].model.items_:
        raise APIError(404, "unknown item", f"item {item_id!r} is not in the served catalog")
    fields = body.model_dump(exclude_none=True)
    request.app.state.changes.update(item_id, **fields)  # committed before the answer
    for m in served:
        if item_id in m.model.items_:
            m.edit_item(item_id, **fields)
    return served[0].state(item_id)


@router.post("/admin/reload", responses={200: {"description": "the new model serves"}})
def reload_model(request: Request, body: Reload | None = None):
    """Load a model folder (default: the current one again) and swap it in; requests in flight
    finish on the old model, and a folder that fails to load leaves the old model serving. In an
    experiment, ``variant`` names the one to reload (every variant, each from its own folder, when
    neither it nor ``model_dir`` is given)."""
    arms = request.app.state.arms
    variant = body.variant if body else None
    target = FsPath(body.model_dir) if body and body.model_dir else None
    if variant is None and target is None and arms.variants is not None:
        holders = list(arms.holders.values())
    else:
        try:
            holders = [arms.holder(variant)]
        except KeyError as e:
            raise APIError(422, "unknown variant", e.args[0]) from None
    done = []
    for holder in holders:
        try:
            new = holder.reload(target)
        except Exception as e:  # any failure: the old model keeps serving
            raise APIError(422, "reload failed",
                           f"{type(e).__name__}: {e}; still serving {holder.current.dir}") from None
        done.append({"variant": holder.variant, "model": f"{new.name}@{new.version}", "model_dir": str(new.dir),
                     "items": new.model.n_items, "users": len(new.model.users_)})
    return done[0] if len(done) == 1 else {"variants": done}
