"""EfficientNet-Lite cut in two, as the fine-tuner trains it: the frozen front (pixel normalisation, stem, the
first blocks) and the trained tail (the last blocks, head convolution, pooling, L2 normalisation); and the
early-stopping split and score the fine-tuner watches."""

from __future__ import annotations

import numpy as np
import torch

from visual.multi_depth import head_parts, join_parts, tap_blocks, tap_parts


class Front(torch.nn.Module):
    """Pixels (``B x 3 x S x S``, 0..255) -> the activations at block ``cut`` (frozen: run without gradients), and
    with ``pooling="multi"`` the pooled outputs of the stages that end before ``cut`` (``B x frozen_dim``;
    ``B x 0`` otherwise): the frozen parts of a multi-depth vector (:mod:`visual.multi_depth`)."""

    def __init__(self, net, cut: int, mean, std, pooling: str = "avg"):
        super().__init__()
        self.net, self.cut = net, cut
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1) * 255)
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1) * 255)
        taps = tap_blocks(net) if pooling == "multi" else {}
        self.taps = {i: name for i, name in taps.items() if i < cut}
        #: (part name, length) of the frozen parts, in the order of the columns Front returns
        self.frozen_parts = [(f"{name}_{kind}", net._blocks[i]._bn2.num_features)
                             for i, name in sorted(self.taps.items()) for kind in ("avg", "max")]

    def forward(self, pixels):
        net = self.net
        x = net._swish(net._bn0(net._conv_stem((pixels.float() - self.mean) / self.std)))
        parts = {}
        for idx in range(self.cut):
            x = net._blocks[idx](x, drop_connect_rate=None)
            if idx in self.taps:
                parts.update(tap_parts(self.taps[idx], x))
        frozen = [parts[name].float() for name, _ in self.frozen_parts]
        return x, torch.cat(frozen, dim=1) if frozen else x.new_zeros((len(x), 0), dtype=torch.float32)


class Tail(torch.nn.Module):
    """The trained end of EfficientNet-Lite: blocks ``cut..``, the head convolution, the pooling (average, or
    the multi-depth parts joined with the frozen ones ``Front`` gives), L2 normalisation: the vectors an
    :class:`visual.ImageEmbedder` with that pooling returns."""

    def __init__(self, net, cut: int, pooling: str = "avg", frozen_parts=()):
        super().__init__()
        self.net, self.cut, self.pooling = net, cut, pooling
        self.taps = {i: name for i, name in tap_blocks(net).items() if i >= cut} if pooling == "multi" else {}
        self.frozen_parts = list(frozen_parts)

    def forward(self, x, frozen=None):
        net, n = self.net, len(self.net._blocks)
        parts = {}
        for idx in range(self.cut, n):
            rate = net._global_params.drop_connect_rate
            x = net._blocks[idx](x, drop_connect_rate=rate * float(idx) / n if rate else rate)
            if idx in self.taps:
                parts.update(tap_parts(self.taps[idx], x))
        h = net._swish(net._bn1(net._conv_head(x)))
        if self.pooling != "multi":
            return torch.nn.functional.normalize(h.mean(dim=(2, 3)).float(), dim=1)  # as ImageEmbedder's vectors
        parts.update(head_parts(h))
        if self.frozen_parts:
            cols = torch.split(frozen.float(), [d for _, d in self.frozen_parts], dim=1)
            parts.update({name: c for (name, _), c in zip(self.frozen_parts, cols)})
        return torch.nn.functional.normalize(join_parts(parts), dim=1)


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
