"""Catalog images by URL: fetch throughput against a local HTTP server (loopback), at the default
concurrency, cold (downloads) and warm (revalidation: 304 answers).

    python benchmarks/url_fetch.py [--images ../shared/datasets/hm-sample/images] [--n 2000] [--workers 8]

The server (Python's ThreadingHTTPServer in this process's threads) serves the H&M photos with an ETag;
the fetcher (``visual.fetch.UrlFetcher``, ``--allow-private-urls`` as loopback needs) writes into a
fresh cache. Loopback has no network latency: these figures bound the fetcher's own overhead.
"""

import argparse
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", default=str(Path(__file__).resolve().parents[2] / "shared/datasets/hm-sample/images"))
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--workers", type=int, default=8)
    a = ap.parse_args()
    from machine import cpu_name

    from visual.fetch import UrlFetcher
    files = {f"/{i}.jpg": f for i, f in enumerate(sorted(Path(a.images).rglob("*.jpg"))[: a.n])}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            f = files.get(self.path)
            if f is None:
                self.send_error(404)
                return
            if self.headers.get("If-None-Match") == '"1"':
                self.send_response(304)
                self.end_headers()
                return
            body = f.read_bytes()
            self.send_response(200)
            for k, v in (("Content-Type", "image/jpeg"), ("Content-Length", str(len(body))), ("ETag", '"1"')):
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    urls = [f"http://127.0.0.1:{srv.server_address[1]}{p}" for p in files]
    size = sum(f.stat().st_size for f in files.values())
    with tempfile.TemporaryDirectory() as tmp:
        fetcher = UrlFetcher(tmp, concurrency=a.workers, allow_private=True, progress=False)
        for run in ("cold (downloads)", "warm (revalidated, 304)"):
            t = time.perf_counter()
            done, failed = fetcher.fetch_all(urls)
            s = time.perf_counter() - t
            print(f"{run}: {len(done)} fetched, {len(failed)} failed in {s:.2f}s = {len(done) / s:,.0f} images/s "
                  f"({size / 2**20 / s:,.1f} MiB/s)", flush=True)
    srv.shutdown()
    print(f"{len(files)} JPEGs, {size / 2**20:.1f} MiB; {a.workers} workers; CPU {cpu_name()}")


if __name__ == "__main__":
    main()
