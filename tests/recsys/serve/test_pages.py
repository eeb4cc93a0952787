"""``/widget.js`` and ``/demo`` as files: size, caching, no dependencies, the demo page off by default."""

import json
import re

import pytest
from fastapi.testclient import TestClient

from .serving import READ_KEY, make_app


@pytest.fixture(scope="module")
def clients(served_models, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pages")
    with TestClient(make_app(served_models, tmp / "a", warm=False)) as plain, \
            TestClient(make_app(served_models, tmp / "b", warm=False, demo_page=True)) as shop:
        yield plain, shop


def test_widget_script_is_small_dependency_free_and_cached(clients):
    c, _ = clients
    r = c.get("/widget.js")  # public: a <script> tag sends no key
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/javascript")
    js = r.text
    assert len(r.content) <= 15 * 1024  # the budget: 15 kB unminified
    assert not re.search(r"\bimport\s*[({\"']|\brequire\(|https?://(?!YOUR)", js)  # nothing loaded from elsewhere
    assert 'customElements.define("visrec-similar"' in js and 'customElements.define("visrec-for-you"' in js
    again = c.get("/widget.js", headers={"If-None-Match": r.headers["etag"]})
    assert again.status_code == 304 and not again.content


def test_demo_shop_is_off_unless_asked_for(clients):
    plain, shop = clients
    assert plain.get("/demo").status_code == 404
    page = shop.get("/demo")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    assert f'data-key="{READ_KEY}"' in html  # the browser (read) key, never the admin key
    assert "sk_test_admin" not in html
    data = json.loads(re.search(r'id="visrec-catalog">(.*?)</script>', html, re.S).group(1))
    assert len(data["items"]) == 1000 and data["photo_search"] is True
    assert data["items"][0].keys() >= {"item_id", "title", "category", "price", "image_url"}
