"""Exact top-k read in chunks of rows (no copy of a subset of a large catalog) equals one dense pass."""

import numpy as np
import pytest

from recsys.index.recall import chunked_topk, topk_rows


@pytest.mark.parametrize("chunk", [7, 64, 1000])
def test_chunked_topk_over_a_subset_equals_the_dense_top_k(chunk):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 8)).astype(np.float32)
    rows = np.sort(rng.choice(300, 120, replace=False))
    q = rng.normal(size=(25, 8)).astype(np.float32)
    ex = rng.integers(-1, 120, 25)  # a position in rows to leave out, or none
    want_i, want_v = topk_rows(q @ X[rows].T, 10, ex)
    got_i, got_v = chunked_topk(X, q, 10, rows=rows, exclude=ex, chunk=chunk)
    np.testing.assert_array_equal(got_i, want_i)
    np.testing.assert_allclose(got_v, want_v, rtol=1e-6)
    assert not np.any(got_i == ex[:, None])


def test_chunked_topk_pads_when_fewer_rows_than_k():
    X = np.eye(3, dtype=np.float32)
    ids, D = chunked_topk(X, X[:1], 5, chunk=2)
    assert ids[0, 0] == 0 and sorted(ids[0, 1:3].tolist()) == [1, 2]
    assert ids[0, 3:].tolist() == [-1, -1] and np.isneginf(D[0, 3:]).all()
