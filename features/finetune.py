"""Partial fine-tuning: the last blocks of an EfficientNet-Lite backbone trained together with a projection head
on a catalog's weak labels (variant groups, categories), the earlier blocks kept frozen so the network
keeps its ImageNet semantics.

The frozen part runs once per image (its activations at the first trained block are kept, float16),
so each epoch only runs the last ``unfreeze`` blocks: practical on a CPU for a few thousand photos.
Batch norms keep their ImageNet statistics. Early stopping watches retrieval on a validation split by
group (colour variants never on both sides). The result is a full backbone checkpoint (safetensors,
loaded by ``ImageEmbedder(weights=...)``; its content hash becomes the vectors' ``weights_id``, so caches
and indexes never mix its vectors with the original network's) and an adapter head for its vectors.
The embedder's pooling is what is trained: with ``pooling="multi"`` (:mod:`visual.multi_depth`) the stage outputs
pooled before the first trained block come from the frozen pass, the later ones and the head's from the trained
blocks.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import time
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from recsys.io.atomic import atomic_write_text, default_mode
from visual.backbones import LITE
from visual.devices import resolve_device

from .adapt import ProjectionHead, VisualAdapter
from .contrastive import BatchPlan, code_names, codes, multi_positive_loss
from .label_probs import LABEL_PROBS_L2, check_label_probs_settings, fit_label_classifier, spread_labels
from .lite_parts import Front, Tail, retrieval_score, split_groups


def _size(n: int) -> str:
    return f"{n / 2**30:.1f} GiB" if n >= 2**30 else f"{n / 2**20:.1f} MiB"


class BackboneFineTuner:
    """Train the last ``unfreeze`` blocks of an EfficientNet-Lite backbone and a projection head.

    Parameters
    ----------
    unfreeze : int
        Trailing blocks trained (1..16 for Lite0, more for Lite1/Lite2), with the head convolution.
    epochs, batch_size, lr, head_lr, weight_decay : training (``lr`` for the blocks, ``head_lr`` for the head).
    patience : int
        Epochs without a better validation score before stopping.
    validation_fraction : float
        Groups held out for early stopping.
    out_dim, hidden, dropout, temperature, group_weight, label_weight : the head and loss, as
        :class:`features.adapt.VisualAdapter`.
    label_probs_weight : float in [0, 1)
        When > 0, a category classifier is also fitted on the tuned network's vectors and saved with the
        head, whose vectors then carry its class probabilities at this weight (as
        :class:`features.adapt.VisualAdapter`'s ``label_probs_weight``). Needs ``labels``.
    label_probs_l2 : float > 0
        That classifier's L2 penalty (as :class:`features.adapt.VisualAdapter`'s).
    augment : bool
        Random horizontal flips of the training photos. The photos are then kept as pixels and the frozen
        blocks run again at every step (cheap on a GPU, slower on a CPU). With every block unfrozen the
        pixels are kept anyway (smaller than the stem's activations), so flips cost nothing more there.
    max_memory : int, optional
        Bytes the kept activations (or pixels) may take (default: 60% of the memory available when ``fit`` starts);
        more is refused before it is allocated, with the size and what to lower.
    random_state : int
    device : str
    progress : bool
    """

    def __init__(self, unfreeze: int = 1, epochs: int = 8, batch_size: int = 128, lr: float = 1e-4,
                 head_lr: float = 1e-3, weight_decay: float = 1e-4, patience: int = 2,
                 validation_fraction: float = 0.15, out_dim: int = 256, hidden: int = 256, dropout: float = 0.4,
                 temperature: float = 0.1, group_weight: float = 1.0, label_weight: float = 0.5,
                 label_probs_weight: float = 0.0, label_probs_l2: float = LABEL_PROBS_L2, augment: bool = False,
                 max_memory: int | None = None,
                 random_state: int = 0, device: str = "auto", progress: bool = True):
        self.unfreeze, self.epochs, self.batch_size, self.lr, self.head_lr = unfreeze, epochs, batch_size, lr, head_lr
        self.weight_decay, self.patience, self.validation_fraction = weight_decay, patience, validation_fraction
        self.out_dim, self.hidden, self.dropout, self.temperature = out_dim, hidden, dropout, temperature
        self.group_weight, self.label_weight, self.label_probs_weight = group_weight, label_weight, label_probs_weight
        self.label_probs_l2, self.augment, self.max_memory = label_probs_l2, augment, max_memory
        self.random_state, self.device, self.progress = random_state, device, progress

    def _check(self, embedder):
        if embedder.net.name not in LITE:
            raise ValueError(f"--unfreeze fine-tunes the EfficientNet-Lite backbones ({', '.join(LITE)}), "
                             f"not {embedder.net.name!r}")
        blocks = len(embedder.net.model.net._blocks)
        if not 1 <= self.unfreeze <= blocks:
            raise ValueError(f"unfreeze must be 1..{blocks} ({embedder.net.name} has {blocks} blocks), "
                             f"got {self.unfreeze}")
        if self.epochs < 1 or self.batch_size < 2 or not 0 < self.validation_fraction < 1:
            raise ValueError("epochs must be >= 1, batch_size >= 2 and validation_fraction in (0, 1)")
        check_label_probs_settings(self.label_probs_weight, self.label_probs_l2)

    def fit(self, embedder, paths, groups=None, labels=None) -> "BackboneFineTuner":
        """Fine-tune on the photos ``paths`` (unreadable ones skipped, listed in ``errors_``) with their
        variant ``groups`` and category ``labels`` (None/'' where unknown). ``embedder``: the
        :class:`visual.ImageEmbedder` whose network and preprocessing are fine-tuned."""
        self._check(embedder)
        g, lab = codes(groups), codes(labels)
        if g is None and lab is None:
            raise ValueError("give at least one signal: groups or labels")
        if self.label_probs_weight and lab is None:
            raise ValueError("label_probs_weight > 0 needs labels (a category per photo) to train the classifier on")
        n = len(paths)
        g = g if g is not None else np.full(n, -1)
        lab = lab if lab is not None else np.full(n, -1)
        torch.manual_seed(self.random_state)
        rng = np.random.default_rng(self.random_state)
        dev = resolve_device(self.device)
        net = copy.deepcopy(embedder.net.model.net).to(dev).eval()
        self.base_weights_id_ = embedder.net.weights_id
        self.cut_ = len(net._blocks) - self.unfreeze
        self.kept_ = "pixels" if self.augment or self.cut_ == 0 else "activations"
        pooling = embedder.net.pooling
        front = Front(net, self.cut_, embedder.net.mean, embedder.net.std, pooling).to(dev)
        t = time.perf_counter()
        acts, ok = self._kept_inputs(embedder, front, paths, dev)
        self.frozen_seconds_ = time.perf_counter() - t
        val = split_groups(list(groups) if groups is not None else [None] * n, self.validation_fraction,
                           self.random_state) & ok
        plan = BatchPlan.build(ok & ~val, g, lab, {})
        tail = Tail(net, self.cut_, pooling, front.frozen_parts)
        self.dim_ = int(embedder.net.dim)
        for p in net.parameters():
            p.requires_grad_(False)
        trained = [p for m in (*net._blocks[self.cut_:], net._conv_head) for p in m.parameters()]
        for p in trained:
            p.requires_grad_(True)
        head = ProjectionHead(self.dim_, self.hidden, self.out_dim, self.dropout).to(dev)
        opt = torch.optim.AdamW([{"params": trained, "lr": self.lr}, {"params": head.parameters(), "lr": self.head_lr}],
                                weight_decay=self.weight_decay)
        G, L = torch.from_numpy(g).to(dev), torch.from_numpy(lab).to(dev)
        steps = max(1, len(plan.everyone) // self.batch_size)
        best, best_state, waited, self.history_ = -1.0, None, 0, []
        t = time.perf_counter()
        for epoch in tqdm(range(self.epochs), desc=f"fine-tuning {self.unfreeze} block(s)", disable=not self.progress):
            head.train()
            total = 0.0
            for _ in range(steps):
                idx = plan.sample(rng, self.batch_size)
                bi = torch.from_numpy(idx).to(dev)
                flip = rng.random(len(idx)) < 0.5 if self.augment else None
                with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=dev.type == "cuda"):
                    z = head(tail(*self._at_cut(front, acts, idx, dev, flip)).float())
                loss = multi_positive_loss(z.float(), G[bi], L[bi], idx, {}, group_weight=self.group_weight,
                                           label_weight=self.label_weight, pair_weight=0.0,
                                           temperature=self.temperature)
                if loss is None:
                    continue
                opt.zero_grad()
                loss.backward()
                opt.step()
                total += loss.item()
            head.eval()
            score = retrieval_score(self._vectors(front, tail, head, acts, np.flatnonzero(val), dev), g[val],
                                    lab[val])
            self.history_.append({"epoch": epoch + 1, "loss": total / steps, "validation": round(score, 4)})
            if score > best:
                best, waited = score, 0
                best_state = (copy.deepcopy(net.state_dict()), copy.deepcopy(head.state_dict()))
            else:
                waited += 1
                if waited >= self.patience:
                    break
        self.train_seconds_ = time.perf_counter() - t
        net.load_state_dict(best_state[0])
        head.load_state_dict(best_state[1])
        self.classifier_, self.label_classes_ = None, []
        if self.label_probs_weight:  # on the tuned vectors of every readable photo, labels spread over groups
            rows = np.flatnonzero(ok)
            vecs = np.zeros((n, self.dim_), np.float32)
            vecs[rows] = self._vectors(front, tail, None, acts, rows, dev)
            self.classifier_ = fit_label_classifier(vecs, spread_labels(np.where(ok, lab, -1), g),
                                                    l2=self.label_probs_l2, device=dev)
            self.label_classes_ = code_names(labels)
        self.net_, self.head_ = net.cpu().eval(), head.cpu().eval()
        self.validation_score_, self.validation_rows_ = best, int(val.sum())
        return self

    def _kept_inputs(self, embedder, front, paths, dev):
        """``(kept, frozen)``: float16 activations at the first trained block of every readable photo and the
        frozen parts of their multi-depth vectors (:class:`Front`), or their uint8 pixels and None
        (``kept_ == "pixels"``); zeros for unreadable photos."""
        self.errors_, ok = [], np.zeros(len(paths), bool)
        out = parts = None
        for s in tqdm(range(0, len(paths), 64), desc="frozen blocks", disable=not self.progress):
            batch, rows = [], []
            for i in range(s, min(s + 64, len(paths))):
                try:
                    batch.append(embedder.decode(paths[i]))
                    rows.append(i)
                except (ValueError, OSError) as e:  # ImageError is a ValueError: skipped with the reason
                    self.errors_.append({"index": i, "path": str(paths[i]), "reason": str(e)})
            if not batch:
                continue
            x = torch.from_numpy(np.stack(batch))
            if self.kept_ == "activations":
                with torch.inference_mode():
                    x, frozen = front(x.to(dev))
                    x, frozen = x.to(torch.float16).cpu(), frozen.cpu()
                if parts is None:
                    parts = torch.zeros((len(paths), frozen.shape[1]), dtype=torch.float32)
                parts[rows] = frozen
            if out is None:
                self._check_memory(x[0].numel() * x.element_size() * len(paths), len(paths))
                out = torch.zeros((len(paths), *x.shape[1:]), dtype=x.dtype)
            out[rows] = x
            ok[rows] = True
        if out is None:
            raise ValueError("none of the photos could be read: nothing to fine-tune on")
        return (out, parts), ok

    def _check_memory(self, need: int, n: int) -> None:
        """Refuse activations that would not fit (an out-of-memory kill loses the whole job)."""
        limit = self.max_memory
        if limit is None:
            try:
                limit = int(0.6 * os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
            except (ValueError, OSError, AttributeError):  # no such figure on this system (macOS, Windows)
                return
        if need > limit:
            raise ValueError(f"unfreeze={self.unfreeze} keeps {_size(need)} of {self.kept_} for {n} photos, over the "
                             f"{_size(limit)} allowed (max_memory, default 60% of the free memory): unfreeze fewer "
                             "blocks (later blocks keep smaller activations), train on fewer photos, or use a machine "
                             "with more memory")

    def _at_cut(self, front, kept, rows, dev, flip=None):
        """The activations at the first trained block of ``rows`` (host-memory rows, indexed on the host) and
        their frozen multi-depth parts, run through the frozen front when pixels are kept, mirrored where ``flip``."""
        at = torch.from_numpy(np.asarray(rows))
        x = kept[0][at].to(dev)
        if self.kept_ == "activations":
            return x.float(), kept[1][at].to(dev)
        if flip is not None:
            x = torch.where(torch.from_numpy(flip).to(dev).view(-1, 1, 1, 1), x.flip(-1), x)
        with torch.no_grad():
            x, frozen = front(x)
        return x.float(), frozen

    def _vectors(self, front, tail, head, kept, rows, dev) -> np.ndarray:
        """The tuned network's vectors of ``rows`` (through ``head`` unless it is None)."""
        out = []
        with torch.inference_mode():
            for s in range(0, len(rows), 256):
                v = tail(*self._at_cut(front, kept, rows[s:s + 256], dev)).float()
                out.append((v if head is None else head(v)).cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, 1), np.float32)

    def save(self, backbone_path, head_path, embedder) -> tuple[Path, Path]:
        """The full backbone (``backbone_path``, safetensors, + ``.json`` with its signature) and the
        head (``head_path``, a :class:`VisualAdapter` file for the new backbone's vectors)."""
        from safetensors.torch import save_file
        backbone_path, head_path = Path(backbone_path), Path(head_path)
        backbone_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = backbone_path.with_name(f".{backbone_path.name}.{os.getpid()}.tmp")
        save_file({k: v.contiguous() for k, v in self.net_.state_dict().items()}, str(tmp))
        os.chmod(tmp, default_mode())
        weights_id = "sha256:" + hashlib.sha256(tmp.read_bytes()).hexdigest()[:16]
        tmp.replace(backbone_path)
        signature = dict(embedder.signature(), weights_id=weights_id)
        meta = {"kind": "finetuned-backbone", "signature": signature, "base_weights_id": self.base_weights_id_,
                "unfreeze": self.unfreeze, "validation_score": round(self.validation_score_, 4),
                "history": self.history_, "head": head_path.name}
        atomic_write_text(Path(str(backbone_path) + ".json"), json.dumps(meta, indent=1))
        ad = VisualAdapter(out_dim=self.out_dim, hidden=self.hidden, dropout=self.dropout,
                           temperature=self.temperature, group_weight=self.group_weight,
                           label_weight=self.label_weight, label_probs_weight=self.label_probs_weight,
                           label_probs_l2=self.label_probs_l2, progress=False)
        ad.head_, ad.in_dim_, ad.input_signature_ = self.head_, self.dim_, signature
        ad.classifier_, ad.label_classes_ = self.classifier_, self.label_classes_
        ad.save(head_path)
        return backbone_path, head_path
