"""Property test of the image decoder: any bytes -- mutated PNG/GIF/BMP/TIFF/WebP/JPEG/ICO/TGA/... files
among them -- either decode to an RGB image or raise ImageError with a reason; nothing else escapes.

The budget here is small (CI); for a release run it longer, e.g.
``HYPOTHESIS_PROFILE=release python -m pytest tests/visual/test_decoder_fuzz.py`` (2,000 examples per format)."""

import io
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from PIL import Image

from visual.images import ImageError, load_image

settings.register_profile("ci", max_examples=200, derandomize=True, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("release", max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

FORMATS = ["PNG", "GIF", "BMP", "TIFF", "WEBP", "JPEG", "ICO", "TGA", "PPM", "DDS", "JPEG2000", "QOI"]


def _seed_file(fmt: str) -> bytes:
    rng = np.random.default_rng(0)
    img = Image.fromarray(rng.integers(0, 255, (24, 24, 3), dtype=np.uint8), "RGB")
    buf = io.BytesIO()
    try:
        img.save(buf, format=fmt)
    except (KeyError, OSError, ValueError):
        pytest.skip(f"this Pillow cannot write {fmt}")
    return buf.getvalue()


def _decodes_or_says_why(data: bytes) -> None:
    try:
        out = load_image(data)
    except ImageError as e:
        assert str(e)  # a reason
        return
    assert out.mode == "RGB" and out.size[0] > 0


@pytest.mark.parametrize("fmt", FORMATS)
@given(data=st.data())
def test_mutated_files_decode_or_raise_image_error(fmt, data):
    raw = bytearray(_seed_file(fmt))
    for _ in range(data.draw(st.integers(1, 8))):
        kind = data.draw(st.sampled_from(["flip", "truncate", "insert", "zero"]))
        pos = data.draw(st.integers(0, max(0, len(raw) - 1)))
        if kind == "flip" and raw:
            raw[pos] ^= data.draw(st.integers(1, 255))
        elif kind == "truncate":
            del raw[pos:]
        elif kind == "insert":
            raw[pos:pos] = data.draw(st.binary(min_size=1, max_size=16))
        elif raw:
            raw[pos:pos + 8] = bytes(min(8, len(raw) - pos))
    _decodes_or_says_why(bytes(raw))


@given(st.binary(max_size=512))
def test_arbitrary_bytes_decode_or_raise_image_error(data):
    _decodes_or_says_why(data)


@pytest.mark.parametrize("escape", [NotImplementedError("no decoder for this DDS pixel format"),
                                    IndexError("tile out of range"), __import__("struct").error("x")])
def test_any_decoder_escape_is_an_image_error(monkeypatch, escape):
    """A byte-corrupted DDS named .jpg made Pillow raise NotImplementedError, which aborted the whole
    batch: every exception out of the decoder must become one skipped image with a reason."""
    def broken_open(*a, **k):
        raise escape
    monkeypatch.setattr(Image, "open", broken_open)
    with pytest.raises(ImageError, match=type(escape).__name__):
        load_image(_seed_file("PNG"))
