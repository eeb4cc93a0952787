"""The similar-items index of a model: built by kind, saved in the model folder, read back without
a rebuild, rebuilt when stale or when the catalog grows; ``--index`` on the command line."""

import json

import numpy as np
import pytest

from recsys.models import Recommender, make_model
from tests.helpers import read_jsonl, visrec


@pytest.fixture(scope="module")
def visual(demo):
    return make_model("visual").fit(demo.dataset, demo.features)


def test_an_approximate_index_is_saved_with_the_model_and_read_back(visual, tmp_path, monkeypatch):
    import faiss
    exact_ids, _ = visual.similar_items(visual.items_.ids[:100], k=10)
    ix = visual.build_index("hnsw")
    assert ix.kind_ == "hnsw" and ix.recall_ >= 0.95
    approx_ids, _ = visual.similar_items(visual.items_.ids[:100], k=10)
    overlap = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(approx_ids, exact_ids)])
    assert overlap >= 0.95
    visual.save(tmp_path / "m")
    meta = json.loads((tmp_path / "m" / "model.json").read_text())
    assert meta["index"]["kind"] == "hnsw" and meta["index"]["recall@10"] == round(ix.recall_, 4)
    monkeypatch.setattr(faiss, "index_factory", lambda *a, **k: pytest.fail("the saved index was rebuilt"))
    loaded = Recommender.load(tmp_path / "m")
    again, _ = loaded.similar_items(visual.items_.ids[:100], k=10)
    assert (again == approx_ids).all()
    loaded.save(tmp_path / "m2")  # saving a loaded model keeps its index
    assert (tmp_path / "m2" / "index" / "index.faiss").is_file()


def test_a_stale_index_is_rebuilt_with_a_warning(visual, demo, tmp_path):
    import shutil

    from features import ItemFeatures
    visual.build_index("hnsw")
    visual.save(tmp_path / "a")
    v = demo.features.vectors.copy()
    v[:, 0] += 0.5  # a model fitted on other vectors, given the first model's index
    changed = make_model("visual").fit(demo.dataset, ItemFeatures(v, demo.features.present,
                                                                  signature=demo.features.signature))
    changed.save(tmp_path / "b")
    shutil.copytree(tmp_path / "a" / "index", tmp_path / "b" / "index")
    m = Recommender.load(tmp_path / "b")
    with pytest.warns(RuntimeWarning, match="built from other vectors; rebuilding it"):
        ids, _ = m.similar_items(m.items_.ids[:3], k=5)
    assert (ids != None).all()  # noqa: E711 -- answered from the rebuilt index


def test_new_items_reach_the_index(visual, demo):
    from features import ItemFeatures
    visual.build_index("hnsw")
    i = 7
    vec = demo.features.vectors[i:i + 1]
    m = make_model("visual").fit(demo.dataset, demo.features)
    m.build_index("hnsw")
    m.add_items(["twin-of-7"], ItemFeatures(vec.copy(), np.ones(1, bool), signature=demo.features.signature))
    ids, _ = m.similar_items([m.items_.ids[i]], k=3)
    assert ids[0][0] == "twin-of-7"  # the index was rebuilt over the grown catalog


def test_allowed_mask_filters_similar_items(visual):
    allowed = np.zeros(visual.n_items, bool)
    allowed[::3] = True
    idx, sc = visual.similar_items_index(np.arange(20), 10, allowed=allowed)
    assert (idx >= 0).all() and allowed[idx].all()


def test_cli_index_option_reports_recall(tmp_path, demo, demo_cli_cache):
    out = tmp_path / "model"
    r = visrec("train", "--catalog", demo.dir / "catalog.csv", "--images-root", demo.dir, "--interactions",
               demo.dir / "interactions.csv", "--model", "visual", "--cache", demo_cli_cache, "--index", "hnsw",
               "--out", out)
    assert "index: hnsw (HNSW32,Flat, 1000 items), recall@10" in r.stderr
    assert (out / "index" / "index.faiss").is_file()
    s = visrec("similar", "--model", out, "--k", 5, "--out", tmp_path / "sim.jsonl")
    assert "index: hnsw" in s.stderr and len(read_jsonl(tmp_path / "sim.jsonl")) == 1000
    exact = visrec("similar", "--model", out, "--k", 5, "--index", "flat", "--out", tmp_path / "exact.jsonl")
    assert "index: exact (1000 items)" in exact.stderr
    bad = visrec("similar", "--model", out, "--index", "annoy", "--out", tmp_path / "x.jsonl", check=False)
    assert bad.returncode == 2 and "invalid choice: 'annoy'" in bad.stderr
