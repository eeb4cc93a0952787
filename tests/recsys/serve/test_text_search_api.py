"""``GET /v1/search/text``: typed words answered from the photos with the read key, filters applied inside
the search, a clear JSON 422 when the served model has no aligner for its vectors."""

import numpy as np
import pytest
from fastapi.testclient import TestClient

from features.align import TextAligner

from .serving import make_app, read


@pytest.fixture(scope="module")
def head(demo, tmp_path_factory):
    al = TextAligner(text_model="tfidf", epochs=30, hidden=128, tfidf_dim=32, progress=False)
    al.fit(demo.catalog.df["category"].tolist(), demo.features)
    return al.save(tmp_path_factory.mktemp("text-head") / "text.safetensors")


def test_words_answer_with_photos_of_that_kind_and_filters_apply(served_models, head, demo, tmp_path):
    kind = dict(zip(demo.catalog.item_ids, demo.catalog.df["category"]))
    with TestClient(make_app(served_models, tmp_path, text_search=head, warm=False)) as c:
        assert c.get("/v1/search/text", params={"q": "sandal"}).status_code == 401  # a key is needed
        r = c.get("/v1/search/text", params={"q": "sandal", "k": 10}, headers=read())
        assert r.status_code == 200, r.text
        body = r.json()
        assert len(body["rec_id"]) == 32 and len(body["items"]) == 10
        assert np.mean([kind[it["item_id"]] == "Sandal" for it in body["items"]]) >= 0.8
        first = body["items"][0]["item_id"]
        r = c.get("/v1/search/text", params={"q": "sandal", "k": 10, "exclude": first, "category": "Bag"},
                  headers=read())
        items = [it["item_id"] for it in r.json()["items"]]
        assert len(items) == 10 and first not in items and {kind[i] for i in items} == {"Bag"}
        assert c.get("/readyz").json()["text_search"] is True
        for bad in ({"q": ""}, {"q": "x" * 501}, {}):
            r = c.get("/v1/search/text", params=bad, headers=read())
            assert r.status_code == 422 and "error" in r.json(), r.text


def test_no_aligner_is_a_json_422_naming_why(served_models, tmp_path):
    with TestClient(make_app(served_models, tmp_path, text_search=False, warm=False)) as c:
        r = c.get("/v1/search/text", params={"q": "dress"}, headers=read())
        assert r.status_code == 422 and r.json()["error"] == "no text search", r.text
        assert "text search is off" in r.json()["detail"]
