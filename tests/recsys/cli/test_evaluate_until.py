"""``visrec evaluate --until DATE``: validation folds that end where the test period begins."""

import json

import numpy as np
import pandas as pd
import pytest

from recsys.cli import main

DAY = 86400
T0 = int(pd.Timestamp("2020-03-01", tz="UTC").timestamp())


def write_shop(tmp_path, days=60, n_users=80, n_items=25, seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(n_users):
        for day in np.sort(rng.choice(days, 6, replace=False)):
            rows.append((f"u{u}", f"i{rng.integers(n_items)}", T0 + int(day) * DAY + int(rng.integers(0, DAY))))
    inter = pd.DataFrame(rows, columns=["user_id", "item_id", "timestamp"])
    pd.DataFrame({"item_id": [f"i{i}" for i in range(n_items)]}).to_csv(tmp_path / "catalog.csv", index=False)
    inter.to_csv(tmp_path / "interactions.csv", index=False)
    base = ["evaluate", "--dataset", "csv", "--catalog", str(tmp_path / "catalog.csv"), "--interactions",
            str(tmp_path / "interactions.csv"), "--protocol", "temporal", "--models", "popularity,repurchase",
            "--k", "5"]
    return base, inter


def test_until_drops_the_later_events_and_the_folds_end_there(tmp_path, capsys):
    base, inter = write_shop(tmp_path)
    until = "2020-04-10"
    cut = int(pd.Timestamp(until, tz="UTC").timestamp())
    out = tmp_path / "valid"
    assert main(base + ["--folds", "2", "--test-days", "7", "--until", until, "--out", str(out)]) == 0
    capsys.readouterr()
    m = json.loads((out / "metrics.json").read_text())
    kept = inter[inter["timestamp"] < cut]
    assert m["split"]["until"]["date"] == "2020-04-10T00:00:00+00:00"
    assert m["split"]["until"]["n_dropped"] == int((inter["timestamp"] >= cut).sum()) > 0
    assert m["split"]["until"]["n_kept"] == len(kept)
    # the two 7-day windows are the last 14 days before the date, as if the data ended there
    last = kept["timestamp"].max()
    cuts = [int(last - (2 - i) * 7 * DAY) + 1 for i in range(2)]
    assert m["split"]["cuts"] == [pd.Timestamp(c, unit="s", tz="UTC").isoformat() for c in cuts]
    assert pd.Timestamp(m["split"]["test_end"]) < pd.Timestamp(until, tz="UTC")
    in_windows = kept[kept["timestamp"] >= cuts[0]]
    assert m["split"]["n_test"] == len(in_windows)
    assert [f["n_train"] for f in m["folds"]] == [int((kept["timestamp"] < c).sum()) for c in cuts]


def test_until_on_a_single_cut_and_without_until_nothing_changes(tmp_path, capsys):
    base, inter = write_shop(tmp_path)
    until = "2020-04-10"
    cut = int(pd.Timestamp(until, tz="UTC").timestamp())
    assert main(base + ["--test-days", "7", "--until", until, "--out", str(tmp_path / "a")]) == 0
    assert main(base + ["--test-days", "7", "--out", str(tmp_path / "b")]) == 0
    capsys.readouterr()
    a = json.loads((tmp_path / "a" / "metrics.json").read_text())["split"]
    b = json.loads((tmp_path / "b" / "metrics.json").read_text())["split"]
    kept = inter[inter["timestamp"] < cut]
    assert a["n_train"] + a["n_test"] == len(kept)
    assert a["n_test"] == int((kept["timestamp"] > kept["timestamp"].max() - 7 * DAY).sum())
    assert "until" not in b and b["n_train"] + b["n_test"] == len(inter)


@pytest.mark.parametrize("date, message", [
    ("2020-13-45", "--until: not a date: '2020-13-45'"),
    ("soon", "--until: not a date: 'soon'"),
    ("2019-01-01", "--until 2019-01-01T00:00:00+00:00 drops every interaction: the first is at 2020-03-01"),
])
def test_bad_until_dates_are_usage_errors(tmp_path, capsys, date, message):
    base, _ = write_shop(tmp_path)
    rc = main(base + ["--folds", "2", "--test-days", "7", "--until", date, "--out", str(tmp_path / "ev")])
    err = capsys.readouterr().err
    assert rc == 2 and message in err, err
