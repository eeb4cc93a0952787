"""The service on an approximate index (as a large catalog gets): filtered lists still give k
items, search by photo and added items go through the index, readyz names it."""

import io

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from .serving import admin, make_app, read


@pytest.fixture(scope="module")
def client(served_models, tmp_path_factory):
    app = make_app(served_models, tmp_path_factory.mktemp("hnsw"), index="hnsw", warm=False)
    with TestClient(app) as c:
        yield c


def test_readyz_names_the_index_and_its_recall(client):
    ix = client.get("/readyz").json()["index"]
    assert ix["kind"] == "hnsw" and ix["recall@10"] >= 0.95 and ix["n"] > 900


def test_filtered_similar_items_come_from_the_index_with_k_items(client, demo):
    cat = demo.catalog.df.set_index("item_id")["category"]
    item = demo.dataset.items.ids[3]
    for category in ("Bag", "Sandal"):
        r = client.get(f"/v1/items/{item}/similar", params={"k": 12, "category": category, "mode": "visual"},
                       headers=read())
        ids = [x["item_id"] for x in r.json()["items"]]
        assert len(ids) == 12 and {cat[i] for i in ids} == {category} and item not in ids
    plain = [x["item_id"] for x in client.get(f"/v1/items/{item}/similar", params={"k": 10},
                                               headers=read()).json()["items"]]
    assert len(plain) == 10


def test_an_added_item_is_found_through_the_grown_index(client, demo):
    src = demo.dir / demo.catalog.df.loc[10, "image"]
    buf = io.BytesIO()
    Image.open(src).convert("RGB").save(buf, "PNG")
    r = client.post("/v1/items", headers=admin(), data={"item_id": "twin-10"},
                    files={"image": ("twin.png", buf.getvalue(), "image/png")})
    assert r.status_code == 201, r.text
    found = client.post("/v1/search/image", headers=read(), files={"image": ("q.png", buf.getvalue(), "image/png")},
                        params={"k": 3}).json()
    assert {x["item_id"] for x in found["items"][:2]} == {"twin-10", demo.catalog.df.loc[10, "item_id"]}
    assert np.isclose(found["items"][0]["score"], found["items"][1]["score"], atol=1e-4)
