"""``visrec recommend --engine ray`` on a real local Ray cluster: the same file as the local engine, whatever
the blocks, and a rerun that scores only the blocks not done."""

import numpy as np
import pandas as pd
import pytest

from recsys.cli import main
from recsys.engines.lists import ListJob, write_lists


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A fitted EASE model saved to a folder (its item-item matrix is shared read-only by the actors)."""
    from recsys.data import Catalog, Dataset
    from recsys.models import make_model
    from tests.helpers import make_world
    train, test = make_world(n_pairs=150)
    catalog = Catalog.from_frame(pd.DataFrame({"item_id": sorted(set(train.df["item_id"]) | set(test.df["item_id"]))}))
    model = make_model("ease").fit(Dataset(catalog, train))
    path = tmp_path_factory.mktemp("ray-lists") / "model"
    model.save(path)
    return model, path, test


def test_ray_lists_equal_local_ones_and_resume(saved, ray_cluster, tmp_path, capsys):
    from recsys.engines.ray_lists import recommend_ray
    model, path, test = saved
    users = np.random.default_rng(0).permutation(len(model.users_))[:200]
    exclude, _ = model.exclusion_matrix(test.df[["user_id", "item_id"]].iloc[::3])
    job = ListJob(k=6, exclude=exclude)
    write_lists(model, users, tmp_path / "local.jsonl", job, block_users=64)
    n = recommend_ray(path, tmp_path / "ray.jsonl", job, users, block_users=64, keep_parts=True, progress=False)
    assert n == 200
    assert (tmp_path / "ray.jsonl").read_bytes() == (tmp_path / "local.jsonl").read_bytes()

    parts = tmp_path / "ray.jsonl.parts"
    assert sorted(p.name for p in parts.glob("part-*")) == [f"part-00000{b}.parquet" for b in range(4)]
    (parts / "part-000002.parquet").unlink()
    (tmp_path / "ray.jsonl").unlink()
    recommend_ray(path, tmp_path / "ray.jsonl", job, users, block_users=64)
    err = capsys.readouterr().err
    assert "4 block(s)" in err and "3 already done" in err and "block 2:" in err and "block 0:" not in err
    assert (tmp_path / "ray.jsonl").read_bytes() == (tmp_path / "local.jsonl").read_bytes()
    assert not parts.exists()  # parts removed once the file is written


def test_cli_ray_engine_writes_the_local_engines_file(saved, ray_cluster, tmp_path):
    _, path, test = saved
    test.df[["user_id", "item_id"]].iloc[::2].to_csv(tmp_path / "returns.csv", index=False)
    common = ["recommend", "--model", str(path), "--k", "5", "--exclude", str(tmp_path / "returns.csv"),
              "--block-users", "100"]
    assert main([*common, "--out", str(tmp_path / "local.parquet")]) == 0
    assert main([*common, "--out", str(tmp_path / "ray.parquet"), "--engine", "ray", "--workers", "2"]) == 0
    local, ray = pd.read_parquet(tmp_path / "local.parquet"), pd.read_parquet(tmp_path / "ray.parquet")
    assert len(local) == 280 * 5
    pd.testing.assert_frame_equal(ray, local)
