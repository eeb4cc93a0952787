"""Search by words: an aligner trained on catalog texts next to photos finds photos that carry no text,
survives a save/load unchanged, refuses damaged files and vectors from another embedder."""

import numpy as np
import pytest

from features import ItemFeatures
from features.align import TextAligner
from recsys.text_search import TextSearch

FAST = {"text_model": "tfidf", "epochs": 30, "hidden": 128, "tfidf_dim": 32}


@pytest.fixture(scope="module")
def halves(demo):
    """The demo shop split in two: items with text (even rows) to train on, photo-only items (odd rows)."""
    cats = demo.catalog.df["category"].to_numpy(dtype=object)
    texts = demo.catalog.text()
    train = np.arange(len(cats)) % 2 == 0
    aligner = TextAligner(progress=False, **FAST).fit(np.where(train, texts, ""), demo.features)
    return aligner, cats, train


def test_words_find_photo_only_items_of_the_named_kind(demo, halves):
    aligner, cats, train = halves
    photo_only = ~train
    ids = demo.catalog.item_ids[photo_only]
    feats = ItemFeatures(demo.features.vectors[photo_only], demo.features.present[photo_only],
                         signature=demo.features.signature)
    search = TextSearch(feats, aligner, item_ids=ids)
    kinds = ["Trouser", "Sneaker", "Bag", "Ankle boot", "Dress"]
    found, _ = search.search([k.lower() for k in kinds], k=10)
    kind_of = dict(zip(ids, cats[photo_only]))
    precision = [np.mean([kind_of[i] == k for i in row]) for k, row in zip(kinds, found)]
    assert np.mean(precision) >= 0.8, dict(zip(kinds, precision))  # chance: 0.1
    assert aligner.n_pairs_ == int(train.sum())


def test_saved_aligner_gives_the_same_vectors_and_damage_is_named(halves, tmp_path):
    aligner, _, _ = halves
    path = aligner.save(tmp_path / "text.safetensors")
    loaded = TextAligner.load(path)
    np.testing.assert_allclose(loaded.transform_texts(["sneaker", "ankle boot"]),
                               aligner.transform_texts(["sneaker", "ankle boot"]), atol=1e-6)
    assert loaded.image_signature_ == aligner.image_signature_
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"text\.safetensors: its checksum .* \(damaged or replaced\)"):
        TextAligner.load(path)
    with pytest.raises(ValueError, match=r"nothing\.safetensors: cannot be read"):
        TextAligner.load(tmp_path / "nothing.safetensors")


def test_queries_and_catalogs_that_do_not_fit_are_refused(demo, halves):
    aligner, _, _ = halves
    with pytest.raises(ValueError, match="text query 1 is empty"):
        aligner.transform_texts(["dress", "  "])
    other = ItemFeatures(demo.features.vectors, demo.features.present,
                         signature={**demo.features.signature, "preprocess": "center_crop"})
    with pytest.raises(ValueError, match=r"other settings than the catalog's .*preprocess"):
        TextSearch(other, aligner, item_ids=demo.catalog.item_ids)
    with pytest.raises(ValueError, match="needs rows with both a text and a photo"):
        TextAligner(progress=False, **FAST).fit([""] * demo.features.n_items, demo.features)


def test_the_shipped_aligner_fits_the_default_embedder_and_states_its_terms():
    from recsys.text_search import default_text_head_path
    from visual import ImageEmbedder
    sig = ImageEmbedder(progress=False).signature()
    path = default_text_head_path(sig)
    assert path is not None and path.name == "text-hm-efficientnet_lite0-pad-224.safetensors"
    al = TextAligner.load(path)  # checksum verified
    assert {k: al.image_signature_[k] for k in ("backbone", "weights_id", "preprocess", "input_size", "dim")} == \
        {k: sig[k] for k in ("backbone", "weights_id", "preprocess", "input_size", "dim")}
    assert "non-commercial" in al.card_["data"] and al.n_pairs_ > 4000
    assert default_text_head_path({**sig, "preprocess": "center_crop"}) is None
