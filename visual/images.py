"""Robust image decoding and preprocessing for product photos.

Handles EXIF orientation, greyscale, CMYK, palette and alpha (composited on white),
16-bit and float images; refuses decompression bombs and non-images with a clear reason.
"""

from __future__ import annotations

import io
import os
import stat
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

#: Images with more pixels than this are refused (a decompression bomb guard).
MAX_PIXELS = 64_000_000


class ImageError(ValueError):
    """An image could not be used; the message says why."""


#: image files larger than this are refused unread (``$VISREC_MAX_IMAGE_BYTES`` overrides it)
MAX_FILE_BYTES = 50 * 1024 * 1024


def max_file_bytes() -> int:
    """The image file size cap in force (``$VISREC_MAX_IMAGE_BYTES``, else :data:`MAX_FILE_BYTES`)."""
    env = os.environ.get("VISREC_MAX_IMAGE_BYTES")
    return int(env) if env and env.strip().isdigit() else MAX_FILE_BYTES


def read_image_bytes(path, max_bytes: int | None = None) -> bytes:
    """Read an image file's bytes, raising :class:`ImageError` with the reason if it can't be used.

    Only regular files are read (never a device such as ``/dev/zero``, a FIFO or a socket), and only
    up to ``max_bytes`` (default :func:`max_file_bytes`): a larger file is refused unread.
    """
    if "\x00" in str(path):
        raise ImageError("the path contains a NUL byte")
    path = Path(path)
    cap = max_file_bytes() if max_bytes is None else max_bytes
    try:
        st = os.stat(path)
        if stat.S_ISDIR(st.st_mode):
            raise ImageError("is a folder, not an image file")
        if not stat.S_ISREG(st.st_mode):
            raise ImageError("not a regular file (a device, FIFO or socket): refused")
        if st.st_size > cap:
            raise ImageError(f"file too large ({st.st_size:,} bytes > {cap:,}; "
                             "set VISREC_MAX_IMAGE_BYTES to allow more)")
        with open(path, "rb") as f:
            data = f.read(cap + 1)
    except FileNotFoundError:
        raise ImageError("file not found") from None
    except OSError as e:
        raise ImageError(f"cannot read file: {e.strerror or e}") from None
    if len(data) > cap:  # grew while being read
        raise ImageError(f"file too large (> {cap:,} bytes)")
    return data


def load_image(data, *, draft_size: int | None = None) -> Image.Image:
    """Decode bytes (or a path, or a PIL image) into an 8-bit RGB PIL image.

    Parameters
    ----------
    data : bytes, path-like or PIL.Image.Image
    draft_size : int, optional
        Let the JPEG decoder downscale by powers of two to no less than this size (faster).
    """
    if isinstance(data, Image.Image):
        img = data
    else:
        if not isinstance(data, (bytes, bytearray, memoryview)):
            data = read_image_bytes(data)
        if len(data) == 0:
            raise ImageError("empty file")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                img = Image.open(io.BytesIO(data))
                w, h = img.size
                if w * h > MAX_PIXELS:
                    raise ImageError(f"image too large ({w}x{h} pixels > {MAX_PIXELS}): refused as a possible "
                                     "decompression bomb")
                if draft_size and img.format == "JPEG":
                    img.draft("RGB", (draft_size, draft_size))
                img.load()
        except ImageError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
            raise ImageError(f"refused as a possible decompression bomb: {e}") from None
        except Image.UnidentifiedImageError:
            raise ImageError("not an image (format not recognised)") from None
        except (OSError, SyntaxError, ValueError) as e:
            raise ImageError(f"corrupt or truncated image: {e}") from None
        except Exception as e:  # a decoder's other escapes (NotImplementedError, IndexError, ...): one bad file
            raise ImageError(f"cannot be decoded ({type(e).__name__}: {e})") from None
    try:
        img = ImageOps.exif_transpose(img)
    except Exception:  # broken EXIF must not lose the picture
        pass
    try:
        return _to_rgb(img)
    except Exception as e:
        raise ImageError(f"cannot be converted to RGB from mode {img.mode!r} ({type(e).__name__}: {e})") from None


def _to_rgb(img: Image.Image) -> Image.Image:
    mode = img.mode
    if mode == "RGB":
        return img
    if mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        a = np.asarray(img, dtype=np.float32)
        lo, hi = float(a.min()), float(a.max())
        a = (a - lo) / (hi - lo) * 255.0 if hi > lo else np.zeros_like(a)
        return Image.fromarray(a.astype(np.uint8), "L").convert("RGB")
    if mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
        mode = "RGBA"
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        img = img.convert("RGBA")
        bg = Image.new("RGBA", img.size, (255, 255, 255, 255))
        return Image.alpha_composite(bg, img).convert("RGB")
    return img.convert("RGB")


def _border_colour(img: Image.Image) -> tuple[int, int, int]:
    a = np.asarray(img)
    border = np.concatenate([a[0], a[-1], a[:, 0], a[:, -1]])
    return tuple(int(v) for v in np.median(border, axis=0))


def preprocess(img: Image.Image, size: int, mode: str = "pad") -> np.ndarray:
    """Resize an RGB image to ``size x size`` and return a ``3 x size x size`` uint8 array.

    ``mode="pad"`` keeps the whole product: the longer side is scaled to ``size`` and the
    image is centred on a square of its border colour. ``mode="center_crop"`` scales the
    shorter side to ``size / 0.875`` and crops the centre (the ImageNet convention).
    """
    w, h = img.size
    if mode == "pad":
        s = size / max(w, h)
        nw, nh = max(1, round(w * s)), max(1, round(h * s))
        small = img.resize((nw, nh), Image.BILINEAR, reducing_gap=3.0)
        canvas = Image.new("RGB", (size, size), _border_colour(small))
        canvas.paste(small, ((size - nw) // 2, (size - nh) // 2))
        out = canvas
    elif mode == "center_crop":
        short = round(size / 0.875)
        s = short / min(w, h)
        nw, nh = max(size, round(w * s)), max(size, round(h * s))
        big = img.resize((nw, nh), Image.BILINEAR, reducing_gap=3.0)
        left, top = (nw - size) // 2, (nh - size) // 2
        out = big.crop((left, top, left + size, top + size))
    else:
        raise ValueError(f"preprocess mode must be 'pad' or 'center_crop', got {mode!r}")
    return np.asarray(out, dtype=np.uint8).transpose(2, 0, 1).copy()
