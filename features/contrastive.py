"""The multi-positive contrastive objective shared by the heads trained on a catalog's weak labels
(:class:`features.adapt.VisualAdapter` on frozen vectors, :mod:`features.finetune` through the last CNN
blocks): batches built around variant groups, labels and co-interaction pairs, and the loss over them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


def _factorized(values):
    import pandas as pd
    s = pd.Series(list(values), dtype="object")
    return pd.factorize(s.where(s.notna() & (s.astype(str) != ""), None), use_na_sentinel=True)


def codes(values) -> np.ndarray | None:
    """Dense codes for group/label values; -1 where missing (None, NaN or '')."""
    if values is None:
        return None
    return _factorized(values)[0].astype(np.int64)


def code_names(values) -> list[str]:
    """The distinct values in the order :func:`codes` numbers them (code ``i`` is ``code_names(values)[i]``)."""
    return [str(v) for v in _factorized(values)[1]]


def partners(pairs) -> dict[int, list[int]]:
    """Co-interaction partners of each item index, from ``(m, 2)`` index pairs."""
    partner: dict[int, list[int]] = {}
    if pairs is not None and len(pairs):
        for a, b in np.asarray(pairs, dtype=np.int64):
            partner.setdefault(int(a), []).append(int(b))
            partner.setdefault(int(b), []).append(int(a))
    return partner


@dataclass
class BatchPlan:
    """Where positives come from: ``multi`` (variant groups of two or more usable items), ``labelled``
    and ``everyone`` (usable item indices), ``partner`` (co-interaction partners)."""

    multi: list
    labelled: np.ndarray
    everyone: np.ndarray
    partner: dict

    @classmethod
    def build(cls, keep: np.ndarray, g, lab, partner: dict) -> "BatchPlan":
        """From the usable items ``keep`` and the group / label codes (:func:`codes`, or None)."""
        by_group: dict[int, list[int]] = {}
        if g is not None:
            for i in np.flatnonzero(keep & (g >= 0)):
                by_group.setdefault(int(g[i]), []).append(int(i))
        multi = [v for v in by_group.values() if len(v) >= 2]
        labelled = np.flatnonzero(keep & (lab >= 0)) if lab is not None else np.zeros(0, np.int64)
        return cls(multi, labelled, np.flatnonzero(keep), partner)

    def sample(self, rng, batch_size: int) -> np.ndarray:
        """A batch: half from variant groups (up to 4 per group), then labelled items, then any."""
        out: list[int] = []
        half = batch_size // 2
        if self.multi:
            for k in rng.permutation(len(self.multi)):
                grp = self.multi[k]
                out.extend(rng.choice(grp, size=min(4, len(grp)), replace=False).tolist())
                if len(out) >= half:
                    break
        if len(self.labelled):
            out.extend(rng.choice(self.labelled, size=min(len(self.labelled), (batch_size - len(out)) * 2 // 3),
                                  replace=False).tolist())
        if self.partner and len(out) < batch_size:
            seeds = rng.choice(list(self.partner), size=min(len(self.partner), (batch_size - len(out)) // 2),
                               replace=False)
            for s in seeds:
                out.append(int(s))
                out.append(int(rng.choice(self.partner[int(s)])))
        if len(out) < batch_size:
            size = min(len(self.everyone), batch_size - len(out))
            out.extend(rng.choice(self.everyone, size=size, replace=False).tolist())
        return np.unique(np.asarray(out[:batch_size], dtype=np.int64))


def multi_positive_loss(z, gi, li, idx: np.ndarray, partner: dict, *, group_weight: float, label_weight: float,
                        pair_weight: float, temperature: float):
    """Contrastive loss of the batch ``idx`` whose (L2-normalised) vectors are ``z`` and group / label
    codes ``gi`` / ``li``: each positive pair weighs the largest of the weights that apply to it (same
    group, same label, co-interaction). ``None`` when no anchor in the batch has a positive."""
    dev = z.device
    sim = z @ z.T / temperature
    eye = torch.eye(len(idx), dtype=torch.bool, device=dev)
    w = torch.zeros_like(sim)
    if group_weight:
        w = torch.maximum(w, group_weight * ((gi[:, None] == gi[None, :]) & (gi[:, None] >= 0)).float())
    if label_weight:
        w = torch.maximum(w, label_weight * ((li[:, None] == li[None, :]) & (li[:, None] >= 0)).float())
    if pair_weight and partner:
        pm = np.zeros((len(idx), len(idx)), np.float32)
        pos = {int(v): k for k, v in enumerate(idx)}
        for k, a in enumerate(idx):
            for b in partner.get(int(a), ()):
                if b in pos:
                    pm[k, pos[b]] = 1.0
        w = torch.maximum(w, pair_weight * torch.from_numpy(pm).to(dev))
    w = w.masked_fill(eye, 0)
    has = w.sum(1) > 0
    if not has.any():
        return None
    logp = sim.masked_fill(eye, -1e9).log_softmax(dim=1)
    return -((w * logp).sum(1)[has] / w.sum(1)[has]).mean()
