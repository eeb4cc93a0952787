"""Gallery augmentation (``recsys.index.augment_gallery``): the weighted-neighbour sum it promises, tighter kinds
on planted clusters, and the rows it must leave alone."""

import numpy as np
import pytest

from recsys.index import VectorIndex, augment_gallery


def unit(a):
    return (a / np.linalg.norm(a, axis=1, keepdims=True)).astype(np.float32)


def brute_force(V, k, power):
    """The definition: the normalised sum of the k most similar vectors (the item itself first), each
    weighted max(cos, 0) ** power."""
    S = V @ V.T
    nn = np.argsort(-S, axis=1, kind="stable")[:, :k]
    w = np.clip(np.take_along_axis(S, nn, 1), 0, None) ** power
    return unit((w[:, :, None] * V[nn]).sum(1))


def clusters(n_kinds=12, per_kind=10, dim=24, noise=1.2, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_kinds, dim))
    kinds = np.repeat(np.arange(n_kinds), per_kind)
    return unit(centres[kinds] + noise * rng.normal(size=(len(kinds), dim))), kinds


def same_kind_at(V, kinds, k=5):
    S = V @ V.T
    np.fill_diagonal(S, -np.inf)
    top = np.argsort(-S, axis=1)[:, :k]
    return float((kinds[top] == kinds[:, None]).mean())


@pytest.mark.parametrize("k, power", [(2, 3.0), (5, 3.0), (5, 1.0), (8, 0.0)])
def test_each_vector_is_the_weighted_sum_of_its_nearest(k, power):
    V, _ = clusters()
    np.testing.assert_allclose(augment_gallery(V, k=k, power=power), brute_force(V, k, power), atol=1e-5)


def test_items_of_a_kind_move_together():
    V, kinds = clusters()
    before = same_kind_at(V, kinds)
    after = same_kind_at(augment_gallery(V, k=5), kinds)
    assert before < 0.8 and after > before + 0.05, (before, after)


def test_rows_without_a_vector_neither_change_nor_pull_others():
    V, _ = clusters()
    present = np.ones(len(V), bool)
    present[::4] = False
    V2 = V.copy()
    V2[~present] = 0.0  # placeholders
    out = augment_gallery(V2, present, k=5)
    np.testing.assert_array_equal(out[~present], V2[~present])
    keep = np.flatnonzero(present)
    np.testing.assert_allclose(out[keep], brute_force(V[keep], 5, 3.0), atol=1e-5)


def test_an_approximate_index_gives_nearly_the_exact_result():
    V, _ = clusters(n_kinds=40, per_kind=25, dim=32)
    approx = augment_gallery(V, k=5, index=VectorIndex(V, kind="hnsw", recall_floor=0.99))
    cos = (approx * brute_force(V, 5, 3.0)).sum(1)
    assert np.median(cos) > 0.9999 and cos.min() > 0.9


def test_bad_settings_are_refused_with_the_reason():
    V, _ = clusters()
    np.testing.assert_array_equal(augment_gallery(V, k=1), V)
    with pytest.raises(ValueError, match="whole number >= 1"):
        augment_gallery(V, k=0)
    with pytest.raises(ValueError, match="power"):
        augment_gallery(V, power=-1)
    with pytest.raises(ValueError, match="other vectors"):
        augment_gallery(V, index=VectorIndex(V[:50]))
    with pytest.raises(ValueError, match="present has 3 entries"):
        augment_gallery(V, np.ones(3, bool))
