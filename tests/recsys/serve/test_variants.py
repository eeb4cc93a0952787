"""Online A/B variants: a stable salted assignment per visitor/user, stamped on every answer,
kept across restarts, refused when the split changes mid-experiment."""

import numpy as np
import pytest
from fastapi.testclient import TestClient

from recsys.serve.variants import ExperimentError, Variants, parse_split, read_split
from tests.helpers import visrec

from .serving import make_app, read, admin


def _app(served, tmp, **kw):
    return make_app(served, tmp, model={"A": served.hybrid, "B": served.ease}, warm=False, **kw)


@pytest.fixture(scope="module")
def experiment(served_models, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("variants")
    with TestClient(_app(served_models, tmp, split="50/50")) as c:
        yield c, tmp


def _session(c, visitor):
    r = c.post("/v1/recommendations", json={"item_ids": ["fm0001", "fm0002"], "k": 5, "visitor_id": visitor},
               headers=read())
    assert r.status_code == 200, r.text
    return r.json()


def test_each_visitor_keeps_one_variant_and_gets_its_model(experiment):
    c, _ = experiment
    seen = {}
    for i in range(300):
        body = _session(c, f"visitor-{i}")
        assert body["model"].startswith({"A": "hybrid@", "B": "ease@"}[body["variant"]])
        seen[f"visitor-{i}"] = body["variant"]
    assert all(_session(c, v)["variant"] == seen[v] for v in list(seen)[:40])  # stable across requests
    n_a = sum(v == "A" for v in seen.values())
    assert 110 <= n_a <= 190  # 50/50 (binomial 300: mean 150, sd 8.7)
    item = c.get("/v1/items/fm0003/similar", params={"k": 3, "visitor_id": "visitor-7"}, headers=read()).json()
    assert item["variant"] == seen["visitor-7"]  # the same visitor on another endpoint


def test_known_users_are_assigned_by_their_id(experiment, demo):
    c, tmp = experiment
    users = demo.dataset.users.ids[:30]
    got = {u: c.get(f"/v1/users/{u}/recommendations", params={"k": 3}, headers=read()).json()["variant"]
           for u in users}
    assert set(got.values()) == {"A", "B"}
    sessions = {u: c.post("/v1/recommendations", json={"item_ids": [], "user_id": u}, headers=read()).json()["variant"]
                for u in users}
    assert sessions == got


def test_assignment_survives_a_restart_and_a_new_experiment_reshuffles(experiment, served_models):
    c, tmp = experiment
    before = {f"visitor-{i}": _session(c, f"visitor-{i}")["variant"] for i in range(60)}
    with TestClient(_app(served_models, tmp, split="50/50")) as again:
        assert {v: _session(again, v)["variant"] for v in before} == before
    assert read_split(tmp / "changes.sqlite") == {"A": 0.5, "B": 0.5}
    with TestClient(_app(served_models, tmp, split="50/50", experiment="autumn")) as fresh:
        after = {v: _session(fresh, v)["variant"] for v in before}
    assert after != before  # a new salt: 60 visitors keep their variant with probability 2**-60


def test_changing_the_split_of_a_running_experiment_is_refused(experiment, served_models):
    _, tmp = experiment
    with pytest.raises(ExperimentError, match="--experiment"):
        _app(served_models, tmp, split="70/30")


def test_readyz_metrics_and_reload_per_variant(experiment, served_models):
    c, _ = experiment
    ready = c.get("/readyz").json()
    assert ready["split"] == {"A": 0.5, "B": 0.5}
    assert [v["variant"] for v in ready["variants"]] == ["A", "B"]
    text = c.get("/metrics", headers=admin()).text
    assert 'visrec_model_info{name="hybrid",variant="A"' in text
    assert 'visrec_model_info{name="ease",variant="B"' in text and text.count("visrec_model_info{") == 2
    r = c.post("/v1/admin/reload", json={"variant": "B"}, headers=admin())
    assert r.status_code == 200 and r.json()["variant"] == "B"
    assert c.post("/v1/admin/reload", json={"variant": "C"}, headers=admin()).status_code == 422
    both = c.post("/v1/admin/reload", headers=admin()).json()
    assert [v["variant"] for v in both["variants"]] == ["A", "B"]


def test_single_model_answers_without_variant(served_models, tmp_path):
    with TestClient(make_app(served_models, tmp_path, warm=False)) as c:
        assert _session(c, "someone")["variant"] is None


def test_assignment_follows_the_split():
    v = Variants("x", ("A", "B", "C"), (0.7, 0.2, 0.1), salt="s")
    got = [v.assign(f"u{i}") for i in range(20000)]
    share = {n: got.count(n) / len(got) for n in "ABC"}
    assert share == pytest.approx({"A": 0.7, "B": 0.2, "C": 0.1}, abs=0.015)
    other = Variants("x", ("A", "B", "C"), (0.7, 0.2, 0.1), salt="t")
    assert np.mean([other.assign(f"u{i}") == g for i, g in enumerate(got[:2000])]) < 0.7  # the salt reshuffles


@pytest.mark.parametrize("text, n, message", [("50/50/0", 3, "positive"), ("50", 2, "1 part"),
                                              ("half/half", 2, "one positive number")])
def test_bad_splits_are_explained(text, n, message):
    with pytest.raises(ExperimentError, match=message):
        parse_split(text, n)


@pytest.mark.parametrize("args, message", [
    (["--model", "A=x", "--model", "y"], "VARIANT=DIR"),
    (["--model", "A=x", "--model", "A=y"], "given twice"),
    (["--model", "A=x"], "at least two variants"),
])
def test_serve_cli_names_bad_variant_specs(args, message):
    r = visrec("serve", *args, check=False)
    assert r.returncode == 2 and message in r.stderr
