import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from evaluation import Experiment, random_split, ranking_metrics, temporal_split
from recsys.data import Interactions


def test_metrics_hand_case():
    test = sp.csr_matrix(np.array([[1, 0, 1, 0, 0]]))
    got = ranking_metrics(np.array([[2, 1, 0]]), test, np.array([0]), ks=(3,))
    assert got["precision@3"][0] == pytest.approx(2 / 3)
    assert got["recall@3"][0] == 1.0
    assert got["ndcg@3"][0] == pytest.approx((1 + 1 / np.log2(4)) / (1 + 1 / np.log2(3)))
    assert got["map@3"][0] == pytest.approx((1 + 2 / 3) / 2)
    # empty slots (-1) never count as hits
    assert ranking_metrics(np.array([[-1, -1, 0]]), test, np.array([0]), ks=(3,))["hitrate@3"][0] == 1.0


def _inter(n_users=50, n_items=40, seed=0):
    rng = np.random.default_rng(seed)
    rows = [(f"u{u}", f"i{i}", int(t)) for u in range(n_users)
            for i, t in zip(rng.choice(n_items, rng.integers(3, 12), replace=False), rng.integers(0, 10**6, 12))]
    return Interactions.from_frame(pd.DataFrame(rows, columns=["user_id", "item_id", "timestamp"]))


def test_random_split_per_user():
    inter = _inter()
    s = random_split(inter, 0.2, random_state=1)
    tr, te = s.train.df, s.test.df
    assert len(tr) + len(te) == len(inter)
    assert not set(zip(tr.user_id, tr.item_id)) & set(zip(te.user_id, te.item_id))
    assert set(tr.user_id) == set(inter.df.user_id)  # every user keeps training data
    assert 0.12 < len(te) / len(inter) < 0.28
    # per user: round(0.2 n) of the n distinct items go to test, at most n - 1 (min_train=1)
    n = inter.df.groupby("user_id")["item_id"].nunique()
    n_test = te.groupby("user_id")["item_id"].nunique().reindex(n.index, fill_value=0)
    assert (n_test == np.minimum(np.floor(0.2 * n + 0.5), n - 1)).all()
    s2 = random_split(inter, 0.2, random_state=1)
    assert s2.test.df.equals(te) and s.description["random_state"] == 1


def test_temporal_split():
    inter = _inter()
    s = temporal_split(inter, test_fraction=0.25)
    assert s.train.df.timestamp.max() < s.test.df.timestamp.min()
    assert s.description["protocol"] == "temporal"
    with pytest.raises(ValueError, match="exactly one"):
        temporal_split(inter)


def test_experiment_json(demo):
    from recsys.models import make_model
    split = random_split(demo.interactions, 0.2, random_state=0)
    models = {"popularity": make_model("popularity"), "visual": make_model("visual")}
    res = Experiment(models, split, demo.catalog, demo.features, verbose=False).run()
    js = res.to_json()
    assert js["visual"]["visual"] is True and js["popularity"]["visual"] is False
    assert {"recall@10", "ndcg@10", "precision@10", "map@10", "hitrate@10"} <= set(js["popularity"])
    assert len(res.per_user["visual"]["recall@10"]) == len(res.users) == js["split"]["n_users_evaluated"]
    assert js["visual"]["cold_share@10"] > js["popularity"]["cold_share@10"] == 0
    # the means recomputed from the evaluated lists with plain loops over the definitions
    counts = res.train.item_counts()
    for name in models:
        prec, rec, hit = [], [], []
        for row, u in zip(res.lists[name], res.user_index):
            rel = set(res.test_matrix[u].indices.tolist())
            h = len(rel & {int(i) for i in row[:10] if i >= 0})
            prec.append(h / 10)
            rec.append(h / len(rel))
            hit.append(float(h > 0))
        assert js[name]["precision@10"] == pytest.approx(np.mean(prec))
        assert js[name]["recall@10"] == pytest.approx(np.mean(rec))
        assert js[name]["hitrate@10"] == pytest.approx(np.mean(hit))
        listed = [int(i) for i in res.lists[name].ravel() if i >= 0]
        assert js[name]["coverage@10"] == pytest.approx(len(set(listed)) / res.train.n_items)
        assert js[name]["cold_share@10"] == pytest.approx(np.mean([counts[i] == 0 for i in listed]))


def test_ratio_split_811():
    from evaluation import ratio_split
    inter = _inter(n_users=60, n_items=80, seed=3)
    s = ratio_split(inter, (0.8, 0.1, 0.1), random_state=0)
    parts = [set(zip(p.df.user_id, p.df.item_id)) for p in (s.train, s.valid, s.test)]
    assert not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])
    assert sum(len(p) for p in (s.train, s.valid, s.test)) == len(inter)
    n = inter.df.groupby("user_id").size()
    te = s.test.df.groupby("user_id").size().reindex(n.index, fill_value=0)
    assert ((te == np.floor(0.1 * n)) | ((n < 10) & (te == 1))).all()  # int(0.1 n), or 1 for small users
    assert set(s.train.df.user_id) == set(inter.df.user_id)


def test_validation_items_are_excluded_from_test_rankings(demo):
    from evaluation import ratio_split
    from recsys.data import Dataset
    from recsys.models import make_model
    s = ratio_split(demo.interactions, random_state=1)
    train = Dataset(demo.catalog, s.train)
    valid = train.encode(s.valid)
    m = make_model("popularity").fit(train)
    users = np.flatnonzero(np.diff(valid.indptr) > 0)[:50]
    idx, _ = m.recommend_index(users, 20, exclude=valid)
    for u, row in zip(users, idx):
        assert not set(valid[u].indices) & set(row)


def test_auc_matches_pairwise_definition():
    from evaluation.metrics import auc_per_user
    rng = np.random.default_rng(0)
    sc = rng.integers(0, 5, size=(20, 12)).astype(float)  # with ties
    pos = rng.random((20, 12)) < 0.3
    pos[0] = False
    got = auc_per_user(sc, pos)
    for r in range(1, 20):
        p, n = sc[r][pos[r]], sc[r][~pos[r]]
        if len(p) and len(n):
            want = np.mean([(a > b) + 0.5 * (a == b) for a in p for b in n])
            assert got[r] == pytest.approx(want)
    assert np.isnan(got[0])


def test_cold_item_protocol(demo):
    from evaluation import cold_item_split
    from recsys.models import make_model
    s = cold_item_split(demo.interactions, 0.2, random_state=0)
    assert not set(s.train.df.item_id) & set(s.test.df.item_id)
    models = {"popularity": make_model("popularity"), "visual": make_model("visual")}
    res = Experiment(models, s, demo.catalog, demo.features, verbose=False).run()
    m = res.means()
    assert m["popularity"]["auc"] == pytest.approx(0.5)  # no history: chance
    assert m["visual"]["auc"] > 0.75  # planted category tastes are visual
    cold = set(demo.dataset.items.to_index(sorted(set(demo.dataset.items.ids) - set(s.train.df.item_id))))
    assert set(res.lists["visual"].ravel()) - {-1} <= cold  # only items without history (held out or never sold)


def test_new_test_users_get_the_same_best_sellers_in_every_model(demo):
    """A time split's new customers: with new_users="popular" they stay in the metrics, each model
    answering them with the training best sellers; with "skip" they are left out."""
    from evaluation.splits import Split
    from recsys.models import make_model
    split = random_split(demo.interactions, 0.2, random_state=0)
    counts = split.train.df["item_id"].value_counts()
    best, rare = counts.index[0], counts.index[-1]
    extra = pd.DataFrame({"user_id": ["newbie1", "newbie2"], "item_id": [best, rare], "weight": [1.0, 1.0],
                          "timestamp": [1.7e9, 1.7e9]})
    test = Interactions.from_frame(pd.concat([split.test.df[["user_id", "item_id", "weight", "timestamp"]], extra]))
    split = Split(split.train, test, {"protocol": "random"})
    models = {"popularity": make_model("popularity"), "als": make_model("als", iterations=3, progress=False)}
    kept = Experiment(models, split, demo.catalog, verbose=False, new_users="popular").run()
    skipped = Experiment(models, split, demo.catalog, verbose=False).run()
    assert len(kept.users) == len(skipped.users) + 2 and list(kept.users[-2:]) == ["newbie1", "newbie2"]
    assert kept.to_json()["split"]["new_users"] == {"policy": "popular", "n": 2, "n_known": len(skipped.users)}
    for name in models:
        hits = kept.per_user[name]["hitrate@10"][-2:]
        assert hits.tolist() == [1.0, 0.0]  # the best seller is in the fallback list, the rarest item not
        np.testing.assert_array_equal(kept.lists[name][-2:], kept.lists["popularity"][-2:])
        np.testing.assert_allclose(kept.per_user[name]["ndcg@10"][:-2], skipped.per_user[name]["ndcg@10"])
    comp = kept.compare("popularity", "als", n_boot=200)  # the A/B report takes the new users too
    assert comp.to_json()["test"]["n_test_users"] == len(kept.users)
