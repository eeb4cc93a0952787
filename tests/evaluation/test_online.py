"""Online A/B report on logged events: a planted better variant, A/A calibration, sample-ratio
mismatch, attribution through rec_id, contamination and exclusions, bad tables, the outputs."""

import json
import re

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from evaluation.online import compare_events
from evaluation.online_events import EVENT_TYPES, unit_outcomes
from evaluation.online_sim import simulate_events
from evaluation.online_stats import bootstrap_means, expected_split, lift_intervals, mannwhitney_pvalue, srm_test
from recsys.data import DataError

COLUMNS = ["event_id", "type", "rec_id", "variant", "user_id", "visitor_id", "item_id", "position", "received_at",
           "key_name"]


def test_planted_better_variant_is_significant_on_ctr():
    ev = simulate_events(4000, {"A": 0.05, "B": 0.065}, seed=11)
    comp = compare_events(ev, n_boot=500)
    assert comp.variants == ["A", "B"] and not comp.srm_failed
    ctr = next(r for r in comp.tests if r["metric"] == "ctr")
    assert ctr["significant"] and ctr["p_holm"] < 1e-3 and ctr["p_holm"] >= ctr["p_mannwhitney"]
    assert 0 < ctr["ci_low"] <= ctr["abs_lift"] <= ctr["ci_high"]
    assert ctr["rel_ci_low"] > 0 and 0.1 < ctr["rel_lift"] < 0.5  # planted +30%
    # Holm's family is every (variant, metric) test of the report
    ps = np.array([r["p_mannwhitney"] for r in comp.tests])
    order = np.argsort(ps)
    want = np.minimum(np.maximum.accumulate((len(ps) - np.arange(len(ps))) * ps[order]), 1)
    assert [comp.tests[i]["p_holm"] for i in order] == pytest.approx(want, rel=1e-12)
    # the per-variant means are those counted here from the events, independently
    imp = ev[ev.type == "impression"].drop_duplicates("event_id")
    clk = ev[ev.type == "click"].drop_duplicates("event_id")
    unit = imp.user_id.fillna(imp.visitor_id)
    per_unit = pd.DataFrame({"imp": imp.groupby(unit).size(),
                             "clk": clk.groupby(clk.user_id.fillna(clk.visitor_id)).size()}).fillna(0)
    var = imp.groupby(unit).variant.first()
    mine = (per_unit.clk / per_unit.imp).groupby(var).mean()
    assert comp.per_variant["A"]["means"]["ctr"] == pytest.approx(mine["A"], rel=1e-12)
    assert comp.per_variant["B"]["means"]["ctr"] == pytest.approx(mine["B"], rel=1e-12)
    lo, hi = comp.per_variant["B"]["ci"]["ctr"]
    assert lo < mine["B"] < hi


def test_aa_run_is_not_significant():
    comp = compare_events(simulate_events(4000, {"A": 0.05, "B": 0.05}, seed=5), n_boot=500)
    assert not any(r["significant"] for r in comp.tests)
    rows = {r["metric"]: r for r in comp.tests}
    ctr = rows["ctr"]
    assert ctr["ci_low"] < 0 < ctr["ci_high"] and ctr["rel_ci_low"] < 0 < ctr["rel_ci_high"]
    assert not comp.srm_failed


def test_aa_false_positive_rate_is_near_alpha():
    """200 seeded A/A runs (p-values only): the share of raw CTR p-values below 0.05 lies in the central
    99.6% of Binomial(200, 0.05), i.e. 3..19 runs; Holm keeps the family-wise rate at most about alpha."""
    p_ctr, any_sig = [], []
    for seed in range(200):
        comp = compare_events(simulate_events(300, {"A": 0.05, "B": 0.05}, seed=1000 + seed, duplicate_rate=0,
                                              unattributable_rate=0), n_boot=0)
        rows = {r["metric"]: r for r in comp.tests}
        p_ctr.append(rows["ctr"]["p_mannwhitney"])
        any_sig.append(any(r["significant"] for r in comp.tests))
    p_ctr = np.array(p_ctr)
    assert 3 <= (p_ctr < 0.05).sum() <= 19, (p_ctr < 0.05).sum()
    assert sum(any_sig) <= 19
    assert 0.4 < p_ctr.mean() < 0.6  # p-values about uniform under the null
    assert np.isnan(comp.tests[0]["ci_low"])  # n_boot=0: no intervals


def test_srm_fires_for_55_45_against_50_50():
    ev = simulate_events(4000, {"A": 0.05, "B": 0.05}, split=[0.55, 0.45], seed=2)
    comp = compare_events(ev, split={"A": 0.5, "B": 0.5}, n_boot=100)
    assert comp.srm_failed and comp.srm["p_value"] < 1e-6 and comp.srm["df"] == 1
    assert 0.53 < comp.srm["observed_share"]["A"] < 0.57
    assert comp.notes[0].startswith("SAMPLE RATIO MISMATCH")
    assert comp.to_json()["srm_failed"] is True
    # the same, declared as the experiment's true 55/45 split: no mismatch
    assert not compare_events(ev, split=[55, 45], n_boot=0).srm_failed
    ok = compare_events(simulate_events(4000, {"A": 0.05, "B": 0.05}, seed=3), split={"A": 1, "B": 1}, n_boot=0)
    assert not ok.srm_failed and ok.srm["p_value"] > 0.001
    assert not any(n.startswith("SAMPLE RATIO") for n in ok.notes)


def _events(rows) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=COLUMNS[:6])
    df["received_at"] = np.arange(len(df), dtype=float)
    return df


def test_attribution_contamination_and_exclusions_are_counted():
    ev = _events([
        ("e1", "impression", "r1", "A", "u1", "v1"), ("e2", "impression", "r1", "A", "u1", "v1"),
        ("e3", "click", "r1", "A", "u1", "v1"),
        ("e4", "cart", "r1", None, "u1", None),           # shop backend: variant through r1
        ("e4", "cart", "r1", None, "u1", None),           # resent: dropped
        ("e5", "impression", "r2", "B", None, "v2"),
        ("e6", "purchase", "r2", "", None, None),         # neither id nor variant: both through r2
        ("e7", "impression", "r3", "A", None, "v3"),      # v3 under A and B: contaminated
        ("e8", "impression", "r4", "B", None, "v3"),
        ("e9", "cart", "rX", None, "u9", None),           # rec_id never seen: no variant
        ("e10", "impression", None, "A", None, None),     # no unit
        ("e11", "cart", "r5", "B", None, "v5"),           # assigned, never exposed
    ])
    out = unit_outcomes(ev)
    c = out.counts
    assert c["events_total"] == 12 and c["duplicates"] == 1
    assert c["variant_from_rec_id"] == 2 and c["unit_from_rec_id"] == 1
    assert c["excluded_no_variant"] == 1 and c["excluded_no_unit"] == 1
    assert c["contaminated_units"] == 1 and c["contaminated_events"] == 2
    assert c["events_used"] == 12 - 1 - 1 - 1 - 2 == 7
    assert c["units"] == 3 and c["exposed_units"] == 2 and c["unexposed_units"] == 1
    u = out.units
    assert u.loc["u1", ["variant", "impressions", "clicks", "ctr", "add_to_cart", "purchase"]].tolist() == \
        ["A", 2, 1, 0.5, 1, 0]
    assert u.loc["v2", ["variant", "purchase", "add_to_cart"]].tolist() == ["B", 1, 0]
    assert u.loc["v5", "variant"] == "B" and np.isnan(u.loc["v5", "ctr"])
    comp = compare_events(ev, n_boot=50)
    assert comp.per_variant["A"]["units"] == 1 and comp.per_variant["B"]["assigned_units"] == 2
    assert comp.per_variant["A"]["events_by_type"] == {"impression": 2, "click": 1, "cart": 1, "purchase": 0}
    notes = " ".join(comp.notes)
    for text in ("1 unit(s) were seen under more than one variant", "1 event(s) have no variant",
                 "1 event(s) have neither user_id nor visitor_id", "1 event(s) repeat an event_id",
                 "1 unit(s) have events but no impression"):
        assert text in notes


def test_rec_id_with_two_variants_is_not_used():
    ev = _events([("e1", "impression", "r1", "A", None, "v1"), ("e2", "impression", "r1", "B", None, "v2"),
                  ("e3", "cart", "r1", None, None, "v1")])
    c = unit_outcomes(ev).counts
    assert c["rec_ids_with_several_variants"] == 1 and c["variant_from_rec_id"] == 0 and c["excluded_no_variant"] == 1


def test_bad_event_tables_are_refused():
    ev = simulate_events(50, {"A": 0.1, "B": 0.1}, seed=0)
    with pytest.raises(DataError, match=r"log.csv: missing column\(s\) variant, visitor_id"):
        compare_events(ev.drop(columns=["variant", "visitor_id"]), source="log.csv")
    with pytest.raises(DataError, match="log.csv: no events"):
        compare_events(ev.iloc[:0], source="log.csv")
    bad = ev.copy()
    bad.loc[[3, 7], "type"] = "view"
    with pytest.raises(DataError, match=r"2 event\(s\) of unknown type \(view\)"):
        compare_events(bad)
    with pytest.raises(DataError, match="no unit with an impression"):
        compare_events(ev[ev.type == "cart"].assign(variant="A"))
    with pytest.raises(ValueError, match="baseline 'C' has no exposed unit"):
        compare_events(ev, baseline="C")
    with pytest.raises(ValueError, match=r"the split has 3 part\(s\) but the events have 2 variant\(s\)"):
        compare_events(ev, split=[1, 1, 1])
    comp = compare_events(ev, baseline="B", n_boot=20)
    assert comp.variants == ["B", "A"] and comp.tests[0]["baseline"] == "B"
    assert expected_split(None, ["B", "A", "B"]) == {"A": 0.5, "B": 0.5}
    assert expected_split([3, 1], ["B", "A"]) == {"A": 0.75, "B": 0.25}


def test_unexpected_variant_fails_the_srm_check():
    ev = simulate_events(600, {"A": 0.05, "B": 0.05, "C": 0.05}, seed=1)
    comp = compare_events(ev, split={"A": 0.5, "B": 0.5}, n_boot=0)
    assert comp.srm_failed and comp.srm["p_value"] == 0 and comp.srm["expected_share"]["C"] == 0
    assert any("C are not in the expected split" in n for n in comp.notes)
    assert len(comp.tests) == 2 * 4  # B and C against A, 4 metrics each


def test_stats_helpers():
    r = srm_test({"A": 5500, "B": 4500}, {"A": 0.5, "B": 0.5})
    chi = sps.chisquare([5500, 4500], [5000, 5000])
    assert r["chi2"] == pytest.approx(chi.statistic) and r["p_value"] == pytest.approx(chi.pvalue)
    r = srm_test({"A": 10}, {"A": 0.5, "B": 0.5})
    assert r["units"] == {"A": 10, "B": 0} and r["p_value"] < 0.01
    assert mannwhitney_pvalue([0, 0, 0], [0, 0]) == 1.0 and np.isnan(mannwhitney_pvalue([], [1]))
    a, b = np.r_[np.zeros(60), np.ones(40)], np.r_[np.zeros(40), np.ones(60)]
    assert mannwhitney_pvalue(a, b) == pytest.approx(sps.mannwhitneyu(b, a, use_continuity=False).pvalue)
    two = mannwhitney_pvalue(np.c_[a, np.zeros(100)], np.c_[b, np.zeros(100)])
    assert two[0] == mannwhitney_pvalue(a, b) and two[1] == 1.0
    rng = np.random.default_rng(0)
    x = rng.normal(1.0, 1.0, (500, 2))
    d1 = bootstrap_means(x, 400, np.random.default_rng(1), max_cells=3000)
    d2 = bootstrap_means(x, 400, np.random.default_rng(1))
    assert d1.shape == (400, 2) and d1.std(0) == pytest.approx(x.std(0) / np.sqrt(500), rel=0.15)
    iv = lift_intervals(d1, d2 + 1.0)
    assert iv["abs_low"][0] > 0.8 and iv["abs_high"][0] < 1.2 and iv["rel_low"][0] > 0.5
    assert np.isnan(bootstrap_means(np.empty((0, 2)), 5, rng)).all()


def test_outputs_are_self_contained_and_agree(tmp_path):
    ev = simulate_events(3000, {"A": 0.05, "B": 0.065}, split=[0.56, 0.44], contaminated_units=4, seed=7)
    comp = compare_events(ev, split=[1, 1], n_boot=200, source="events.parquet")
    out = comp.write(tmp_path / "ab")
    m = json.loads(out["metrics"].read_text())
    assert m["kind"] == "online" and m["baseline"] == "A" and m["srm_failed"] is True
    assert m["counts"]["contaminated_units"] == 4 and m["counts"]["duplicates"] > 0
    assert set(m["per_variant"]["B"]["means"]) == {"impressions", "clicks", "ctr", "add_to_cart", "purchase"}
    assert m["means"]["B"]["ctr"] == comp.per_variant["B"]["means"]["ctr"]
    page = out["report"].read_text()
    assert not re.search(r"<(script|link|iframe)\b", page) and not re.search(r"(src|href)=['\"]https?:", page)
    assert page.index("id='srm-warning'") < page.index("<h2>")  # the banner comes first
    assert "<table id='variants'>" in page and "<svg" in page and "units seen under several variants" in page
    ctr = next(r for r in comp.tests if r["metric"] == "ctr")
    assert f"{ctr['mean_b']:.4f}" in page and ("+" + f"{100 * ctr['rel_lift']:.1f}%") in page
    md = out["summary"].read_text()
    assert md.splitlines()[2].startswith("> **WARNING: sample ratio mismatch.**")
    assert f"{comp.per_variant['A']['means']['ctr']:.4f}" in md and "units seen under several variants" in md
    assert "WARNING" in comp.table().splitlines()[0]


def test_simulator_is_seeded_and_shaped_like_the_log():
    a = simulate_events(200, {"A": 0.1, "B": 0.2}, seed=4, slots=3)
    pd.testing.assert_frame_equal(a, simulate_events(200, {"A": 0.1, "B": 0.2}, seed=4, slots=3))
    assert list(a.columns) == COLUMNS and set(a.type) <= set(EVENT_TYPES)
    assert set(a.loc[a.type == "impression", "position"]) == {0, 1, 2}
    backend = a[a.type.isin(["cart", "purchase"])]
    assert len(backend) and backend.variant.isna().all() and backend.rec_id.notna().all()
    assert a.event_id.duplicated().any() and a.received_at.is_monotonic_increasing
    assert a.visitor_id.notna().all() and 0 < a.user_id.notna().mean() < 1
