"""The local list job streams: users are scored and written block by block, and the file is the one the
all-at-once path writes."""

import numpy as np
import pandas as pd
import pytest

from recsys.engines import lists as engine
from recsys.engines.lists import ListJob, write_lists
from recsys.io.lists import ListWriter, write_recommendations


@pytest.fixture(scope="module")
def model():
    from recsys.data import Dataset
    from recsys.models import make_model
    from tests.helpers import make_world
    from recsys.data import Catalog
    train, _ = make_world(n_pairs=150)
    items = sorted(set(train.df["item_id"]))
    catalog = Catalog.from_frame(pd.DataFrame({"item_id": items}))
    return make_model("ease").fit(Dataset(catalog, train))


@pytest.mark.parametrize("fmt", ["jsonl", "csv", "parquet"])
def test_streamed_lists_hold_one_block_and_equal_the_whole_job(model, tmp_path, monkeypatch, fmt):
    held, scored = [], []

    class SpyWriter(ListWriter):
        def write(self, heads, ids, scores):
            held.append(len(heads))
            super().write(heads, ids, scores)

    real = model.recommend_index

    def spy_recommend_index(user_index, *a, **kw):
        scored.append(len(user_index))
        return real(user_index, *a, **kw)

    monkeypatch.setattr(engine, "ListWriter", SpyWriter)
    monkeypatch.setattr(model, "recommend_index", spy_recommend_index)
    users = np.arange(model.users_.ids.size)[::-1]  # any order: the lists follow it
    n = write_lists(model, users, tmp_path / f"streamed.{fmt}", ListJob(k=7), block_users=64)
    assert n == len(users) == 280
    assert held == scored == [64, 64, 64, 64, 24]  # never more than a block of lists at once
    monkeypatch.undo()
    ids, scores = model.recommend(model.users_.ids[users], k=7)
    write_recommendations(tmp_path / f"whole.{fmt}", model.users_.ids[users], ids, scores)
    if fmt == "parquet":
        pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "streamed.parquet"),
                                      pd.read_parquet(tmp_path / "whole.parquet"))
    else:
        assert (tmp_path / f"streamed.{fmt}").read_bytes() == (tmp_path / f"whole.{fmt}").read_bytes()


def test_blocks_cover_every_user_once():
    assert engine.blocks(0, 10) == []
    assert engine.blocks(25, 10) == [(0, 10), (10, 20), (20, 25)]
    with pytest.raises(ValueError):
        engine.blocks(5, 0)
