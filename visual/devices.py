"""Torch device names: ``"auto"`` means the CUDA GPU when torch sees one, else the CPU."""

from __future__ import annotations


def resolve_device(device: str):
    """``torch.device`` for ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ..."""
    import torch
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)
