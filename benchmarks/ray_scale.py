"""The Ray engine against the local one on this machine: image embedding throughput, and the list job for
many users (wall time and peak memory).

    python benchmarks/ray_scale.py embed --n 2000 [--images ../shared/datasets/hm-sample/images] [--workers N]
    python benchmarks/ray_scale.py lists --users 100000 [--items 20920] [--k 12] [--block-users 65536]
        [--skip-in-memory]

``embed``: N photos embedded from files into a fresh cache, ``features.embed_catalog`` (this process: torch
threads + decoding threads) vs ``embed_catalog_ray`` (one CPU actor per core, 1024-image shards written as
Parquet parts); the Ray cluster is started before the clock starts (its start-up is printed apart), the
actors' start-up and model loading are inside the timing. Vectors are checked to agree.

``lists``: a 64-factor ALS model over ``--items`` items (the H&M sample's photo catalog size) and ``--users``
synthetic users with 10 seen items each, saved to a folder (factors drawn at random: scoring costs what a
fitted model's does), then ``visrec recommend --users all`` run as a separate process with the local engine
(streaming, block by block) and the Ray engine, and -- unless ``--skip-in-memory`` -- the job as it was
before streaming (all lists in memory, then written). Each run: wall time, the peak RSS of the command's
process (VmHWM) and the peak of the summed RSS of its whole process tree (Ray's raylet and actors included;
shared pages such as the object store count once per process). The local and Ray files are compared.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def machine_line() -> str:
    import os
    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")), "?")
    return f"CPU {cpu}, {os.cpu_count()} cores, load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"


# -- (a) embedding -----------------------------------------------------------------------------------

def bench_embed(a) -> None:
    import logging

    import pandas as pd
    import ray

    from features import embed_catalog
    from recsys.data import Catalog
    from recsys.engines.ray_embed import embed_catalog_ray, embedder_settings
    from visual import ImageEmbedder
    root = Path(a.images)
    files = sorted(root.rglob("*.jpg"))[: a.n]
    catalog = Catalog.from_frame(pd.DataFrame({"item_id": [f.stem for f in files],
                                               "image": [str(f.relative_to(root)) for f in files]}), root)
    print(machine_line())
    with tempfile.TemporaryDirectory() as d:
        t = time.perf_counter()
        emb = ImageEmbedder(progress=False, batch_size=a.batch_size)
        local = embed_catalog(catalog, emb, cache_dir=Path(d) / "local-cache")
        t_local = time.perf_counter() - t
        print(f"local: {len(files)} images in {t_local:.1f}s = {len(files) / t_local:.1f} images/s", flush=True)
        t = time.perf_counter()
        ray.init(num_cpus=a.workers, include_dashboard=False, logging_level=logging.WARNING)
        print(f"ray.init: {time.perf_counter() - t:.1f}s (not counted)", flush=True)
        t = time.perf_counter()
        feats = embed_catalog_ray(catalog, embedder_settings(emb), Path(d) / "parts", store=Path(d) / "ray-cache",
                                  workers=a.workers, progress=False)
        t_ray = time.perf_counter() - t
        ray.shutdown()
    diff = float(np.abs(feats.vectors - local.vectors).max())
    print(f"ray:   {len(files)} images in {t_ray:.1f}s = {len(files) / t_ray:.1f} images/s "
          f"(actor start-up and model loading included)")
    print(f"ray / local throughput: {t_local / t_ray:.2f}; max |vector difference| {diff:.2e}; "
          f"{int(feats.present.sum())} embedded, {len(feats.errors)} skipped")
    print(machine_line())


# -- (b) list job ------------------------------------------------------------------------------------

def make_model_folder(path: Path, n_users: int, n_items: int, factors: int = 64, seen: int = 10) -> None:
    import scipy.sparse as sp

    from recsys.data import IdMap
    from recsys.models import make_model
    rng = np.random.default_rng(0)
    cols = rng.integers(0, n_items, n_users * seen)
    X = sp.csr_matrix((np.ones(len(cols), np.float32), (np.repeat(np.arange(n_users), seen), cols)),
                      shape=(n_users, n_items))
    X.sum_duplicates()
    state = {"user_factors": rng.standard_normal((n_users, factors)).astype(np.float32),
             "item_factors": rng.standard_normal((n_items, factors)).astype(np.float32)}
    model = make_model("als", factors=factors, progress=False)
    model.restore(IdMap([f"u{i:07d}" for i in range(n_users)], "user"), IdMap([f"a{i:06d}" for i in range(n_items)]),
                  X, state)
    model.save(path)


def tree_rss_kb(pid: int) -> tuple[int, int]:
    """(VmHWM of ``pid``, summed VmRSS of ``pid`` and all its descendants), in kB, from /proc."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
        except (OSError, IndexError, ValueError):
            continue
    todo, total, hwm = [pid], 0, 0
    while todo:
        p = todo.pop()
        try:
            status = Path(f"/proc/{p}/status").read_text().splitlines()
        except OSError:
            continue
        kv = {ln.split(":")[0]: ln.split(":")[1] for ln in status if ":" in ln}
        total += int(kv.get("VmRSS", "0 kB").split()[0])
        if p == pid:
            hwm = int(kv.get("VmHWM", "0 kB").split()[0])
        todo += children.get(p, [])
    return hwm, total


def run_measured(cmd: list[str]) -> dict:
    """Run ``cmd``; wall time, peak RSS of its process and of its process tree (sampled every 0.1 s)."""
    t = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = {"hwm": 0, "tree": 0}

    def sample():
        while proc.poll() is None:
            hwm, tree = tree_rss_kb(proc.pid)
            peak["hwm"], peak["tree"] = max(peak["hwm"], hwm), max(peak["tree"], tree)
            time.sleep(0.1)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    out, err = proc.communicate()
    wall = time.perf_counter() - t
    th.join()
    if proc.returncode:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{err[-3000:]}")
    return {"wall_s": wall, "peak_rss_mb": peak["hwm"] / 1024, "peak_tree_rss_mb": peak["tree"] / 1024,
            "stdout": out.strip()}


IN_MEMORY = """
import sys
from recsys.io.lists import write_recommendations
from recsys.models import Recommender
m = Recommender.load(sys.argv[1])
ids, scores = m.recommend(m.users_.ids, k=int(sys.argv[3]))
write_recommendations(sys.argv[2], m.users_.ids, ids, scores)
"""


def bench_lists(a) -> None:
    print(machine_line())
    with tempfile.TemporaryDirectory() as d:
        d = Path(d)
        t = time.perf_counter()
        make_model_folder(d / "model", a.users, a.items)
        print(f"model: {a.users:,} users x {a.items:,} items, 64 factors, saved in {time.perf_counter() - t:.1f}s",
              flush=True)
        cli = [sys.executable, "-m", "recsys.cli", "recommend", "--model", str(d / "model"), "--users", "all",
               "--k", str(a.k), "--block-users", str(a.block_users)]
        runs = {}
        if not a.skip_in_memory:
            runs["in memory (before)"] = run_measured([sys.executable, "-c", IN_MEMORY, str(d / "model"),
                                                       str(d / "mem.jsonl"), str(a.k)])
            print(f"in memory: {json.dumps(runs['in memory (before)'])}", flush=True)
        runs["local, streamed"] = run_measured([*cli, "--out", str(d / "local.jsonl")])
        print(f"local: {json.dumps(runs['local, streamed'])}", flush=True)
        ray_cmd = [*cli, "--out", str(d / "ray.jsonl"), "--engine", "ray"]
        runs["ray"] = run_measured(ray_cmd + (["--workers", str(a.workers)] if a.workers else []))
        print(f"ray: {json.dumps(runs['ray'])}", flush=True)
        same = (d / "local.jsonl").read_bytes() == (d / "ray.jsonl").read_bytes()
        size = (d / "local.jsonl").stat().st_size / 2**20
    print(f"\n{a.users:,} users x {a.items:,} items, top-{a.k}, blocks of {a.block_users:,} users, "
          f"JSONL {size:,.0f} MiB; local and Ray files identical: {same}")
    print("| run | wall | users/s | peak RSS of the command | peak RSS of its process tree |")
    print("|---|---|---|---|---|")
    for name, r in runs.items():
        print(f"| {name} | {r['wall_s']:.1f} s | {a.users / r['wall_s']:,.0f} | {r['peak_rss_mb']:,.0f} MiB "
              f"| {r['peak_tree_rss_mb']:,.0f} MiB |")
    print(machine_line())


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="part", required=True)
    e = sub.add_parser("embed")
    e.add_argument("--images", default=str(ROOT.parent / "shared/datasets/hm-sample/images"))
    e.add_argument("--n", type=int, default=2000)
    e.add_argument("--batch-size", type=int, default=32)
    e.add_argument("--workers", type=int, default=None, help="Ray CPUs and actors (default: all cores)")
    lst = sub.add_parser("lists")
    lst.add_argument("--users", type=int, default=100_000)
    lst.add_argument("--items", type=int, default=20_920, help="default: the H&M sample's photo catalog")
    lst.add_argument("--k", type=int, default=12)
    lst.add_argument("--block-users", type=int, default=65_536)
    lst.add_argument("--workers", type=int, default=None)
    lst.add_argument("--skip-in-memory", action="store_true", help="skip the all-in-memory job of before")
    a = ap.parse_args()
    (bench_embed if a.part == "embed" else bench_lists)(a)


if __name__ == "__main__":
    main()
