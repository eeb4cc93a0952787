"""Offline A/B comparison: planted zero / known-better differences, segments, file handling, CLI."""

import argparse
import json

import numpy as np
import pandas as pd
import pytest

from evaluation import cold_user_split, holm, leave_last_n, paired_bootstrap_ci, wilcoxon_pvalue
from evaluation.compare import compare_files, read_recommendations
from recsys.data import DataError, Interactions

N_ITEMS = 40


def _write_jsonl(path, lists: dict):
    with open(path, "w") as f:
        for u, items in lists.items():
            f.write(json.dumps({"user_id": u, "items": [{"item_id": i, "score": 1.0 / (r + 1)}
                                                         for r, i in enumerate(items)]}) + "\n")
    return path


def _world(seed=0, n_pairs=150):
    """Users come in twins (u-a, u-b) with identical train and test items; items i30..i39 are cold."""
    rng = np.random.default_rng(seed)
    train, test = [], []
    for p in range(n_pairs):
        hist = rng.choice(30, rng.integers(0, 8), replace=False)  # some users are new (no history)
        rest = np.setdiff1d(np.arange(N_ITEMS), hist)
        tst = rng.choice(rest, 3, replace=False)
        for twin in "ab":
            u = f"u{p}{twin}"
            train += [(u, f"i{i}", 1_000 + j) for j, i in enumerate(hist)]
            test += [(u, f"i{i}", 2_000 + j) for j, i in enumerate(tst)]
    cols = ["user_id", "item_id", "timestamp"]
    return (Interactions.from_frame(pd.DataFrame(train, columns=cols), source="train.csv"),
            Interactions.from_frame(pd.DataFrame(test, columns=cols), source="test.csv"))


def _random_lists(test, rng, k=10):
    users = test.df["user_id"].unique()
    return {u: [f"i{i}" for i in rng.permutation(N_ITEMS)[:k]] for u in users}


def _better(test, base, rng, share=0.6):
    """``base`` with one of the user's test items moved to rank 1 for ``share`` of the users."""
    truth = test.df.groupby("user_id")["item_id"].apply(list).to_dict()
    out = {}
    for u, lst in base.items():
        if rng.random() < share:
            t = truth[u][0]
            lst = [t] + [i for i in lst if i != t][:len(lst) - 1]
        out[u] = lst
    return out


def test_identical_lists_have_zero_difference(tmp_path):
    train, test = _world()
    a = _random_lists(test, np.random.default_rng(1))
    comp = compare_files({"A": _write_jsonl(tmp_path / "a.jsonl", a), "B": _write_jsonl(tmp_path / "b.jsonl", a)},
                         test, train, n_boot=300)
    for r in comp.tests:
        assert r["abs_lift"] == 0 and r["ci_low"] == 0 == r["ci_high"], r
        assert r["p_wilcoxon"] == 1.0 and not r["significant"]


def test_planted_zero_difference_not_significant(tmp_path):
    """Twins have the same test items; A gives twin a list X and twin b list Y, B swaps them:
    every per-user difference d has a partner -d, so the true (and sample) mean difference is 0."""
    train, test = _world()
    rng = np.random.default_rng(2)
    x, y = _random_lists(test, rng), _random_lists(test, rng)
    y = _better(test, y, rng, share=0.5)  # X and Y differ a lot per user, but symmetrically
    a, b = {}, {}
    for u in x:
        twin = u[:-1] + ("b" if u.endswith("a") else "a")
        a[u] = x[u] if u.endswith("a") else x[twin]
        b[u] = y[u] if u.endswith("a") else y[twin]
        if u.endswith("b"):
            a[u], b[u] = b[u], a[u]
    # A: twin a gets X, twin b gets Y; B: twin a gets Y, twin b gets X
    comp = compare_files({"A": _write_jsonl(tmp_path / "a.jsonl", a), "B": _write_jsonl(tmp_path / "b.jsonl", b)},
                         test, train, n_boot=1000)
    rows = [r for r in comp.tests if r["segment"] == "all"]
    assert {"precision@10", "recall@10", "ndcg@10", "map@10", "mrr@10", "hitrate@10", "auc"} <= {r["metric"] for r in rows}
    for r in rows:
        assert abs(r["abs_lift"]) < 1e-12, r
        assert r["ci_low"] <= 0 <= r["ci_high"], r
        assert r["p_wilcoxon"] > 0.9 and not r["significant"], r
    assert any(r["ci_high"] > r["ci_low"] for r in rows)  # the lists do differ per user


def test_known_better_list_is_significant(tmp_path):
    train, test = _world()
    rng = np.random.default_rng(3)
    a = _random_lists(test, rng)
    b = _better(test, a, rng)
    comp = compare_files({"A": _write_jsonl(tmp_path / "a.jsonl", a), "B": _write_jsonl(tmp_path / "b.jsonl", b)},
                         test, train, n_boot=500)
    rows = {r["metric"]: r for r in comp.tests if r["segment"] == "all"}
    for m in ("precision@10", "ndcg@10", "mrr@10", "map@10", "recall@10", "hitrate@10", "auc"):
        assert rows[m]["significant"] and rows[m]["ci_low"] > 0 and rows[m]["p_holm"] < 1e-3, rows[m]
        assert rows[m]["p_holm"] >= rows[m]["p_wilcoxon"]
    assert rows["ndcg@10"]["rel_lift"] > 0.5
    # the same per segment, where there are enough users
    segs = {r["segment"] for r in comp.tests}
    assert {"users:light", "users:heavy", "users:new", "users:returning", "items:cold", "items:warm"} <= segs
    light = next(r for r in comp.tests if r["segment"] == "users:returning" and r["metric"] == "ndcg@10")
    assert light["significant"]


def test_segments_definitions(tmp_path):
    train, test = _world()
    rng = np.random.default_rng(4)
    a = _random_lists(test, rng)
    comp = compare_files({"A": _write_jsonl(tmp_path / "a.jsonl", a), "B": _write_jsonl(tmp_path / "b.jsonl", a)},
                         test, train, n_boot=50)
    d = comp.data
    n_hist = np.diff(d.history.indptr)
    seg = comp.segments
    assert set(seg["users:new"]["users"]) == set(np.flatnonzero(n_hist == 0))
    assert len(seg["users:light"]["users"]) + len(seg["users:heavy"]["users"]) == len(seg["users:returning"]["users"])
    med = np.median(n_hist[n_hist > 0])
    assert n_hist[seg["users:light"]["users"]].max() <= med < n_hist[seg["users:heavy"]["users"]].min()
    cold = {f"i{i}" for i in range(30, 40)}
    tdf = test.df
    want = set(tdf.loc[tdf.item_id.isin(cold), "user_id"])
    assert set(d.user_ids[seg["items:cold"]["users"]]) == want
    # cold-item recall counts only cold test items
    u = seg["items:cold"]["users"][0]
    row = np.flatnonzero(seg["items:cold"]["users"] == u)[0]
    lst = [d.item_ids[i] for i in comp.lists["A"][u][:10] if i >= 0]
    tc = set(tdf.loc[(tdf.user_id == d.user_ids[u]) & tdf.item_id.isin(cold), "item_id"])
    assert seg["items:cold"]["per_user"]["A"]["recall@10"][row] == pytest.approx(len(set(lst) & tc) / len(tc))


def test_missing_users_unknown_ids_reported(tmp_path):
    train, test = _world(n_pairs=40)
    rng = np.random.default_rng(5)
    a = _random_lists(test, rng)
    b = dict(list(a.items())[10:])  # 10 test users missing
    b["stranger"] = ["i1", "i2"]
    first = next(iter(b))
    b[first] = ["nope-1"] + b[first][:9]
    from recsys.data import Catalog
    cat = Catalog.from_frame(pd.DataFrame({"item_id": [f"i{i}" for i in range(N_ITEMS)]}))
    comp = compare_files({"A": _write_jsonl(tmp_path / "a.jsonl", a), "B": _write_jsonl(tmp_path / "b.jsonl", b)},
                         test, train, catalog=cat, n_boot=50)
    info = comp.info["B"]
    assert info["n_test_users_missing"] == 10 and info["n_users_not_in_test"] == 1
    assert info["n_unknown_items"] == 1 and info["examples_unknown_items"] == ["nope-1"]
    assert len(comp.users) == test.df.user_id.nunique()  # nobody dropped
    missing = [list(a)[i] for i in range(10)]
    rows = np.flatnonzero(np.isin(comp.users, missing))
    assert (comp.per_user["B"]["recall@10"][rows] == 0).all() and (comp.lists["B"][rows] == -1).all()
    notes = " ".join(comp.notes)
    assert "10 of 80 test users have no list" in notes and "not test users" in notes and "'nope-1'" in notes
    # without a training file the segments are omitted, and the notes say so
    comp2 = compare_files({"A": tmp_path / "a.jsonl", "B": tmp_path / "b.jsonl"}, test, n_boot=50)
    assert set(comp2.segments) == {"all"} and "no training interactions given" in " ".join(comp2.notes)


def test_bad_list_files_name_the_line(tmp_path):
    p = tmp_path / "bad.jsonl"
    p.write_text('{"user_id": "u1", "items": []}\n{"user_id": "u2", "items": [{"score": 1}]}\n')
    with pytest.raises(DataError, match=r"bad.jsonl: line 2: item 1 of user 'u2' has no item_id"):
        read_recommendations(p)
    p.write_text('{"user_id": "u1", "items": []}\n{"user_id": "u1", "items": []}\n')
    with pytest.raises(DataError, match="line 2: user 'u1' already listed on line 1"):
        read_recommendations(p)
    p.write_text('{"user_id": "u1", "items": [\n')
    with pytest.raises(DataError, match="line 1: not valid JSON"):
        read_recommendations(p)
    p = tmp_path / "ok.csv"
    pd.DataFrame({"user_id": ["u1", "u1", "u2"], "rank": [2, 1, 1], "item_id": ["b", "a", "c"]}).to_csv(p, index=False)
    r = read_recommendations(p)
    assert dict(zip(r.users, r.items)) == {"u1": ["a", "b"], "u2": ["c"]}


def test_stats_helpers():
    assert np.allclose(holm([0.01, 0.04, 0.03, 0.005]), [0.03, 0.06, 0.06, 0.02])
    assert np.isnan(holm([np.nan, 0.2])[0]) and holm([np.nan, 0.2])[1] == 0.2
    rng = np.random.default_rng(0)
    d = rng.normal(0.3, 1, 400)
    lo, hi = paired_bootstrap_ci(d, n_boot=2000)
    se = d.std(ddof=1) / np.sqrt(len(d))
    assert lo == pytest.approx(d.mean() - 1.96 * se, abs=0.3 * se) and hi == pytest.approx(d.mean() + 1.96 * se, abs=0.3 * se)
    from scipy.stats import wilcoxon
    assert wilcoxon_pvalue(d) == pytest.approx(wilcoxon(d).pvalue)
    assert wilcoxon_pvalue(np.zeros(5)) == 1.0


def test_leave_last_n_and_cold_user_split():
    rows = [("u1", "a", 1), ("u1", "b", 5), ("u1", "c", 3), ("u1", "b", 2), ("u2", "a", 9), ("u3", "x", 1), ("u3", "y", 2)]
    inter = Interactions.from_frame(pd.DataFrame(rows, columns=["user_id", "item_id", "timestamp"]))
    s = leave_last_n(inter, 1)
    assert set(zip(s.test.df.user_id, s.test.df.item_id)) == {("u1", "b"), ("u3", "y")}
    assert len(s.test) == 3  # both events of (u1, b) go to test
    assert s.description["protocol"] == "leave-last-n" and s.description["n_test_users"] == 2
    s2 = leave_last_n(inter, 2)
    assert set(s2.test.df[s2.test.df.user_id == "u1"].item_id) == {"b", "c"}
    rng = np.random.default_rng(0)
    big = Interactions.from_frame(pd.DataFrame(
        [(f"u{u}", f"i{i}", int(t)) for u in range(50) for i, t in zip(rng.choice(30, 6, replace=False), range(6))],
        columns=["user_id", "item_id", "timestamp"]))
    c = cold_user_split(big, 0.2, seed=1)
    held = set(c.test.df.user_id)
    assert len(held) == 10 and not held & set(c.train.df.user_id)
    c2 = cold_user_split(big, 0.2, seed=1, n_history=2)
    assert set(c2.test.df.user_id) == held
    hist = c2.train.df[c2.train.df.user_id.isin(held)]
    assert (hist.groupby("user_id").size() == 2).all() and (hist.timestamp < 2).all()


def _shop(tmp_path, n_items=N_ITEMS):
    """A small catalog with real image files and random visual vectors."""
    from conftest import make_image
    from features import ItemFeatures
    from recsys.data import Catalog
    (tmp_path / "img").mkdir(exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(n_items):
        make_image(tmp_path / "img" / f"i{i}.png", tuple(int(c) for c in rng.integers(0, 255, 3)),
                   ["square", "disc", "stripes"][i % 3], size=(48, 48))
    cat = Catalog.from_frame(pd.DataFrame({"item_id": [f"i{i}" for i in range(n_items)],
                                           "image": [f"img/i{i}.png" for i in range(n_items)]}), tmp_path)
    feats = ItemFeatures(rng.standard_normal((n_items, 16)).astype(np.float32), np.ones(n_items, bool))
    return cat, feats


def test_experiment_result_compare(tmp_path):
    from evaluation import Experiment, Split
    from recsys.models import make_model
    train, test = _world()
    keep = test.df.user_id.isin(set(train.df.user_id))  # Experiment scores users known to train
    split = Split(train, test.subset(keep.to_numpy()), {"protocol": "planted"})
    cat, feats = _shop(tmp_path)
    models = {"popularity": make_model("popularity"), "visual": make_model("visual")}
    exp = Experiment(models, split, cat, feats, verbose=False)
    res = exp.run()
    comp = res.compare("popularity", "visual", n_boot=200)
    assert comp.models == ["popularity", "visual"] and len(comp.users) == len(res.users)
    assert np.allclose(comp.per_user["visual"]["recall@10"], res.per_user["visual"]["recall@10"])
    assert "ild@10" in comp.per_user["visual"] and "items:cold" in comp.segments
    out = comp.write(tmp_path / "cmp", n_sample_users=2)
    js = json.loads(out["metrics"].read_text())
    assert js["baseline"] == "popularity" and js["tests"]
    assert "data:image/" in out["report"].read_text()
    assert "| all | ndcg@10 |" in out["summary"].read_text()
    assert exp.compare().models == ["popularity", "visual"]  # reuses the run


def test_compare_cli_writes_outputs(tmp_path, capsys):
    from evaluation.compare_cli import add_arguments, run_compare
    train, test = _world(n_pairs=30)
    train.df[["user_id", "item_id", "timestamp"]].to_csv(tmp_path / "train.csv", index=False)
    test.df[["user_id", "item_id", "timestamp"]].to_csv(tmp_path / "test.csv", index=False)
    rng = np.random.default_rng(7)
    a = _random_lists(test, rng)
    _write_jsonl(tmp_path / "pop.jsonl", a)
    _write_jsonl(tmp_path / "als.jsonl", _better(test, a, rng))
    _write_jsonl(tmp_path / "c.jsonl", _random_lists(test, rng))
    p = add_arguments(argparse.ArgumentParser())
    args = p.parse_args(["--a", str(tmp_path / "pop.jsonl"), "--b", str(tmp_path / "als.jsonl"), "--also",
                         f"third={tmp_path / 'c.jsonl'}", "--test", str(tmp_path / "test.csv"), "--train",
                         str(tmp_path / "train.csv"), "--n-boot", "200", "--out", str(tmp_path / "out")])
    assert run_compare(args) == 0
    assert "lift als" in capsys.readouterr().out
    js = json.loads((tmp_path / "out" / "metrics.json").read_text())
    assert js["models"] == ["pop", "als", "third"] and {r["model"] for r in js["tests"]} == {"als", "third"}
    assert (tmp_path / "out" / "summary.md").read_text().startswith("# visrec offline A/B comparison")
    html = (tmp_path / "out" / "report.html").read_text()
    assert "<svg" in html and "http://" not in html.replace("http://www.w3.org/2000/svg", "")
