"""Lists of wide catalogs from candidates: every part's pair scores equal its dense scores, and the
hybrid's candidate blend returns the dense blend's lists when the candidates cover the catalog."""

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from features import ItemFeatures
from recsys.data import Catalog, Dataset, Interactions
from recsys.models import make_model
from recsys.models.candidates import block_scorer, candidate_matrix, pair_scores


@pytest.fixture(scope="module")
def shop():
    """400 items in 40 photo families, 30 of them never sold; 150 users who buy within 2 families."""
    rng = np.random.default_rng(0)
    n, d = 400, 24
    fam = rng.integers(0, 40, n)
    centres = rng.normal(size=(40, d))
    V = centres[fam] + 0.3 * rng.normal(size=(n, d))
    V = (V / np.linalg.norm(V, axis=1, keepdims=True)).astype(np.float32)
    sold = np.arange(n - 30)
    rows = []
    for u in range(150):
        likes = rng.choice(40, 2, replace=False)
        pool = sold[np.isin(fam[sold], likes)]
        rows += [(f"u{u}", f"i{i}") for i in rng.choice(pool, min(8, len(pool)), replace=False)]
    inter = Interactions.from_frame(pd.DataFrame(rows, columns=["user_id", "item_id"]))
    data = Dataset(Catalog.from_frame(pd.DataFrame({"item_id": [f"i{i}" for i in range(n)]})), inter)
    return data, ItemFeatures(V, np.ones(n, bool))


@pytest.mark.parametrize("name, params", [
    ("ease", {"lambda_": 10.0}),
    ("ease", {"lambda_": 10.0, "max_items": 100, "neighbours": 20}),  # head-tail
    ("visual", {"exact_items": 50, "neighbours": 30}),  # the nearest-image graph
    ("visual", {}),  # exact kernel: the dense fallback
    ("als-visual", {"factors": 16, "iterations": 5, "progress": False}),  # factor form
])
def test_pair_scores_and_candidates_are_the_dense_scores(shop, name, params):
    data, feats = shop
    m = make_model(name, **params).fit(data, feats)
    users = np.arange(0, 150, 7)
    dense = m.score_index(users)
    rng = np.random.default_rng(1)
    cols = np.sort(rng.choice(400, size=(len(users), 50)), axis=1)
    C = sp.csr_matrix((np.ones(cols.size, np.float32), cols.ravel(), np.arange(len(users) + 1) * 50),
                      shape=(len(users), 400))
    C.sum_duplicates()
    r = np.repeat(np.arange(len(users)), np.diff(C.indptr))
    np.testing.assert_allclose(pair_scores(m, users, C), dense[r, C.indices], rtol=1e-4, atol=1e-4)
    some = np.sort(rng.choice(400, 60, replace=False))  # the same items for every user (the z-score sample)
    np.testing.assert_allclose(block_scorer(m, users, {}).columns(some), dense[:, some], rtol=1e-4, atol=1e-4)
    cand = candidate_matrix(m, users, 20, {})
    rc = np.repeat(np.arange(len(users)), np.diff(cand.indptr))
    np.testing.assert_allclose(cand.data, dense[rc, cand.indices], rtol=1e-4, atol=1e-4)
    if name != "als-visual":  # exact candidates: a user's best items are among them (ANN: approximate)
        best = np.argmax(dense, axis=1)
        assert all(best[u] in cand.indices[cand.indptr[u]:cand.indptr[u + 1]] or dense[u].max() == dense[u].min()
                   for u in range(len(users)))


def test_wide_hybrid_lists_equal_the_dense_lists(shop):
    data, feats = shop
    kw = dict(component_params={"ease": {"lambda_": 10.0, "max_items": 100, "neighbours": 20},
                                "visual": {"exact_items": 50, "neighbours": 30},
                                "als-visual": {"factors": 16, "iterations": 5}},
              weights=[1.0, 0.5, 1.0], progress=False)
    dense = make_model("hybrid", **kw).fit(data, feats)
    users = np.arange(150)
    want_i, want_s = dense.recommend_index(users, 10)
    wide = make_model("hybrid", dense_items=100, candidates=400, **kw).fit(data, feats)
    got_i, got_s = wide.recommend_index(users, 10)  # candidates cover the catalog, sample = the catalog
    assert (got_i == want_i).mean() > 0.97
    np.testing.assert_allclose(got_s, want_s, rtol=1e-3, atol=1e-3)
    few = make_model("hybrid", dense_items=100, candidates=40, **kw).fit(data, feats)
    few_i, _ = few.recommend_index(users, 10)
    assert np.mean([len(set(a) & set(b)) / 10 for a, b in zip(few_i, want_i)]) > 0.9
    seen = data.matrix()
    assert not any(seen[u, i] for u, row in enumerate(few_i) for i in row if i >= 0)  # seen items left out
    cold = np.flatnonzero(~np.asarray(seen.sum(axis=0)).ravel().astype(bool))
    assert np.isin(few_i, cold).any()  # never-sold items compete through the visual parts


@pytest.mark.parametrize("validation", ["random", "cold-items"])
def test_wide_weight_search_learns_the_dense_weights(shop, validation):
    """Over ``dense_items`` the blend weights are searched on candidate lists (memory grows with
    users x candidates, not users x items); with candidates covering the catalog they are the
    weights the dense search learns."""
    data, feats = shop
    kw = dict(component_params={"ease": {"lambda_": 10.0}, "als-visual": {"factors": 16, "iterations": 5}},
              progress=False, validation=validation, weight_grid=(0.0, 0.5, 2.0))
    dense = make_model("hybrid", **kw).fit(data, feats)
    wide = make_model("hybrid", dense_items=100, candidates=400, **kw).fit(data, feats)
    assert wide.weights_.tolist() == dense.weights_.tolist()
    assert wide.validation_ndcg_ == pytest.approx(dense.validation_ndcg_, abs=1e-4)
    assert dense.weights_.tolist() != [1.0, 1.0, 1.0]  # the search moved: the test compares real choices


def test_wide_hybrid_saves_its_factor_index_and_lists_from_it_after_loading(shop, tmp_path, monkeypatch):
    """A million-item catalog's factor index takes a minute to build: it is saved with the model, and a
    loaded model lists from it at once (same lists); a damaged one is rebuilt with a warning."""
    from recsys.index import VectorIndex
    from recsys.models import Recommender
    data, feats = shop
    m = make_model("hybrid", dense_items=100, weights=[1.0, 1.0, 1.0], progress=False,
                   component_params={"ease": {"lambda_": 10.0}, "als-visual": {"factors": 16, "iterations": 5}})
    m.fit(data, feats)
    want = m.recommend_index(np.arange(150), 10)[0]
    m.save(tmp_path / "m")
    assert (tmp_path / "m" / "candidates" / "als-visual" / "index.faiss").is_file()
    assert not (tmp_path / "m" / "candidates" / "ease").exists()  # EASE proposes from its own weights

    def no_build(self, *a, **k):
        raise AssertionError("the saved index was rebuilt")
    with monkeypatch.context() as mp:
        mp.setattr(VectorIndex, "_build", no_build)
        got = Recommender.load(tmp_path / "m").recommend_index(np.arange(150), 10)[0]
    np.testing.assert_array_equal(got, want)
    f = tmp_path / "m" / "candidates" / "als-visual" / "index.faiss"
    f.write_bytes(f.read_bytes()[:-10] + b"0123456789")
    with pytest.warns(RuntimeWarning, match="index.faiss: checksum differs.*rebuilding it"):
        again = Recommender.load(tmp_path / "m").recommend_index(np.arange(150), 10)[0]
    np.testing.assert_array_equal(again, want)


def test_top_per_row_keeps_the_largest_entries_with_empty_rows_anywhere():
    """Users without scores (no history with a photo) may come first, between or last in a block."""
    from recsys.models.sparse_items import top_per_row
    M = sp.csr_matrix(np.array([[0, 0, 0, 0], [1, 4, 2, 3], [0, 0, 0, 0], [5, 0, 7, 6], [0, 0, 0, 0]], np.float32))
    top = top_per_row(M, 2)
    assert top.toarray().tolist() == [[0, 0, 0, 0], [0, 4, 0, 3], [0, 0, 0, 0], [0, 0, 7, 6], [0, 0, 0, 0]]
    assert top.has_sorted_indices
