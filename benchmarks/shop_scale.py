"""The default hybrid and its parts on synthetic shop-sized catalogs: fit time, peak memory, and the time
to list 10,000 users' top-100.

    python benchmarks/shop_scale.py --items 100000 --users 100000 --interactions 2000000 \
        [--models ease,als-visual,visual,hybrid] [--work /tmp/shop-scale] [--out result.json]

``--models`` takes model names, and ``hybrid=W1:W2:W3`` for the default hybrid with fixed blend weights
(no validation search, so every part is scored when listing).

The synthetic data are expanded honestly from real data, never invented shapes:

- **item vectors**: each synthetic item is a real H&M photo vector (EfficientNet-Lite0, pad, 224 px; from
  the embedding cache, ``--vectors-from`` a ``.npz`` of ``vectors``) plus Gaussian noise of norm
  ``--noise`` (0.3: cosine ~0.96 to its source photo), re-normalised -- so the catalog has the real
  photos' neighbourhood structure, with near-duplicates like colour variants;
- **item popularity**: the H&M sample's item purchase counts (``transactions_train.csv``), resampled
  to ``--items`` items (the long tail as it is);
- **user activity**: the H&M customers' purchase counts, resampled and scaled so the total is
  ``--interactions``; each user's items are drawn with probability proportional to item popularity,
  half of them near (same source photo family) an item the user already has -- visual taste.

Each model is fitted in its own process (``ru_maxrss`` is that process's peak resident memory,
data included); the list time is ``recommend_index`` for 10,000 random users, top-100, seen items
excluded, after one warm-up block. The machine's CPU is recorded.
"""

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
SHARED = Path(__file__).resolve().parents[2] / "shared/datasets/hm-sample"
CACHE = Path.home() / ".cache/visrec/embeddings/efficientnet_lite0-pad-224"


def real_sources(vectors_from):
    """(photo vectors, item purchase counts, customer purchase counts) of the H&M sample."""
    import pandas as pd
    if vectors_from:
        with np.load(vectors_from, allow_pickle=False) as z:
            V = z["vectors"][z["present"].astype(bool)] if "present" in z else z["vectors"]
    else:
        from features import embed_catalog
        from recsys.data import load_hm
        from visual import ImageEmbedder
        cat, _ = load_hm(SHARED)
        f = embed_catalog(cat, ImageEmbedder(preprocess="pad", progress=False), cache_dir=CACHE)
        V = f.vectors[f.present]
    tx = pd.read_csv(SHARED / "transactions_train.csv", dtype=str, usecols=["customer_id", "article_id"])
    return (V.astype(np.float32), tx["article_id"].value_counts().to_numpy(),
            tx["customer_id"].value_counts().to_numpy())


def make_data(a, work: Path):
    rng = np.random.default_rng(0)
    V, item_deg, user_deg = real_sources(a.vectors_from)
    src = rng.integers(0, len(V), a.items)
    X = np.empty((a.items, V.shape[1]), np.float32)
    for s in range(0, a.items, 65536):  # in blocks: no second catalog-sized array
        noise = rng.normal(size=(len(src[s:s + 65536]), V.shape[1])).astype(np.float32)
        noise *= a.noise / np.linalg.norm(noise, axis=1, keepdims=True)
        X[s:s + 65536] = V[src[s:s + 65536]] + noise
        X[s:s + 65536] /= np.linalg.norm(X[s:s + 65536], axis=1, keepdims=True)
    pop = rng.choice(item_deg, a.items).astype(np.float64)
    p = pop / pop.sum()
    deg = rng.choice(user_deg, a.users).astype(np.float64)
    deg = np.maximum(1, np.round(deg * a.interactions / deg.sum())).astype(np.int64)
    users = np.repeat(np.arange(a.users), deg)
    items = rng.choice(a.items, size=len(users), p=p)
    # visual taste: half of a user's later items come from the photo family of their first item
    first = np.r_[0, np.cumsum(deg)[:-1]]
    order = np.argsort(src, kind="stable")
    bounds = np.searchsorted(src[order], np.arange(len(V) + 1))
    taste = rng.random(len(users)) < 0.5
    taste[first] = False
    fam_src = src[items[first]][users]
    lo, hi = bounds[fam_src], bounds[fam_src + 1]
    pick = lo + (rng.random(len(users)) * (hi - lo)).astype(np.int64)
    items = np.where(taste & (hi > lo), order[np.minimum(pick, len(order) - 1)], items)
    np.savez(work / "data.npz", vectors=X, users=users, items=items, n_users=a.users, n_items=a.items)
    return len(users)


def run_one(name: str, work: Path, n_list: int, k: int) -> dict:
    import scipy.sparse as sp

    from features import ItemFeatures
    from recsys.models import make_model
    params = {"progress": False} if name.split("=")[0] in ("hybrid", "als-visual") else {}
    if "=" in name:  # hybrid=1:1:1: fixed blend weights, no validation search
        params["weights"] = [float(w) for w in name.split("=")[1].split(":")]
    m = make_model(name.split("=")[0], **params)
    with np.load(work / "data.npz", allow_pickle=False) as z:
        u, i = z["users"], z["items"]
        nu, ni = int(z["n_users"]), int(z["n_items"])
        # the vectors only for models that use images (they are n_items x 1,280 float32)
        feats = ItemFeatures(z["vectors"], np.ones(ni, bool)) if (m.requires_features or m.uses_visual) else None
    X = sp.csr_matrix((np.ones(len(u), np.float32), (u, i)), shape=(nu, ni))
    X.sum_duplicates()
    X.data[:] = 1
    t = time.perf_counter()
    m.fit_matrix(X, feats)
    fit_s = time.perf_counter() - t
    rss_fit = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    users = np.random.default_rng(1).choice(nu, min(n_list, nu), replace=False)
    m.recommend_index(users[:64], k)
    t = time.perf_counter()
    m.recommend_index(users, k)
    list_s = time.perf_counter() - t
    out = {"model": name, "fit_seconds": round(fit_s, 1), f"list_{len(users)}_users_top{k}_seconds": round(list_s, 2),
           "peak_rss_mib_after_fit": round(rss_fit), "peak_rss_mib": round(
               resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}
    for attr in ("variant_", "kernel_"):
        if hasattr(m, attr):
            out[attr.rstrip("_")] = getattr(m, attr)
    for part in getattr(m, "parts_", []):
        for attr in ("variant_", "kernel_"):
            if hasattr(part, attr):
                out[f"{part.name}.{attr.rstrip('_')}"] = getattr(part, attr)
    if hasattr(m, "weights_") and getattr(m, "parts_", None):
        out["weights"] = [float(w) for w in m.weights_]
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--items", type=int, default=100_000)
    ap.add_argument("--users", type=int, default=100_000)
    ap.add_argument("--interactions", type=int, default=2_000_000)
    ap.add_argument("--noise", type=float, default=0.3)
    ap.add_argument("--vectors-from", default=None)
    ap.add_argument("--models", default="ease,als-visual,visual,hybrid")
    ap.add_argument("--list-users", type=int, default=10_000)
    ap.add_argument("--k", type=int, default=100)
    ap.add_argument("--work", default="/tmp/shop-scale")
    ap.add_argument("--out", default=None)
    ap.add_argument("--one", default=None, help=argparse.SUPPRESS)
    a = ap.parse_args()
    work = Path(a.work)
    if a.one:
        print(json.dumps(run_one(a.one, work, a.list_users, a.k)))
        return
    from machine import cpu_name
    work.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    meta = work / "data.json"
    want = {"items": a.items, "users": a.users, "interactions": a.interactions, "noise": a.noise}
    if meta.exists() and json.loads(meta.read_text()).get("args") == want:  # the same data: reused
        n = json.loads(meta.read_text())["n"]
    else:
        n = make_data(a, work)
        meta.write_text(json.dumps({"args": want, "n": n}))
    result = {"cpu": cpu_name(), "date": time.strftime("%Y-%m-%d"), "items": a.items, "users": a.users,
              "interactions": n, "data_seconds": round(time.perf_counter() - t, 1), "models": []}
    print(json.dumps({k: v for k, v in result.items() if k != "models"}), flush=True)
    for name in a.models.split(","):
        p = subprocess.run([sys.executable, __file__, "--one", name, "--work", str(work), "--list-users",
                            str(a.list_users), "--k", str(a.k)], capture_output=True, text=True)
        row = json.loads(p.stdout.strip().splitlines()[-1]) if p.returncode == 0 else \
            {"model": name, "error": p.stderr.strip().splitlines()[-1] if p.stderr.strip() else f"rc {p.returncode}"}
        print(json.dumps(row), flush=True)
        result["models"].append(row)
        if a.out:
            Path(a.out).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
