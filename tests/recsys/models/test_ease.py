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
    make_model("ease", lambda_=5.0, max_items=30).fit(shop)  # 55 catalog items, 30 with interactions
    with pytest.raises(ValueError, match=r"30x30 inverse .* the 30 items with interactions, more than max_items=29.*"
                                         r"--param ease.max_items=30"):
        make_model("ease", lambda_=5.0, max_items=29).fit(shop)


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
