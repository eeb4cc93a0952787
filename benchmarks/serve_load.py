"""Load test of ``visrec serve`` on loopback: QPS, p50 and p99 latency per endpoint at several
concurrency levels, a mixed run with a hot reload in the middle, and the server's memory.

The server runs as a subprocess (a real uvicorn on a socket, with API keys); the client is bounded
asyncio + httpx (a fixed number of requests, ``--concurrency`` connections). Latency is measured by
the client, from sending the request to reading the whole answer. Both share this machine's cores.

    python benchmarks/serve_load.py --model visrec-demo/model --catalog visrec-demo/data/catalog.csv \\
        --images-root visrec-demo/data --out serve_load_demo.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

ADMIN = "sk_bench_admin_0123456789"
READ = "pk_bench_read_0123456789"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip() + f", {os.cpu_count()} cores"
    except OSError:
        pass
    return platform.processor()


def start_server(args, keys_file: Path, state: Path):
    port = free_port()
    cmd = [sys.executable, "-m", "recsys.cli", "serve", "--model", args.model, "--port", str(port),
           "--keys", str(keys_file), "--state", str(state)]
    if args.catalog:
        cmd += ["--catalog", args.catalog]
    if args.images_root:
        cmd += ["--images-root", args.images_root]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    t0 = time.perf_counter()
    while True:
        if proc.poll() is not None:
            raise SystemExit(f"the server exited: {proc.stderr.read().decode()[-2000:]}")
        try:
            if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    return proc, url, time.perf_counter() - t0


def wait_warm(url: str, timeout: float = 1800) -> dict:
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        r = httpx.get(url + "/readyz", timeout=10).json()
        items_with_photo = r["items"] if r["photo_search"] else 0
        if r["cached_users"] >= r["users"] and r["cached_item_lists"] >= 0.95 * items_with_photo:
            r["warm_seconds"] = time.perf_counter() - t0
            return r
        time.sleep(0.5)
    raise SystemExit("the caches did not fill in time")


def make_requests(kind: str, n: int, users, items, photos, rng: random.Random, k: int = 10) -> list:
    out = []
    for _ in range(n):
        if kind == "similar":
            out.append(("GET", f"/v1/items/{rng.choice(items)}/similar", {"params": {"k": k}}))
        elif kind == "user":
            out.append(("GET", f"/v1/users/{rng.choice(users)}/recommendations", {"params": {"k": k}}))
        elif kind == "session":
            session = rng.sample(items, rng.randint(1, 10))
            out.append(("POST", "/v1/recommendations", {"json": {"item_ids": session, "k": k}}))
        elif kind == "photo":
            out.append(("POST", "/v1/search/image", {"params": {"k": k},
                                                     "files": {"image": ("q.jpg", rng.choice(photos), "image/jpeg")}}))
    return out


async def run_load(url: str, requests: list, concurrency: int, during=None, client: str = "httpx") -> dict:
    latencies, errors = [], []
    queue = list(enumerate(requests))

    async def send_httpx(c, method, path, kw):
        r = await c.request(method, path, **kw)
        await r.aread()
        return r.status_code, r.text

    async def send_aiohttp(c, method, path, kw):
        import aiohttp
        data = None
        if "files" in kw:
            data = aiohttp.FormData()
            name, (fname, blob, ctype) = next(iter(kw["files"].items()))
            data.add_field(name, blob, filename=fname, content_type=ctype)
        async with c.request(method, url + path, params=kw.get("params"), json=kw.get("json"), data=data) as r:
            return r.status, await r.text()

    async def worker(c, send):
        while queue:
            i, (method, path, kw) = queue.pop()
            t0 = time.perf_counter()
            try:
                status, text = await send(c, method, path, kw)
                if status != 200:
                    errors.append(f"{status} {path}: {text[:200]}")
            except Exception as e:  # a failed request is counted, never fatal to the run
                errors.append(f"{type(e).__name__} {path}")
            latencies.append(time.perf_counter() - t0)

    if client == "aiohttp":
        import aiohttp
        session = aiohttp.ClientSession(headers={"X-API-Key": READ}, connector=aiohttp.TCPConnector(
            limit=concurrency), timeout=aiohttp.ClientTimeout(total=60))
        send = send_aiohttp
    else:
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        session = httpx.AsyncClient(base_url=url, headers={"X-API-Key": READ}, limits=limits, timeout=60)
        send = send_httpx
    async with session as c:
        t0 = time.perf_counter()
        tasks = [asyncio.create_task(worker(c, send)) for _ in range(concurrency)]
        side = asyncio.create_task(during()) if during else None
        await asyncio.gather(*tasks)
        wall = time.perf_counter() - t0
        side_result = await side if side else None
    lat = np.asarray(latencies) * 1000
    return {"requests": len(requests), "concurrency": concurrency, "seconds": round(wall, 2), "client": client,
            "qps": round(len(requests) / wall, 1), "p50_ms": round(float(np.percentile(lat, 50)), 2),
            "p99_ms": round(float(np.percentile(lat, 99)), 2), "errors": len(errors), "error_examples": errors[:5],
            "during": side_result}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True)
    p.add_argument("--catalog")
    p.add_argument("--images-root")
    p.add_argument("--concurrency", default="1,8,32")
    p.add_argument("--requests", type=int, default=2000, help="requests per endpoint and concurrency")
    p.add_argument("--photo-requests", type=int, default=200)
    p.add_argument("--mixed", type=int, default=10000, help="requests of the mixed run (with a reload)")
    p.add_argument("--client", choices=["httpx", "aiohttp"], default="httpx",
                   help="load generator's HTTP client (aiohttp spends less of the shared CPU per request)")
    p.add_argument("--endpoints", default="similar,user,session,photo")
    p.add_argument("--out", default="serve_load.json")
    args = p.parse_args(argv)
    rng = random.Random(0)
    model = Path(args.model)
    users = json.loads((model / "users.json").read_text())
    items = json.loads((model / "items.json").read_text())
    photos = []
    if args.catalog and args.images_root:
        import pandas as pd
        cat = pd.read_csv(args.catalog, dtype=str)
        for rel in cat["image"].dropna().sample(min(50, len(cat)), random_state=0):
            f = Path(args.images_root) / rel
            if f.is_file():
                photos.append(f.read_bytes())
    with tempfile.TemporaryDirectory() as tmp:
        keys = Path(tmp) / "keys.toml"
        keys.write_text(f'[[key]]\nkey = "{READ}"\nrole = "read"\nrate = 1e6\n\n'
                        f'[[key]]\nkey = "{ADMIN}"\nrole = "admin"\nrate = 1e6\n')
        proc, url, ready_s = start_server(args, keys, Path(tmp) / "state.sqlite")
        try:
            rss_ready = rss_mb(proc.pid)
            ready = wait_warm(url)
            result = {"machine": cpu_name(), "date": time.strftime("%Y-%m-%d"), "model": ready["model"],
                      "client": args.client, "cache_mb": round(ready["cache_bytes"] / 1e6, 1),
                      "items": ready["items"], "users": ready["users"], "ready_seconds": round(ready_s, 1),
                      "warm_seconds": round(ready["warm_seconds"], 1), "rss_mb_ready": round(rss_ready, 1),
                      "rss_mb_warm": round(rss_mb(proc.pid), 1), "runs": []}
            print(json.dumps({k: v for k, v in result.items() if k != "runs"}), flush=True)
            kinds = [e for e in args.endpoints.split(",")
                     if e != "photo" or (photos and ready["photo_search"])]
            for kind in kinds:  # warm-up: first calls load lazy parts (CNN, kernels)
                asyncio.run(run_load(url, make_requests(kind, 20, users, items, photos, rng), 2))
            for c in [int(x) for x in args.concurrency.split(",")]:
                for kind in kinds:
                    n = args.photo_requests if kind == "photo" else args.requests
                    cpu0 = cpu_seconds(proc.pid)
                    r = asyncio.run(run_load(url, make_requests(kind, n, users, items, photos, rng), c,
                                            client=args.client))
                    r["server_cpu_ms_per_request"] = round((cpu_seconds(proc.pid) - cpu0) * 1000 / n, 2)
                    r["endpoint"] = kind
                    result["runs"].append(r)
                    print(f"{kind:8s} c={c:<3d} {r['qps']:8.1f} qps  p50 {r['p50_ms']:7.2f} ms  "
                          f"p99 {r['p99_ms']:7.2f} ms  errors {r['errors']}  server CPU "
                          f"{r['server_cpu_ms_per_request']} ms/request", flush=True)
            if args.mixed:
                mix = []
                for kind, share in (("similar", 0.4), ("user", 0.3), ("session", 0.25), ("photo", 0.05)):
                    if kind in kinds:
                        mix += make_requests(kind, int(args.mixed * share), users, items, photos, rng)
                rng.shuffle(mix)

                async def reload_midway():
                    await asyncio.sleep(2.0)
                    async with httpx.AsyncClient(base_url=url, headers={"X-API-Key": ADMIN}, timeout=600) as c:
                        t0 = time.perf_counter()
                        r = await c.post("/v1/admin/reload", json={})
                        return {"reload_status": r.status_code, "reload_seconds": round(time.perf_counter() - t0, 2)}

                r = asyncio.run(run_load(url, mix, 8, during=reload_midway, client=args.client))
                r["endpoint"] = "mixed+reload"
                result["runs"].append(r)
                print(f"mixed    c=8   {r['qps']:8.1f} qps  p50 {r['p50_ms']:7.2f} ms  p99 {r['p99_ms']:7.2f} ms  "
                      f"errors {r['errors']} of {r['requests']}  {r['during']}", flush=True)
            result["rss_mb_end"] = round(rss_mb(proc.pid), 1)
        finally:
            proc.terminate()
            proc.wait(30)
    Path(args.out).write_text(json.dumps(result, indent=1))
    print("\n| endpoint | concurrency | requests | QPS | p50 ms | p99 ms | errors | server CPU ms/request |\n"
          "|---|---|---|---|---|---|---|---|")
    for r in result["runs"]:
        print(f"| {r['endpoint']} | {r['concurrency']} | {r['requests']} | {r['qps']} | {r['p50_ms']} | "
              f"{r['p99_ms']} | {r['errors']} | {r.get('server_cpu_ms_per_request', '')} |")


if __name__ == "__main__":
    main()
