"""Rebuild the embedded demo data from the Fashion-MNIST test split (MIT).

    python datasets/fashion-demo/build_demo.py ../shared/datasets/fashion-mnist

Writes images.npz (1,000 28x28 greyscale product images), catalog.csv, interactions.csv and
shoppers.csv (the planted preferences) next to this script. Deterministic (seed 7).
"""

import gzip
import sys
from pathlib import Path

import numpy as np
import pandas as pd

CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
PER_CLASS = 100          # items per class
COLD_PER_CLASS = 20      # "new arrivals": photo, no interactions
N_SHOPPERS = 300
P_PREFERRED = 0.85       # share of a shopper's events in their preferred classes
SEED = 7


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def main(src: Path, out: Path):
    rng = np.random.default_rng(SEED)
    images = read_idx(src / "t10k-images-idx3-ubyte.gz")
    labels = read_idx(src / "t10k-labels-idx1-ubyte.gz")
    pick = np.concatenate([rng.choice(np.flatnonzero(labels == c), PER_CLASS, replace=False) for c in range(10)])
    imgs, labs = images[pick], labels[pick]
    n = len(pick)
    ids = [f"fm{i:04d}" for i in range(n)]
    cold = np.zeros(n, bool)
    for c in range(10):
        cold[rng.choice(np.flatnonzero(labs == c), COLD_PER_CLASS, replace=False)] = True
    price = np.round(rng.lognormal(3.0, 0.4, n), 2)
    catalog = pd.DataFrame({
        "item_id": ids, "image": [f"images/{i}.png" for i in ids],
        "title": [f"{CLASSES[l]} #{i}" for i, l in enumerate(labs)],
        "category": [CLASSES[l] for l in labs], "price": price,
        "new_arrival": cold.astype(int),
    })
    # popularity inside a class: Zipf over a random order of the warm items
    pop = np.zeros(n)
    for c in range(10):
        warm = np.flatnonzero((labs == c) & ~cold)
        pop[rng.permutation(warm)] = 1.0 / np.arange(1, len(warm) + 1) ** 0.8
    rows, prefs = [], []
    t0 = 1_700_000_000
    for u in range(N_SHOPPERS):
        k = 1 if rng.random() < 0.5 else 2
        pref = rng.choice(10, k, replace=False)
        prefs.append({"user_id": f"shopper{u:03d}", "preferred_categories": "|".join(CLASSES[c] for c in pref)})
        n_ev = int(rng.integers(12, 40))
        t = t0 + int(rng.integers(0, 30 * 86400))
        for _ in range(n_ev):
            c = rng.choice(pref) if rng.random() < P_PREFERRED else rng.integers(10)
            cand = np.flatnonzero((labs == c) & ~cold)
            item = rng.choice(cand, p=pop[cand] / pop[cand].sum())
            ev = rng.choice(["view", "cart", "purchase"], p=[0.7, 0.2, 0.1])
            t += int(rng.integers(60, 2 * 86400))
            rows.append((f"shopper{u:03d}", ids[item], t, ev))
    inter = pd.DataFrame(rows, columns=["user_id", "item_id", "timestamp", "event"])
    np.savez_compressed(out / "images.npz", images=imgs, labels=labs, item_ids=np.asarray(ids))
    catalog.to_csv(out / "catalog.csv", index=False)
    inter.to_csv(out / "interactions.csv", index=False)
    pd.DataFrame(prefs).to_csv(out / "shoppers.csv", index=False)
    print(f"{n} items ({cold.sum()} new arrivals), {N_SHOPPERS} shoppers, {len(inter)} events -> {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/datasets/fashion-mnist"), Path(__file__).parent)
