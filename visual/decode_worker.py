"""Decoding work done in separate processes (imports Pillow and NumPy only, never torch)."""

from __future__ import annotations

import numpy as np

from .images import ImageError, load_image, preprocess


def decode_image(data, size: int, mode: str) -> np.ndarray:
    """Decode one image (bytes, path or PIL image) into a ``3 x size x size`` uint8 array; the
    JPEG decoder may downscale by powers of two to no less than ``size`` (draft mode)."""
    return preprocess(load_image(data, draft_size=size), size, mode)


def decode_batch_job(datas: list[bytes], size: int, mode: str) -> tuple[np.ndarray, list]:
    """Decode and preprocess a batch of encoded images into one ``B x 3 x size x size`` uint8
    array (zeros where an image failed) and the per-image error (or None)."""
    out = np.zeros((len(datas), 3, size, size), dtype=np.uint8)
    errors: list = [None] * len(datas)
    for j, data in enumerate(datas):
        try:
            out[j] = decode_image(data, size, mode)
        except ImageError as e:
            errors[j] = str(e)
    return out, errors
