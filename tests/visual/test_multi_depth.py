"""Multi-depth pooling (``pooling="multi"``): what the vectors hold, and that they never mix with the standard ones."""

import numpy as np
import pytest

from tests.helpers import make_image
from visual import EmbeddingStore, ImageEmbedder, StoreMismatchError, build_backbone
from visual.multi_depth import PARTS, standard_part


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    d = tmp_path_factory.mktemp("photos")
    shapes = [((200, 30, 30), "square"), ((30, 200, 30), "disc"), ((30, 30, 200), "stripes"), ((90, 90, 90), "disc")]
    paths = []
    for i, (colour, shape) in enumerate(shapes):
        make_image(d / f"p{i}.png", colour, shape)
        paths.append(d / f"p{i}.png")
    return paths


@pytest.fixture(scope="module")
def multi():
    return ImageEmbedder(pooling="multi", progress=False)


def test_the_first_part_is_the_standard_vector_and_the_rest_come_from_earlier_stages(photos, multi, embedder):
    v = multi.embed_images(photos)
    assert v.shape == (4, 3808) == (len(photos), multi.dim)
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    scale = np.sqrt(sum(w * w for w in PARTS.values()))  # each part is a unit vector times its weight
    np.testing.assert_allclose(standard_part(v), embedder.embed_images(photos), atol=2e-5)
    rest = v[:, 1280:] * scale
    # the stage parts are unit vectors of their own, at their weights: not a copy of the head's features
    np.testing.assert_allclose(np.linalg.norm(rest[:, 1280:], axis=1),
                               np.sqrt(sum(w * w for k, w in PARTS.items() if k.startswith("stage"))), atol=1e-4)
    assert not np.allclose(v[0, 1280:2560] * scale, v[0, :1280] * scale, atol=1e-2)


def test_the_signature_names_the_pooling_only_when_it_is_not_the_standard(multi, embedder):
    assert multi.signature()["pooling"] == "multi" and multi.signature()["dim"] == 3808
    assert "pooling" not in embedder.signature()  # stores written before the option stay valid


def test_stores_and_searches_keep_the_two_apart(photos, multi, embedder, tmp_path):
    from recsys.search import PhotoSearch
    got = multi.embed_paths(photos, store=tmp_path / "store")
    with pytest.raises(StoreMismatchError):
        EmbeddingStore(tmp_path / "store", embedder.signature())
    from features import ItemFeatures
    feats = ItemFeatures(got.vectors, got.present, signature=multi.signature())
    ids = [p.stem for p in photos]
    search = PhotoSearch(feats, item_ids=ids)  # the query embedder is rebuilt with the catalog's pooling
    assert search.embedder.signature()["pooling"] == "multi"
    found, scores = search.search([photos[2]], k=2)
    assert found[0, 0] == "p2" and scores[0, 0] > 0.99
    with pytest.raises(ValueError, match="pooling"):
        PhotoSearch(feats, embedder, item_ids=ids)


def test_bad_settings_are_refused_with_the_reason():
    with pytest.raises(ValueError, match="pooling must be one of avg, multi"):
        build_backbone("efficientnet_lite0", pooling="gem")
    with pytest.raises(ValueError, match="needs an EfficientNet-Lite backbone"):
        build_backbone("resnet18", pooling="multi")


def test_the_command_line_keeps_multi_depth_vectors_in_their_own_store(tmp_path):
    from argparse import Namespace

    from recsys.cli.options import make_embedder, store_dir
    ns = Namespace(backbone="efficientnet_lite0", weights=None, device="cpu", batch_size=4, preprocess="pad",
                   input_size=None, pooling="multi")
    emb = make_embedder(ns)
    assert emb.pooling == "multi" and store_dir(tmp_path, emb).name == "efficientnet_lite0-pad-224-multi"
    ns.pooling = "avg"
    assert store_dir(tmp_path, make_embedder(ns)).name == "efficientnet_lite0-pad-224"


def test_no_shipped_head_is_offered_for_multi_depth_vectors(multi, embedder):
    from features.adapt import default_head_path
    from recsys.text_search import default_text_head_path
    assert default_head_path(embedder.signature()) is not None  # the Lite0 head ships for the standard vectors
    assert default_head_path(multi.signature()) is None and default_text_head_path(multi.signature()) is None


def test_a_ready_backbone_brings_its_pooling_to_the_settings_ray_actors_rebuild():
    from recsys.engines.ray_embed import embedder_settings
    emb = ImageEmbedder(build_backbone("efficientnet_lite0", pooling="multi"), device="cpu", progress=False)
    assert emb.signature()["pooling"] == "multi" and embedder_settings(emb)["pooling"] == "multi"
