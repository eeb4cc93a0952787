"""The widget in a real browser, and event ingest, against a running ``visrec serve``.

Measures
- the size of ``/widget.js`` (bytes, and gzip-compressed);
- time to the first rendered carousel on the demo shop's product page in headless Chromium:
  from navigation start to the ``visrec:render`` event of ``<visrec-similar>``, and to all its
  images loaded -- first load in a fresh browser profile (nothing cached), then reloads;
- events ingest: a burst of 10,000 events over HTTP, one event per request as the widget's
  beacons send them (16 and 64 at a time) and in batches of 100 as a shop backend would, then counts
  what the SQLite store holds (none may be lost, duplicates none stored twice).

Usage (a model from ``visrec demo --out DEMO``)::

    python benchmarks/widget_timing.py --demo-out DEMO --runs 20 --out widget_timing.json

Needs ``playwright`` (``pip install -e .[test]``), ``aiohttp`` and Debian's ``chromium``.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from machine import cpu_name

CHROMIUM = next((p for p in ("/usr/lib/chromium/chromium", "/usr/bin/chromium") if os.access(p, os.X_OK)), None)




def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(args, state: Path):
    port = free_port()
    cmd = [sys.executable, "-m", "recsys.cli", "serve", "--model", args.model, "--catalog", args.catalog,
           "--images-root", args.images_root, "--state", str(state), "--port", str(port), "--demo-page"]
    env = {**os.environ, "VISREC_READ_KEY": "", "VISREC_ADMIN_KEY": ""}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 180
    while time.time() < deadline:
        try:
            if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.3)
    proc.kill()
    raise SystemExit("the server did not start")


RENDER_JS = """() => new Promise(resolve => {
  const el = document.querySelector('#similar');
  const done = () => {
    const imgs = [...el.shadowRoot.querySelectorAll('img')];
    const loaded = () => imgs.every(i => i.complete && i.naturalWidth > 0);
    const t = performance.now();
    if (loaded()) return resolve({render: window.__render, images: t});
    Promise.all(imgs.map(i => i.decode().catch(() => null))).then(() => resolve({render: window.__render,
                                                                                 images: performance.now()}));
  };
  if (el.rec) return done();
  el.addEventListener('visrec:render', done, {once: true});
})"""


def browser_timings(url: str, item: str, runs: int) -> dict:
    from playwright.sync_api import sync_playwright
    first, warm = [], []
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        for _ in range(runs):
            ctx = b.new_context(viewport={"width": 1280, "height": 1000})  # a fresh profile: nothing cached
            page = ctx.new_page()
            page.add_init_script("document.addEventListener('visrec:render', e => { if (e.target.id === 'similar') "
                                 "window.__render = performance.now() }, true)")
            for i in range(2):
                if i == 0:
                    page.goto(f"{url}/demo#/item/{item}")
                else:
                    page.reload()
                got = page.evaluate(RENDER_JS)
                (first if i == 0 else warm).append(got)
            ctx.close()
        b.close()

    def summary(rows):
        r = [x["render"] for x in rows]
        im = [x["images"] for x in rows]
        return {"render_ms_median": round(statistics.median(r), 1), "render_ms_max": round(max(r), 1),
                "images_ms_median": round(statistics.median(im), 1), "n": len(rows)}

    return {"first_visit": summary(first), "reload": summary(warm)}


async def ingest(url: str, n: int, batch: int, concurrency: int) -> dict:
    """Send ``n`` events in requests of ``batch`` (``concurrency`` in flight) with aiohttp (a light
    client: the server, not the client, should be what is measured on a small machine)."""
    import aiohttp
    run = uuid.uuid4().hex[:8]
    events = [{"type": "impression", "event_id": f"{run}-{i}", "item_id": "x", "rec_id": f"r{i // 8}",
               "visitor_id": f"v{i % 997}", "position": i % 8} for i in range(n)]
    bodies = [json.dumps(ch[0] if len(ch) == 1 else {"events": ch})
              for ch in (events[i:i + batch] for i in range(0, n, batch))]
    todo = iter(bodies)
    stored, failed = 0, 0
    headers = {"Content-Type": "text/plain"}  # what navigator.sendBeacon sends
    async with aiohttp.ClientSession(url, connector=aiohttp.TCPConnector(limit=concurrency)) as c:
        async def worker():
            nonlocal stored, failed
            for body in todo:
                async with c.post("/v1/events", data=body, headers=headers) as r:
                    if r.status == 200:
                        stored += (await r.json())["stored"]
                    else:
                        failed += 1
        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        dt = time.perf_counter() - t0
        # the first 1,000 again: every one is a duplicate and must not be stored twice
        async with c.post("/v1/events", json={"events": events[:1000]}) as r:
            again = (await r.json())["stored"]
    return {"events": n, "batch": batch, "concurrency": concurrency, "seconds": round(dt, 3),
            "events_per_s": round(n / dt), "acknowledged_stored": stored, "failed_requests": failed,
            "duplicates_stored": again, "run": run}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--demo-out", help="folder written by `visrec demo --out` (sets the three below)")
    p.add_argument("--model")
    p.add_argument("--catalog")
    p.add_argument("--images-root")
    p.add_argument("--item", default="fm0003", help="product page to load")
    p.add_argument("--runs", type=int, default=20)
    p.add_argument("--events", type=int, default=10_000)
    p.add_argument("--out", default=None, help="JSON file for the results")
    args = p.parse_args(argv)
    if args.demo_out:
        d = Path(args.demo_out)
        args.model, args.catalog, args.images_root = str(d / "model"), str(d / "data" / "catalog.csv"), str(d / "data")
    if not (args.model and args.catalog and args.images_root):
        p.error("give --demo-out or --model, --catalog and --images-root")
    state = Path(tempfile.mkdtemp()) / "state.sqlite"
    proc, url = start_server(args, state)
    try:
        js = httpx.get(url + "/widget.js").content
        out = {"cpu": cpu_name(), "cores": os.cpu_count(), "date": time.strftime("%Y-%m-%d"),
               "widget_bytes": len(js), "widget_gzip_bytes": len(gzip.compress(js, 9))}
        if CHROMIUM:
            out["browser"] = browser_timings(url, args.item, args.runs)
        out["ingest"] = [asyncio.run(ingest(url, args.events, 1, c)) for c in (16, 64)]
        out["ingest"].append(asyncio.run(ingest(url, args.events, 100, 4)))
        with sqlite3.connect(state) as db:
            for row in out["ingest"]:
                row["in_store"] = db.execute("SELECT COUNT(*) FROM events WHERE event_id LIKE ?",
                                             (row["run"] + "-%",)).fetchone()[0]
                row["lost"] = row["events"] - row["in_store"]
    finally:
        proc.terminate()
        proc.wait(20)
    print(json.dumps(out, indent=1))
    if args.out:
        Path(args.out).write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
