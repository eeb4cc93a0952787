"""Rolling-origin temporal evaluation and the new-arrival metrics, on planted data where the answer is known."""

import json

import numpy as np
import pandas as pd
import pytest

from evaluation import Experiment, temporal_split
from evaluation.arrivals import new_arrival_summary, new_item_metrics
from evaluation.rolling import RollingExperiment
from evaluation.splits import rolling_temporal_splits
from recsys.cli import main
from recsys.data import Catalog, Interactions
from recsys.models import make_model
from recsys.models.base import Recommender

DAY = 86400
T0 = 1_600_000_000


class ColdFirst(Recommender):
    """Ranks the items without training interactions first, in catalog order (it knows nothing else)."""

    name = "cold-first"

    def __init__(self):
        pass

    def _fit(self, user_items, features):
        cold = np.diff(user_items.tocsc().indptr) == 0
        self.item_scores_ = cold.astype(np.float32) * 2 - np.arange(user_items.shape[1], dtype=np.float32) * 1e-3

    def _score_history(self, X, R):
        return np.broadcast_to(self.item_scores_, (X.shape[0], len(self.item_scores_))).copy()


def shop(n_users=150, n_items=30, days=60, seed=0):
    """Item ``i<j>`` arrives on day ``2j``; shoppers buy arrived items, mostly recent ones, every few days."""
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(n_users):
        for day in np.sort(rng.choice(days, 8, replace=False)):
            arrived = np.arange(min(n_items, day // 2 + 1))
            p = np.exp(arrived / 4.0)
            item = rng.choice(arrived, p=p / p.sum())
            rows.append((f"u{u}", f"i{item}", T0 + int(day) * DAY + int(rng.integers(0, DAY))))
    df = pd.DataFrame(rows, columns=["user_id", "item_id", "timestamp"])
    catalog = Catalog.from_frame(pd.DataFrame({"item_id": [f"i{i}" for i in range(n_items + 5)]}))  # 5 never sold
    return catalog, Interactions.from_frame(df)


def test_windows_do_not_overlap_and_the_last_ends_with_the_data():
    _, inter = shop()
    ts = inter.df["timestamp"].to_numpy()
    splits = rolling_temporal_splits(inter, 3, test_days=7)
    tests = [s.test.df for s in splits]
    rows = [set(t["line"]) for t in tests]
    assert not (rows[0] & rows[1] or rows[1] & rows[2] or rows[0] & rows[2])
    # together they are exactly the events of the last 21 days, and the last window holds the last event
    cut0 = int(ts.max() - 21 * DAY) + 1
    assert set().union(*rows) == set(inter.df.loc[ts >= cut0, "line"])
    assert tests[-1]["timestamp"].max() == ts.max()
    for i, s in enumerate(splits):
        cut = int(pd.Timestamp(s.description["cut"]).timestamp())
        assert s.train.df["timestamp"].max() < cut <= s.test.df["timestamp"].min()  # train strictly before
        assert len(s.train) == int((ts < cut).sum())  # everything before the cut, earlier windows included
        assert s.test.df["timestamp"].max() - cut < 7 * DAY
        assert s.description["fold"] == i + 1 and s.description["folds"] == 3
        if i < 2:
            assert s.description["test_end"] == splits[i + 1].description["cut"]


def test_one_fold_is_the_single_temporal_split():
    _, inter = shop()
    for kw in ({"test_days": 9.5}, {"test_fraction": 0.2}):
        one, = rolling_temporal_splits(inter, 1, **kw)
        single = temporal_split(inter, **kw)
        assert one.train.df.equals(single.train.df) and one.test.df.equals(single.test.df)
        assert one.description["cut"] == single.description["cut"]


def test_fraction_windows_each_hold_that_share_of_the_events():
    _, inter = shop()
    splits = rolling_temporal_splits(inter, 4, test_fraction=0.1)
    n = len(inter)
    for s in splits:
        assert abs(len(s.test) / n - 0.1) < 0.02
    assert splits[0].train.df["timestamp"].max() < splits[0].test.df["timestamp"].min()


def test_folds_without_training_or_test_data_are_refused():
    _, inter = shop()
    with pytest.raises(ValueError, match="fold 1 of 10 has no training data"):
        rolling_temporal_splits(inter, 10, test_days=7)
    with pytest.raises(ValueError, match="fold 1 of 6 has no training data"):
        rolling_temporal_splits(inter, 6, test_fraction=0.2)
    with pytest.raises(ValueError, match="folds must be >= 1"):
        rolling_temporal_splits(inter, 0, test_days=7)
    with pytest.raises(ValueError, match="exactly one"):
        rolling_temporal_splits(inter, 2)


def hand_made():
    """Train (days 0-5): u1 a b, u2 a c, u3 b. Test (days 10-12): u1 d a, u2 e c, u3 d, u4 (new) a.
    New arrivals: (u1, d), (u2, e), (u3, d) -- 3 of the 6 test pairs, items d and e, 3 customers."""
    rows = [("u1", "a", 0), ("u1", "b", 1), ("u2", "a", 2), ("u2", "c", 3), ("u3", "b", 5),
            ("u1", "d", 10), ("u1", "a", 10), ("u1", "d", 11), ("u2", "e", 11), ("u2", "c", 12), ("u3", "d", 12),
            ("u4", "a", 12)]
    df = pd.DataFrame([(u, i, T0 + d * DAY) for u, i, d in rows], columns=["user_id", "item_id", "timestamp"])
    catalog = Catalog.from_frame(pd.DataFrame({"item_id": list("abcdefgh")}))  # f, g, h: never sold
    return catalog, temporal_split(Interactions.from_frame(df), test_days=3)


def test_new_arrival_share_on_a_hand_made_set():
    catalog, split = hand_made()
    res = Experiment({"popularity": make_model("popularity")}, split, catalog, ks=(2,), exclude_seen=False,
                     verbose=False, new_users="popular").run()
    assert res.split["new_arrivals"] == {"n_test_pairs": 6, "n_new_arrival_pairs": 3, "new_arrival_share": 0.5,
                                         "n_new_arrival_items": 2, "n_users_with_new_arrival": 3}
    counts = res.train.item_counts()
    assert new_arrival_summary(res.test_matrix, res.user_index[:1], counts)["n_new_arrival_pairs"] == 1  # u1: d


@pytest.mark.parametrize("k, hits", [(1, 2), (2, 3)])
def test_new_item_recall_counts_hits_on_the_new_arrivals(k, hits):
    """ColdFirst lists d, e, f, ...: at k=1 it hits (u1, d) and (u3, d), at k=2 also (u2, e); popularity,
    which only knows sold items, hits none (the new customer u4 gets the best sellers from every model)."""
    catalog, split = hand_made()
    res = Experiment({"popularity": make_model("popularity"), "cold": ColdFirst()}, split, catalog, ks=(k,),
                     exclude_seen=False, verbose=False, new_users="popular").run()
    assert res.info["cold"][f"new_item_hits@{k}"] == hits
    assert res.info["cold"][f"new_item_recall@{k}"] == pytest.approx(hits / 3)
    assert res.info["popularity"][f"new_item_hits@{k}"] == 0 == res.info["popularity"][f"new_item_recall@{k}"]
    assert "new_item_recall" in res.table() and "new_arrival_share 0.5000" in res.table()
    # the function itself, on hand-written lists: -1 slots and old items never count
    got = new_item_metrics(np.array([[3, -1], [0, 4], [-1, -1]]), res.test_matrix, res.user_index[:3],
                           res.train.item_counts(), 2)
    assert got == {"new_item_recall@2": 2 / 3, "new_item_hits@2": 2}


def test_pooled_units_are_the_folds_test_users():
    catalog, inter = shop()
    splits = rolling_temporal_splits(inter, 3, test_days=7)
    models = {"popularity": make_model("popularity"), "repurchase": make_model("repurchase"), "cold": ColdFirst()}
    res = RollingExperiment(models, splits, catalog, ks=(5,), exclude_seen=False, verbose=False,
                            new_users="popular").run()
    sizes = [len(r.users) for r in res.folds]
    assert len(res.users) == sum(sizes) == res.split["n_units"] == len(res.per_user["cold"]["map@5"])
    assert res.split["n_distinct_users"] < sum(sizes)  # shoppers come back: some are tested in several folds
    assert list(res.unit_fold) == [1] * sizes[0] + [2] * sizes[1] + [3] * sizes[2]
    for i, s in enumerate(splits):  # each fold is a plain experiment on its split, models fitted anew
        alone = Experiment({"cold": ColdFirst()}, s, catalog, ks=(5,), exclude_seen=False, verbose=False,
                           new_users="popular").run()
        assert np.array_equal(alone.per_user["cold"]["map@5"], res.folds[i].per_user["cold"]["map@5"])
    pooled = np.concatenate([r.per_user["cold"]["recall@5"] for r in res.folds])
    js = res.to_json()
    assert js["cold"]["recall@5"] == pytest.approx(pooled.mean())
    hits = [r.info["cold"]["new_item_hits@5"] for r in res.folds]
    n_new = [r.split["new_arrivals"]["n_new_arrival_pairs"] for r in res.folds]
    assert sum(hits) > 0 and js["cold"]["new_item_hits@5"] == sum(hits)
    assert js["cold"]["new_item_recall@5"] == pytest.approx(sum(hits) / sum(n_new))
    assert js["split"]["new_arrivals"]["n_new_arrival_pairs"] == sum(n_new)
    assert js["popularity"]["new_item_hits@5"] == 0
    assert [f["n_test_customers"] for f in js["folds"]] == sizes
    assert [f["cut"] for f in js["folds"]] == [s.description["cut"] for s in splits]
    assert "per fold" in res.table()
    comp = res.compare("popularity", "cold", k=5, n_boot=200)
    assert comp.data.n_users == sum(sizes)
    assert {r["n_users"] for r in comp.tests if r["segment"] == "all"} == {sum(sizes)}
    assert comp.means()["cold"]["recall@5"] == pytest.approx(pooled.mean())
    cj = comp.to_json()
    assert len(cj["test"]["folds"]) == 3 and "counts once per fold" in cj["test"]["pooling"]
    assert any("pooled over 3 folds" in n for n in cj["notes"])


def write_shop(tmp_path):
    catalog, inter = shop()
    pd.DataFrame({"item_id": catalog.item_ids}).to_csv(tmp_path / "catalog.csv", index=False)
    inter.df[["user_id", "item_id", "timestamp"]].to_csv(tmp_path / "interactions.csv", index=False)
    return ["evaluate", "--dataset", "csv", "--catalog", str(tmp_path / "catalog.csv"), "--interactions",
            str(tmp_path / "interactions.csv"), "--protocol", "temporal", "--models", "popularity,repurchase",
            "--k", "5"]


def test_evaluate_folds_writes_pooled_and_per_fold_metrics_and_a_pooled_ab_report(tmp_path, capsys):
    base = write_shop(tmp_path)
    out = tmp_path / "ev"
    assert main(base + ["--folds", "3", "--test-days", "7", "--compare", "popularity,repurchase",
                        "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "new_item_recall@5" in printed and "per fold" in printed and "new_arrival_share" in printed
    m = json.loads((out / "metrics.json").read_text())
    assert m["split"]["folds"] == 3 and len(m["folds"]) == 3 and "once per fold" in m["split"]["pooling"]
    assert m["split"]["n_units"] == sum(f["n_test_customers"] for f in m["folds"])
    for name in ("popularity", "repurchase"):
        per_fold = [f["models"][name] for f in m["folds"]]
        weights = [f["n_test_customers"] for f in m["folds"]]
        assert m[name]["map@5"] == pytest.approx(np.average([p["map@5"] for p in per_fold], weights=weights))
        assert m[name]["new_item_hits@5"] == sum(p["new_item_hits@5"] for p in per_fold)
    ab = json.loads((out / "compare" / "metrics.json").read_text())
    assert ab["test"]["n_test_units"] == m["split"]["n_units"] and len(ab["test"]["folds"]) == 3
    assert ab["means"]["repurchase"]["map@5"] == pytest.approx(m["repurchase"]["map@5"])
    html = (out / "report.html").read_text()
    assert "Per fold" in html and "new_item_recall@5" in html and "(fold, user) units" in html


def test_evaluate_one_fold_is_the_single_cut(tmp_path, capsys):
    base = write_shop(tmp_path)
    runs = {}
    for name, extra in (("plain", []), ("one", ["--folds", "1"])):
        assert main(base + ["--test-days", "10"] + extra + ["--out", str(tmp_path / name)]) == 0
        m = json.loads((tmp_path / name / "metrics.json").read_text())
        runs[name] = {k: ({kk: vv for kk, vv in v.items() if not kk.endswith("_seconds")} if k != "split" else v)
                      for k, v in m.items()}
    capsys.readouterr()
    assert runs["plain"] == runs["one"] and "folds" not in runs["one"]
    assert runs["one"]["split"]["new_arrivals"]["n_test_pairs"] > 0


@pytest.mark.parametrize("extra, message", [
    (["--folds", "0"], "argument --folds: must be at least 1, got 0"),
    (["--folds", "2", "--protocol", "random"], "--folds (rolling-origin cuts) needs --protocol temporal"),
    (["--folds", "10", "--test-days", "7"], "--folds 10 with --test-days 7: fold 1 of 10 has no training data"),
    (["--folds", "6"], "--folds 6 with --test-fraction 0.2: fold 1 of 6 has no training data"),
])
def test_bad_folds_are_usage_errors(tmp_path, capsys, extra, message):
    argv = write_shop(tmp_path) + extra + ["--out", str(tmp_path / "ev")]
    try:
        rc = main(argv)
    except SystemExit as e:  # argparse
        rc = e.code
    assert rc == 2 and message in capsys.readouterr().err
