"""Mirror-image test-time augmentation (``tta="flip"``): what the vectors are, and that they never mix with others."""

from argparse import Namespace

import numpy as np
import pytest
from PIL import Image

from tests.helpers import make_image
from visual import EmbeddingStore, ImageEmbedder, StoreMismatchError


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    """A lopsided photo (a bar on the left), its mirror image, and an unrelated one."""
    d = tmp_path_factory.mktemp("tta")
    px = np.full((160, 120, 3), 235, np.uint8)
    px[20:140, 8:40] = (200, 30, 30)
    px[60:80, 40:110] = (30, 30, 200)
    Image.fromarray(px).save(d / "left.png")
    Image.fromarray(np.ascontiguousarray(px[:, ::-1])).save(d / "mirrored.png")
    make_image(d / "other.png", (30, 200, 30), "stripes")
    return [d / "left.png", d / "mirrored.png", d / "other.png"]


@pytest.fixture(scope="module")
def flip():
    return ImageEmbedder(tta="flip", progress=False)


def test_a_photo_and_its_mirror_image_embed_alike_only_with_flips(photos, flip, embedder):
    plain = embedder.embed_images(photos[:2])
    assert float(plain[0] @ plain[1]) < 0.999  # the network itself is not mirror-invariant
    v = flip.embed_images(photos)
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(v[0], v[1], atol=2e-3)
    assert float(v[0] @ v[2]) < 0.95


def test_the_flipped_vector_is_the_normalised_sum_of_the_photo_and_its_mirror(photos, flip, embedder):
    plain = embedder.embed_images(photos[:2])
    want = plain.sum(0) / np.linalg.norm(plain.sum(0))
    np.testing.assert_allclose(flip.embed_images(photos[:1])[0], want, atol=2e-3)
    # the file route (cache, background decoding) gives the in-memory route's vectors
    np.testing.assert_allclose(flip.embed_paths(photos).vectors, flip.embed_images(photos), atol=1e-5)


def test_the_signature_names_it_and_stores_keep_the_two_apart(photos, flip, embedder, tmp_path):
    assert flip.signature()["tta"] == "flip" and "tta" not in embedder.signature()
    flip.embed_paths(photos, store=tmp_path / "store")
    with pytest.raises(StoreMismatchError):
        EmbeddingStore(tmp_path / "store", embedder.signature())


def test_searches_rebuild_the_catalogs_augmentation_and_refuse_another(photos, flip, embedder):
    from features import ItemFeatures
    from recsys.search import PhotoSearch
    got = flip.embed_paths(photos)
    feats = ItemFeatures(got.vectors, got.present, signature=flip.signature())
    search = PhotoSearch(feats, item_ids=["left", "mirrored", "other"])
    assert search.embedder.tta == "flip"
    found, _ = search.search([photos[2]], k=1)
    assert found[0, 0] == "other"
    with pytest.raises(ValueError, match="tta"):
        PhotoSearch(feats, embedder, item_ids=["left", "mirrored", "other"])


def test_no_shipped_head_is_offered_for_augmented_vectors(flip, embedder):
    from features.adapt import default_head_path
    assert default_head_path(embedder.signature()) is not None
    assert default_head_path(flip.signature()) is None


def test_the_command_line_keeps_augmented_vectors_in_their_own_store(tmp_path):
    from recsys.cli.options import make_embedder, store_dir
    ns = Namespace(backbone="efficientnet_lite0", weights=None, device="cpu", batch_size=4, preprocess="pad",
                   input_size=None, pooling="multi", tta="flip")
    emb = make_embedder(ns)
    assert emb.tta == "flip" and store_dir(tmp_path, emb).name == "efficientnet_lite0-pad-224-multi-flip"


def test_an_unknown_augmentation_is_refused():
    with pytest.raises(ValueError, match="tta must be one of 'none', 'flip'"):
        ImageEmbedder(tta="rotate")
