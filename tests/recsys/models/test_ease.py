"""EASE inverts over the items that have interactions only: items with only a photo cost no memory and
score exactly what EASE over the whole catalog gives them, and the size guard counts active items."""

import numpy as np
import pandas as pd
import pytest

from recsys.data import Catalog, Dataset, Interactions
from recsys.models import Recommender, make_model


def full_catalog_ease(X: np.ndarray, lam: float) -> np.ndarray:
    """The textbook closed form over every catalog item (float64), the anchor."""
    G = X.T @ X + lam * np.eye(X.shape[1])
    P = np.linalg.inv(G)
    B = -P / np.diag(P)[None, :]
    np.fill_diagonal(B, 0.0)
    return X @ B


@pytest.fixture()
def shop():
    rng = np.random.default_rng(3)
    sold = [f"s{i}" for i in range(30)]
    unsold = [f"new{i}" for i in range(25)]
    rows = [(f"u{u}", sold[i]) for u in range(40) for i in rng.choice(30, size=6, replace=False)]
    inter = Interactions.from_frame(pd.DataFrame(rows, columns=["user_id", "item_id"]))
    cat = Catalog.from_frame(pd.DataFrame({"item_id": unsold[:10] + sold + unsold[10:]}))  # unsold anywhere
    return Dataset(cat, inter)


def test_scores_equal_ease_over_the_whole_catalog(shop):
    m = make_model("ease", lambda_=5.0).fit(shop)
    assert len(m.active_) == 30 and m.weights_.shape == (30, 30)  # not 55 x 55
    X = m.user_items_.toarray().astype(np.float64)
    X = (X > 0).astype(np.float64)
    np.testing.assert_allclose(m.score_index(np.arange(40)), full_catalog_ease(X, 5.0), atol=2e-4)
    unsold = m.items_.to_index([f"new{i}" for i in range(25)])
    assert not m.score_index(np.arange(40))[:, unsold].any()  # 0, as the full inverse gives them


def test_guard_counts_items_with_interactions_only(shop):
    assert make_model("ease", lambda_=5.0, max_items=30).fit(shop).variant_ == "exact"  # 55 items, 30 active
    with pytest.raises(ValueError, match=r"30x30 inverse .* the 30 items with interactions \(max_items=29\).*"
                                         r"--param ease.variant=head-tail"):
        make_model("ease", lambda_=5.0, max_items=29, variant="exact").fit(shop)


def test_beyond_max_items_auto_fits_the_head_tail_variant(shop, tmp_path):
    exact = make_model("ease", lambda_=5.0).fit(shop)
    m = make_model("ease", lambda_=5.0, max_items=20, neighbours=30).fit(shop)
    assert m.variant_ == "head-tail" and m.weights_.shape == (20, 20) and len(m.active_) == 30
    X = (m.user_items_.toarray() > 0).astype(np.float64)
    counts = X.sum(axis=0)
    head_cols = np.sort(np.argsort(-counts[m.active_], kind="stable")[:20])
    np.testing.assert_array_equal(m.head_, m.active_[head_cols])  # the 20 most-interacted items
    Xh = X[:, m.head_]  # the head block is exact EASE over those items
    G = Xh.T @ Xh + 5.0 * np.eye(20)
    P = np.linalg.inv(G)
    B = -P / np.diag(P)[None, :]
    np.fill_diagonal(B, 0.0)
    np.testing.assert_allclose(m.weights_, B, atol=2e-4)
    # pairs with a tail item: first-order EASE G_ij / (G_ii + lambda), on the head's scale
    G_all = X.T @ X
    tail = np.setdiff1d(m.active_, m.head_)
    W = m.tail_weights_.toarray()
    pos = {item: p for p, item in enumerate(m.active_)}
    i, j = m.head_[0], tail[0]
    assert m.tail_scale_ > 0
    np.testing.assert_allclose(W[pos[i], pos[j]], m.tail_scale_ * G_all[i, j] / (G_all[i, i] + 5.0), rtol=1e-4)
    assert not W[np.ix_([pos[h] for h in m.head_], [pos[h] for h in m.head_])].any()  # the head block is exact
    # lists stay close to exact EASE's, and unsold items still score 0
    users = np.arange(40)
    top_exact = exact.recommend_index(users, 5)[0]
    top = m.recommend_index(users, 5)[0]
    overlap = np.mean([len(set(a) & set(b)) / 5 for a, b in zip(top_exact, top)])
    assert overlap >= 0.8, overlap
    unsold = m.items_.to_index([f"new{i}" for i in range(25)])
    assert not m.score_index(users)[:, unsold].any()
    m.save(tmp_path / "ht")
    loaded = Recommender.load(tmp_path / "ht")
    assert loaded.variant_ == "head-tail"
    np.testing.assert_allclose(loaded.score_index(users), m.score_index(users), atol=1e-6)


def test_top_per_column_keeps_the_largest_entries():
    import scipy.sparse as sp

    from recsys.models.sparse_items import top_per_column, top_per_row
    M = sp.random(50, 40, density=0.3, random_state=1, dtype=np.float32)
    D = M.toarray()
    T = top_per_column(M, 3).toarray()
    for c in range(40):
        nz = np.flatnonzero(D[:, c])
        keep = nz[np.argsort(-D[nz, c])[:3]]
        assert set(np.flatnonzero(T[:, c])) == set(keep)
        np.testing.assert_array_equal(T[keep, c], D[keep, c])
    R = top_per_row(M, 2).toarray()
    assert (np.count_nonzero(R, axis=1) == np.minimum(np.count_nonzero(D, axis=1), 2)).all()


def test_saved_and_loaded_and_old_full_matrices_still_load(shop, tmp_path):
    m = make_model("ease", lambda_=5.0).fit(shop)
    m.save(tmp_path / "m")
    loaded = Recommender.load(tmp_path / "m")
    np.testing.assert_array_equal(loaded.active_, m.active_)
    assert loaded.recommend(["u1", "u2"], k=5)[0].tolist() == m.recommend(["u1", "u2"], k=5)[0].tolist()
    # a model saved before active items were kept: a catalog x catalog matrix, no "active"
    full = np.zeros((55, 55), np.float32)
    full[np.ix_(m.active_, m.active_)] = m.weights_
    old = make_model("ease")
    old.restore(m.users_, m.items_, m.user_items_, {"weights": full})
    np.testing.assert_allclose(old.score_index(np.arange(40)), m.score_index(np.arange(40)), atol=1e-5)
