"""The visual model of large catalogs reads its kernel from each item's nearest images (a sparse graph
built through the nearest-neighbour index), never a dense n x n matrix: exact when every neighbour is
kept, bounded in size, chosen automatically by catalog size and saved with the model."""

import numpy as np
import pandas as pd
import scipy.sparse as sp

from features import ItemFeatures
from recsys.data import Catalog, Dataset, Interactions
from recsys.models import Recommender, make_model


def world(n=300, users=60, d=16, seed=0):
    rng = np.random.default_rng(seed)
    V = rng.normal(size=(n, d)).astype(np.float32)
    V /= np.linalg.norm(V, axis=1, keepdims=True)
    present = np.ones(n, bool)
    present[-5:] = False  # items without a photo
    V[~present] = 0
    rows = np.repeat(np.arange(users), 4)
    cols = rng.choice(n - 5, size=len(rows))
    X = sp.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(users, n))
    X.sum_duplicates()
    X.data[:] = 1
    return X, ItemFeatures(V, present)


def test_graph_with_every_neighbour_equals_the_exact_kernel():
    X, f = world()
    exact = make_model("visual").fit_matrix(X, f)
    graph = make_model("visual", exact_items=100, neighbours=299).fit_matrix(X, f)
    assert exact.kernel_ == "exact" and graph.kernel_ == "graph"
    users = np.arange(60)
    np.testing.assert_allclose(graph.score_index(users), exact.score_index(users), rtol=1e-4, atol=1e-4)


def test_few_neighbours_keep_the_top_and_stay_sparse():
    X, f = world()
    exact = make_model("visual").fit_matrix(X, f)
    graph = make_model("visual", exact_items=100, neighbours=20).fit_matrix(X, f)
    assert graph.graph_.nnz <= 295 * 21  # k neighbours + the item itself, per item with a photo
    users = np.arange(60)
    a, b = exact.recommend_index(users, 5)[0], graph.recommend_index(users, 5)[0]
    assert np.mean([len(set(x) & set(y)) / 5 for x, y in zip(a, b)]) >= 0.9
    s = graph.score_index(users)
    covered = (X @ graph.graph_).toarray() > 0
    photo = f.present
    for u in range(60):  # items outside every neighbourhood of the user's items rank below covered ones
        assert s[u, covered[u] & photo].min() > s[u, ~covered[u] & photo].max()


def test_saved_with_the_model(tmp_path):
    X, f = world()
    coo = X.tocoo()
    inter = Interactions.from_frame(pd.DataFrame({"user_id": [f"u{u}" for u in coo.row],
                                                  "item_id": [f"i{i}" for i in coo.col]}))
    data = Dataset(Catalog.from_frame(pd.DataFrame({"item_id": [f"i{i}" for i in range(300)]})), inter)
    m = make_model("visual", exact_items=100, neighbours=20).fit(data, f)
    m.save(tmp_path / "m")
    loaded = Recommender.load(tmp_path / "m")
    assert loaded.kernel_ == "graph" and loaded.graph_.nnz == m.graph_.nnz
    users = np.arange(len(m.users_))
    np.testing.assert_allclose(loaded.score_index(users), m.score_index(users), atol=1e-6)
