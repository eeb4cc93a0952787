"""ALS-visual's placement of items without history: the softmax mean of the factors of their nearest
warm images, read in place (no copy of the warm vectors), and through an index on wide catalogs."""

import numpy as np

from recsys.models import als
from recsys.models.als import place_by_neighbours


def _catalog():
    rng = np.random.default_rng(0)
    fam = rng.integers(0, 20, 2000)
    V = rng.normal(size=(20, 32))[fam] + 0.2 * rng.normal(size=(2000, 32))
    V = (V / np.linalg.norm(V, axis=1, keepdims=True)).astype(np.float32)
    F = np.eye(20, dtype=np.float32)[fam] * 3  # each photo family has its own factor direction
    return V, F, fam


def test_new_items_take_the_factors_of_their_photo_family():
    V, F, fam = _catalog()
    warm, cold = np.arange(0, 1800), np.arange(1800, 2000)
    got = place_by_neighbours(cold, V, warm, F, k=20, temperature=0.05)
    assert (got.argmax(axis=1) == fam[cold]).mean() > 0.95
    # rows of the catalog or the vectors themselves: the same placement
    np.testing.assert_allclose(place_by_neighbours(V[cold], V, warm, F, k=20), got, atol=1e-6)
    # only warm rows are anchors: a cold item is never its own (or another cold item's) neighbour
    F_cold_marked = F.copy()
    F_cold_marked[cold] = 100.0
    assert np.abs(place_by_neighbours(cold, V, warm, F_cold_marked, k=20) - got).max() < 1e-6


def test_wide_catalogs_place_through_the_index_with_the_same_answer(monkeypatch):
    V, F, fam = _catalog()
    warm, cold = np.arange(0, 1800), np.arange(1800, 2000)
    exact = place_by_neighbours(cold, V, warm, F, k=20)
    monkeypatch.setattr(als, "INDEX_PAIRS", 1000)  # every query x anchor count is "wide" now: the index's
    # ids are mapped back to catalog rows (a wrong mapping places items by other families' factors)
    approx = place_by_neighbours(cold, V, warm, F, k=20)
    assert (approx.argmax(1) == exact.argmax(1)).mean() > 0.95
    assert np.abs(approx - exact).max() < 0.5
