"""The widget and the demo shop in a real headless Chromium (Debian's package, driven by
Playwright), against a real ``visrec serve`` with API keys.

Screenshots are written to ``test-artifacts/widget/`` (or ``$VISREC_ARTIFACTS/widget``).
"""

import os
import time
from pathlib import Path

import pytest

from .serving import READ_KEY, Server, free_port

playwright = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e .[test])")

SHOP_PORT = free_port()
SHOP = f"http://127.0.0.1:{SHOP_PORT}"  # another origin (port) on loopback: Chromium keeps public pages off loopback
ARTIFACTS = Path(os.environ.get("VISREC_ARTIFACTS", Path(__file__).resolve().parents[3] / "test-artifacts")) / "widget"


def _chromium() -> str | None:
    for p in ("/usr/lib/chromium/chromium", "/usr/bin/chromium", "/usr/bin/chromium-browser"):
        if os.access(p, os.X_OK):
            return p
    return None


pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(_chromium() is None, reason="no Chromium binary (apt-get install chromium)")]


@pytest.fixture(scope="module")
def server(served_models, tmp_path_factory):
    state = tmp_path_factory.mktemp("widget") / "state.sqlite"
    s = Server("--model", str(served_models.hybrid), "--catalog", str(served_models.catalog),
               "--images-root", str(served_models.images_root), "--keys", str(served_models.keys),
               "--state", str(state), "--demo-page", "--allow-origin", SHOP)
    s.state = state
    try:
        yield s.wait_ready()
    finally:
        s.stop()


@pytest.fixture(scope="module")
def browser():
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=_chromium(), args=["--no-sandbox", "--disable-gpu"])
        yield b
        b.close()


@pytest.fixture
def page(browser):
    ctx = browser.new_context(viewport={"width": 1280, "height": 1000})  # a fresh visitor: empty localStorage
    pg = ctx.new_page()
    errors = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    yield pg
    ctx.close()
    assert not errors, errors  # no script error on any page


def _shot(pg, name):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pg.evaluate("() => scrollTo(0, 0)")  # the sticky header at the top of the full-page image
    pg.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _rendered(pg, selector, timeout=30_000):
    pg.wait_for_function(f"() => {{ const e = document.querySelector('{selector}'); return e && e.rec }}",
                         timeout=timeout)
    return pg.evaluate(f"() => document.querySelector('{selector}').rec")


def _events(server, **where):
    from recsys.serve.events import read_events
    df = read_events(server.state)
    for k, v in where.items():
        df = df[df[k] == v]
    return df


def _wait_events(server, timeout=10.0, n=1, **where):
    deadline = time.time() + timeout
    while time.time() < deadline:
        df = _events(server, **where)
        if len(df) >= n:
            return df
        time.sleep(0.1)
    return _events(server, **where)


def _items(pg, selector):
    return pg.evaluate(f"() => [...document.querySelector('{selector}').shadowRoot.querySelectorAll('li')]"
                       ".map(li => li.dataset.itemId)")


def test_carousel_shows_limit_items_with_loaded_images_and_keyboard(server, page, served_models):
    page.goto(server.url + "/demo#/item/fm0003")
    rec = _rendered(page, "#similar")
    assert rec["rec_id"] and len(rec["items"]) == 8
    cards = page.locator("#similar li[part=item]")
    assert cards.count() == 8
    page.wait_for_function("() => [...document.querySelector('#similar').shadowRoot.querySelectorAll('img')]"
                           ".every(i => i.complete && i.naturalWidth > 0)", timeout=20_000)
    assert "fm0003" not in _items(page, "#similar")  # the product itself is not "similar"
    titles = page.locator("#similar [part=title]").all_inner_texts()
    assert titles == [x["title"] for x in rec["items"]]
    # theming reaches inside the shadow DOM through ::part
    page.add_style_tag(content="visrec-similar::part(title){color: rgb(200, 0, 0)}")
    assert page.locator("#similar [part=title]").first.evaluate("e => getComputedStyle(e).color") == "rgb(200, 0, 0)"
    # keyboard: Tab into the list, arrows move between products, Enter opens one
    page.locator("#similar ul").focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    focused = page.evaluate("() => document.querySelector('#similar').shadowRoot.activeElement.closest('li')"
                            ".dataset.position")
    assert focused == "1"
    _shot(page, "product-page")


def test_click_reaches_the_store_with_rec_id_position_and_impressions(server, page):
    page.goto(server.url + "/demo#/item/fm0100")
    rec = _rendered(page, "#similar")
    page.evaluate("() => { window.clicks = []; document.addEventListener('visrec:click', "
                  "e => window.clicks.push(e.detail)); }")
    third = rec["items"][2]["item_id"]
    page.locator("#similar li[part=item]").nth(2).locator("a").click()
    page.wait_for_url(f"**/demo#/item/{third}")
    detail = page.evaluate("() => window.clicks")[0]
    assert (detail["item_id"], detail["rec_id"], detail["position"]) == (third, rec["rec_id"], 2)
    clicks = _wait_events(server, type="click", rec_id=rec["rec_id"])
    assert len(clicks) == 1
    row = clicks.iloc[0]
    assert (row.item_id, int(row.position), row.key_name) == (third, 2, "browser")
    assert row.visitor_id == page.evaluate("() => visrec.visitorId()")
    # impressions: the cards that were actually on screen, with their positions, once each
    page.evaluate("() => visrec.flush()")
    shown = _wait_events(server, n=3, type="impression", rec_id=rec["rec_id"])
    assert len(shown) >= 3 and shown.event_id.is_unique
    assert set(shown.position.astype(int)) <= set(range(8))
    by_pos = {int(p): i for p, i in zip(shown.position, shown.item_id)}
    assert all(rec["items"][p]["item_id"] == i for p, i in by_pos.items())


def test_you_may_like_follows_the_viewed_products(server, page, served_models):
    import pandas as pd
    cat = pd.read_csv(served_models.catalog, dtype=str)
    page.goto(server.url + "/demo#/")
    page.locator("#foryou").scroll_into_view_if_needed()
    before = _rendered(page, "#foryou")["items"]
    sandals = cat.loc[cat.category == "Sandal", "item_id"].tolist()[:3]
    for i, item in enumerate(sandals):
        page.goto(server.url + f"/demo#/item/{item}")
        _rendered(page, "#similar")
        page.wait_for_function(f"() => JSON.parse(localStorage.getItem('visrec:viewed') || '[]').length === {i + 1}")
    page.wait_for_function("ids => { const r = document.querySelector('#foryou').rec; "
                           "return r && ids.every(i => !r.items.some(x => x.item_id === i)) }", arg=sandals)
    page.wait_for_timeout(500)  # the last refresh lands
    after = page.evaluate("() => document.querySelector('#foryou').rec.items")
    assert [x["item_id"] for x in after] != [x["item_id"] for x in before]
    assert not {x["item_id"] for x in after} & set(sandals)  # viewed items are not offered again
    shoes = sum(x.get("category") in ("Sandal", "Sneaker", "Ankle boot") for x in after)
    assert shoes >= len(after) // 2, [x.get("category") for x in after]  # the session is about shoes
    page.locator("#foryou").scroll_into_view_if_needed()
    _shot(page, "you-may-like-after-three-sandals")


def test_upload_a_photo_shows_lookalikes(server, page, served_models):
    page.goto(server.url + "/demo#/")
    photo = served_models.images_root / "images" / "fm0500.png"
    page.set_input_files("#photo", str(photo))
    page.wait_for_selector("#photo-results:not([hidden]) .card", timeout=30_000)
    ids = page.locator("#photo-grid .card").evaluate_all("cs => cs.map(c => c.dataset.itemId)")
    assert len(ids) == 12 and ids[0] == "fm0500"  # the catalog photo itself comes first
    _shot(page, "search-by-photo")


def test_unknown_item_hides_the_widget(server, page):
    page.goto(server.url + "/demo#/item/no-such-item")
    page.wait_for_function("() => document.querySelector('#similar').hidden", timeout=20_000)
    assert page.locator("#similar").bounding_box() is None  # not laid out: no empty box on the page


@pytest.fixture
def shop_pages():
    """A shop's own web server on another origin, serving the pages put in the returned dict."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    pages = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            body = pages.get(self.path, "not found").encode()
            self.send_response(200 if self.path in pages else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", SHOP_PORT), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield pages
    httpd.shutdown()
    httpd.server_close()


def test_two_line_embed_on_a_shop_origin(server, page, shop_pages):
    """The README's snippet on another origin: the read key travels in the script tag, the API
    answers through CORS, and the beacons land with the read key."""
    html = (f'<!doctype html><title>Shop</title><h1>Product</h1>\n'
            f'<script src="{server.url}/widget.js" data-key="{READ_KEY}" async></script>\n'
            f'<visrec-similar item-id="fm0042" limit="6"></visrec-similar>\n'
            f'<visrec-for-you limit="4" heading="Picked for you"></visrec-for-you>')
    shop_pages["/product/42"] = html
    shop_pages["/nokey"] = html.replace(f' data-key="{READ_KEY}"', "")
    page.goto(f"{SHOP}/product/42")
    rec = _rendered(page, "visrec-similar")
    assert len(rec["items"]) == 6
    assert len(_rendered(page, "visrec-for-you")["items"]) == 4
    page.locator("visrec-similar li[part=item]").first.locator("a").click()
    got = _wait_events(server, type="click", rec_id=rec["rec_id"])
    assert len(got) == 1 and got.iloc[0].key_name == "browser"
    # a page without the key gets nothing and shows nothing
    page.goto(f"{SHOP}/nokey")
    page.wait_for_function("() => document.querySelector('visrec-similar').hidden", timeout=20_000)
