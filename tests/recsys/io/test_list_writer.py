"""``ListWriter``: list files written block by block appear whole or not at all."""

import json

import numpy as np
import pandas as pd
import pytest

from recsys.io.lists import ListWriter, read_recommendations


def block(users, k=3, seed=0):
    rng = np.random.default_rng(seed)
    ids = np.array([[f"i{j}" for j in rng.choice(20, k, replace=False)] for _ in users], object)
    scores = np.sort(rng.random((len(users), k)).astype(np.float32), axis=1)[:, ::-1]
    ids[0, -1], scores[0, -1] = None, -np.inf  # an empty slot: dropped
    return users, ids, scores


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_blocks_append_and_read_back(tmp_path, fmt):
    out = tmp_path / f"recs.{fmt}"
    with ListWriter(out) as w:
        w.write(*block(["a", "b"]))
        w.write(*block(["c"], seed=1))
    assert (w.n_lists, w.n_rows) == (3, 7)
    lists = read_recommendations(out)
    assert lists.users == ["a", "b", "c"] and [len(x) for x in lists.items] == [2, 3, 2]


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_an_error_leaves_no_file(tmp_path, fmt):
    out = tmp_path / f"recs.{fmt}"
    with pytest.raises(RuntimeError):
        with ListWriter(out) as w:
            w.write(*block(["a", "b"]))
            raise RuntimeError("killed mid-job")
    assert list(tmp_path.iterdir()) == []


def test_no_lists_still_give_a_readable_header(tmp_path):
    for fmt in ("csv", "parquet"):
        with ListWriter(tmp_path / f"none.{fmt}"):
            pass
    assert (tmp_path / "none.csv").read_text() == "user_id,rank,item_id,score\n"
    df = pd.read_parquet(tmp_path / "none.parquet")
    assert list(df.columns) == ["user_id", "rank", "item_id", "score"] and len(df) == 0
    with ListWriter(tmp_path / "sim.jsonl", "item_id", "similar") as w:
        w.write(*block(["x"]))
    assert list(json.loads((tmp_path / "sim.jsonl").read_text())) == ["item_id", "similar"]
