"""The HTTP API in process (ASGI client): answers, filters, keys, limits and bad input."""

import io
import time

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from recsys.models import Recommender

from .serving import ADMIN_KEY, READ_KEY, SLOW_KEY, admin, make_app, read


@pytest.fixture(scope="module")
def app(served_models, tmp_path_factory):
    return make_app(served_models, tmp_path_factory.mktemp("api"), allow_origins=["https://shop.example"])


@pytest.fixture(scope="module")
def client(app):
    with TestClient(app) as c:
        yield c


@pytest.fixture(scope="module")
def model(served_models):
    return Recommender.load(served_models.hybrid)


def _png(colour=(200, 30, 30), size=(64, 64)):
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, "PNG")
    return buf.getvalue()


def _ids(r):
    assert r.status_code == 200, r.text
    body = r.json()
    assert len(body["rec_id"]) == 32 and body["model"].startswith("hybrid@")
    return [it["item_id"] for it in body["items"]]


def test_similar_items_match_the_models_visual_neighbours(client, model, demo):
    item = demo.dataset.items.ids[3]
    got = client.get(f"/v1/items/{item}/similar", params={"k": 8}, headers=read())
    assert got.json()["items"][0].keys() >= {"item_id", "score", "title", "category", "price"}
    V, present = model.visual_vectors()
    i = model.items_.to_index(item)
    s = V @ V[i]
    s[i] = -np.inf
    s[~present] = -np.inf
    assert _ids(got) == model.items_.to_ids(np.argsort(-s)[:8]).tolist()


def test_hybrid_similar_items_differ_and_include_cold_items(client, demo):
    cold = demo.dataset.items.to_ids(demo.dataset.cold_items()).tolist()
    item = demo.dataset.items.ids[3]
    vis = _ids(client.get(f"/v1/items/{item}/similar", params={"k": 10}, headers=read()))
    hyb = _ids(client.get(f"/v1/items/{item}/similar", params={"k": 10, "mode": "hybrid"}, headers=read()))
    assert vis != hyb
    nb = _ids(client.get(f"/v1/items/{cold[0]}/similar", params={"k": 10}, headers=read()))
    assert len(nb) == 10  # a photo-only item has neighbours too
    assert any(c in set(cold) for i in demo.dataset.items.ids[:40]
               for c in _ids(client.get(f"/v1/items/{i}/similar", params={"k": 10}, headers=read())))


def test_user_list_equals_the_models_list(client, model):
    user = model.users_.ids[7]
    ids, _ = model.recommend(user, k=10)
    assert _ids(client.get(f"/v1/users/{user}/recommendations", params={"k": 10}, headers=read())) == ids.tolist()
    ids, _ = model.recommend(user, k=5, exclude_seen=False)
    assert _ids(client.get(f"/v1/users/{user}/recommendations", params={"k": 5, "exclude_seen": "false"},
                           headers=read())) == ids.tolist()


def test_session_list_equals_the_model_api(client, model, demo):
    session = list(demo.dataset.items.ids[[5, 17, 300]])
    ids, _ = model.recommend_items_for([session], k=10)
    r = client.post("/v1/recommendations", json={"item_ids": session + ["not-an-item"], "k": 10}, headers=read())
    assert _ids(r) == ids[0].tolist()
    assert r.json()["unknown_item_ids"] == ["not-an-item"]
    empty = client.post("/v1/recommendations", json={"item_ids": [], "k": 4}, headers=read())
    assert len(_ids(empty)) == 4  # a first visit still gets a list


def test_filters_apply_on_every_list(client, model, demo):
    cats = demo.catalog.df.set_index("item_id")["category"]
    user = model.users_.ids[2]
    item = demo.dataset.items.ids[0]
    for path, kw in ((f"/v1/users/{user}/recommendations", {}), (f"/v1/items/{item}/similar", {}),
                     (f"/v1/items/{item}/similar", {"mode": "hybrid"})):
        full = _ids(client.get(path, params={"k": 10, **kw}, headers=read()))
        got = _ids(client.get(path, params={"k": 10, "exclude": full[:3], **kw}, headers=read()))
        assert not set(full[:3]) & set(got) and len(got) == 10
        got = _ids(client.get(path, params={"k": 10, "category": ["Bag", "Sandal"], **kw}, headers=read()))
        assert len(got) == 10 and set(cats[got]) <= {"Bag", "Sandal"}
    session = client.post("/v1/recommendations", headers=read(),
                          json={"item_ids": [item], "k": 10, "category": ["Trouser"]})
    assert set(cats[_ids(session)]) == {"Trouser"}
    photo = client.post("/v1/search/image", params={"k": 5, "category": "Sneaker"}, headers=read(),
                        files={"image": ("p.png", _png(), "image/png")})
    assert set(cats[_ids(photo)]) == {"Sneaker"}


def test_photo_search_finds_the_catalog_photo(client, demo):
    item = demo.dataset.items.ids[42]
    data = (demo.dir / demo.catalog.df.set_index("item_id").loc[item, "image"]).read_bytes()
    r = client.post("/v1/search/image", params={"k": 3}, files={"image": ("q.png", data, "image/png")},
                    headers=read())
    assert _ids(r)[0] == item and r.json()["items"][0]["score"] > 0.99


@pytest.mark.parametrize("data, status, words", [
    (b"this is not an image", 422, "not an image"),
    (_png()[:60], 422, "the upload"),
    (b"", 422, "no non-empty field"),
])
def test_bad_uploads_get_json_errors(client, data, status, words):
    r = client.post("/v1/search/image", files={"image": ("x.png", data, "image/png")}, headers=read())
    assert r.status_code == status and words in r.json()["detail"]


def test_decompression_bomb_and_oversize_uploads_are_refused(client, app):
    bomb = io.BytesIO()
    Image.new("1", (20000, 20000)).save(bomb, "PNG")  # 400 megapixels in a few KB
    r = client.post("/v1/search/image", files={"image": ("b.png", bomb.getvalue(), "image/png")}, headers=read())
    assert r.status_code == 422 and "pixels" in r.json()["detail"]
    big = b"\0" * (app.state.max_upload_bytes + 1)
    r = client.post("/v1/search/image", files={"image": ("big.png", big, "image/png")}, headers=read())
    assert r.status_code == 413 and r.json()["error"] == "upload too large"
    r = client.post("/v1/search/image", content=b"raw", headers={**read(), "Content-Type": "image/png"})
    assert r.status_code == 415


def test_keys_roles_and_rate_limit(client, served_models):
    item = "fm0001"
    assert client.get(f"/v1/items/{item}/similar").status_code == 401
    assert client.get(f"/v1/items/{item}/similar", headers={"X-API-Key": "wrong-key-0123456789"}).status_code == 401
    assert client.get(f"/v1/items/{item}/similar", headers={"Authorization": f"Bearer {READ_KEY}"}).status_code == 200
    r = client.patch(f"/v1/items/{item}", json={"hidden": False}, headers=read())
    assert r.status_code == 403 and "admin" in r.json()["detail"]
    assert client.get("/metrics", headers=read()).status_code == 403
    assert client.patch(f"/v1/items/{item}", json={"hidden": False}, headers=admin()).status_code == 200
    codes = [client.get(f"/v1/items/{item}/similar", headers={"X-API-Key": SLOW_KEY}) for _ in range(4)]
    assert [c.status_code for c in codes[:2]] == [200, 200] and codes[-1].status_code == 429
    assert int(codes[-1].headers["Retry-After"]) >= 1 and "limited" in codes[-1].json()["detail"]


def test_unknown_ids_bad_parameters_and_paths_are_json(client):
    r = client.get("/v1/items/ghost/similar", headers=read())
    assert r.status_code == 404 and "ghost" in r.json()["detail"]
    r = client.get("/v1/users/ghost-user/recommendations", headers=read())
    assert r.status_code == 404 and "ghost-user" in r.json()["detail"]
    for k in ("0", "-3", "abc", "100000"):
        r = client.get("/v1/items/fm0001/similar", params={"k": k}, headers=read())
        assert r.status_code == 422 and r.json()["error"] == "invalid request"
    r = client.post("/v1/recommendations", content=b"{not json", headers={**read(), "Content-Type": "application/json"})
    assert r.status_code == 422 and "Traceback" not in r.text
    r = client.get("/no/such/path")
    assert r.status_code == 404 and r.json()["error"] == "not found"


def test_catalog_changes_apply_at_once(client, demo, model):
    user = model.users_.ids[11]
    first = _ids(client.get(f"/v1/users/{user}/recommendations", params={"k": 5}, headers=read()))[0]
    r = client.patch(f"/v1/items/{first}", json={"in_stock": False}, headers=admin())
    assert r.status_code == 200 and r.json()["in_stock"] is False
    assert first not in _ids(client.get(f"/v1/users/{user}/recommendations", params={"k": 5}, headers=read()))
    assert first in _ids(client.get(f"/v1/users/{user}/recommendations", params={"k": 5, "in_stock": "false"},
                                    headers=read()))
    client.patch(f"/v1/items/{first}", json={"in_stock": True, "hidden": True}, headers=admin())
    assert first not in _ids(client.get(f"/v1/users/{user}/recommendations", params={"k": 5, "in_stock": "false"},
                                        headers=read()))
    client.patch(f"/v1/items/{first}", json={"hidden": False}, headers=admin())
    assert client.patch("/v1/items/ghost", json={"hidden": True}, headers=admin()).status_code == 404
    assert client.patch(f"/v1/items/{first}", json={"colour": "red"}, headers=admin()).status_code == 422


def test_a_new_item_is_recommendable_and_searchable_at_once(client, demo):
    photo = _png((10, 200, 240), (80, 80))
    r = client.post("/v1/items", headers=admin(), files={"image": ("n.png", photo, "image/png")},
                    data={"item_id": "new-cyan-1", "title": "Cyan square", "category": "Bag"})
    assert r.status_code == 201 and r.json()["has_image"]
    assert client.post("/v1/items", headers=admin(), files={"image": ("n.png", photo, "image/png")},
                       data={"item_id": "new-cyan-1"}).status_code == 409
    found = _ids(client.post("/v1/search/image", params={"k": 1}, headers=read(),
                             files={"image": ("q.png", photo, "image/png")}))
    assert found == ["new-cyan-1"]
    nb = client.get("/v1/items/new-cyan-1/similar", params={"k": 5}, headers=read())
    assert len(_ids(nb)) == 5
    r = client.post("/v1/items", headers=admin(), json={"item_id": "new-from-path", "image_path": "../../etc/passwd"})
    assert r.status_code == 422 and "outside" in r.json()["detail"]
    img = demo.catalog.df["image"].iloc[0]
    r = client.post("/v1/items", headers=admin(), json={"item_id": "new-from-path", "image_path": img})
    assert r.status_code == 201


def test_health_ready_metrics_and_cors(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready["status"] == "ready" and ready["sessions"] and ready["photo_search"]
    client.get("/v1/items/fm0001/similar", headers=read())
    text = client.get("/metrics", headers=admin()).text
    assert 'visrec_requests_total{endpoint="/v1/items/{item_id}/similar",method="GET",status="200"}' in text
    assert "visrec_request_seconds_bucket" in text and "visrec_model_info{" in text
    assert "process_resident_memory_bytes" in text
    pre = client.options("/v1/items/fm0001/similar", headers={
        "Origin": "https://shop.example", "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "x-api-key"})
    assert pre.status_code == 200 and pre.headers["access-control-allow-origin"] == "https://shop.example"
    other = client.options("/v1/items/fm0001/similar", headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "GET"})
    assert "access-control-allow-origin" not in other.headers


def test_cached_and_computed_answers_agree(served_models, tmp_path):
    """Answers from the lists filled at load equal answers computed on demand."""
    warm = make_app(served_models, tmp_path / "a", warm=True)
    cold = make_app(served_models, tmp_path / "b", warm=False)
    deadline = time.time() + 60
    while len(warm.state.arms.first.current.user_cache) < 300 and time.time() < deadline:
        time.sleep(0.2)
    with TestClient(warm) as a, TestClient(cold) as b:
        for path in ("/v1/users/shopper005/recommendations", "/v1/items/fm0010/similar",
                     "/v1/items/fm0500/similar?mode=hybrid&category=Bag"):
            ra, rb = a.get(path, headers=read()), b.get(path, headers=read())
            assert ra.status_code == rb.status_code == 200
            assert [i["item_id"] for i in ra.json()["items"]] == [i["item_id"] for i in rb.json()["items"]]


def test_open_mode_needs_no_key(served_models, tmp_path):
    from recsys.serve import KeyRing
    with TestClient(make_app(served_models, tmp_path, keys=KeyRing(), warm=False)) as c:
        assert c.get("/v1/items/fm0001/similar").status_code == 200
        assert c.get("/metrics").status_code == 200


def test_keys_file_errors_name_the_entry(tmp_path):
    from recsys.serve import KeyRing, KeysFileError
    f = tmp_path / "k.toml"
    f.write_text('[[key]]\nkey = "short"\nrole = "read"\n')
    with pytest.raises(KeysFileError, match="key 1.*at least 16"):
        KeyRing.from_file(f)
    f.write_text(f'[[key]]\nkey = "{ADMIN_KEY}"\nrole = "root"\n')
    with pytest.raises(KeysFileError, match="role must be one of"):
        KeyRing.from_file(f)
    f.write_text("not toml [")
    with pytest.raises(KeysFileError, match="not valid TOML"):
        KeyRing.from_file(f)
    ring = KeyRing.from_env({"VISREC_READ_KEY": READ_KEY})
    assert ring.find(READ_KEY).role == "read" and ring.find(ADMIN_KEY) is None
    assert READ_KEY not in repr(ring.keys)


def test_items_carry_a_thumbnail_url_served_with_an_etag(client):
    item = client.get("/v1/items/fm0001/similar", params={"k": 1}, headers=read()).json()["items"][0]
    url = item["image_url"]
    assert url == f"/v1/items/{item['item_id']}/image"
    r = client.get(url, params={"size": 128})  # no key: <img> tags cannot send one
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
    img = Image.open(io.BytesIO(r.content))
    assert max(img.size) <= 128 and "max-age" in r.headers["cache-control"]
    again = client.get(url, params={"size": 128}, headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304 and not again.content
    assert client.get(url, params={"size": 999}).status_code == 422
    missing = client.get("/v1/items/ghost/image")
    assert missing.status_code == 404 and missing.json()["error"] == "no image"
