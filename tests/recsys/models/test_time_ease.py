"""time-ease: EASE on a Gram matrix with a time-proximity kernel, popularity-scaled ridge and rating confidence.

Anchored on the textbook closed form computed densely in float64 from the definition."""

import numpy as np
import pandas as pd
import pytest

from recsys.data import Catalog, Dataset, Interactions
from recsys.models import Recommender, make_model
from recsys.models.time_ease import TimeKernelEASERecommender

PATH = "recsys.models.time_ease:TimeKernelEASERecommender"


def _data(ratings: bool = False, timestamps: bool = True, seed: int = 5):
    """30 users x 6 of 20 sold items in two bursts (minutes apart, then days later); 5 unsold items."""
    rng = np.random.default_rng(seed)
    rows = []
    for u in range(30):
        t = 1_000_000_000 + u * 3600.0
        for k, i in enumerate(rng.choice(20, size=6, replace=False)):
            ts = t + k * 120.0 + (0 if k < 3 else 5 * 86400.0)
            rows.append((f"u{u}", f"s{i}", float(rng.integers(3, 6)) if ratings else 1.0, ts))
    df = pd.DataFrame(rows, columns=["user_id", "item_id", "weight", "timestamp"])
    if not timestamps:
        df = df.drop(columns="timestamp")
    cat = Catalog.from_frame(pd.DataFrame({"item_id": [f"new{i}" for i in range(5)] + [f"s{i}" for i in range(20)]}))
    return Dataset(cat, Interactions.from_frame(df))


def reference_scores(data, lam, gamma, mu, tau, alpha, center=3.0):
    """Dense float64 closed form over the items with interactions, straight from the definition."""
    X = data.matrix().toarray().astype(np.float64)
    t = data.recency().toarray().astype(np.float64) if mu else None
    vals = X[X > 0]
    C = np.where(X > 0, np.maximum(1 + alpha * (X - center), 0.1), 0.0) if alpha and np.ptp(vals) > 0 else (X > 0) * 1.0
    act = np.flatnonzero((X > 0).sum(0))
    G = C[:, act].T @ C[:, act]
    if mu:
        for u in range(X.shape[0]):
            it = act[np.flatnonzero(X[u, act] > 0)]
            K = np.exp(-np.abs(t[u, it][:, None] - t[u, it][None, :]) / (tau / 86400.0))
            w = C[u, it]
            pos = np.searchsorted(act, it)
            G[np.ix_(pos, pos)] += mu * K * w[:, None] * w[None, :]
    n = (X[:, act] > 0).sum(0).astype(np.float64)
    G[np.diag_indices(len(act))] += lam * (n / n.mean()) ** gamma
    P = np.linalg.inv(G)
    B = -P / np.diag(P)[None, :]
    np.fill_diagonal(B, 0.0)
    out = np.zeros_like(X)
    out[:, act] = C[:, act] @ B
    return out


def test_without_time_or_popularity_terms_it_is_ease():
    data = _data()
    m = make_model(PATH, lambda_=5.0, pop_exponent=0.0, time_weight=0.0).fit(data)
    e = make_model("ease", lambda_=5.0).fit(data)
    np.testing.assert_allclose(m.score_index(np.arange(30)), e.score_index(np.arange(30)), atol=2e-4)


@pytest.mark.parametrize("gamma,mu,tau", [(0.5, 1.0, 600.0), (0.0, 2.0, 60.0), (1.0, 0.5, 86400.0)])
def test_scores_match_the_closed_form_with_the_time_kernel(gamma, mu, tau):
    data = _data()
    m = make_model(PATH, lambda_=5.0, pop_exponent=gamma, time_weight=mu, time_scale=tau).fit(data)
    assert m.weights_.shape == (20, 20) and len(m.active_) == 20  # unsold items left out of the inverse
    want = reference_scores(data, 5.0, gamma, mu, tau, 0.0)
    np.testing.assert_allclose(m.score_index(np.arange(30)), want, atol=3e-4)
    unsold = m.items_.to_index([f"new{i}" for i in range(5)])
    assert not m.score_index(np.arange(30))[:, unsold].any()


def test_time_kernel_changes_the_model():
    data = _data()
    a = make_model(PATH, lambda_=5.0, time_weight=0.0).fit(data).weights_
    b = make_model(PATH, lambda_=5.0, time_weight=1.0).fit(data).weights_
    assert np.abs(a - b).max() > 1e-3


def test_rating_confidence_uses_ratings_and_ignores_binary_weights():
    rated = _data(ratings=True)
    m = make_model(PATH, lambda_=5.0, rating_alpha=0.5).fit(rated)
    np.testing.assert_allclose(m.score_index(np.arange(30)), reference_scores(rated, 5.0, 0.5, 1.0, 600.0, 0.5),
                               atol=3e-4)
    plain = make_model(PATH, lambda_=5.0, rating_alpha=0.0).fit(rated)
    assert np.abs(plain.weights_ - m.weights_).max() > 1e-3
    binary = _data(ratings=False)
    w0 = make_model(PATH, lambda_=5.0, rating_alpha=0.0).fit(binary).weights_
    w1 = make_model(PATH, lambda_=5.0, rating_alpha=0.5).fit(binary).weights_
    np.testing.assert_array_equal(w0, w1)  # all weights equal: confidence 1, not a rescaled ridge


def test_without_timestamps_the_time_term_is_left_out():
    data = _data(timestamps=False)
    m = make_model(PATH, lambda_=5.0, time_weight=1.0).fit(data)
    ref = make_model(PATH, lambda_=5.0, time_weight=0.0).fit(data)
    np.testing.assert_array_equal(m.weights_, ref.weights_)


def test_saved_and_loaded_without_pickle(tmp_path):
    data = _data(ratings=True)
    m = make_model(PATH, lambda_=5.0, rating_alpha=0.25).fit(data)
    m.save(tmp_path / "m")
    assert not list(tmp_path.glob("m/*.pkl"))
    loaded = Recommender.load(tmp_path / "m")
    assert isinstance(loaded, TimeKernelEASERecommender) and loaded.get_params() == m.get_params()
    np.testing.assert_array_equal(loaded.active_, m.active_)
    users = [f"u{i}" for i in range(5)]
    assert loaded.recommend(users, k=5)[0].tolist() == m.recommend(users, k=5)[0].tolist()
    np.testing.assert_allclose(loaded.score_index(np.arange(30)), m.score_index(np.arange(30)))


def test_recommendations_leave_out_seen_items():
    data = _data()
    m = make_model(PATH, lambda_=5.0).fit(data)
    ids, scores = m.recommend(["u0", "u1"], k=5)
    X = data.matrix()
    for row, u in zip(ids, ["u0", "u1"]):
        seen = set(data.items.to_ids(X[data.users.to_index(u)].indices))
        assert not seen & set(row)
    assert np.all(np.diff(scores, axis=1) <= 0)


@pytest.mark.parametrize("bad", [{"lambda_": 0}, {"time_weight": -1}, {"time_scale": 0}, {"rating_alpha": -0.1}])
def test_bad_parameters_are_rejected(bad):
    with pytest.raises(ValueError, match=next(iter(bad))):
        make_model(PATH, **bad).fit(_data())


def test_too_many_items_is_refused():
    with pytest.raises(ValueError, match=r"max_items=19.*time-ease.max_items=20"):
        make_model(PATH, max_items=19).fit(_data())
