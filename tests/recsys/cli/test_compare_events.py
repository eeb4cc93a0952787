"""`visrec compare --events`: the online A/B report on a server's event store or its export; the numbers
are checked against a count made here from the events, bad inputs end with status 2 and a reason."""

import json
import re

import pandas as pd
import pytest

from evaluation.online_sim import simulate_events
from recsys.cli import main
from tests.helpers import visrec


def make_store(path, events: pd.DataFrame, split=(0.5, 0.5)):
    """A server's SQLite store holding ``events`` and a two-variant experiment with ``split``."""
    from recsys.serve.events import EventLog
    from recsys.serve.variants import open_experiment
    open_experiment(path, {"A": "dirA", "B": "dirB"}, list(split))
    log = EventLog(path)
    try:
        rows = events.astype(object).where(events.notna(), None).to_dict("records")
        assert log.append(rows).result() == events["event_id"].nunique()
    finally:
        log.close()
    return path


def ctr_by_variant(events: pd.DataFrame) -> dict:
    """Mean per-unit clicks / impressions per variant, counted with plain pandas."""
    ev = events.drop_duplicates("event_id")
    ev = ev.assign(unit=ev.user_id.fillna(ev.visitor_id))
    imp = ev[ev.type == "impression"].groupby("unit").size()
    clk = ev[ev.type == "click"].groupby("unit").size().reindex(imp.index, fill_value=0)
    var = ev[ev.type == "impression"].groupby("unit").variant.first()
    return (clk / imp).groupby(var).mean().to_dict()


def test_report_from_a_server_store(tmp_path):
    ev = simulate_events(3000, {"A": 0.05, "B": 0.07}, seed=21)
    store = make_store(tmp_path / "serve.sqlite", ev)
    out = tmp_path / "ab"
    p = visrec("compare", "--events", store, "--out", out, "--n-boot", 200, "--seed", 3)
    assert "lift B" in p.stdout and "warning" not in p.stderr
    m = json.loads((out / "metrics.json").read_text())
    assert m["kind"] == "online" and m["baseline"] == "A" and m["variants"] == ["A", "B"]
    assert m["source"]["split"] == {"A": 0.5, "B": 0.5} and "serve.sqlite" in m["srm"]["split_source"]
    assert m["srm_failed"] is False and m["counts"]["duplicates"] == 0  # the store kept each event_id once
    assert m["counts"]["events_total"] == ev.event_id.nunique()
    mine = ctr_by_variant(ev)
    for v in ("A", "B"):
        assert m["means"][v]["ctr"] == pytest.approx(mine[v], rel=1e-12)
    ctr = next(r for r in m["tests"] if r["metric"] == "ctr")
    assert ctr["significant"] and ctr["ci_low"] > 0
    assert f"{m['means']['B']['ctr']:.4f}" in (out / "summary.md").read_text()
    page = (out / "report.html").read_text()
    assert not re.search(r"<(script|link|iframe)\b", page) and "srm-warning" not in page
    assert f"{m['means']['A']['ctr']:.4f}" in page


def test_sample_ratio_mismatch_is_warned(tmp_path, capsys):
    ev = simulate_events(4000, {"A": 0.05, "B": 0.05}, split=[0.55, 0.45], seed=22)
    store = make_store(tmp_path / "s.sqlite", ev)
    assert main(["compare", "--events", str(store), "--out", str(tmp_path / "o"), "--n-boot", "50"]) == 0
    err = capsys.readouterr().err
    assert "warning: SAMPLE RATIO MISMATCH" in err
    assert json.loads((tmp_path / "o" / "metrics.json").read_text())["srm_failed"] is True
    assert "id='srm-warning'" in (tmp_path / "o" / "report.html").read_text()
    assert "WARNING: sample ratio mismatch" in (tmp_path / "o" / "summary.md").read_text()
    # declaring the split the units were really drawn with: no mismatch
    assert main(["compare", "--events", str(store), "--split", "A=55/B=45", "--out", str(tmp_path / "o2"),
                 "--n-boot", "50"]) == 0
    assert "SAMPLE RATIO" not in capsys.readouterr().err


def test_exported_parquet_and_csv_give_the_store_numbers(tmp_path, capsys):
    ev = simulate_events(800, {"A": 0.05, "B": 0.06}, seed=23, contaminated_units=3)
    store = make_store(tmp_path / "s.sqlite", ev)
    runs = {}
    for name in ("s.sqlite", "ev.parquet", "ev.csv"):
        if name != "s.sqlite":
            assert main(["events", "export", "--store", str(store), "--out", str(tmp_path / name)]) == 0
        out = tmp_path / f"out-{name}"
        assert main(["compare", "--events", str(tmp_path / name), "--split", "50/50", "--baseline", "B",
                     "--n-boot", "100", "--alpha", "0.1", "--out", str(out)]) == 0
        runs[name] = json.loads((out / "metrics.json").read_text())
    capsys.readouterr()
    ref = runs["s.sqlite"]
    assert ref["baseline"] == "B" and ref["alpha"] == 0.1 and ref["counts"]["contaminated_units"] == 3
    for name in ("ev.parquet", "ev.csv"):
        assert runs[name]["means"] == ref["means"] and runs[name]["counts"] == ref["counts"]
        assert [r["p_mannwhitney"] for r in runs[name]["tests"]] == [r["p_mannwhitney"] for r in ref["tests"]]
        assert runs[name]["tests"] == ref["tests"]  # same seed: the same bootstrap draws


def _write(path, text: str):
    path.write_text(text)
    return path


HEADER = "event_id,type,rec_id,variant,user_id,visitor_id,item_id,position,received_at,key_name\n"


@pytest.mark.parametrize("name, content, extra, message", [
    ("nope.parquet", None, [], "nope.parquet: no such file"),
    ("ev.csv", "event_id,type,rec_id,user_id\ne1,click,r1,u1\n", [],
     "ev.csv: missing column(s) variant, visitor_id"),
    ("ev.csv", HEADER + "e1,impression,r1,A,u1,,i1,0,1,\ne2,view,r1,A,u1,,i1,0,2,\n", [],
     "ev.csv: 1 event(s) of unknown type (view)"),
    ("ev.csv", HEADER, [], "ev.csv: no events"),
    ("ev.csv", "", [], "ev.csv: empty file"),
    ("ev.csv", HEADER + "e1,cart,r1,,u1,,i1,0,1,\n", [], "ev.csv: no unit with an impression"),
    ("ev.parquet", "not parquet", [], "ev.parquet: cannot be read as parquet"),
    ("ev.sqlite", "not sqlite at all, just text " * 10, [], "ev.sqlite: not a visrec event store"),
    ("ev.json", "{}", [], "expected an export (.parquet or .csv) or the server's store"),
    ("ev.csv", HEADER + "e1,impression,r1,A,u1,,i1,0,1,\n", ["--baseline", "Z"], "baseline 'Z' has no exposed unit"),
    ("ev.csv", HEADER + "e1,impression,r1,A,u1,,i1,0,1,\n", ["--split", "1/2/3"], "the split has 3 part(s)"),
    ("ev.csv", HEADER + "e1,impression,r1,A,u1,,i1,0,1,\n", ["--split", "A=1/2"], "--split 'A=1/2'"),
    ("ev.csv", HEADER + "e1,impression,r1,A,u1,,i1,0,1,\n", ["--split", "0/1"], "every part must be positive"),
    ("ev.csv", HEADER + "e1,impression,r1,A,u1,,i1,0,1,\n", ["--a", "a.jsonl"],
     "--events (online report) does not go with --a"),
])
def test_bad_inputs_exit_2_with_the_reason(tmp_path, capsys, name, content, extra, message):
    path = tmp_path / name
    if content is not None:
        _write(path, content)
    assert main(["compare", "--events", str(path), "--out", str(tmp_path / "o"), *extra]) == 2
    err = capsys.readouterr().err
    assert message in err, err
    assert not (tmp_path / "o" / "metrics.json").exists()


def test_store_without_events_and_incomplete_modes(tmp_path, capsys):
    from recsys.serve.events import EventLog
    EventLog(tmp_path / "empty.sqlite").close()
    assert main(["compare", "--events", str(tmp_path / "empty.sqlite"), "--out", str(tmp_path / "o")]) == 2
    assert "empty.sqlite: no events" in capsys.readouterr().err
    assert main(["compare", "--out", str(tmp_path / "o")]) == 2
    assert "give --a, --b and --test" in capsys.readouterr().err
    assert main(["compare", "--a", "a.jsonl", "--test", "t.csv", "--out", str(tmp_path / "o")]) == 2
    assert "missing --b" in capsys.readouterr().err
    assert main(["compare", "--a", "a", "--b", "b", "--test", "t", "--split", "50/50", "--out", "o"]) == 2
    assert "--split only go with --events" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
