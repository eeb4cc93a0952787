import numpy as np
import pytest
import scipy.sparse as sp

from features import ItemFeatures, VisualCodebook, lightfm_item_features


def _feats(n=60, d=16, seed=0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(3, d))
    x = centers[np.arange(n) % 3] + 0.05 * rng.normal(size=(n, d))
    present = np.ones(n, bool)
    present[5] = False
    x[5] = 0
    return ItemFeatures(x, present), np.arange(n) % 3


def test_item_features_normalise_and_flag_missing():
    from recsys.vectors import normalize_rows
    f, _ = _feats()
    assert np.allclose(np.linalg.norm(f.vectors[f.present], axis=1), 1)
    assert not f.present[5] and not f.vectors[5].any()
    x = np.random.default_rng(1).normal(size=(4, 3))
    x[2] = 0  # said to be present, but has no vector
    g = ItemFeatures(x, np.array([True, False, True, True]))
    assert g.present.tolist() == [True, False, False, True] and not g.vectors[[1, 2]].any()
    np.testing.assert_array_equal(g.vectors[[0, 3]], normalize_rows(x.astype(np.float32))[[0, 3]])
    with pytest.raises(ValueError):
        ItemFeatures(np.zeros((3, 2)), np.ones(4, bool))


def test_codebook_codes_are_compact_and_visual():
    f, lab = _feats()
    cb = VisualCodebook(n_clusters=3, n_nearest=2).fit(f)
    codes = cb.transform(f)
    assert codes.shape == (60, 3)
    assert codes.getnnz(axis=1).max() <= 2 and codes.getnnz(axis=1)[5] == 0
    np.testing.assert_allclose(np.asarray(codes.sum(axis=1)).ravel()[f.present], 1, atol=1e-5)
    top = np.asarray(codes.argmax(axis=1)).ravel()
    # items of one visual group share their strongest visual word
    for g in range(3):
        m = (lab == g) & f.present
        assert len(set(top[m])) == 1


def test_lightfm_matrix_layout():
    f, _ = _feats()
    codes = VisualCodebook(n_clusters=4).fit(f).transform(f)
    m = lightfm_item_features(60, codes)
    assert m.shape == (60, 64) and sp.isspmatrix_csr(m) and m.dtype == np.float32
    np.testing.assert_allclose(np.asarray(m.sum(axis=1)).ravel(), 1, atol=1e-5)
    assert m[0, 0] > 0 and m[0, 1] == 0  # identity block first
    dense, want = m.toarray(), codes.toarray()
    present = f.present
    # identity and codes weigh 1 each: halves after normalising; item 5 (no vector) is its indicator only
    np.testing.assert_allclose(dense[present, :60], np.eye(60)[present] / 2, atol=1e-6)
    np.testing.assert_allclose(dense[present, 60:], want[present] / 2, atol=1e-6)
    assert dense[5, 5] == 1 and dense[5].sum() == 1
    w = lightfm_item_features(60, codes, identity=False, weights=[3.0]).toarray()
    np.testing.assert_allclose(w[present], want[present], atol=1e-6)


def test_codebook_random_state_fixes_the_centroids():
    f, _ = _feats()
    cb = VisualCodebook(n_clusters=4, random_state=3).fit(f)
    np.testing.assert_array_equal(VisualCodebook(n_clusters=4, random_state=3).fit(f).centroids_, cb.centroids_)
    assert not np.array_equal(VisualCodebook(n_clusters=4, random_state=4).fit(f).centroids_, cb.centroids_)


def test_codebook_settings_are_checked_in_fit():
    f, _ = _feats()
    cb = VisualCodebook(n_nearest=0, temperature=-1)  # stored as given, like scikit-learn
    assert (cb.n_nearest, cb.temperature, cb.random_state) == (0, -1, 0)
    with pytest.raises(ValueError, match="n_nearest"):
        cb.fit(f)
    with pytest.raises(ValueError, match="temperature"):
        VisualCodebook(temperature=0).fit(f)
    with pytest.raises(RuntimeError, match="not fitted"):
        VisualCodebook().transform(f)
