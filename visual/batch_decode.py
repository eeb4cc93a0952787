"""Batched JPEG decoding and resizing with torch, on the CPU or (nvjpeg) on a CUDA device.

Used by :class:`visual.ImageEmbedder` with ``decoder="torchvision"`` (the default on CUDA):
JPEGs are decoded in one ``torchvision.io.decode_jpeg`` call per batch on the device and
resized/padded there; other formats, JPEGs with an EXIF orientation, and anything the batched
decoder rejects go through the robust PIL path (:func:`visual.images.load_image`).
"""

from __future__ import annotations

import io
import re

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from .images import MAX_PIXELS, ImageError, load_image

_ORIENTATION = re.compile(rb"\x01\x12\x00\x03|\x12\x01\x03\x00")  # EXIF orientation tag, either byte order


def _jpeg_header_ok(data: bytes) -> tuple[bool, str | None]:
    """(use the batched decoder?, error) from the header alone, without decoding pixels."""
    if data[:3] != b"\xff\xd8\xff":
        return False, None
    try:
        img = Image.open(io.BytesIO(data))
        w, h = img.size
        mode = img.mode
    except Exception:
        return False, None  # let the PIL path produce the exact reason
    if w * h > MAX_PIXELS:
        return False, (f"image too large ({w}x{h} pixels > {MAX_PIXELS}): refused as a possible decompression bomb")
    if mode not in ("RGB", "L"):
        return False, None  # CMYK etc.
    head = data[:65536]
    if b"Exif" in head and _ORIENTATION.search(head):
        return False, None  # orientation is applied by the PIL path
    return True, None


def decode_batch(datas: list[bytes], device) -> tuple[list, list]:
    """Decode a batch of encoded images into ``3 x H x W`` uint8 tensors on ``device``.

    Returns ``(images, errors)``: for each input a tensor or ``None``, and ``None`` or the reason.
    """
    from torchvision.io import ImageReadMode, decode_jpeg
    device = torch.device(device)
    n = len(datas)
    images: list = [None] * n
    errors: list = [None] * n
    fast, slow = [], []
    for i, d in enumerate(datas):
        ok, err = _jpeg_header_ok(d)
        if err:
            errors[i] = err
        elif ok:
            fast.append(i)
        else:
            slow.append(i)
    if fast:
        bufs = [torch.frombuffer(bytearray(datas[i]), dtype=torch.uint8) for i in fast]
        try:
            out = decode_jpeg(bufs, mode=ImageReadMode.RGB, device=device)
            for i, t in zip(fast, out):
                images[i] = t
        except RuntimeError:
            slow.extend(fast)  # one bad file fails the whole batch: decode these one by one
            slow.sort()
    for i in slow:
        try:
            img = load_image(datas[i])
        except ImageError as e:
            errors[i] = str(e)
            continue
        t = torch.from_numpy(np.asarray(img, dtype=np.uint8).transpose(2, 0, 1).copy())
        images[i] = t.to(device, non_blocking=True)
    return images, errors


def resize_batch(images: list, size: int, mode: str = "pad") -> torch.Tensor:
    """Resize ``3 x H x W`` uint8 tensors to one ``B x 3 x size x size`` uint8 tensor.

    ``pad``: the longer side becomes ``size`` and the image is centred on a square filled with
    the median colour of its border; ``center_crop``: the shorter side becomes ``size / 0.875``
    and the centre is cropped. Images of the same shape are resized together.
    """
    if mode not in ("pad", "center_crop"):
        raise ValueError(f"preprocess mode must be 'pad' or 'center_crop', got {mode!r}")
    device = images[0].device
    out = torch.empty((len(images), 3, size, size), dtype=torch.uint8, device=device)
    groups: dict[tuple, list[int]] = {}
    for i, t in enumerate(images):
        groups.setdefault(tuple(t.shape[1:]), []).append(i)
    for (h, w), idx in groups.items():
        x = torch.stack([images[i] for i in idx]).float()
        if mode == "pad":
            s = size / max(h, w)
            nh, nw = max(1, round(h * s)), max(1, round(w * s))
            x = F.interpolate(x, size=(nh, nw), mode="bilinear", antialias=True, align_corners=False)
            x = x.clamp_(0, 255).round_()
            border = torch.cat([x[:, :, 0, :], x[:, :, -1, :], x[:, :, :, 0], x[:, :, :, -1]], dim=2)
            fill = border.median(dim=2).values  # B x 3
            canvas = fill[:, :, None, None].expand(-1, -1, size, size).clone()
            top, left = (size - nh) // 2, (size - nw) // 2
            canvas[:, :, top:top + nh, left:left + nw] = x
            out[idx] = canvas.to(torch.uint8)
        else:
            short = round(size / 0.875)
            s = short / min(h, w)
            nh, nw = max(size, round(h * s)), max(size, round(w * s))
            x = F.interpolate(x, size=(nh, nw), mode="bilinear", antialias=True, align_corners=False)
            top, left = (nh - size) // 2, (nw - size) // 2
            out[idx] = x[:, :, top:top + size, left:left + size].clamp_(0, 255).round_().to(torch.uint8)
    return out
