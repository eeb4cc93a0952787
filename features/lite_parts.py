"""EfficientNet-Lite cut in two, as the fine-tuner trains it: the frozen front (pixel normalisation, stem, the
first blocks) and the trained tail (the last blocks, head convolution, pooling, L2 normalisation); and the
early-stopping split and score the fine-tuner watches."""

from __future__ import annotations

import numpy as np
import torch


class Front(torch.nn.Module):
    """Pixels (``B x 3 x S x S``, 0..255) -> the activations at block ``cut`` (frozen: run without gradients)."""

    def __init__(self, net, cut: int, mean, std):
        super().__init__()
        self.net, self.cut = net, cut
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1) * 255)
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1) * 255)

    def forward(self, pixels):
        net = self.net
        x = net._swish(net._bn0(net._conv_stem((pixels.float() - self.mean) / self.std)))
        for idx in range(self.cut):
            x = net._blocks[idx](x, drop_connect_rate=None)
        return x


class Tail(torch.nn.Module):
    """The trained end of EfficientNet-Lite: blocks ``cut..``, the head convolution, average pooling,
    L2 normalisation (the vectors an :class:`visual.ImageEmbedder` returns)."""

    def __init__(self, net, cut: int):
        super().__init__()
        self.net, self.cut = net, cut

    def forward(self, x):
        net, n = self.net, len(self.net._blocks)
        for idx in range(self.cut, n):
            rate = net._global_params.drop_connect_rate
            x = net._blocks[idx](x, drop_connect_rate=rate * float(idx) / n if rate else rate)
        pooled = net._swish(net._bn1(net._conv_head(x))).mean(dim=(2, 3))
        return torch.nn.functional.normalize(pooled.float(), dim=1)  # as ImageEmbedder's vectors


def split_groups(groups, fraction: float, random_state: int) -> np.ndarray:
    """Boolean mask of the rows whose group (their own row when None) is held out for validation."""
    keys = np.asarray([f"row:{i}" if g is None or g != g or g == "" else f"g:{g}" for i, g in enumerate(groups)],
                      dtype=object)
    uniq = np.unique(keys)
    held = set(np.random.default_rng(random_state).permutation(uniq)[: int(round(fraction * len(uniq)))])
    return np.array([k in held for k in keys])


def retrieval_score(v: np.ndarray, g: np.ndarray, lab: np.ndarray, k: int = 10) -> float:
    """Variant recall@k (rows with a variant) + label precision@k (labelled rows) of vectors ``v``."""
    S = v @ v.T
    np.fill_diagonal(S, -np.inf)
    top = np.argsort(-S, axis=1)[:, :k]
    has_var = np.array([(g[i] >= 0) and ((g == g[i]).sum() > 1) for i in range(len(g))])
    rec = np.mean([(g[top[i]] == g[i]).any() for i in np.flatnonzero(has_var)]) if has_var.any() else 0.0
    lab_rows = np.flatnonzero(lab >= 0)
    prec = np.mean([(lab[top[i]] == lab[i]).mean() for i in lab_rows]) if len(lab_rows) else 0.0
    return float(rec + prec)
