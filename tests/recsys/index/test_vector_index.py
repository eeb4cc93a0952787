"""VectorIndex: the kind chosen by size, measured recall, filters inside the search, saved and
loaded without a rebuild."""

import numpy as np
import pytest

from recsys.index import IndexFileError, IndexRecallWarning, VectorIndex, choose_kind
from recsys.index.kinds import EXACT_MAX_CELLS

APPROX = ("hnsw", "hnsw-sq8", "ivf-sq8")


@pytest.fixture(scope="module")
def data():
    """Clustered unit vectors (as image embeddings are), some items without a vector."""
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((150, 48)).astype(np.float32)
    X = centres[rng.integers(0, 150, 12000)] + 0.35 * rng.standard_normal((12000, 48)).astype(np.float32)
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    present = np.ones(len(X), bool)
    present[::9] = False
    return X, present


@pytest.fixture(scope="module")
def exact(data):
    return VectorIndex(*data, kind="flat")


@pytest.fixture(scope="module", params=APPROX)
def approx(request, data):
    return VectorIndex(*data, kind=request.param)


def _overlap(a, b):
    return np.mean([len(set(x[x >= 0]) & set(y[y >= 0])) / max(1, (y >= 0).sum()) for x, y in zip(a, b)])


def test_auto_is_exact_for_small_catalogs_and_approximate_by_size():
    assert choose_kind(1000, 1280) == "flat" and choose_kind(EXACT_MAX_CELLS // 1280, 1280) == "flat"
    assert choose_kind(100_000, 1280) == "hnsw"
    # 1M x 1280-d: raw vectors (5.1 GB) exceed 1.5 GB, 8-bit codes with a degree-24 graph (1.49 GB) fit
    assert choose_kind(1_000_000, 1280) == "hnsw-sq8"
    assert choose_kind(1_000_000, 1280, memory_budget=1_000_000_000) == "ivf-sq8"
    assert choose_kind(3_000_000, 1280) == "ivf-sq8"
    assert choose_kind(1_000_000, 128, memory_budget=2_000_000_000) == "hnsw"
    small = VectorIndex(np.eye(20, dtype=np.float32))
    assert small.kind_ == "flat" and small.recall_ == 1.0


def test_approximate_index_measures_recall_and_finds_the_exact_neighbours(data, exact, approx):
    X, present = data
    assert approx.recall_ >= 0.95 and approx.knob_ is not None
    d = approx.describe()
    assert d["kind"] == approx.kind_ and d["n"] == present.sum() and d["recall@10"] == round(approx.recall_, 4)
    items = np.flatnonzero(present)[:300]
    got, scores = approx.search_items(items, 10)
    want, _ = exact.search_items(items, 10)
    assert _overlap(got, want) >= 0.95
    assert not (got == items[:, None]).any()  # never the item itself
    assert present[got].all() and np.all(np.diff(scores, axis=1) <= 1e-6)
    empty, _ = approx.search_items(np.flatnonzero(~present)[:3], 10)
    assert (empty == -1).all()  # items without a vector get no neighbours


def test_an_unreachable_recall_floor_warns_and_keeps_the_widest_setting(data):
    with pytest.warns(IndexRecallWarning, match="recall@10"):
        ix = VectorIndex(*data, kind="hnsw", recall_floor=1.01)
    assert ix.knob_ == 1024 or ix.recall_ == max(ix.recall_, 0)


@pytest.mark.parametrize("share", [0.003, 0.05, 0.6])
def test_filters_apply_inside_the_search_and_still_give_k(data, exact, approx, share):
    X, present = data
    rng = np.random.default_rng(1)
    allowed = rng.random(len(X)) < share
    q = np.flatnonzero(present)[:40]
    got, _ = approx.search(X[q], 10, exclude=q, allowed=allowed)
    want, _ = exact.search(X[q], 10, exclude=q, allowed=allowed)
    n_ok = (allowed & present).sum()
    assert n_ok >= 11
    assert (got >= 0).all(), "a filtered query came back short although enough items are allowed"
    assert allowed[got].all() and present[got].all() and not (got == q[:, None]).any()
    assert _overlap(got, want) >= 0.9


def test_fewer_allowed_than_k_returns_all_of_them(data, approx):
    X, present = data
    allowed = np.zeros(len(X), bool)
    keep = np.flatnonzero(present)[[5, 50, 500]]
    allowed[keep] = True
    got, scores = approx.search(X[:2], 10, allowed=allowed)
    assert {frozenset(r[r >= 0]) for r in got} == {frozenset(keep)}
    assert np.isinf(scores[:, 3:]).all()


def test_saved_index_loads_without_rebuilding(data, approx, tmp_path, monkeypatch):
    import faiss
    X, present = data
    approx.save(tmp_path / "ix")

    def no_build(*a, **k):
        raise AssertionError("the index was rebuilt instead of read")

    monkeypatch.setattr(faiss, "index_factory", no_build)
    loaded = VectorIndex.load(tmp_path / "ix", X, present)
    assert loaded.describe() == approx.describe()
    a = loaded.search(X[:50], 10)[0]
    assert (a == approx.search(X[:50], 10)[0]).all()


def test_a_damaged_or_foreign_index_is_refused(data, approx, tmp_path):
    X, present = data
    approx.save(tmp_path / "ix")
    other = X.copy()
    other[1000] = -other[1000]  # one vector changed
    with pytest.raises(IndexFileError, match="other vectors"):
        VectorIndex.load(tmp_path / "ix", other, present)
    f = tmp_path / "ix" / "index.faiss"
    raw = bytearray(f.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    f.write_bytes(bytes(raw))
    with pytest.raises(IndexFileError, match="index.faiss: checksum"):
        VectorIndex.load(tmp_path / "ix", X, present)
    (tmp_path / "ix" / "index.json").write_text("{")
    with pytest.raises(IndexFileError, match="index.json: not valid JSON"):
        VectorIndex.load(tmp_path / "ix", X, present)


def test_a_flat_index_is_memory_mapped(data, exact, tmp_path):
    X, present = data
    exact.save(tmp_path / "flat")
    loaded = VectorIndex.load(tmp_path / "flat", X, present, mmap=True)
    assert (loaded.search(X[:10], 5)[0] == exact.search(X[:10], 5)[0]).all()


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="unknown index kind 'annoy'"):
        VectorIndex(np.eye(4, dtype=np.float32), kind="annoy")
    with pytest.raises(ValueError, match="present has 3 entries for 4 vectors"):
        VectorIndex(np.eye(4, dtype=np.float32), np.ones(3, bool))


def test_coarse_search_finds_the_exact_neighbours_with_the_index_scores(data, exact, approx):
    """Bulk neighbour lists (the visual kNN graph): no re-ranking, indexed items only, scores close."""
    X, present = data
    q = np.flatnonzero(present)[:300]
    want, _ = exact.search(X[q], 30)
    got, scores = approx.search_coarse(X[q], 30)
    assert _overlap(got, want) >= 0.9
    assert present[got[got >= 0]].all()
    true = np.einsum("qd,qkd->qk", X[q], X[np.maximum(got, 0)])
    assert np.abs(scores[got >= 0] - true[got >= 0]).max() < 0.05  # 8-bit codes: close, not exact
    e_ids, e_scores = exact.search_coarse(X[q], 30)
    np.testing.assert_array_equal(e_ids[:, 0], q)  # flat: the item itself first, exact scores
    np.testing.assert_allclose(e_scores[:, 0], 1.0, atol=1e-5)
