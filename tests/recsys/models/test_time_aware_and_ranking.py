"""Time-aware baselines, the hybrid's temporal validation, MMR re-ranking and the torch top-k path."""

import numpy as np
import pandas as pd
import pytest

from recsys.data import Catalog, Dataset, Interactions
from recsys.models import Recommender, make_model
from recsys.models.rerank import mmr_rerank

DAY = 86400


def _shop():
    """6 items; u bought a (60 days ago) and b (yesterday); a, c sold a lot long ago, d sells now."""
    cat = Catalog.from_frame(pd.DataFrame({"item_id": list("abcdef")}))
    rows = [("u", "a", 0), ("u", "b", 59)]
    rows += [(f"old{i}", it, 1) for i in range(6) for it in "ac"]
    rows += [(f"new{i}", "d", 58) for i in range(3)]
    df = pd.DataFrame(rows, columns=["user_id", "item_id", "day"])
    df["timestamp"] = 1_600_000_000 + df.pop("day") * DAY
    return Dataset(cat, Interactions.from_frame(df))


def test_recency_matrix_counts_days_from_the_last_event():
    data = _shop()
    R = data.recency().toarray()
    u, a, b = data.users.to_index("u"), data.items.to_index("a"), data.items.to_index("b")
    assert R[u, b] == pytest.approx(1.0) and R[u, a] == pytest.approx(60.0)
    assert (R > 0).sum() == data.matrix().nnz  # same pattern as the interaction matrix


def test_recent_popularity_and_repurchase(tmp_path):
    data = _shop()
    pop = make_model("recent-popularity", window_days=7).fit(data)
    assert pop.recommend("old0", k=1, exclude_seen=False)[0][0] == "d"  # what sells now, not all-time "a"
    rep = make_model("repurchase", window_days=7).fit(data)
    ids, _ = rep.recommend("u", k=3, exclude_seen=False)
    assert ids.tolist() == ["b", "a", "d"]  # own items, latest first, then what sells now
    rep.save(tmp_path / "rep")
    assert Recommender.load(tmp_path / "rep").recommend("u", k=3, exclude_seen=False)[0].tolist() == ["b", "a", "d"]


def _taste_shift_shop():
    """80 shoppers bought 8 of 10 unrelated best sellers early on and one item of their style
    (4 styles of 6 visually close items); in the last weeks each buys another item of that style."""
    from features import ItemFeatures
    rng = np.random.default_rng(0)
    hits = [f"hit{i}" for i in range(10)]
    styles = [[f"s{s}_{j}" for j in range(6)] for s in range(4)]
    items = hits + [i for st in styles for i in st]
    centres = rng.standard_normal((4, 16))
    vecs = np.vstack([rng.standard_normal((10, 16))] + [c + 0.1 * rng.standard_normal((6, 16)) for c in centres])
    rows = []
    for u in range(80):
        st = styles[u % 4]
        early, late = rng.choice(6, 2, replace=False)
        rows += [(f"u{u}", h, int(d)) for h, d in zip(rng.choice(hits, 8, replace=False), rng.integers(0, 30, 8))]
        rows += [(f"u{u}", st[early], 10), (f"u{u}", st[late], 95)]
    df = pd.DataFrame(rows, columns=["user_id", "item_id", "day"])
    df["timestamp"] = 1_600_000_000 + df.pop("day") * DAY
    data = Dataset(Catalog.from_frame(pd.DataFrame({"item_id": items})), Interactions.from_frame(df))
    return data, ItemFeatures(vecs.astype(np.float32), np.ones(len(items), bool))


def test_hybrid_temporal_validation_learns_weights_on_the_last_weeks(demo):
    """Early on everyone buys best sellers, lately each buys by visual taste: the blend learned on
    the last weeks puts the visual part first, the one learned on random held-out items does not."""
    data, feats = _taste_shift_shop()
    kw = dict(components=("popularity", "visual"), weight_grid=(0.0, 0.25, 1.0, 4.0), progress=False)
    recent = make_model("hybrid", validation="temporal", validation_days=20, **kw).fit(data, feats)
    assert recent.weights_[1] > recent.weights_[0] and recent.validation_ndcg_ > 0
    anytime = make_model("hybrid", validation="random", validation_fraction=0.3, **kw).fit(data, feats)
    assert anytime.weights_[0] > anytime.weights_[1]
    with pytest.raises(ValueError, match="timestamps"):
        no_time = Interactions.from_frame(demo.interactions.df[["user_id", "item_id"]])
        make_model("hybrid", components=("popularity", "visual"), validation="temporal").fit(
            Dataset(demo.catalog, no_time), demo.features)


def test_hybrid_cold_item_validation_weights_the_image_part(demo):
    """validation="cold-items": items are held out whole and users rank only them, so the blend is
    learned for photo-only items: popularity is flat there and the image part must carry it."""
    m = make_model("hybrid", components=("popularity", "visual"), validation="cold-items",
                   validation_fraction=0.3, progress=False).fit(demo.dataset, demo.features)
    assert m.weights_[1] > 0 and m.validation_ndcg_ > 0.05
    with pytest.raises(ValueError, match="'cold-items'"):
        make_model("hybrid", validation="items").fit(demo.dataset, demo.features)


def test_mmr_rerank_trades_relevance_for_diversity():
    rng = np.random.default_rng(0)
    # items 0..9 are near-duplicates of one look, 10..19 of another
    base = rng.standard_normal((2, 16))
    V = np.vstack([base[0] + 0.05 * rng.standard_normal((10, 16)), base[1] + 0.05 * rng.standard_normal((10, 16))])
    V /= np.linalg.norm(V, axis=1, keepdims=True)
    items = np.arange(20)[None, :]
    scores = np.linspace(1.0, 0.5, 20)[None, :]  # look 1 is ranked first
    same, _ = mmr_rerank(items, scores, V, 4, 0.0)
    assert same.tolist() == [[0, 1, 2, 3]]
    div, _ = mmr_rerank(items, scores, V, 4, 0.7)
    assert div[0, 0] == 0 and (div[0] >= 10).sum() >= 1  # the other look makes the list
    with pytest.raises(ValueError):
        mmr_rerank(items, scores, V, 4, 1.5)


def test_hybrid_diversity_option_lowers_intra_list_similarity(demo):
    kw = dict(components=("als-visual", "visual"), weights=(1.0, 1.0), progress=False)
    plain = make_model("hybrid", **kw).fit(demo.dataset, demo.features)
    varied = make_model("hybrid", diversity=0.5, **kw).fit(demo.dataset, demo.features)
    users = np.arange(50)
    V = demo.features.vectors

    def ild(model):
        idx, _ = model.recommend_index(users, 10)
        E = V[idx]
        S = np.einsum("nid,njd->nij", E, E)
        return float((S.sum(axis=(1, 2)) - 10).mean() / 90)

    assert ild(varied) < ild(plain) - 0.02


def test_torch_topk_path_matches_numpy(demo):
    """The GPU code path (torch), run here on the CPU, returns the same lists as numpy."""
    m = make_model("als", progress=False, iterations=3).fit(demo.dataset)
    users = np.arange(30)
    a, sa = m.recommend_index(users, 10)
    b, sb = m.recommend_index(users, 10, device="cpu:0")
    np.testing.assert_allclose(sa, sb, rtol=1e-5)
    assert (a == b).mean() > 0.95
    c, sc = m.recommend_index(users, 10, device="cpu:0", precision="bfloat16")
    assert np.mean([len(set(x) & set(y)) / 10 for x, y in zip(a, c)]) > 0.8
    with pytest.raises(ValueError, match="no factor form"):
        make_model("visual").fit(demo.dataset, demo.features).recommend_index(users, 5, device="cpu:0")


def test_hybrid_rejects_unknown_components(demo):
    with pytest.raises(ValueError, match="unknown hybrid component.*deepfm.*choose from.*sequence-knn"):
        make_model("hybrid", components=("als", "deepfm")).fit(demo.dataset, demo.features)
    with pytest.raises(ValueError, match="weights"):
        make_model("hybrid", components=("als", "visual"), weights=(1.0,)).fit(demo.dataset, demo.features)


def test_vbpr_rejects_bad_settings_at_fit(demo):
    m = make_model("vbpr", content_dropout=1.0)
    assert m.content_dropout == 1.0  # stored unchanged; checked by fit
    with pytest.raises(ValueError, match="content_dropout"):
        m.fit(demo.dataset, demo.features)
    with pytest.raises(ValueError, match="n_negatives"):
        make_model("vbpr", n_negatives=0).fit(demo.dataset, demo.features)


def _has_cuda():
    import torch
    return torch.cuda.is_available()


@pytest.mark.skipif(_has_cuda(), reason="a CUDA device is present: vbpr trains on it instead of refusing")
def test_vbpr_on_cuda_without_a_gpu_says_so(demo):
    with pytest.raises(ValueError, match="CUDA"):
        make_model("vbpr", device="cuda", progress=False).fit(demo.dataset, demo.features)


def test_sparse_dense_product_matches_scipy_in_both_precisions():
    """EASE and the visual kernel score through `sparse_dense`: torch's CSR kernel (float32) must
    equal scipy's product, and the bfloat16 path must stay within bf16 rounding."""
    import scipy.sparse as sp
    from recsys.models.linalg import get_precision, matmul_precision, sparse_dense
    rng = np.random.default_rng(0)
    X = sp.random(300, 500, density=0.2, format="csr", dtype=np.float32, random_state=0)  # > 20k nnz: torch
    D = rng.standard_normal((500, 64)).astype(np.float32)
    ref = X @ D
    np.testing.assert_allclose(sparse_dense(X, D), ref, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(sparse_dense(X[:5], D), ref[:5], rtol=1e-4, atol=1e-4)  # small: scipy
    with matmul_precision("bfloat16"):
        assert get_precision() == "bfloat16"
        low = sparse_dense(X, D)
    assert get_precision() == "float32"
    assert low.dtype == np.float32 and np.abs(low - ref).max() < 0.02 * np.abs(ref).max()
    with pytest.raises(ValueError, match="precision must be one of"):
        with matmul_precision("float16"):
            pass


def test_bfloat16_scoring_keeps_the_lists(demo):
    """`recommend(..., precision="bfloat16")` (the fast list-job path) ranks as float32 does."""
    for name in ("ease", "visual"):
        m = make_model(name).fit(demo.dataset, demo.features)
        users = np.arange(demo.dataset.n_users)
        a, sa = m.recommend_index(users, 10)
        b, sb = m.recommend_index(users, 10, precision="bfloat16")
        assert np.mean([len(set(x) & set(y)) / 10 for x, y in zip(a, b)]) > 0.9, name
        np.testing.assert_allclose(sb, sa, rtol=0.02, atol=0.02 * np.abs(sa).max())


def test_sequence_knn_follows_what_users_take_next(tmp_path):
    """Shoppers walk a ring of 40 items in order, each from a random start, taking all 40: plain
    co-occurrence relates every pair equally (itemknn cannot tell them apart), sequence neighbours
    (window 1) relate only consecutive items, so a user holding 10..14 is offered 9 and 15."""
    n, rng = 40, np.random.default_rng(0)
    cat = Catalog.from_frame(pd.DataFrame({"item_id": [f"i{j:02d}" for j in range(n)]}))
    rows = [(f"u{k}", f"i{(s + p) % n:02d}", 1_600_000_000 + k * DAY + p * 60)
            for k, s in enumerate(rng.integers(0, n, 200)) for p in range(n)]
    rows += [("me", f"i{p:02d}", 1_700_000_000 + p * 60) for p in range(10, 15)]
    data = Dataset(cat, Interactions.from_frame(pd.DataFrame(rows, columns=["user_id", "item_id", "timestamp"])))
    knn = make_model("itemknn", k=n).fit(data).similarity_.toarray()
    assert np.ptp(knn[~np.eye(n, dtype=bool)]) < 0.01  # (almost) no signal without the order
    m = make_model("sequence-knn", window=1).fit(data)
    ids, _ = m.recommend("me", k=2)
    assert set(ids) == {"i09", "i15"}
    later, _ = m.recommend("me", k=2, exclude_items={"me": ["i09", "i15"], "nobody": ["i01"]})
    assert not {"i09", "i15"} & set(later)  # returned / disliked pairs never come back
    sim, _ = m.similar_items("i20", k=2)
    assert set(sim) == {"i19", "i21"}
    m.save(tmp_path / "seq")
    assert set(Recommender.load(tmp_path / "seq").recommend("me", k=2)[0]) == {"i09", "i15"}
    no_time = pd.DataFrame(rows, columns=["user_id", "item_id", "t"])[["user_id", "item_id"]]
    no_time = Dataset(cat, Interactions.from_frame(no_time))
    with pytest.raises(ValueError, match="need a timestamp column"):
        make_model("sequence-knn").fit(no_time)
    with pytest.raises(ValueError, match="window must be"):
        make_model("sequence-knn", window=0).fit(data)
