"""Lists of wide catalogs from candidates: every part's pair scores equal its dense scores, and the
hybrid's candidate blend returns the dense blend's lists when the candidates cover the catalog."""

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from features import ItemFeatures
from recsys.data import Catalog, Dataset, Interactions
from recsys.models import make_model
from recsys.models.candidates import candidate_matrix, pair_scores


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
