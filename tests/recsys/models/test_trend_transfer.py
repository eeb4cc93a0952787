"""The trend-transfer model: new arrivals that look like what sells now, repurchases, visual taste."""

import numpy as np
import pandas as pd
import pytest

from features import ItemFeatures
from recsys.data import Catalog, Dataset, Interactions
from recsys.models import Recommender, make_model
from recsys.models.trend_transfer import TrendRepurchaseRecommender, TrendTransferRecommender

DAY = 86400
T0 = 1_600_000_000


def _shop():
    """``hot`` sells to 6 shoppers in the last days, ``old`` sold to 10 a year ago; ``hot_blue`` (unsold)
    is a near-duplicate photo of ``hot``, ``odd`` (unsold) looks like nothing sold; ``u`` bought ``own`` last
    week and ``mine`` long ago; ``shoe_*`` are look-alikes of ``own``."""
    rng = np.random.default_rng(0)
    base = {c: rng.standard_normal(16) for c in ("hot", "old", "odd", "own", "mine", "other")}
    vec = {"hot": base["hot"], "hot_blue": base["hot"] + 0.05 * rng.standard_normal(16),
           "old": base["old"], "odd": base["odd"], "own": base["own"], "mine": base["mine"],
           "shoe_a": base["own"] + 0.1 * rng.standard_normal(16), "other": base["other"]}
    items = list(vec)
    rows = [(f"h{i}", "hot", 99) for i in range(6)] + [(f"o{i}", "old", 1) for i in range(10)]
    rows += [("u", "own", 93), ("u", "mine", 2), ("x", "other", 100)]
    df = pd.DataFrame(rows, columns=["user_id", "item_id", "day"])
    df["timestamp"] = T0 + df.pop("day") * DAY
    data = Dataset(Catalog.from_frame(pd.DataFrame({"item_id": items})), Interactions.from_frame(df))
    feats = ItemFeatures(np.vstack([vec[i] for i in data.items.ids]), np.ones(len(items), bool))
    return data, feats


def _scores(model, user):
    ids, sc = model.recommend(user, k=model.n_items, exclude_seen=False)
    return {i: s for i, s in zip(ids, sc) if i is not None}


def test_an_unsold_look_alike_of_a_seller_inherits_its_trend():
    data, feats = _shop()
    m = make_model("trend-transfer", personal_weight=0.0, own_weight=0.0).fit(data, feats)
    sc = _scores(m, "x")
    assert sc["hot"] > sc["hot_blue"] > sc["odd"]  # the colour variant of what sells now comes next
    assert sc["hot_blue"] > sc["old"]  # ... and above last year's best seller (half-life)
    top = m.recommend("x", k=3, exclude_seen=False)[0].tolist()
    assert top[:2] == ["hot", "hot_blue"]
    # the non-visual ablation has no way to see the unsold photo
    ab = make_model("trend-repurchase", own_weight=0.0).fit(data)
    sc = _scores(ab, "x")
    assert sc["hot_blue"] == sc["odd"] == 0 and sc["hot"] > sc["old"]


def test_transfer_scales_the_inherited_share():
    data, feats = _shop()
    j = data.items.to_index("hot_blue")
    low = TrendTransferRecommender(transfer=0.1, personal_weight=0).fit(data, feats).trend_[j]
    high = TrendTransferRecommender(transfer=1.0, personal_weight=0).fit(data, feats).trend_[j]
    none = TrendTransferRecommender(transfer=0.0, personal_weight=0).fit(data, feats).trend_[j]
    assert none == 0 < low < high


def test_own_recent_items_come_first_and_recency_orders_them():
    data, feats = _shop()
    m = make_model("trend-transfer", own_weight=10.0, own_half_life_days=14.0).fit(data, feats)
    ids = m.recommend("u", k=3, exclude_seen=False)[0].tolist()
    assert ids[0] == "own"  # bought last week, above what sells now
    sc = _scores(m, "u")
    assert sc["own"] > sc["hot"] > sc["mine"]  # bought 100 days ago: decayed below the trend


def test_visual_taste_lifts_look_alikes_of_the_users_items():
    data, feats = _shop()
    plain = _scores(make_model("trend-transfer", personal_weight=0.0).fit(data, feats), "u")
    taste = _scores(make_model("trend-transfer", personal_weight=1.0).fit(data, feats), "u")
    lift = {i: taste[i] - plain[i] for i in plain}
    assert lift["shoe_a"] > lift["odd"] + 0.1 and lift["shoe_a"] > lift["hot"] + 0.1
    assert taste["shoe_a"] > taste["hot_blue"] > plain["shoe_a"]


def test_capabilities_follow_the_parameters():
    data, feats = _shop()
    assert TrendTransferRecommender().uses_visual and TrendTransferRecommender().requires_features
    ab = TrendRepurchaseRecommender()
    assert not ab.uses_visual and not ab.requires_features and not ab.scores_cold_items and ab.uses_recency
    assert ab.get_params()["transfer"] == 0 and ab.get_params()["personal_weight"] == 0
    with pytest.raises(ValueError, match="item images"):
        TrendTransferRecommender().fit(data)
    with pytest.raises(ValueError, match="transfer must be >= 0"):
        TrendTransferRecommender(transfer=-1).fit(data, feats)
    with pytest.raises(ValueError, match="trend_half_life_days must be > 0"):
        TrendTransferRecommender(trend_half_life_days=0).fit(data, feats)
    m = make_model("trend-transfer", neighbors=3)
    assert m.get_params()["neighbors"] == 3 and "trend-transfer" in repr(m) or "TrendTransfer" in repr(m)


def test_save_and_load_give_the_same_lists(tmp_path):
    data, feats = _shop()
    m = make_model("trend-transfer").fit(data, feats)
    m.save(tmp_path / "m")
    assert not list((tmp_path / "m").glob("*.pkl"))
    back = Recommender.load(tmp_path / "m")
    assert type(back) is TrendTransferRecommender
    for u in ("u", "x", "h0"):
        a, sa = m.recommend(u, k=5, exclude_seen=False)
        b, sb = back.recommend(u, k=5, exclude_seen=False)
        assert a.tolist() == b.tolist() and np.allclose(sa, sb)


def test_new_photos_join_without_refit_and_inherit_the_trend():
    data, feats = _shop()
    m = make_model("trend-transfer", personal_weight=0.0).fit(data, feats)
    hot = feats.vectors[data.items.to_index("hot")]
    rng = np.random.default_rng(1)
    new = ItemFeatures(np.vstack([hot + 0.05 * rng.standard_normal(16), rng.standard_normal(16)]),
                       np.ones(2, bool))
    m.add_items(["hot_green", "stranger"], new)
    sc = _scores(m, "x")
    assert sc["hot_green"] > sc["stranger"] and sc["hot_green"] > sc["old"]
    with pytest.raises(NotImplementedError, match="images"):
        make_model("trend-repurchase").fit(data).add_items(["y"], ItemFeatures(new.vectors[:1], np.ones(1, bool)))


def test_new_slots_end_the_list_with_the_new_arrivals_the_user_would_like():
    data, feats = _shop()
    cold = {"hot_blue", "odd", "shoe_a"}
    plain = make_model("trend-transfer", personal_weight=0.01).fit(data, feats)
    ids = plain.recommend("u", k=3, exclude_seen=False)[0].tolist()
    assert "shoe_a" not in ids
    m = make_model("trend-transfer", personal_weight=0.01, new_slots=1).fit(data, feats)
    ids, sc = m.recommend("u", k=3, exclude_seen=False)
    assert ids[-1] == "shoe_a" and not cold & set(ids[:2])  # the look-alike of u's recent purchase
    assert list(sc) == sorted(sc, reverse=True)
    ids = make_model("trend-transfer", personal_weight=0.01, new_slots=2).fit(data, feats).recommend(
        "u", k=4, exclude_seen=False)[0].tolist()
    assert ids[2] == "shoe_a" and ids[3] in cold and not cold & set(ids[:2])
    with pytest.raises(ValueError, match="new_slots"):
        make_model("trend-transfer", personal_weight=0, new_slots=1).fit(data, feats)
