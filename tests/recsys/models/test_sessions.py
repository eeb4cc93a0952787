"""Lists for anonymous sessions (``recommend_items_for``): the same lists as known users where the
model scores a history directly, and folded-in user vectors that agree with the trained ones."""

import numpy as np
import pytest
import scipy.sparse as sp

from recsys.data import UnknownIdError
from recsys.models import Recommender, make_model, model_names
from recsys.models.foldin import fold_in_als

FAST = {"als": {"progress": False, "iterations": 8}, "lightfm": {"progress": False, "epochs": 10},
        "hybrid": {"progress": False, "component_params": {"als-visual": {"iterations": 8}}},
        "ease": {"lambda_": 50.0}, "vbpr": {"progress": False, "epochs": 15},
        "als-visual": {"progress": False, "iterations": 8}}
#: models whose known-user scores are a function of the user's history: a session equal to that
#: history must get exactly the user's list
EXACT = ("popularity", "ease", "itemknn", "sequence-knn", "visual")


@pytest.fixture(scope="module")
def fitted(demo):
    return {n: make_model(n, **FAST.get(n, {})).fit(demo.dataset, demo.features) for n in model_names()}


def _histories(demo, users):
    X = demo.dataset.matrix()
    return [demo.dataset.items.to_ids(X[demo.dataset.users.to_index(u)].indices).tolist() for u in users]


def _overlap(a, b):
    return float(np.mean([len(set(x) & set(y)) / len(x) for x, y in zip(a, b)]))


def test_every_builtin_model_ranks_sessions(fitted):
    assert all(m.scores_sessions for m in fitted.values())


@pytest.mark.parametrize("name", EXACT)
def test_session_equal_to_history_gets_the_known_users_list(fitted, demo, name):
    m = fitted[name]
    users = demo.dataset.users.ids[:25]
    known_ids, known_sc = m.recommend(users, k=10)
    X = demo.dataset.matrix()
    weights = [dict(zip(demo.dataset.items.to_ids(X[demo.dataset.users.to_index(u)].indices),
                        X[demo.dataset.users.to_index(u)].data)) for u in users]
    ids, sc = m.recommend_items_for(weights, k=10)
    assert ids.tolist() == known_ids.tolist()
    np.testing.assert_allclose(sc, known_sc, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["als", "als-visual", "vbpr", "lightfm", "hybrid"])
def test_folded_in_lists_agree_with_the_trained_users(fitted, demo, name):
    """A fold-in of a user's own history lands near the trained user vector: the lists overlap far
    more than with the non-personal best-seller list."""
    m = fitted[name]
    users = demo.dataset.users.ids[:40]
    known, _ = m.recommend(users, k=10)
    session, sc = m.recommend_items_for(_histories(demo, users), k=10)
    popular, _ = fitted["popularity"].recommend(users, k=10)
    assert np.isfinite(sc).all()
    agree, base = _overlap(session, known), _overlap(popular, known)
    assert agree >= 0.5 and agree > base + 0.2, (agree, base)


def test_als_fold_in_solves_the_users_least_squares_problem(fitted):
    """implicit's solver against the normal equations written out:
    (Y'Y + reg I + sum (c_i - 1) y_i y_i') u = sum c_i y_i with c_i = alpha * w_i."""
    m = fitted["als"]
    Y = m.item_factors_.astype(np.float64)
    X = sp.csr_matrix((np.array([1.0, 2.0, 1.0], np.float32), ([0, 0, 0], [3, 10, 42])), shape=(1, m.n_items))
    conf = m._confidence_weights(X)
    u = fold_in_als(m.item_factors_, conf, m.regularization, m.alpha)[0]
    c = m.alpha * conf.data.astype(np.float64)
    A = Y.T @ Y + m.regularization * np.eye(Y.shape[1])
    for ci, i in zip(c, conf.indices):
        A += (ci - 1) * np.outer(Y[i], Y[i])
    b = (c[:, None] * Y[conf.indices]).sum(0)
    np.testing.assert_allclose(u, np.linalg.solve(A, b), rtol=1e-3, atol=1e-4)


def test_session_items_are_excluded_and_cold_items_can_be_shown(fitted, demo):
    m = fitted["visual"]
    cold = demo.dataset.items.to_ids(demo.dataset.cold_items()).tolist()
    session = cold[:3]  # a visitor who looked at new arrivals only
    ids, _ = m.recommend_items_for([session], k=20)
    assert not set(session) & set(ids[0])
    assert set(ids[0]) & set(cold)  # photo-only items are recommended from the session
    kept, _ = m.recommend_items_for([session], k=20, exclude_seen=False)
    assert set(session) <= set(kept[0])
    only, _ = m.recommend_items_for([session], k=5, items=cold[3:50], exclude_items=[cold[3:10]])
    assert set(only[0]) <= set(cold[10:50])


def test_unknown_session_items_are_named_or_ignored(fitted, demo):
    m = fitted["ease"]
    known = demo.dataset.items.ids[0]
    with pytest.raises(UnknownIdError, match="ghost-item"):
        m.recommend_items_for([[known, "ghost-item"]], k=5)
    a, _ = m.recommend_items_for([[known, "ghost-item"]], k=5, on_unknown="ignore")
    b, _ = m.recommend_items_for([[known]], k=5)
    assert a.tolist() == b.tolist()
    X, unknown = m.history_matrix([[known, "ghost-item"], []], on_unknown="ignore")
    assert unknown == [["ghost-item"], []] and X.shape == (2, m.n_items)
    with pytest.raises(TypeError, match="list of histories"):
        m.recommend_items_for("abc", k=5)
    with pytest.raises(ValueError, match="positive number"):
        m.recommend_items_for([{known: -1}], k=5)


def test_an_empty_session_gets_a_full_list(fitted):
    ids, sc = fitted["hybrid"].recommend_items_for([[]], k=10)
    assert ids.shape == (1, 10) and all(i is not None for i in ids[0])


def test_a_model_without_session_scoring_names_those_that_can(demo):
    class Fixed(Recommender):
        name = "fixed-test"

        def __init__(self):
            pass

        def _fit(self, user_items, features):
            self.s_ = np.arange(user_items.shape[1], dtype=np.float32)

        def _score(self, user_index):
            return np.tile(self.s_, (len(user_index), 1))

    m = Fixed().fit(demo.dataset)
    assert not m.scores_sessions
    with pytest.raises(NotImplementedError, match="cannot rank items for a session.*ease.*visual"):
        m.recommend_items_for([[demo.dataset.items.ids[0]]], k=3)


def test_sessions_survive_save_and_load(fitted, demo, tmp_path):
    m = fitted["vbpr"]
    m.save(tmp_path / "m")
    m2 = Recommender.load(tmp_path / "m")
    h = _histories(demo, demo.dataset.users.ids[:5])
    a, sa = m.recommend_items_for(h, k=10)
    b, sb = m2.recommend_items_for(h, k=10)
    assert a.tolist() == b.tolist()
    np.testing.assert_allclose(sa, sb, rtol=1e-4)


def test_bpr_fold_in_reaches_the_optimum_of_the_pairwise_loss():
    """At the folded-in vector the gradient of the BPR loss over every (history item, negative)
    pair -- written out pair by pair -- vanishes."""
    from recsys.models.foldin import fold_in_bpr
    rng = np.random.default_rng(1)
    Q, b = rng.normal(size=(3000, 40)), rng.normal(size=3000) * 0.1
    pos = rng.choice(3000, 30, replace=False)
    X = sp.csr_matrix((np.ones(30), (np.zeros(30, int), pos)), shape=(1, 3000))
    u = fold_in_bpr(Q, b, X, reg=0.01, n_negatives=256, random_state=0)[0].astype(np.float64)
    neg = np.setdiff1d(np.random.default_rng(0).choice(3000, 256, replace=False), pos)
    D = (Q[pos][:, None, :] - Q[neg][None, :, :]).reshape(-1, 40)
    db = (b[pos][:, None] - b[neg][None, :]).ravel()
    s = 1.0 / (1.0 + np.exp(D @ u + db))
    grad = -(D.T @ s) / len(D) + 2 * 0.01 * u
    assert np.abs(grad).max() < 1e-5 and np.abs(u).max() > 0.1
