"""Multi-depth pooling of EfficientNet-Lite: the usual average-pooled head features joined by their
generalised-mean (GeM) pooling and by the average- and max-pooled outputs of the last three stages.

ImageNet's last layer is tuned to name objects; the earlier stages still hold shape and texture (a
sleeve, a hem, a knit), which is what tells a cardigan from a sweater in a catalog. Each part is
L2-normalised and weighted (:data:`PARTS`) before the whole is normalised again, so no part's scale
dominates. Measured on unseen H&M products in ``benchmarks/RESULTS.md`` ("Multi-depth pooling").
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

#: part -> weight. ``head_avg`` alone is the standard vector (``pooling="avg"``); ``stage{-k}_*`` are the
#: outputs of the last block of the k-th stage from the end.
PARTS = {"head_avg": 1.0, "head_gem": 0.7, "stage-1_avg": 0.5, "stage-1_max": 0.5, "stage-2_avg": 0.5,
         "stage-2_max": 0.5, "stage-3_avg": 0.3, "stage-3_max": 0.3}
POOLINGS = ("avg", "multi")


def standard_part(vectors: np.ndarray, head_dim: int = 1280) -> np.ndarray:
    """The standard (``pooling="avg"``) vectors inside multi-depth ones: their first part, rescaled to unit length."""
    return vectors[:, :head_dim] * np.sqrt(sum(w * w for w in PARTS.values()))


def stage_ends(net) -> list[int]:
    """Indices of the blocks that end a stage (the next block changes the channel count), in order."""
    outs = [b._bn2.num_features for b in net._blocks]
    return [i for i in range(len(outs)) if i == len(outs) - 1 or outs[i + 1] != outs[i]]


def multi_depth_dim(net) -> int:
    """Length of the multi-depth vector of an EfficientNet-Lite ``net``."""
    ends = stage_ends(net)[-3:]
    return 2 * net._bn1.num_features + 2 * sum(net._blocks[i]._bn2.num_features for i in ends)


def tap_blocks(net) -> dict[int, str]:
    """Block index -> stage name (``stage-1`` is the last) of the three stage outputs a multi-depth vector pools."""
    ends = stage_ends(net)[-3:]
    return {ends[-1]: "stage-1", ends[-2]: "stage-2", ends[-3]: "stage-3"}


def tap_parts(stage: str, x) -> dict:
    """The average- and max-pooled parts of one stage's output ``x`` (``B x C x H x W``)."""
    return {f"{stage}_avg": x.mean(dim=(2, 3)), f"{stage}_max": x.amax(dim=(2, 3))}


def head_parts(h, gem_p: float = 3.0) -> dict:
    """The average- and GeM-pooled parts of the head features ``h``."""
    return {"head_avg": h.mean(dim=(2, 3)),
            "head_gem": h.float().clamp(min=1e-6).pow(gem_p).mean(dim=(2, 3)).pow(1.0 / gem_p)}


def join_parts(parts: dict):
    """Every part of :data:`PARTS` L2-normalised, weighted and concatenated in that order (the whole is not
    normalised)."""
    unit = nn.functional.normalize
    return torch.cat([w * unit(parts[k].float(), dim=1) for k, w in PARTS.items()], dim=1)


class MultiDepthFeatures(nn.Module):
    """EfficientNet-Lite trunk -> the weighted, normalised parts of :data:`PARTS`, concatenated (the embedder
    normalises the whole)."""

    def __init__(self, net, gem_p: float = 3.0):
        super().__init__()
        self.net, self.gem_p = net, gem_p
        self.taps = tap_blocks(net)

    def forward(self, x):
        net = self.net
        parts = {}
        x = net._swish(net._bn0(net._conv_stem(x)))
        for i, block in enumerate(net._blocks):
            x = block(x, drop_connect_rate=None)
            if i in self.taps:
                parts.update(tap_parts(self.taps[i], x))
        parts.update(head_parts(net._swish(net._bn1(net._conv_head(x))), self.gem_p))
        return join_parts(parts)
