"""The embedded demo shop: Fashion-MNIST product images with simulated shoppers (``datasets/fashion-demo``)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
from PIL import Image

DEMO_DIR_ENV = "VISREC_DEMO_DATA"


def demo_source() -> Path:
    """The folder with the embedded demo data (``datasets/fashion-demo`` of the source tree)."""
    env = os.environ.get(DEMO_DIR_ENV)
    p = Path(env) if env else Path(__file__).resolve().parents[2] / "datasets" / "fashion-demo"
    if not (p / "images.npz").exists():
        raise FileNotFoundError(f"demo data not found at {p}; install visrec from its source tree "
                                f"(pip install -e .) or set {DEMO_DIR_ENV}")
    return p


def materialise_demo(dest) -> Path:
    """Write the demo catalog as real files: ``dest/catalog.csv``, ``dest/interactions.csv``,
    ``dest/shoppers.csv`` and ``dest/images/<item_id>.png``. Returns ``dest``."""
    src = demo_source()
    dest = Path(dest)
    (dest / "images").mkdir(parents=True, exist_ok=True)
    with np.load(src / "images.npz", allow_pickle=False) as z:
        images, ids = z["images"], z["item_ids"]
    for img, iid in zip(images, ids.tolist()):
        f = dest / "images" / f"{iid}.png"
        if not f.exists():
            tmp = f.with_name(f".{f.name}.tmp")
            Image.fromarray(img, "L").save(tmp, format="PNG")
            os.replace(tmp, f)
    for name in ("catalog.csv", "interactions.csv", "shoppers.csv"):
        shutil.copyfile(src / name, dest / name)
    return dest
