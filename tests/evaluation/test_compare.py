"""Offline A/B comparison: planted zero / known-better differences, segments, file handling, CLI."""

import json
import math
import re

import numpy as np
import pandas as pd
import pytest

from evaluation import (cold_user_split, compare_files, holm, leave_last_n, paired_bootstrap_ci, read_recommendations,
                        wilcoxon_pvalue)
from recsys.data import DataError, Interactions
from tests.helpers import N_ITEMS, better_lists, make_shop, make_world, random_lists, write_jsonl


def test_identical_lists_have_zero_difference(tmp_path):
    train, test = make_world()
    a = random_lists(test, np.random.default_rng(1))
    comp = compare_files({"A": write_jsonl(tmp_path / "a.jsonl", a), "B": write_jsonl(tmp_path / "b.jsonl", a)},
                         test, train, n_boot=300)
    for r in comp.tests:
        assert r["abs_lift"] == 0 and r["ci_low"] == 0 == r["ci_high"], r
        assert r["p_wilcoxon"] == 1.0 and not r["significant"]


def test_planted_zero_difference_not_significant(tmp_path):
    """Twins have the same test items; A gives twin a list X and twin b list Y, B swaps them:
    every per-user difference d has a partner -d, so the true (and sample) mean difference is 0."""
    train, test = make_world()
    rng = np.random.default_rng(2)
    x, y = random_lists(test, rng), random_lists(test, rng)
    y = better_lists(test, y, rng, share=0.5)  # X and Y differ a lot per user, but symmetrically
    a, b = {}, {}
    for u in x:
        twin = u[:-1] + ("b" if u.endswith("a") else "a")
        a[u] = x[u] if u.endswith("a") else x[twin]
        b[u] = y[u] if u.endswith("a") else y[twin]
        if u.endswith("b"):
            a[u], b[u] = b[u], a[u]
    # A: twin a gets X, twin b gets Y; B: twin a gets Y, twin b gets X
    comp = compare_files({"A": write_jsonl(tmp_path / "a.jsonl", a), "B": write_jsonl(tmp_path / "b.jsonl", b)},
                         test, train, n_boot=1000)
    rows = [r for r in comp.tests if r["segment"] == "all"]
    metrics = {r["metric"] for r in rows}
    assert {"precision@10", "recall@10", "ndcg@10", "map@10", "mrr@10", "hitrate@10", "auc"} <= metrics
    for r in rows:
        assert abs(r["abs_lift"]) < 1e-12, r
        assert r["ci_low"] <= 0 <= r["ci_high"], r
        assert r["p_wilcoxon"] > 0.9 and not r["significant"], r
    assert any(r["ci_high"] > r["ci_low"] for r in rows)  # the lists do differ per user


def test_known_better_list_is_significant(tmp_path):
    train, test = make_world()
    rng = np.random.default_rng(3)
    a = random_lists(test, rng)
    b = better_lists(test, a, rng)
    comp = compare_files({"A": write_jsonl(tmp_path / "a.jsonl", a), "B": write_jsonl(tmp_path / "b.jsonl", b)},
                         test, train, n_boot=500)
    rows = {r["metric"]: r for r in comp.tests if r["segment"] == "all"}
    for m in ("precision@10", "ndcg@10", "mrr@10", "map@10", "recall@10", "hitrate@10", "auc"):
        assert rows[m]["significant"] and rows[m]["ci_low"] > 0 and rows[m]["p_holm"] < 1e-3, rows[m]
        assert rows[m]["p_holm"] >= rows[m]["p_wilcoxon"]
    assert rows["ndcg@10"]["rel_lift"] > 0.5
    # Holm's family is the metrics of one segment and system pair
    family = [r for r in comp.tests if r["segment"] == "all"]
    assert [r["p_holm"] for r in family] == pytest.approx(_holm([r["p_wilcoxon"] for r in family]), rel=1e-12)
    # the same per segment, where there are enough users
    segs = {r["segment"] for r in comp.tests}
    assert {"users:light", "users:heavy", "users:new", "users:returning", "items:cold", "items:warm"} <= segs
    light = next(r for r in comp.tests if r["segment"] == "users:returning" and r["metric"] == "ndcg@10")
    assert light["significant"]


def test_segments_definitions(tmp_path):
    train, test = make_world()
    rng = np.random.default_rng(4)
    a = random_lists(test, rng)
    comp = compare_files({"A": write_jsonl(tmp_path / "a.jsonl", a), "B": write_jsonl(tmp_path / "b.jsonl", a)},
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
    train, test = make_world(n_pairs=40)
    rng = np.random.default_rng(5)
    a = random_lists(test, rng)
    b = dict(list(a.items())[10:])  # 10 test users missing
    b["stranger"] = ["i1", "i2"]
    first = next(iter(b))
    b[first] = ["nope-1"] + b[first][:9]
    from recsys.data import Catalog
    cat = Catalog.from_frame(pd.DataFrame({"item_id": [f"i{i}" for i in range(N_ITEMS)]}))
    comp = compare_files({"A": write_jsonl(tmp_path / "a.jsonl", a), "B": write_jsonl(tmp_path / "b.jsonl", b)},
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
    assert lo == pytest.approx(d.mean() - 1.96 * se, abs=0.3 * se)
    assert hi == pytest.approx(d.mean() + 1.96 * se, abs=0.3 * se)
    from scipy.stats import wilcoxon
    assert wilcoxon_pvalue(d) == pytest.approx(wilcoxon(d).pvalue)
    assert wilcoxon_pvalue(np.zeros(5)) == 1.0


def test_leave_last_n_and_cold_user_split():
    rows = [("u1", "a", 1), ("u1", "b", 5), ("u1", "c", 3), ("u1", "b", 2), ("u2", "a", 9), ("u3", "x", 1),
            ("u3", "y", 2)]
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
    c = cold_user_split(big, 0.2, random_state=1)
    held = set(c.test.df.user_id)
    assert len(held) == 10 and not held & set(c.train.df.user_id)
    c2 = cold_user_split(big, 0.2, random_state=1, n_history=2)
    assert set(c2.test.df.user_id) == held
    hist = c2.train.df[c2.train.df.user_id.isin(held)]
    assert (hist.groupby("user_id").size() == 2).all() and (hist.timestamp < 2).all()


def test_experiment_result_compare(tmp_path):
    from evaluation import Experiment, Split
    from recsys.models import make_model
    train, test = make_world()
    keep = test.df.user_id.isin(set(train.df.user_id))  # Experiment scores users known to train
    split = Split(train, test.subset(keep.to_numpy()), {"protocol": "planted"})
    cat, feats = make_shop(tmp_path)
    models = {"popularity": make_model("popularity"), "visual": make_model("visual")}
    exp = Experiment(models, split, cat, feats, verbose=False)
    res = exp.run()
    comp = res.compare("popularity", "visual", n_boot=200)
    assert comp.models == ["popularity", "visual"] and len(comp.users) == len(res.users)
    assert np.allclose(comp.per_user["visual"]["recall@10"], res.per_user["visual"]["recall@10"])
    assert "ild@10" in comp.per_user["visual"] and "items:cold" in comp.segments
    out = comp.write(tmp_path / "cmp", n_sample_users=2)
    js = json.loads(out["metrics"].read_text())
    assert js["baseline"] == "popularity" and js["test"]["n_test_users"] == len(res.users)
    for name, means in res.means().items():  # the comparison scores the experiment's own lists
        assert {m: js["means"][name][m] for m in means} == pytest.approx(means)
    tested = {r["metric"] for r in js["tests"] if r["segment"] == "all" and r["model"] == "visual"}
    assert tested == set(comp.main_metrics()) and "ild@10" in tested
    ndcg = next(r for r in js["tests"] if r["segment"] == "all" and r["metric"] == "ndcg@10")
    summary = out["summary"].read_text()
    assert f"| all | ndcg@10 | {len(res.users)} | {ndcg['mean_a']:.4f} | {ndcg['mean_b']:.4f} | " in summary
    page = out["report"].read_text()
    assert page.count("<h3>user ") == 2 and "data:image/jpeg;base64," in page
    exp.run = lambda: pytest.fail("Experiment.compare ran the experiment again")
    assert exp.compare().models == ["popularity", "visual"]  # reuses the run


def _cli_case(tmp_path):
    """A hand-made case: four test users, eight items, two systems with lists of length 2.

    test: u1 {a, b}, u2 {c}, u3 {d, e}, u4 {f}; train: u1 {g}, u2 {g, h}, u3 {h}, t9 {a, g} (u4 is new).
    A: u1 [g, a], u2 [c, h], u3 [a, b], u4 [a, g];  B: u1 [a, b], u2 [c, a], u3 [d, a], u4 [g, f].
    """
    pd.DataFrame({"user_id": ["u1", "u1", "u2", "u3", "u3", "u4"], "item_id": list("abcdef")}).to_csv(
        tmp_path / "test.csv", index=False)
    pd.DataFrame({"user_id": ["u1", "u2", "u2", "u3", "t9", "t9"], "item_id": list("gghhag")}).to_csv(
        tmp_path / "train.csv", index=False)
    write_jsonl(tmp_path / "a.jsonl", {"u1": ["g", "a"], "u2": ["c", "h"], "u3": ["a", "b"], "u4": ["a", "g"]})
    write_jsonl(tmp_path / "b.jsonl", {"u1": ["a", "b"], "u2": ["c", "a"], "u3": ["d", "a"], "u4": ["g", "f"]})
    return ["compare", "--a", str(tmp_path / "a.jsonl"), "--b", str(tmp_path / "b.jsonl"), "--name-a", "A",
            "--name-b", "B", "--test", str(tmp_path / "test.csv"), "--train", str(tmp_path / "train.csv"),
            "--k", "2", "--n-boot", "500", "--out", str(tmp_path / "out")]


def _holm(p):
    """Holm step-down adjustment written out (smallest p times m, next times m - 1, ..., kept monotone)."""
    order = sorted(range(len(p)), key=lambda i: p[i])
    out, running = [0.0] * len(p), 0.0
    for j, i in enumerate(order):
        running = max(running, min(1.0, (len(p) - j) * p[i]))
        out[i] = running
    return out


def test_compare_cli_writes_outputs(tmp_path, capsys):
    from scipy.stats import wilcoxon
    from recsys.cli import main
    assert main(_cli_case(tmp_path)) == 0
    assert "lift B" in capsys.readouterr().out
    out = tmp_path / "out"
    js = json.loads((out / "metrics.json").read_text())
    g = 1 / math.log2(3)  # gain of a hit at rank 2
    # per user (u1..u4), from the definitions; ndcg's ideal DCG is over min(|test items|, 2) hits
    want = {"A": {"precision@2": [.5, .5, 0, 0], "recall@2": [.5, 1, 0, 0], "ndcg@2": [g / (1 + g), 1, 0, 0],
                  "map@2": [.25, 1, 0, 0], "mrr@2": [.5, 1, 0, 0], "hitrate@2": [1, 1, 0, 0],
                  "precision@1": [0, 1, 0, 0], "arp@2": [2, 1, .5, 2]},
            "B": {"precision@2": [1, .5, .5, .5], "recall@2": [1, 1, .5, 1], "ndcg@2": [1, 1, 1 / (1 + g), g],
                  "map@2": [1, 1, .5, .5], "mrr@2": [1, 1, 1, .5], "hitrate@2": [1, 1, 1, 1],
                  "precision@1": [1, 1, 1, 0], "arp@2": [.5, .5, .5, 1.5]}}
    assert js["models"] == ["A", "B"] and js["k"] == 2 and js["ks"] == [1, 2]
    assert js["test"]["n_test_users"] == 4 and js["test"]["n_items"] == 8 and js["test"]["n_train_users"] == 4
    for name, metrics in want.items():
        for m, per_user in metrics.items():
            got = js["curves"][name][m.split("@")[0]][m[-1]] if m == "precision@1" else js["means"][name][m]
            assert got == pytest.approx(np.mean(per_user)), (name, m)
    assert js["aggregates"] == {"A": {"coverage@2": 5 / 8}, "B": {"coverage@2": 6 / 8}}
    assert {s: d["n_users"] for s, d in js["segments"].items()} == {
        "all": 4, "users:light": 2, "users:heavy": 1, "users:new": 1, "users:returning": 3, "items:cold": 4,
        "items:warm": 1}
    # the paired tests on all users: lifts, Wilcoxon on the non-zero differences, Holm over the family
    rows = {r["metric"]: r for r in js["tests"] if r["segment"] == "all"}
    tested = [m for m in rows if m != "auc" and not m.startswith("novelty")]
    for m in tested:
        a, b = np.array(want["A"][m], float), np.array(want["B"][m], float)
        d = b - a
        r = rows[m]
        assert (r["baseline"], r["model"], r["n_users"]) == ("A", "B", 4)
        assert r["abs_lift"] == pytest.approx(d.mean()) and r["rel_lift"] == pytest.approx(d.mean() / a.mean())
        assert r["p_wilcoxon"] == pytest.approx(wilcoxon(d[d != 0]).pvalue)
        assert d.min() <= r["ci_low"] <= r["ci_high"] <= d.max()
    ps = [rows[m]["p_wilcoxon"] for m in rows]
    assert [rows[m]["p_holm"] for m in rows] == pytest.approx(_holm(ps))  # all 1 here: p >= 1/8 over 9 metrics
    assert not any(r["significant"] for r in js["tests"])  # four users cannot show significance

    md = (out / "summary.md").read_text().splitlines()
    head = next(line for line in md if line.startswith("| model | precision@2"))
    cols = [c.strip() for c in head.strip("|").split("|")][1:]
    for name in ("A", "B"):
        cells = next(line for line in md if line.startswith(f"| {name} |")).strip("|").split("|")
        shown = dict(zip(cols, (c.strip() for c in cells[1:])))
        for m in ("precision@2", "recall@2", "ndcg@2", "map@2", "mrr@2", "hitrate@2", "arp@2"):
            assert shown[m] == f"{np.mean(want[name][m]):.4f}", (name, m)
    hit = next(line for line in md if line.startswith("| all | hitrate@2 |"))
    assert hit.startswith("| all | hitrate@2 | 4 | 0.5000 | 1.0000 | +0.5000 | +100.0% | [")
    assert hit.endswith(f"| {rows['hitrate@2']['p_wilcoxon']:.3f} | {rows['hitrate@2']['p_holm']:.3f} | no |")

    page = (out / "report.html").read_text()
    assert page.startswith("<!doctype html>") and page.rstrip().endswith("</body></html>")
    assert not re.search(r"<(script|link|iframe)\b", page)  # self-contained: nothing fetched
    assert not re.search(r"(src|href)=['\"](https?:|//)", page)
    table = re.search(r"<table id='metrics'>(.*?)</table>", page, re.S).group(1)
    row_a = re.search(r"<tr><td><span[^>]*>■</span> A</td>(.*?)</tr>", table, re.S).group(1)
    assert re.findall(r">([0-9.]+)</td>", row_a)[:2] == ["0.2500", "0.3750"]  # precision@2, recall@2
    assert "No catalog given: items are shown by id." in page


def test_compare_cli_exit_status_on_bad_input(tmp_path, capsys):
    from recsys.cli import main
    argv = _cli_case(tmp_path)
    (tmp_path / "b.jsonl").write_text('{"user_id": "u1", "items": [{"score": 1}]}\n')
    assert main(argv) == 2
    assert "b.jsonl: line 1: item 1 of user 'u1' has no item_id" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
