"""A real local Ray cluster for the Ray engine's tests (two CPUs, no dashboard), started once per session;
the tests that use it skip when Ray is not installed."""

import logging

import pytest


@pytest.fixture(scope="session")
def ray_cluster():
    ray = pytest.importorskip("ray", reason="Ray is not installed: pip install -e '.[ray]' (the visrec[ray] extra)")
    pytest.importorskip("ray.data", reason="Ray Data is not installed: pip install 'ray[data]'")
    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.WARNING)
    yield ray
    if started:
        ray.shutdown()


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    """A small catalog: 18 distinct pictures of several sizes and formats, one picture listed twice, and four
    items without a usable image (corrupt, missing, empty, outside the images root)."""
    import pandas as pd

    from recsys.data import Catalog
    from tests.helpers import make_image
    base = tmp_path_factory.mktemp("shop")
    (base / "img").mkdir()
    rows = []
    for i in range(18):
        ext = ["png", "jpg"][i % 2]
        make_image(base / "img" / f"p{i}.{ext}", (20 * i % 255, 90, 255 - 10 * i), ["square", "disc", "stripes"][i % 3],
                   size=(40 + 8 * i, 64))
        rows.append((f"i{i}", f"img/p{i}.{ext}"))
    (base / "img" / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (base / "img" / "empty.png").write_bytes(b"")
    rows += [("dup", "img/p3.jpg"), ("corrupt", "img/corrupt.jpg"), ("missing", "img/nowhere.png"),
             ("empty", "img/empty.png"), ("outside", "../elsewhere.png")]
    return Catalog.from_frame(pd.DataFrame(rows, columns=["item_id", "image"]), base)
