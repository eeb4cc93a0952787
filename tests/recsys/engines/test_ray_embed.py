"""``embed_catalog_ray`` on a real local Ray cluster: the same vectors and skipped images as the local path,
a store later commands find, and a rerun that skips the shards already done."""

import numpy as np
import pytest

from features import embed_catalog


@pytest.fixture(scope="module")
def local(shop, embedder):
    return embed_catalog(shop, embedder)


@pytest.fixture(scope="module")
def first_run(shop, embedder, ray_cluster, tmp_path_factory):
    from recsys.engines.ray_embed import embed_catalog_ray, embedder_settings
    base = tmp_path_factory.mktemp("ray-embed")
    feats = embed_catalog_ray(shop, embedder_settings(embedder), base / "parts", store=base / "store", shard_rows=8,
                              progress=False)
    return base, feats


def test_ray_embeddings_equal_the_local_ones(first_run, local, shop):
    _, feats = first_run
    assert feats.n_items == len(shop) == 23
    np.testing.assert_array_equal(feats.present, local.present)
    np.testing.assert_allclose(feats.vectors, local.vectors, atol=2e-5)
    assert feats.signature == local.signature and feats.source == local.source
    # each unusable image skipped with the local path's reason, in the same order
    assert feats.errors == local.errors
    assert {e["item_id"] for e in feats.errors} == {"corrupt", "missing", "empty", "outside"}
    dup, first = (list(shop.item_ids).index(i) for i in ("dup", "i3"))
    np.testing.assert_array_equal(feats.vectors[dup], feats.vectors[first])


def test_ray_vectors_fill_the_store_later_commands_read(first_run, local, shop, embedder):
    base, _ = first_run
    res = embedder.embed_paths(shop.checked_image_paths()[0], store=base / "store")
    assert res.n_computed == 0 and res.n_cached == int(local.present.sum())
    np.testing.assert_allclose(res.vectors, local.vectors, atol=2e-5)


def test_rerun_skips_finished_shards_and_redoes_lost_ones(first_run, shop, embedder, capsys):
    from recsys.engines.ray_embed import embed_catalog_ray, embedder_settings
    base, before = first_run
    parts = sorted((base / "parts").glob("part-*.parquet"))
    assert [p.name for p in parts] == ["part-000000.parquet", "part-000001.parquet", "part-000002.parquet"]
    stamps = {p.name: p.stat().st_mtime_ns for p in parts}
    parts[1].unlink()  # a shard lost (as if the job was killed before writing it) ...
    parts[2].write_bytes(parts[2].read_bytes()[:100])  # ... and one cut short
    feats = embed_catalog_ray(shop, embedder_settings(embedder), base / "parts", store=base / "store",
                              shard_rows=8, progress=True)
    err = capsys.readouterr().err
    assert "3 shard(s)" in err and "1 already done" in err
    assert "shard 1:" in err and "shard 2:" in err and "shard 0:" not in err
    assert (base / "parts" / "part-000000.parquet").stat().st_mtime_ns == stamps["part-000000.parquet"]
    np.testing.assert_allclose(feats.vectors, before.vectors, atol=2e-5)
    assert feats.errors == before.errors


def test_cli_embed_ray_engine_writes_the_local_engines_files(shop, ray_cluster, tmp_path):
    from features import ItemFeatures
    from recsys.cli import main
    images = str(shop.images_root / "img")
    for engine in ("local", "ray"):
        assert main(["embed", "--images-root", images, "--cache", str(tmp_path / f"cache-{engine}"), "--engine", engine,
                     "--shard-rows", "16", "--out", str(tmp_path / f"{engine}.npz")]) == 0
    local, ray = ItemFeatures.load(tmp_path / "local.npz"), ItemFeatures.load(tmp_path / "ray.npz")
    np.testing.assert_allclose(ray.vectors, local.vectors, atol=2e-5)
    assert ray.signature == local.signature and local.present.sum() == 18
    assert (tmp_path / "ray.npz.skipped.jsonl").read_text() == (tmp_path / "local.npz.skipped.jsonl").read_text()
    assert sorted(p.name for p in (tmp_path / "ray.npz.parts").glob("part-*")) == ["part-000000.parquet",
                                                                                   "part-000001.parquet"]
