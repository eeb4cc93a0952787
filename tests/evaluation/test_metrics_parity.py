"""Every metric against an independent implementation on random inputs: ``ranx`` (part of the ``test``
extra, ``pip install -e .[test]``; the parity test fails rather than skips without it) and plain-Python
reference loops written from the definitions."""

import math

import numpy as np
import pytest
import scipy.sparse as sp

from evaluation.metrics import (METRICS, auc_from_lists, auc_per_user, average_popularity, catalog_coverage,
                                intra_list_diversity, novelty, ranking_metrics)


def _random_case(seed, n_users=200, n_items=60, L=25, short=True):
    """Random test sets (1..15 items per user) and lists, some shorter than L (-1 padded)."""
    rng = np.random.default_rng(seed)
    rows, cols = [], []
    for u in range(n_users):
        rel = rng.choice(n_items, rng.integers(1, 16), replace=False)
        rows += [u] * len(rel)
        cols += rel.tolist()
    test = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(n_users, n_items))
    lists = np.full((n_users, L), -1, np.int64)
    for u in range(n_users):
        n = rng.integers(0, L + 1) if short and u % 5 == 0 else L
        lists[u, :n] = rng.permutation(n_items)[:n]
    return test, lists


def _reference(lists, test, k):
    """Plain per-user loops of the documented definitions."""
    out = {m: [] for m in METRICS}
    for u, row in enumerate(lists):
        rel = set(test[u].indices.tolist())
        top = [int(i) for i in row[:k]]
        hits = [1 if i >= 0 and i in rel else 0 for i in top]
        h = sum(hits)
        out["precision"].append(h / k)
        out["recall"].append(h / len(rel))
        dcg = sum(x / math.log2(r + 2) for r, x in enumerate(hits))
        idcg = sum(1 / math.log2(r + 2) for r in range(min(len(rel), k)))
        out["ndcg"].append(dcg / idcg)
        ap, n = 0.0, 0
        for r, x in enumerate(hits):
            if x:
                n += 1
                ap += n / (r + 1)
        out["map"].append(ap / min(len(rel), k))
        out["mrr"].append(next((1 / (r + 1) for r, x in enumerate(hits) if x), 0.0))
        out["hitrate"].append(1.0 if h else 0.0)
    return out


@pytest.mark.parametrize("seed", range(4))
def test_accuracy_metrics_match_reference_loops(seed):
    test, lists = _random_case(seed)
    users = np.arange(test.shape[0])
    ks = (1, 3, 10, 25)
    got = ranking_metrics(lists, test, users, ks)
    for k in ks:
        want = _reference(lists, test, k)
        for m in METRICS:
            np.testing.assert_allclose(got[f"{m}@{k}"], want[m], rtol=1e-12, err_msg=f"{m}@{k}")


def test_accuracy_metrics_match_ranx():
    try:
        import ranx  # noqa: F401
    except ImportError:
        pytest.fail("ranx is not installed: it is part of the test extra (pip install -e .[test])")
    from numba.typed import List
    from ranx.metrics import average_precision, hit_rate, ndcg, precision, recall, reciprocal_rank
    test, lists = _random_case(11, short=False)
    users = np.arange(test.shape[0])
    qrels, run = List(), List()
    for u, row in enumerate(lists):
        rel = test[u].indices
        qrels.append(np.stack([rel.astype(np.float64), np.ones(len(rel))], axis=1))
        run.append(np.stack([row.astype(np.float64), np.arange(len(row), 0, -1, dtype=np.float64)], axis=1))
    n_rel = np.diff(test.indptr).astype(float)
    for k in (1, 5, 10, 25):
        got = ranking_metrics(lists, test, users, (k,))
        np.testing.assert_allclose(got[f"precision@{k}"], precision(qrels, run, k), rtol=1e-12)
        np.testing.assert_allclose(got[f"recall@{k}"], recall(qrels, run, k), rtol=1e-12)
        np.testing.assert_allclose(got[f"ndcg@{k}"], ndcg(qrels, run, k), rtol=1e-12)
        np.testing.assert_allclose(got[f"mrr@{k}"], reciprocal_rank(qrels, run, k), rtol=1e-12)
        np.testing.assert_allclose(got[f"hitrate@{k}"], hit_rate(qrels, run, k), rtol=1e-12)
        # ranx's AP@k divides by |rel|; ours (Kaggle MAP@k) by min(|rel|, k)
        np.testing.assert_allclose(got[f"map@{k}"], average_precision(qrels, run, k) * n_rel / np.minimum(n_rel, k),
                                   rtol=1e-12)


def test_hand_computed_case():
    # test items {0, 2, 7}; list [2, 5, 7, 0, -1]
    test = sp.csr_matrix(np.array([[1, 0, 1, 0, 0, 0, 0, 1]]))
    got = ranking_metrics(np.array([[2, 5, 7, 0, -1]]), test, np.array([0]), ks=(2, 5))
    assert got["precision@2"][0] == 0.5 and got["precision@5"][0] == 3 / 5
    assert got["recall@2"][0] == 1 / 3 and got["recall@5"][0] == 1.0
    assert got["mrr@2"][0] == 1.0 and got["hitrate@2"][0] == 1.0
    assert got["map@5"][0] == pytest.approx((1 / 1 + 2 / 3 + 3 / 4) / 3)
    assert got["map@2"][0] == pytest.approx(1 / 2)  # one hit at rank 1, over min(3, 2)
    dcg = 1 + 1 / math.log2(4) + 1 / math.log2(5)
    assert got["ndcg@5"][0] == pytest.approx(dcg / (1 + 1 / math.log2(3) + 1 / math.log2(4)))
    got = ranking_metrics(np.array([[5, 6, 2]]), test, np.array([0]), ks=(3,))
    assert got["mrr@3"][0] == pytest.approx(1 / 3)


@pytest.mark.parametrize("seed", range(3))
def test_auc_from_lists_matches_pairwise_definition(seed):
    test, lists = _random_case(seed, n_users=60, n_items=40, L=12)
    rng = np.random.default_rng(seed)
    n_items = test.shape[1]
    users = np.arange(test.shape[0])
    # candidates: all items (a list may hold any item); score = list position, unlisted tie at 0
    got = auc_from_lists(lists, test, users, n_items)
    scores = np.zeros((len(users), n_items))
    for u, row in enumerate(lists):
        for r, i in enumerate(row):
            if i >= 0:
                scores[u, i] = len(row) - r
    pos = test.toarray() > 0
    np.testing.assert_allclose(got, auc_per_user(scores, pos), rtol=1e-12)
    for u in rng.choice(len(users), 10, replace=False):  # and the pairwise loop itself
        p, n = scores[u][pos[u]], scores[u][~pos[u]]
        want = np.mean([(a > b) + 0.5 * (a == b) for a in p for b in n])
        assert got[u] == pytest.approx(want)


def test_beyond_accuracy_match_reference_loops():
    rng = np.random.default_rng(5)
    test, lists = _random_case(5, n_users=80, n_items=50, L=10)
    vec = rng.standard_normal((50, 8))
    present = rng.random(50) > 0.1
    counts = rng.integers(0, 30, 50)
    n_train = 40
    ild = intra_list_diversity(lists, vec, 10, present)
    nov = novelty(lists, counts, n_train, 10)
    arp = average_popularity(lists, counts, 10)
    unit = vec / np.linalg.norm(vec, axis=1, keepdims=True)
    for u, row in enumerate(lists):
        items = [i for i in row[:10] if i >= 0]
        v = [i for i in items if present[i]]
        pairs = [1 - unit[i] @ unit[j] for a, i in enumerate(v) for b, j in enumerate(v) if a != b]
        if len(v) < 2:
            assert np.isnan(ild[u])
        else:
            assert ild[u] == pytest.approx(np.mean(pairs), abs=1e-5)
        if not items:
            assert np.isnan(nov[u]) and np.isnan(arp[u])
            continue
        assert nov[u] == pytest.approx(np.mean([-math.log2(max(counts[i], 1) / n_train) for i in items]))
        assert arp[u] == pytest.approx(np.mean([counts[i] for i in items]))
    want_cov = len({int(i) for row in lists for i in row[:5] if i >= 0}) / 50
    assert catalog_coverage(lists, 50, 5) == pytest.approx(want_cov)
