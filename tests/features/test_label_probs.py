import numpy as np
import pytest

from evaluation.retrieval import label_precision_at_k
from features import ItemFeatures
from features.adapt import VisualAdapter
from features.label_probs import fit_label_classifier, label_features, spread_labels


def _kinds(n_groups=90, per=3, d=24, n_types=6, seed=0):
    """Raw vectors = a weak product-type direction + a strong per-product 'shape' + noise: products of one
    type are not each other's nearest neighbours, but a linear classifier can read the type."""
    rng = np.random.default_rng(seed)
    type_dir = rng.normal(size=(n_types, d)) * 1.2
    x, g, lab = [], [], []
    for i in range(n_groups):
        shape = rng.normal(size=d) * 2.0
        for _ in range(per):
            x.append(type_dir[i % n_types] + shape + 0.3 * rng.normal(size=d))
            g.append(f"p{i}")
            lab.append(f"type{i % n_types}")
    return ItemFeatures(np.array(x), np.ones(len(x), bool)), np.array(g, object), np.array(lab, object)


def test_spread_labels_fills_variants_with_the_groups_most_frequent_label():
    labels = np.array([0, -1, 1, 1, -1, -1, 2])
    groups = np.array([5, 5, 7, 7, 7, -1, 9])
    # group 7 carries label 1 twice; the item without a group stays unlabelled
    assert spread_labels(labels, groups).tolist() == [0, 0, 1, 1, 1, -1, 2]
    assert spread_labels(labels, None).tolist() == labels.tolist()
    assert spread_labels(np.array([-1, -1]), np.array([0, 0])).tolist() == [-1, -1]


def test_classifier_matches_scikit_learns_logistic_regression():
    sklearn = pytest.importorskip("sklearn.linear_model")
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 10)).astype(np.float32)
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int) + (X[:, 2] > 0.8).astype(int)
    y[::7] = -1  # unlabelled rows are ignored
    clf = fit_label_classifier(X, y, l2=1.0)
    ref = sklearn.LogisticRegression(C=1.0, max_iter=2000, tol=1e-8).fit(X[y >= 0], y[y >= 0])
    np.testing.assert_allclose(label_features(clf, X) ** 2, ref.predict_proba(X), atol=2e-3)
    with pytest.raises(ValueError, match="at least 2 labelled categories"):
        fit_label_classifier(X, np.where(y >= 0, 0, -1))


def test_label_probabilities_bring_unseen_products_of_a_kind_together(tmp_path):
    f, g, lab = _kinds()
    train = np.array([int(x[1:]) < 60 for x in g])
    test = ~train
    # the head learns variant groups only, so what the classifier adds is measured alone
    params = dict(out_dim=16, hidden=64, epochs=20, batch_size=96, lr=3e-3, label_weight=0.0, progress=False)
    fit_args = dict(groups=np.where(train, g, None), labels=np.where(train, lab, None))
    plain = VisualAdapter(**params).fit(f, **fit_args).transform(f)
    ad = VisualAdapter(**params, label_probs_weight=0.5).fit(f, **fit_args)
    new = ad.transform(f)
    assert new.dim == 16 + 6 and sorted(ad.label_classes_) == [f"type{i}" for i in range(6)]
    p_plain = label_precision_at_k(plain.vectors[test], lab[test], 5).mean()
    p_new = label_precision_at_k(new.vectors[test], lab[test], 5).mean()
    assert p_new > p_plain + 0.05, (p_plain, p_new)  # +0.07 .. +0.17 over data and head seeds
    np.testing.assert_allclose(np.linalg.norm(new.vectors, axis=1), 1, atol=1e-5)
    # saved in the head's file, restored exactly
    path = ad.save(tmp_path / "head.safetensors")
    back = VisualAdapter.load(path)
    assert back.label_probs_weight == 0.5 and back.label_classes_ == ad.label_classes_
    np.testing.assert_allclose(back.transform(f).vectors, new.vectors, atol=1e-6)


def test_the_classifiers_penalty_is_a_saved_setting(tmp_path):
    """``label_probs_l2`` reaches the classifier (a weaker penalty: larger weights, sharper probabilities), is
    saved with the head, is checked, and a head saved before the setting existed loads with the default."""
    import json

    from features.label_probs import LABEL_PROBS_L2
    f, g, lab = _kinds(n_groups=30)
    params = dict(out_dim=8, hidden=16, epochs=1, batch_size=32, label_probs_weight=0.5, progress=False)
    strong = VisualAdapter(**params, label_probs_l2=10.0).fit(f, groups=g, labels=lab)
    weak = VisualAdapter(**params, label_probs_l2=0.01).fit(f, groups=g, labels=lab)
    assert weak.classifier_.weight.norm() > 3 * strong.classifier_.weight.norm()
    sharp = (label_features(weak.classifier_, f.vectors) ** 2).max(1).mean()
    flat = (label_features(strong.classifier_, f.vectors) ** 2).max(1).mean()
    assert sharp > flat + 0.1, (flat, sharp)
    path = weak.save(tmp_path / "head.safetensors")
    assert VisualAdapter.load(path).label_probs_l2 == 0.01
    meta_file = tmp_path / "head.safetensors.json"
    meta = json.loads(meta_file.read_text())
    del meta["params"]["label_probs_l2"]
    meta_file.write_text(json.dumps(meta))
    old = VisualAdapter.load(path)
    assert old.label_probs_l2 == LABEL_PROBS_L2
    np.testing.assert_allclose(old.transform(f).vectors, weak.transform(f).vectors, atol=1e-6)
    with pytest.raises(ValueError, match="label_probs_l2 must be > 0"):
        VisualAdapter(**params, label_probs_l2=0).fit(f, groups=g, labels=lab)


def test_label_probabilities_need_labels_and_a_saved_classifier(tmp_path):
    import json
    f, g, lab = _kinds(n_groups=12)
    with pytest.raises(ValueError, match="needs labels"):
        VisualAdapter(label_probs_weight=0.5, epochs=1, progress=False).fit(f, groups=g)
    with pytest.raises(ValueError, match="label_probs_weight"):
        VisualAdapter(label_probs_weight=1.0, epochs=1, progress=False).fit(f, groups=g, labels=lab)
    path = VisualAdapter(out_dim=8, hidden=16, epochs=1, batch_size=32, progress=False).fit(f, groups=g).save(
        tmp_path / "head.safetensors")
    meta_file = tmp_path / "head.safetensors.json"
    meta = json.loads(meta_file.read_text())
    meta["params"]["label_probs_weight"] = 0.5  # settings say a classifier, the file holds none
    meta_file.write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="holds no label classifier"):
        VisualAdapter.load(path)
