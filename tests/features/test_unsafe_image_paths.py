"""Catalog image paths are confined to the images root and only regular files of bounded size are read;
each refusal is a per-item skip with its reason, and the other items embed unchanged."""

import os

import numpy as np
import pandas as pd
import pytest

from features import embed_catalog
from recsys.data import Catalog, load_catalog
from tests.helpers import make_image


@pytest.fixture()
def shop(tmp_path):
    root = tmp_path / "shop"
    (root / "img").mkdir(parents=True)
    make_image(root / "img" / "a.png", (200, 30, 30))
    make_image(root / "img" / "b.png", (30, 200, 30), "disc")
    make_image(tmp_path / "secret.png", (30, 30, 200), "stripes")  # outside the root
    os.symlink(tmp_path / "secret.png", root / "img" / "link.png")
    os.mkfifo(root / "img" / "fifo.png")
    rows = [("a", "img/a.png"), ("b", "img/b.png"), ("up", "../secret.png"), ("abs", str(tmp_path / "secret.png")),
            ("link", "img/link.png"), ("fifo", "img/fifo.png"), ("dev", "/dev/zero")]
    pd.DataFrame(rows, columns=["item_id", "image"]).to_csv(root / "catalog.csv", index=False)
    return root


def test_paths_outside_the_root_devices_and_fifos_are_skipped_with_reasons(shop, embedder, tmp_path):
    cat = load_catalog(shop / "catalog.csv")
    feats = embed_catalog(cat, embedder, cache_dir=tmp_path / "cache")
    reasons = {e["item_id"]: e["reason"] for e in feats.errors}
    assert feats.present.tolist() == [True, True, False, False, False, False, False]
    for item in ("up", "abs", "link", "dev"):
        assert "outside the images root" in reasons[item], (item, reasons[item])
    assert "not a regular file" in reasons["fifo"]
    alone = embed_catalog(Catalog.from_frame(cat.df.iloc[:2], shop), embedder, cache_dir=tmp_path / "cache2")
    np.testing.assert_array_equal(feats.vectors[:2], alone.vectors)  # the good items are unaffected


def test_allow_outside_root_reads_them_but_never_a_device(shop, embedder, tmp_path):
    cat = load_catalog(shop / "catalog.csv", allow_outside_root=True)
    feats = embed_catalog(cat, embedder, cache_dir=tmp_path / "cache")
    assert feats.present.tolist() == [True, True, True, True, True, False, False]
    reasons = {e["item_id"]: e["reason"] for e in feats.errors}
    assert "not a regular file" in reasons["dev"] and "not a regular file" in reasons["fifo"]


def test_nul_bytes_and_oversized_files_are_refused(shop, embedder, tmp_path, monkeypatch):
    df = pd.DataFrame({"item_id": ["a", "nul"], "image": ["img/a.png", "img/a\x00.png"]})
    feats = embed_catalog(Catalog.from_frame(df, shop), embedder, cache_dir=tmp_path / "cache")
    assert feats.present.tolist() == [True, False] and "NUL byte" in feats.errors[0]["reason"]
    monkeypatch.setenv("VISREC_MAX_IMAGE_BYTES", "100")
    feats = embed_catalog(Catalog.from_frame(df.iloc[:1], shop), embedder, cache_dir=tmp_path / "cache3")
    assert not feats.present.any() and "file too large" in feats.errors[0]["reason"]
