"""The visual-neighbour popularity model (``visual-popularity``): its prior, taste part, saving and new items."""

import numpy as np
import pandas as pd
import pytest

from features import ItemFeatures
from recsys.data import Catalog, Dataset, Interactions
from recsys.models import Recommender, make_model
from recsys.models.cold_prior import neighbour_prior


def _shop():
    """Two looks (x and y axis); look x sells a lot, look y little; c_x and c_y have no history."""
    ids = ["x0", "x1", "x2", "y0", "y1", "c_x", "c_y"]
    vec = np.array([[1, 0.1, 0], [1, 0, 0.1], [1, 0.05, 0.05], [0, 1, 0.1], [0.1, 1, 0], [1, 0.02, 0], [0.02, 1, 0]])
    rows = [(f"u{u}", f"x{u % 3}") for u in range(12)] + [("u0", "y0"), ("u1", "y1"), ("u2", "y1")]
    catalog = Catalog.from_frame(pd.DataFrame({"item_id": ids, "image": [None] * len(ids)}), ".")
    data = Dataset(catalog, Interactions.from_frame(pd.DataFrame(rows, columns=["user_id", "item_id"])))
    return data, ItemFeatures(vec, np.ones(len(ids), bool))


def test_neighbour_prior_is_the_softmax_mean_of_the_nearest():
    g = np.eye(3, dtype=np.float32)
    got = neighbour_prior(np.array([[1, 0, 0]], np.float32), g, np.array([3.0, 1.0, 0.0]), 1, 0.1)
    assert got[0] == pytest.approx(3.0)  # one neighbour: its value
    wide = neighbour_prior(np.array([[1, 0, 0]], np.float32), g, np.array([3.0, 1.0, 0.0]), 3, 1e3)
    assert wide[0] == pytest.approx(4 / 3, rel=1e-3)  # a flat softmax: the mean


def test_new_items_that_look_like_best_sellers_rank_first():
    data, feats = _shop()
    m = make_model("visual-popularity", n_neighbors=2).fit(data, feats)
    cold = data.items.to_index(["c_x", "c_y"])
    assert m.prior_[cold[0]] > m.prior_[cold[1]]
    # u0 bought y0 too, but with the prior a new x-look item still comes first for a y-buyer
    ids, _ = m.recommend(["u1"], k=2, items=["c_x", "c_y"])
    assert ids[0].tolist() == ["c_x", "c_y"]
    # without the prior: the user's own taste only (the visual kernel)
    taste = make_model("visual-popularity", prior_weight=0.0).fit(data, feats)
    vis = make_model("visual").fit(data, feats)
    assert np.array_equal(np.argsort(-taste.score_index([1])[0]), np.argsort(-vis.score_index([1])[0]))


def test_saved_model_scores_the_same_and_takes_new_items(tmp_path):
    data, feats = _shop()
    m = make_model("visual-popularity", n_neighbors=2).fit(data, feats)
    m.save(tmp_path / "m")
    back = Recommender.load(tmp_path / "m")
    assert np.allclose(back.score_index([0, 1, 2]), m.score_index([0, 1, 2]), atol=1e-5)
    new = ItemFeatures(np.array([[1, 0.03, 0.0]]), np.ones(1, bool))
    back.add_items(["new_x"], new)
    assert back.prior_[-1] == pytest.approx(m.prior_[data.items.to_index(["c_x"])[0]], abs=0.05)
    ids, _ = back.recommend_items_for([["x0"]], k=3)
    assert "new_x" in ids[0].tolist()


def test_bad_params_are_refused():
    data, feats = _shop()
    for bad in ({"n_neighbors": 0}, {"temperature": 0}, {"prior_weight": -1}):
        with pytest.raises(ValueError):
            make_model("visual-popularity", **bad).fit(data, feats)
