import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("VISREC_SHARED", ROOT.parent / "shared" / "datasets"))


def shared_dataset(name: str) -> Path:
    """Path of a dataset in ../shared/datasets, or skip the test when it is absent."""
    p = SHARED / name
    if not p.is_dir():
        pytest.skip(f"{p} not present (real datasets live in ../shared/datasets)")
    return p


def make_image(path, colour, shape="square", size=(96, 96), bg=(255, 255, 255)):
    """A simple product-like picture: a coloured shape on a plain background."""
    img = Image.new("RGB", size, bg)
    a = np.asarray(img).copy()
    h, w = size[1], size[0]
    yy, xx = np.mgrid[:h, :w]
    if shape == "square":
        m = (abs(yy - h / 2) < h / 4) & (abs(xx - w / 2) < w / 4)
    elif shape == "disc":
        m = (yy - h / 2) ** 2 + (xx - w / 2) ** 2 < (min(h, w) / 3) ** 2
    else:  # stripes
        m = (xx // 8) % 2 == 0
    a[m] = colour
    Image.fromarray(a).save(path)
    return path


@pytest.fixture(scope="session")
def embedder():
    from visual import ImageEmbedder
    return ImageEmbedder(progress=False, batch_size=32)


@pytest.fixture(scope="session")
def demo(tmp_path_factory, embedder):
    """The embedded demo shop materialised as files, with its image features (embedded once)."""
    from features import embed_catalog
    from recsys.data import Dataset, load_catalog, load_interactions
    from recsys.data.demo import materialise_demo
    base = tmp_path_factory.mktemp("demo")
    d = materialise_demo(base / "data")
    cache = base / "cache"
    catalog = load_catalog(d / "catalog.csv", d)
    inter = load_interactions(d / "interactions.csv")
    feats = embed_catalog(catalog, embedder, cache_dir=cache)
    import pandas as pd
    shoppers = pd.read_csv(d / "shoppers.csv")

    class Demo:
        pass

    out = Demo()
    out.dir, out.cache, out.catalog, out.interactions, out.features = d, cache, catalog, inter, feats
    out.dataset = Dataset(catalog, inter)
    out.shoppers = shoppers
    return out


@pytest.fixture(scope="session")
def demo_cli_cache(demo, tmp_path_factory, embedder):
    """A ``--cache`` folder for CLI commands that already holds the demo's embeddings.

    The command line keeps each backbone/preprocessing in its own store under ``--cache``
    (``recsys.cli.options.store_dir``), while the ``demo`` fixture embeds straight into ``demo.cache``:
    this folder links that store under the CLI's name, so CLI tests reuse the session's embeddings
    instead of embedding the 1,000 demo images again."""
    base = tmp_path_factory.mktemp("cli-cache")
    try:
        from recsys.cli.options import store_dir
        link = store_dir(base, embedder)
    except Exception:  # the CLI's layout moved: the commands embed into this folder themselves (slower)
        return base
    link.parent.mkdir(parents=True, exist_ok=True)
    try:
        link.symlink_to(demo.cache, target_is_directory=True)
    except OSError:
        import shutil
        shutil.copytree(demo.cache, link)
    return base


def demo_table(demo, name: str):
    """A demo CSV (``catalog.csv``, ``interactions.csv``, ``shoppers.csv``) read with plain pandas, ids as strings:
    what the tests check the command line's outputs against, independently of visrec's loaders."""
    import pandas as pd
    return pd.read_csv(demo.dir / name, dtype={"user_id": str, "item_id": str})
