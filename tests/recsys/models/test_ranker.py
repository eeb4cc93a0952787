"""The learned ranker: it learns from the training data's last weeks which signal predicts purchases --
a planted one -- and places new arrivals whose photos match a shopper's history."""

import numpy as np
import pandas as pd
import pytest

from features import ItemFeatures
from recsys.data import Catalog, Dataset, Interactions
from recsys.models import Recommender, make_model
from recsys.models.ranker import FALLBACK
from recsys.models.ranker_features import ITEM_FEATURES

DAY = 86400
T0 = 1_600_000_000
FAST = {"n_estimators": 40, "num_leaves": 7, "min_child_samples": 5, "label_days": 14, "windows": 3}


def _arrivals_shop(seed=0, n_users=120, n_styles=12, days=112):
    """Every shopper has a home style (a cluster of photos) and buys, every week or two, an article of
    that style that arrived in the last few days; a few best sellers are bought by anyone. Articles of
    the last days nobody bought yet are the new arrivals of the test."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((n_styles, 24))
    items, vecs, style, arrive = [], [], [], []
    for d in range(0, days + 7, 2):
        for s in range(n_styles):
            items.append(f"a{d:03d}s{s:02d}")
            vecs.append(centres[s] + 0.35 * rng.standard_normal(24))
            style.append(s)
            arrive.append(d)
    best = [f"best{j}" for j in range(4)]
    items += best
    vecs += list(rng.standard_normal((4, 24)))
    style, arrive = np.array(style + [-1] * 4), np.array(arrive + [-100] * 4)
    home = rng.integers(0, n_styles, n_users)
    rows = []
    for u in range(n_users):
        d = int(rng.integers(0, 10))
        while d < days:
            fresh = np.flatnonzero((style == home[u]) & (arrive <= d) & (arrive > d - 5))
            rows.append((f"u{u}", items[int(rng.choice(fresh))], d))
            if rng.random() < 0.3:
                rows.append((f"u{u}", best[int(rng.integers(0, 4))], d))
            d += int(rng.integers(5, 14))
    df = pd.DataFrame(rows, columns=["user_id", "item_id", "day"])
    df["timestamp"] = T0 + df.pop("day") * DAY
    data = Dataset(Catalog.from_frame(pd.DataFrame({"item_id": items})), Interactions.from_frame(df))
    order = data.items.to_index(items)
    V = np.zeros((len(items), 24))
    V[order] = np.vstack(vecs)
    S = np.full(len(items), -1)
    S[order] = style
    return data, ItemFeatures(V, np.ones(len(items), bool)), S, dict(zip([f"u{u}" for u in range(n_users)], home))


def test_new_arrivals_that_match_the_history_are_listed():
    data, feats, style, home = _arrivals_shop()
    m = make_model("ranker", **FAST).fit(data, feats)
    assert [w["positives"] > 0 for w in m.training_] == [True] * 3
    users = data.users.ids[:60]
    new = set(data.items.ids[data.item_counts() == 0])

    def shares(model):
        ids, _ = model.recommend(users, k=10)
        mine = [[style[data.items.to_index(i)] == home[u] for i in row] for u, row in zip(users, ids)]
        fresh = [[i in new for i in row] for row in ids]
        return np.mean(mine), np.mean(np.logical_and(mine, fresh))

    own_style, new_own_style = shares(m)
    assert own_style > 0.5 and new_own_style > 0.25  # unsold articles of the shopper's own style among them
    # a list restricted to new arrivals is ranked by the trees (its candidates drawn from them), not the fallback
    ids, sc = m.recommend(users[:20], k=5, items=sorted(new))
    assert set(ids.ravel()) <= new and (sc > FALLBACK / 2).all()
    assert np.mean([style[data.items.to_index(i)] == home[u] for u, row in zip(users, ids) for i in row]) > 0.6
    # without pixels the same learner cannot tell one unsold article from another
    ablation = make_model("ranker-nonvisual", **FAST)
    assert not (ablation.uses_visual or ablation.requires_features or ablation.scores_cold_items)
    blind = shares(ablation.fit(data))
    assert blind[1] < 0.05  # (co-purchases still find sold articles of the style: blind[0] is not ~0)


def _variants_shop(seed=1, n_users=150, n_products=200, days=84):
    """Shoppers come back for another colour of a product they bought (same product code); photos are
    noise; a product's colours are bought nowhere else."""
    rng = np.random.default_rng(seed)
    items = [f"{p:07d}{c:03d}" for p in range(n_products) for c in range(4)]
    rows = []
    for u in range(n_users):
        d = int(rng.integers(0, 7))
        while d < days:
            p = int(rng.integers(0, n_products))
            rows.append((f"u{u}", f"{p:07d}000", d))
            later = d + int(rng.integers(3, 20))
            if later < days:
                rows.append((f"u{u}", f"{p:07d}{int(rng.integers(1, 4)):03d}", later))
            d += int(rng.integers(8, 20))
    df = pd.DataFrame(rows, columns=["user_id", "item_id", "day"])
    df["timestamp"] = T0 + df.pop("day") * DAY
    cat = pd.DataFrame({"item_id": items, "product_code": [i[:7] for i in items]})
    data = Dataset(Catalog.from_frame(cat), Interactions.from_frame(df))
    feats = ItemFeatures(rng.standard_normal((len(items), 8)), np.ones(len(items), bool))
    return data, feats


@pytest.mark.parametrize("objective", ["binary", "lambdarank"])
def test_a_planted_catalog_signal_is_learned(objective):
    """Buying one colour predicts buying another of the same product: the ranker reads the catalog's
    product code, learns that, and lists the other colours; without the column it cannot."""
    data, feats = _variants_shop()
    X = data.matrix()

    def sibling_share(model):
        ids, _ = model.recommend(data.users.ids, k=5)
        out = []
        for u, row in zip(data.users.ids, ids):
            bought = {i[:7] for i in data.items.to_ids(X[data.users.to_index(u)].indices)}
            out.append(np.mean([i is not None and i[:7] in bought for i in row]))
        return float(np.mean(out))

    with_codes = make_model("ranker", objective=objective, **FAST).fit(data, feats)
    without = make_model("ranker", objective=objective, group_column=None, **FAST).fit(data, feats)
    gain = dict(zip(with_codes.booster_.feature_name(), with_codes.booster_.feature_importance("gain")))
    assert gain["group_own"] == max(gain.values())  # the planted signal carries the trees
    # without the column only co-purchases of other shoppers hint at a product's other colours
    assert sibling_share(with_codes) > 0.35 > 0.15 > sibling_share(without)


def test_save_load_and_new_items(tmp_path):
    data, feats, style, home = _arrivals_shop(n_users=60)
    m = make_model("ranker", **FAST).fit(data, feats)
    m.save(tmp_path / "r")
    m2 = Recommender.load(tmp_path / "r")
    a, sa = m.recommend(data.users.ids[:10], k=8)
    b, sb = m2.recommend(data.users.ids[:10], k=8)
    assert (a == b).all() and np.allclose(sa, sb)
    # a new photo, almost that of the user's last article, joins without refitting and is listed
    u = data.users.ids[0]
    last = data.items.to_ids(data.matrix()[0].indices)
    v = feats.vectors[data.items.to_index(last[-1])] + 0.01
    m2.add_items(["fresh"], ItemFeatures(v[None, :], np.ones(1, bool)))
    ids, sc = m2.recommend(u, k=m2.n_items)
    assert "fresh" in ids.tolist() and np.isfinite(sc[ids.tolist().index("fresh")])
    assert m2.item_table_.shape == (m2.n_items, len(ITEM_FEATURES)) and m2.cooc_.shape == (m2.n_items,) * 2


def test_bad_input_is_refused_with_a_reason():
    data, feats, _, _ = _arrivals_shop(n_users=30)
    df = data.interactions.df[["user_id", "item_id"]]
    untimed = Dataset(data.catalog, Interactions.from_frame(df))
    with pytest.raises(ValueError, match="needs event times"):
        make_model("ranker", **FAST).fit(untimed, feats)
    with pytest.raises(ValueError, match="no label window"):
        make_model("ranker", **{**FAST, "label_days": 400, "windows": 1}).fit(data, feats)
    with pytest.raises(ValueError, match="windows must be >= 1"):
        make_model("ranker", windows=0).fit(data, feats)
