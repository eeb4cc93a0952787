"""Session fixtures: one image embedder, and the embedded demo shop materialised and embedded once."""

import pytest


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


