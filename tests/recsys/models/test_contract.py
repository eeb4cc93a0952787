import numpy as np
import pandas as pd
import pytest

from recsys.data import Catalog, Dataset, Interactions, UnknownIdError
from recsys.models import Recommender, make_model, model_names

MODELS = model_names()

FAST = {"als": {"progress": False, "iterations": 8}, "lightfm": {"progress": False, "epochs": 10},
        "hybrid": {"progress": False, "component_params": {"als-visual": {"iterations": 8}}}, "ease": {"lambda_": 50.0},
        "vbpr": {"progress": False, "epochs": 15}, "als-visual": {"progress": False, "iterations": 8}}
VISUAL = ("visual", "hybrid", "lightfm", "vbpr", "als-visual")


@pytest.fixture(scope="module")
def fitted(demo):
    return {n: make_model(n, **FAST.get(n, {})).fit(demo.dataset, demo.features) for n in MODELS}


@pytest.mark.parametrize("name", list(MODELS))
def test_recommend_contract(fitted, demo, name):
    m = fitted[name]
    users = demo.dataset.users.ids[:5]
    ids, scores = m.recommend(users, k=7)
    assert ids.shape == scores.shape == (5, 7)
    assert all(isinstance(i, str) for i in ids.ravel())
    assert (np.diff(scores, axis=1) <= 1e-6).all()  # best first
    X = demo.dataset.matrix()
    for u, row in zip(users, ids):
        seen = set(demo.dataset.items.to_ids(X[demo.dataset.users.to_index(u)].indices))
        assert not seen & set(row)
    one_ids, one_scores = m.recommend(users[0], k=7)
    assert one_ids.tolist() == ids[0].tolist()
    with pytest.raises(UnknownIdError, match="ghost"):
        m.recommend(["ghost"], k=3)


@pytest.mark.parametrize("name", list(MODELS))
def test_clone_and_second_fit(fitted, demo, name):
    """sklearn contract: a clone has equal parameters and no learned state; set_params changes
    what the next fit does; a second fit learns afresh (here on a third of the users)."""
    from recsys.models import clone
    m = fitted[name]
    c = clone(m)
    assert type(c) is type(m) and repr(c) == repr(m) and not hasattr(c, "user_items_")
    with pytest.raises(ValueError, match="has no parameter 'nope'"):
        c.set_params(nope=1)
    keep = demo.dataset.users.ids[::3]
    df = demo.interactions.df
    small = Dataset(demo.catalog, Interactions.from_frame(df[df["user_id"].isin(set(keep))]))
    c.fit(small, demo.features)
    assert len(c.users_) == len(keep) < len(m.users_)
    c.fit(demo.dataset, demo.features)  # refits: the full user set again
    assert len(c.users_) == len(m.users_)
    assert c.user_items_.nnz == m.user_items_.nnz


def test_set_params_reaches_the_next_fit(demo):
    m = make_model("ease", lambda_=50.0).fit(demo.dataset)
    w_before = m.weights_.copy()
    m.set_params(lambda_=5000.0).fit(demo.dataset)
    assert m.lambda_ == 5000.0 and np.abs(m.weights_).sum() < np.abs(w_before).sum()


@pytest.mark.parametrize("name", list(MODELS))
def test_save_load_roundtrip(fitted, demo, tmp_path, name):
    m = fitted[name]
    m.save(tmp_path / name)
    assert not list(tmp_path.glob(".*"))  # no temp folder left
    m2 = Recommender.load(tmp_path / name)
    users = demo.dataset.users.ids[:20]
    a, sa = m.recommend(users, k=10)
    b, sb = m2.recommend(users, k=10)
    np.testing.assert_allclose(sa, sb, rtol=1e-5)
    assert (a == b).mean() > 0.95  # only exact ties may reorder
    if name not in ("popularity", "ease", "time-ease"):  # EASE's family has no item vectors
        assert m2.similar_items(demo.dataset.items.ids[:3], k=5)[0].shape == (3, 5)


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_saved_files_follow_the_umask(fitted, tmp_path, umask):
    """A saved model's files get the permissions any file written under the caller's umask gets
    (not the 0600 of a temp file): readable by the group and others under 022, private under 077."""
    import os
    old = os.umask(umask)
    try:
        fitted["popularity"].save(tmp_path / "m")
    finally:
        os.umask(old)
    for f in ("model.json", "state.npz", "users.json"):
        assert (tmp_path / "m" / f).stat().st_mode & 0o777 == 0o666 & ~umask, f
    assert (tmp_path / "m").stat().st_mode & 0o777 == 0o777 & ~umask


def _preferred_precision(model, demo, k=10):
    cold = demo.catalog.df.loc[demo.catalog.df["new_arrival"].astype(int) == 1, "item_id"].tolist()
    cat = dict(zip(demo.catalog.df["item_id"], demo.catalog.df["category"]))
    ids, _ = model.recommend(demo.shoppers["user_id"], k=k, items=cold)
    return np.mean([[cat[i] in p.split("|") for i in row]
                    for row, p in zip(ids, demo.shoppers["preferred_categories"])])


def test_planted_preferences_recovered_on_cold_items(fitted, demo):
    """Shoppers' planted category tastes: visual models rank the new arrivals (photo only, no
    interactions) of those categories first; pure CF cannot (chance is ~0.15)."""
    prec = {n: _preferred_precision(fitted[n], demo) for n in VISUAL + ("als", "popularity")}
    assert prec["visual"] > 0.6 and prec["hybrid"] > 0.6 and prec["lightfm"] > 0.5, prec
    assert prec["vbpr"] > 0.6 and prec["als-visual"] > 0.6, prec
    assert prec["als"] < 0.3 and prec["popularity"] < 0.3, prec
    assert _preferred_precision(fitted["ease"], demo) < 0.3 and _preferred_precision(fitted["itemknn"], demo) < 0.3


def test_similar_items_cover_cold_items(fitted, demo):
    df = demo.catalog.df
    cold = df.loc[df["new_arrival"].astype(int) == 1, "item_id"].tolist()[:20]
    cat = dict(zip(df["item_id"], df["category"]))
    for name in VISUAL:
        ids, scores = fitted[name].similar_items(cold, k=5)
        assert np.isfinite(scores).all() and not any(c in row for c, row in zip(cold, ids))
        same = np.mean([[cat[j] == cat[c] for j in row] for c, row in zip(cold, ids)])
        assert same > 0.5, (name, same)
    # every item, cold ones included, appears as a neighbour of some item in the visual feed
    ids, _ = fitted["visual"].similar_items(df["item_id"], k=10)
    assert len(set(ids.ravel()) & set(cold)) >= 15


def test_fit_validation(demo):
    with pytest.raises(ValueError, match="features"):
        make_model("visual").fit(demo.dataset)
    with pytest.raises(TypeError, match="Dataset"):
        make_model("als").fit(demo.dataset.matrix())
    with pytest.raises(ValueError, match="unknown model 'deepfm'; choose from popularity, .*, hybrid"):
        make_model("deepfm")
    with pytest.raises(RuntimeError, match="not fitted"):
        make_model("popularity").recommend(["u"], k=1)


def test_items_without_vector_rank_last():
    from features import ItemFeatures
    cat = Catalog.from_frame(pd.DataFrame({"item_id": list("abcd")}))
    inter = Interactions.from_frame(pd.DataFrame({"user_id": ["u", "v", "v"], "item_id": ["a", "b", "d"]}))
    v = np.array([[1, 0], [0.9, 0.1], [0.8, 0.2], [0, 0]], np.float32)
    f = ItemFeatures(v, np.array([True, True, True, False]))
    m = make_model("visual").fit(Dataset(cat, inter), f)
    ids, _ = m.recommend(["u"], k=3)
    assert ids[0].tolist() == ["b", "c", "d"]
    ids, sc = m.similar_items(["d"], k=2)
    assert ids.tolist() == [[None, None]] and np.isneginf(sc).all()


@pytest.mark.parametrize("name", VISUAL)
def test_photo_search_finds_the_pictured_item(fitted, demo, tmp_path, name, embedder):
    from recsys.search import PhotoSearch
    fitted[name].save(tmp_path / name)
    model = Recommender.load(tmp_path / name)
    search = PhotoSearch(model, embedder)
    ids, scores = search.search([demo.dir / "images" / "fm0123.png", demo.dir / "images" / "fm0950.png"], k=3)
    assert ids[:, 0].tolist() == ["fm0123", "fm0950"] and scores[0, 0] > 0.99


def test_photo_search_refuses_mismatched_embedder(fitted):
    from recsys.search import PhotoSearch
    from visual import ImageEmbedder
    with pytest.raises(ValueError, match="preprocess"):
        PhotoSearch(fitted["visual"], ImageEmbedder(preprocess="center_crop", progress=False))
    with pytest.raises(ValueError, match="does not use images"):
        PhotoSearch(fitted["als"])


def test_ease_and_itemknn_beat_popularity_on_the_demo(demo):
    from evaluation import Experiment, random_split
    split = random_split(demo.interactions, 0.2, random_state=0)
    models = {n: make_model(n, **FAST.get(n, {})) for n in ("popularity", "ease", "itemknn")}
    m = Experiment(models, split, demo.catalog, verbose=False).run().means()
    assert m["ease"]["ndcg@10"] > m["popularity"]["ndcg@10"] * 1.5
    assert m["itemknn"]["ndcg@10"] > m["popularity"]["ndcg@10"] * 1.5


def test_visual_kernel_cache_gives_the_same_scores(fitted, demo):
    m = fitted["visual"]
    users = np.arange(40)
    cached = m.score_index(users)
    m.kernel_cache_items = 0  # large-catalog path: kernel blocks computed per batch of users
    try:
        streamed = m.score_index(users)
    finally:
        del m.kernel_cache_items
    np.testing.assert_allclose(cached, streamed, rtol=1e-4, atol=1e-4)


def _without_new_arrivals(demo):
    df = demo.catalog.df
    new = df["new_arrival"].astype(int) == 1
    old_ds = Dataset(Catalog.from_frame(df[~new]), demo.interactions)
    pos = {k: i for i, k in enumerate(demo.dataset.items.ids)}
    old_f = demo.features.subset([pos[i] for i in old_ds.items.ids])
    new_ids = df.loc[new, "item_id"].tolist()
    return old_ds, old_f, new_ids, demo.features.subset([pos[i] for i in new_ids])


@pytest.mark.parametrize("name", VISUAL)
def test_add_items_makes_new_arrivals_recommendable_without_refit(demo, tmp_path, name):
    """Items that did not exist at fit time, added with only their photo vectors, are ranked
    by the shoppers' planted tastes and appear in similar-item feeds; the model still saves."""
    old_ds, old_f, new_ids, new_f = _without_new_arrivals(demo)
    m = make_model(name, **FAST.get(name, {})).fit(old_ds, old_f)
    assert not any(i in m.items_ for i in new_ids)
    m.add_items(new_ids, new_f)
    assert len(m.items_) == old_ds.n_items + len(new_ids)
    assert _preferred_precision(m, demo) > (0.5 if name == "lightfm" else 0.6)
    cat = dict(zip(demo.catalog.df["item_id"], demo.catalog.df["category"]))
    ids, scores = m.similar_items(new_ids[:20], k=5)
    assert np.isfinite(scores).all()
    assert np.mean([[cat[j] == cat[c] for j in row] for c, row in zip(new_ids[:20], ids)]) > 0.5
    m.save(tmp_path / name)
    m2 = Recommender.load(tmp_path / name)
    a, _ = m.recommend(demo.shoppers["user_id"][:10], k=5, items=new_ids)
    b, _ = m2.recommend(demo.shoppers["user_id"][:10], k=5, items=new_ids)
    assert (a == b).mean() > 0.95
    with pytest.raises(ValueError, match="already in the model"):
        m.add_items(new_ids[:1], new_f.subset([0]))
    with pytest.raises(ValueError, match="one feature row per new item"):
        m.add_items(["brand-new"], new_f.subset([0, 1]))


def test_add_items_refused_by_pure_collaborative_models(demo):
    old_ds, old_f, new_ids, new_f = _without_new_arrivals(demo)
    m = make_model("als", progress=False, iterations=2).fit(old_ds)
    with pytest.raises(NotImplementedError, match="cannot score items without interactions"):
        m.add_items(new_ids, new_f)
    assert len(m.items_) == old_ds.n_items  # nothing half-added


def test_vbpr_content_part_alone_ranks_by_taste(fitted, demo):
    """VBPR's score of an item with no id embedding comes from its image alone: shoppers'
    planted categories outrank others among the new arrivals, and training loss went down."""
    m = fitted["vbpr"]
    assert m.loss_history_[-1] < m.loss_history_[0] * 0.9  # hard negatives keep the loss from falling far
    cold = demo.dataset.items.to_index(demo.catalog.df.loc[demo.catalog.df["new_arrival"].astype(int) == 1,
                                                            "item_id"].tolist())
    assert not m.item_factors_[cold].any() and not m.item_bias_[cold].any()
