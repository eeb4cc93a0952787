"""The cold-items protocol: its candidates (never-sold catalog items included) and its item-vector defaults."""

import json

import numpy as np
import pandas as pd
import pytest

from evaluation import Experiment
from evaluation.protocols import PROTOCOL_EMBEDDERS, protocol_embedder
from evaluation.cold_splits import cold_item_candidates
from evaluation.splits import Split
from recsys.data import Catalog, Interactions
from recsys.models.base import Recommender
from tests.helpers import visrec


class FixedScores(Recommender):
    """Scores every user's items by a fixed per-item table (the test's stand-in model)."""

    name = "fixed-scores"

    def __init__(self, scores=None):
        self.scores = scores

    def _fit(self, user_items, features):
        self.table_ = np.asarray(self.scores, np.float32)

    def _score(self, user_index):
        return np.tile(self.table_, (len(user_index), 1))


def _shop():
    """Items a0..a5 sold in training, h0 and h1 held out (bought in test), n0..n3 never sold (catalog only)."""
    items = [f"a{i}" for i in range(6)] + ["h0", "h1", "n0", "n1", "n2", "n3"]
    catalog = Catalog.from_frame(pd.DataFrame({"item_id": items, "image": [None] * len(items)}), ".")
    rows = [(f"u{u}", f"a{(u + j) % 6}") for u in range(6) for j in range(3)]
    train = Interactions.from_frame(pd.DataFrame(rows, columns=["user_id", "item_id"]))
    test_rows = [(f"u{u}", "h0" if u % 2 else "h1") for u in range(6)]
    test = Interactions.from_frame(pd.DataFrame(test_rows, columns=["user_id", "item_id"]))
    return catalog, Split(train, test, {"protocol": "cold-items", "fraction": 0.2})


def test_candidates_are_items_without_training_history():
    cand, info = cold_item_candidates(np.array([3, 0, 0, 1, 0]), np.array([0, 2, 0, 0, 0]))
    assert cand.tolist() == [1, 2, 4]  # the held-out item and both items nobody interacted with
    assert (info["n"], info["held_out"], info["never_interacted"]) == (3, 1, 2)


def test_unsold_catalog_items_are_cold_candidates():
    """Never-sold items are ranked and count as negatives: a model that puts them above the held-out
    items loses AUC (it would score 1.0 if they were dropped, as the earlier protocol did)."""
    catalog, split = _shop()
    # sold items low; held-out h0 above h1; never-sold n0..n2 above both, n3 below both
    scores = [0.0] * 6 + [5.0, 4.5, 9.0, 9.0, 9.0, 1.0]
    res = Experiment({"fixed": FixedScores(scores)}, split, catalog, ks=(3,), verbose=False).run()
    assert res.split["candidates"]["never_interacted"] == 4
    assert res.split["candidates"]["held_out"] == 2
    ids = res.train.items.ids
    listed = {ids[i] for i in res.lists["fixed"].ravel() if i >= 0}
    assert listed == {"n0", "n1", "n2"}  # they are candidates, and this model ranks them first
    # a buyer of h0 ranks it above h1 and n3 but under n0..n2 (2/5); a buyer of h1 only above n3 (1/5)
    assert res.means()["fixed"]["auc"] == pytest.approx(0.3)
    assert res.info["fixed"]["auc_held_out_only"] == pytest.approx(0.5)  # h0 vs h1 only: 1 and 0
    assert res.means()["fixed"]["recall@3"] == 0.0


def test_protocol_embedder_routing():
    kind, w = PROTOCOL_EMBEDDERS["cold-items"]["text"]
    got = protocol_embedder("cold-items", True)
    assert (got.embedder, got.text_weight, got.source) == (kind, w, "protocol default") and got.reason
    assert protocol_embedder("cold-items", False).embedder == PROTOCOL_EMBEDDERS["cold-items"]["no_text"][0] == "raw"
    assert protocol_embedder("cold-items", True, "raw").embedder == "raw"  # --embedder overrides
    assert protocol_embedder("cold-items", True, "raw").source == "command line"
    assert protocol_embedder("cold-items", True, "fused").text_weight == w  # the protocol's weight by default
    assert protocol_embedder("cold-items", True, "fused", 0.2).text_weight == 0.2
    assert protocol_embedder("cold-items", True, None, 0.4).text_weight == 0.4
    plain = protocol_embedder("random", True)
    assert (plain.embedder, plain.text_weight) == ("raw", 0.3)  # other protocols keep the old defaults


def test_evaluate_leaves_the_item_vectors_to_the_protocol():
    """`visrec evaluate` without --embedder / --text-weight leaves them unset (the protocol decides);
    given, they are kept as they are."""
    from recsys.cli import build_parser
    base = ["evaluate", "--protocol", "cold-items", "--out", "x"]
    args = build_parser().parse_args(base)
    assert (args.embedder, args.text_weight) == (None, None)
    args = build_parser().parse_args(base + ["--embedder", "raw", "--text-weight", "0.2"])
    assert (args.embedder, args.text_weight) == ("raw", 0.2)


def test_evaluate_cold_items_item_vectors(tmp_path, demo, demo_cli_cache):
    """`visrec evaluate --protocol cold-items` fuses catalog text when there is some, uses the raw image
    vectors when there is none (one run each), and metrics.json says which and why."""
    cat = pd.read_csv(demo.dir / "catalog.csv", dtype=str)
    cat[["item_id", "image"]].to_csv(tmp_path / "bare.csv", index=False)
    cat.to_csv(tmp_path / "catalog.csv", index=False)
    kind, w = PROTOCOL_EMBEDDERS["cold-items"]["text"]
    for name, want in (("catalog.csv", (kind, w)), ("bare.csv", ("raw", None))):
        out = tmp_path / name.replace(".csv", "")
        visrec("evaluate", "--dataset", "csv", "--catalog", tmp_path / name, "--images-root", demo.dir,
               "--interactions", demo.dir / "interactions.csv", "--protocol", "cold-items", "--models", "visual",
               "--text-model", "tfidf", "--cache", demo_cli_cache, "--out", out)
        split = json.loads((out / "metrics.json").read_text())["split"]
        vec = split["item_vectors"]
        assert (vec["embedder"], vec.get("text_weight"), vec["source"]) == (*want, "protocol default")
        assert "reason" in vec
        assert split["candidates"]["never_interacted"] == 1000 - demo.interactions.df["item_id"].nunique()


def test_dataset_presets_win_over_the_protocols_and_lose_to_the_command_line():
    from evaluation.protocols import DATASET_PRESETS, model_settings
    hm = protocol_embedder("cold-items", True, dataset="hm")
    assert hm.embedder == "adapted" and hm.source == "protocol default" and "hm preset" in hm.reason
    assert protocol_embedder("cold-items", True, "fused", dataset="hm").embedder == "fused"
    assert protocol_embedder("cold-items", True, dataset="movielens-1m").embedder == "fused"
    own = DATASET_PRESETS[("cold-items", "hm")]["hybrid"]["weights"]
    got = model_settings(["hybrid", "visual-popularity"], "cold-items", {}, "hm")
    assert got["hybrid"]["weights"] == own and got["hybrid"]["components"] == ["als-visual", "visual-popularity"]
    assert model_settings(["hybrid"], "cold-items", {}, "movielens-1m")["hybrid"]["weights"] == [1.0, 0.5]
    mine = model_settings(["hybrid"], "cold-items", {"hybrid": {"weights": [2.0, 1.0]}}, "hm")
    assert mine["hybrid"]["weights"] == [2.0, 1.0]  # --param wins
