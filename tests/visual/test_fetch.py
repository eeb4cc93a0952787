"""Catalog images by URL against a real HTTP server on loopback: every good image is embedded, each
failure kind is a per-item skip naming the URL and the reason, nothing hangs past its timeout, a rerun
revalidates instead of downloading, and private addresses are refused unless allowed."""

import io
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pandas as pd
import pytest
from PIL import Image

from features import embed_catalog
from recsys.data import Catalog
from visual.fetch import UrlFetcher


def png(colour) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (48, 48), colour).save(buf, "PNG")
    return buf.getvalue()


class Shop(BaseHTTPRequestHandler):
    hits: dict = {}
    etag_304 = 0

    def log_message(self, *a):
        pass

    def send_body(self, body, ctype="image/png", status=200, length=None, extra=()):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        path = self.path.split("?")[0]
        Shop.hits[path] = Shop.hits.get(path, 0) + 1
        if path.startswith("/good/"):
            if self.headers.get("If-None-Match") == '"v1"':
                Shop.etag_304 += 1
                self.send_response(304)
                self.end_headers()
                return
            n = int(path.rsplit("/", 1)[1].split(".")[0])
            self.send_body(png((40 * n % 255, 90, 200)), extra=[("ETag", '"v1"')])
        elif path == "/redirect.png":
            self.send_response(302)
            self.send_header("Location", "/good/7.png")
            self.end_headers()
        elif path == "/missing.png":
            self.send_body(b"not here", "text/plain", 404)
        elif path == "/flaky.png":
            if Shop.hits[path] == 1:
                self.send_body(b"busy", "text/plain", 503)
            else:
                self.send_body(png((1, 2, 3)))
        elif path == "/broken.png":
            self.send_body(b"boom", "text/plain", 500)
        elif path == "/truncated.png":
            self.send_body(png((9, 9, 9))[:40], length=400)
            self.close_connection = True
        elif path == "/huge.png":
            self.send_body(b"\x89PNG" + b"\0" * 300_000)
        elif path == "/loop.png":
            self.send_response(301)
            self.send_header("Location", "/loop.png")
            self.end_headers()
        elif path == "/page.png":
            self.send_body(b"<html>a product page</html>", "text/html")
        elif path == "/garbage.png":
            self.send_body(b"this is not an image at all")
        elif path == "/slow.png":
            time.sleep(3)
            self.send_body(png((5, 5, 5)))


@pytest.fixture(scope="module")
def server():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Shop)
    srv.daemon_threads = True
    srv.handle_error = lambda request, address: None  # the client hung up on /slow.png: expected
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()


def test_good_urls_embed_and_each_failure_is_named(server, tmp_path, embedder):
    import socket
    silent = socket.socket()  # listens, never answers
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    (tmp_path / "local.png").write_bytes(png((200, 10, 10)))
    bad = {"missing": "/missing.png", "broken": "/broken.png", "truncated": "/truncated.png", "huge": "/huge.png",
           "loop": "/loop.png", "page": "/page.png", "garbage": "/garbage.png", "slow": "/slow.png"}
    rows = [("local", "local.png"), ("redirected", server + "/redirect.png"), ("flaky", server + "/flaky.png"),
            ("ftp", "ftp://example.com/a.png")]
    rows += [(f"good{i}", f"{server}/good/{i}.png") for i in range(6)]
    rows += [(k, server + v) for k, v in bad.items()]
    rows += [("silent", f"http://127.0.0.1:{silent.getsockname()[1]}/x.png")]
    catalog = Catalog.from_frame(pd.DataFrame(rows, columns=["item_id", "image"]), tmp_path)
    fetcher = UrlFetcher(tmp_path / "images", allow_private=True, read_timeout=1.0, connect_timeout=1.0,
                         retries=1, backoff=0.05, max_bytes=200_000, max_redirects=3, progress=False)
    t = time.perf_counter()
    feats = embed_catalog(catalog, embedder, cache_dir=tmp_path / "store", fetcher=fetcher)
    took = time.perf_counter() - t
    silent.close()
    ok = dict(zip(catalog.item_ids, feats.present))
    assert all(ok[k] for k in ["local", "redirected", "flaky"] + [f"good{i}" for i in range(6)])
    errors = {e["item_id"]: e for e in feats.errors}
    assert set(errors) == set(bad) | {"ftp", "silent"}
    want = {"missing": "HTTP 404", "broken": "HTTP 500", "truncated": "truncated", "huge": "over the 200000-byte",
            "loop": "more than 3 redirects", "page": "not an image: Content-Type text/html", "slow": "timed out",
            "silent": "timed out", "ftp": "only http and https"}
    for item, words in want.items():
        assert words in errors[item]["reason"], errors[item]
    assert errors["missing"]["path"] == server + "/missing.png"
    assert "cannot" in errors["garbage"]["reason"] or "image" in errors["garbage"]["reason"]  # decoder's reason
    assert Shop.hits["/broken.png"] == 2 and Shop.hits["/missing.png"] == 1  # 5xx retried, 404 not
    assert took < 20, took  # bounded by the timeouts, not hanging

    Shop.etag_304 = 0
    hits_before = dict(Shop.hits)
    again = embed_catalog(catalog, embedder, cache_dir=tmp_path / "store", fetcher=fetcher)
    assert (again.vectors == feats.vectors).all()
    assert Shop.etag_304 >= 6  # revalidated with If-None-Match: 304, nothing downloaded again
    assert Shop.hits["/good/0.png"] == hits_before["/good/0.png"] + 1


def test_private_addresses_are_refused_by_default(server, tmp_path):
    with pytest.raises(Exception, match=r"private, loopback or reserved address .*refused"):
        UrlFetcher(tmp_path, progress=False).fetch(server + "/good/1.png")
    done, failed = UrlFetcher(tmp_path, progress=False).fetch_all(["file:///etc/passwd", "http://169.254.169.254/x"])
    assert not done and "only http and https" in failed["file:///etc/passwd"]
    assert "private, loopback or reserved" in failed["http://169.254.169.254/x"]
