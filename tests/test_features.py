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
    f, _ = _feats()
    assert np.allclose(np.linalg.norm(f.vectors[f.present], axis=1), 1)
    assert not f.present[5] and not f.vectors[5].any()
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
    assert m.shape == (60, 64) and sp.isspmatrix_csr(m)
    np.testing.assert_allclose(np.asarray(m.sum(axis=1)).ravel(), 1, atol=1e-5)
    assert m[0, 0] > 0 and m[0, 1] == 0  # identity block first
