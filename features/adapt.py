"""Adapting frozen CNN image vectors to a catalog with few labels.

A small projection head is trained on frozen image vectors with a multi-positive contrastive
loss from the weak signals a shop has: variant groups (e.g. H&M's ``product_code``: colour
variants of one product), category labels where present, and co-interaction pairs. It applies
to any image vector, so items never seen in training (no labels, no interactions) are mapped too.
Saved as safetensors + JSON (no pickle).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from recsys.io.atomic import atomic_write_text, default_mode
from visual.devices import resolve_device
from visual.signatures import space_mismatch, standard_vectors

from .contrastive import BatchPlan, code_names, codes, multi_positive_loss, partners
from .item_features import ItemFeatures
from .label_probs import (LABEL_PROBS_L2, append_label_features, check_label_probs_settings, fit_label_classifier,
                          label_features, spread_labels)


class ProjectionHead(nn.Module):
    def __init__(self, d_in: int, hidden: int, d_out: int, dropout: float):
        super().__init__()
        self.net = nn.Sequential(nn.Dropout(dropout), nn.Linear(d_in, hidden), nn.GELU(), nn.Linear(hidden, d_out))
        self.skip = nn.Linear(d_in, d_out, bias=False)

    def forward(self, x):
        return nn.functional.normalize(self.net(x) + self.skip(x), dim=-1)


#: constructor arguments saved with a head (``device`` and ``progress`` are not)
_PARAM_NAMES = ("out_dim", "hidden", "group_weight", "label_weight", "pair_weight", "temperature", "epochs",
                "batch_size", "lr", "weight_decay", "dropout", "random_state", "label_probs_weight", "label_probs_l2")
#: safetensors key prefix of the optional label classifier (the head's own keys have none)
_CLASSIFIER = "label_classifier."
#: keys of saved heads' params renamed since (old -> new), still accepted when loading
_RENAMED_PARAMS = {"seed": "random_state"}


class VisualAdapter:
    """Projection head on frozen image vectors, trained contrastively from weak labels.

    Parameters
    ----------
    out_dim, hidden : head sizes.
    group_weight, label_weight, pair_weight : float
        Weight of a positive pair that shares a variant group / a category label / a
        co-interaction. The largest applicable weight counts.
    temperature : float
    epochs, batch_size, lr, weight_decay, dropout : training settings.
    random_state : int
        Seed of the head's initialisation, dropout and batch sampling.
    label_probs_weight : float in [0, 1)
        With ``labels``: weight ``c`` of a category classifier's probabilities in the output
        (:mod:`features.label_probs`): ``[(1 - c) * head(x), c * sqrt(p(label | x))]``, renormalised.
        0 (the default): the head's vectors alone.
    label_probs_l2 : float > 0
        L2 penalty of that classifier (scikit-learn's ``C = 1 / label_probs_l2``); lower gives sharper
        probabilities (type precision up, variant recall down). The default was chosen on validation
        products of the H&M sample (``benchmarks/RESULTS.md``).
    device : str
    progress : bool

    The settings are stored as given and checked by :meth:`fit` (the scikit-learn convention).
    """

    def __init__(self, out_dim: int = 256, hidden: int = 1024, group_weight: float = 1.0,
                 label_weight: float = 0.5, pair_weight: float = 0.0, temperature: float = 0.05,
                 epochs: int = 30, batch_size: int = 512, lr: float = 1e-3, weight_decay: float = 1e-4,
                 dropout: float = 0.2, random_state: int = 0, label_probs_weight: float = 0.0,
                 label_probs_l2: float = LABEL_PROBS_L2, device: str = "auto", progress: bool = True):
        self.out_dim = out_dim
        self.hidden = hidden
        self.group_weight = group_weight
        self.label_weight = label_weight
        self.pair_weight = pair_weight
        self.temperature = temperature
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.dropout = dropout
        self.random_state = random_state
        self.label_probs_weight = label_probs_weight
        self.label_probs_l2 = label_probs_l2
        self.device = device
        self.progress = progress

    def get_params(self) -> dict:
        return {k: getattr(self, k) for k in _PARAM_NAMES}

    def _check_params(self) -> None:
        for name in ("out_dim", "hidden", "epochs"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)}")
        if self.batch_size < 2:
            raise ValueError(f"batch_size must be >= 2 (positives are found within a batch), got {self.batch_size}")
        for name in ("group_weight", "label_weight", "pair_weight", "weight_decay"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if not self.temperature > 0 or not self.lr > 0:
            raise ValueError(f"temperature and lr must be > 0, got {self.temperature} and {self.lr}")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        check_label_probs_settings(self.label_probs_weight, self.label_probs_l2)

    def fit(self, features: ItemFeatures, groups=None, labels=None, pairs=None) -> "VisualAdapter":
        """Train on the items that have a vector.

        Parameters
        ----------
        features : ItemFeatures
        groups : sequence, optional -- variant-group id per item (None/'' = none)
        labels : sequence, optional -- category per item (None/'' = unlabelled)
        pairs : int array (m, 2), optional -- item index pairs that co-occur in users' histories
        """
        self._check_params()
        g, lab = codes(groups), codes(labels)
        n = features.n_items
        if g is None and lab is None and pairs is None:
            raise ValueError("give at least one signal: groups, labels or pairs")
        if self.label_probs_weight and lab is None:
            raise ValueError("label_probs_weight > 0 needs labels (a category per item) to train the classifier on")
        torch.manual_seed(self.random_state)
        rng = np.random.default_rng(self.random_state)
        dev = resolve_device(self.device)
        keep = features.present
        X = torch.from_numpy(features.vectors).to(dev)
        G = torch.from_numpy(g if g is not None else np.full(n, -1)).to(dev)
        L = torch.from_numpy(lab if lab is not None else np.full(n, -1)).to(dev)
        partner = partners(pairs)
        # batches are built around variant groups / labels / pairs so that each anchor has positives
        plan = BatchPlan.build(keep, g, lab, partner)
        head = ProjectionHead(features.dim, self.hidden, self.out_dim, self.dropout).to(dev)
        opt = torch.optim.AdamW(head.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        steps = max(1, len(plan.everyone) // self.batch_size)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=self.lr, total_steps=self.epochs * steps)
        self.history_ = []
        for _ in tqdm(range(self.epochs), desc="adapting embeddings", disable=not self.progress):
            tot = 0.0
            for _ in range(steps):
                idx = plan.sample(rng, self.batch_size)
                bi = torch.from_numpy(idx).to(dev)
                loss = multi_positive_loss(head(X[bi]), G[bi], L[bi], idx, partner, group_weight=self.group_weight,
                                           label_weight=self.label_weight, pair_weight=self.pair_weight,
                                           temperature=self.temperature)
                if loss is None:
                    continue
                opt.zero_grad()
                loss.backward()
                opt.step()
                sched.step()
                tot += loss.item()
            self.history_.append(tot / steps)
        head.eval()
        self.head_ = head.cpu()
        self.in_dim_ = features.dim
        # the vectors' space (network, weights, pooling...): transform refuses vectors from another one
        self.input_signature_ = dict(features.signature or {})
        self.classifier_, self.label_classes_ = None, []
        if self.label_probs_weight:
            y = spread_labels(np.where(keep, lab, -1), g)
            self.classifier_ = fit_label_classifier(features.vectors, np.where(keep, y, -1), l2=self.label_probs_l2,
                                                    device=dev)
            self.label_classes_ = code_names(labels)
        return self

    def transform(self, features: ItemFeatures) -> ItemFeatures:
        """Adapted, L2-normalised vectors (items without a vector stay without)."""
        if not hasattr(self, "head_"):
            raise RuntimeError("VisualAdapter is not fitted: call fit(...) or VisualAdapter.load(path)")
        mine = getattr(self, "input_signature_", {})
        diff = space_mismatch(mine, features.signature) if mine and features.signature else {}
        if diff:
            raise ValueError("the adapter head was trained on other vectors: " + ", ".join(
                f"{k} {want!r} (head) vs {got!r} (these vectors)" for k, (want, got) in diff.items())
                + "; embed with the head's settings (--backbone/--weights/--pooling) or train a head for these")
        if features.dim != self.in_dim_:
            raise ValueError(f"the adapter expects {self.in_dim_}-d vectors, got {features.dim}-d")
        with torch.inference_mode():
            out = []
            for s in range(0, features.n_items, 4096):
                out.append(self.head_(torch.from_numpy(features.vectors[s:s + 4096])).numpy())
        v = np.concatenate(out) if out else np.zeros((0, self.out_dim), np.float32)
        if getattr(self, "classifier_", None) is not None:
            v = append_label_features(v, label_features(self.classifier_, features.vectors), self.label_probs_weight)
        v[~features.present] = 0
        sig = dict(features.signature, adapter=getattr(self, "id_", "unsaved"))
        return ItemFeatures(v, features.present, features.source + "+adapted", features.errors, sig)

    def save(self, path, *, half: bool = False) -> Path:
        """``path`` (a .safetensors file) plus ``path.json`` with settings and the input signature.
        ``half=True`` stores float16 weights (half the size; computed in float32 when loaded)."""
        from safetensors.torch import save_file
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        dtype = torch.float16 if half else torch.float32
        tensors = dict(self.head_.state_dict())
        if getattr(self, "classifier_", None) is not None:
            tensors.update({_CLASSIFIER + k: v for k, v in self.classifier_.state_dict().items()})
        save_file({k: v.to(dtype).contiguous() for k, v in tensors.items()}, str(tmp))
        os.chmod(tmp, default_mode())
        self.id_ = "sha256:" + hashlib.sha256(tmp.read_bytes()).hexdigest()[:16]
        tmp.replace(path)
        meta = {"params": self.get_params(), "in_dim": self.in_dim_, "id": self.id_,
                "input": getattr(self, "input_signature_", {}), "label_classes": getattr(self, "label_classes_", [])}
        atomic_write_text(Path(str(path) + ".json"), json.dumps(meta, indent=1))
        return path

    @classmethod
    def load(cls, path) -> "VisualAdapter":
        from safetensors.torch import load_file
        path = Path(path)
        meta = json.loads(Path(str(path) + ".json").read_text())
        params = {_RENAMED_PARAMS.get(k, k): v for k, v in meta["params"].items()}
        ad = cls(**params, progress=False)
        head = ProjectionHead(meta["in_dim"], ad.hidden, ad.out_dim, ad.dropout)
        tensors = {k: v.float() for k, v in load_file(str(path)).items()}
        head.load_state_dict({k: v for k, v in tensors.items() if not k.startswith(_CLASSIFIER)})
        head.eval()
        ad.classifier_ = _load_classifier(path, tensors, ad.label_probs_weight)
        ad.label_classes_ = list(meta.get("label_classes", [])) if ad.classifier_ is not None else []
        ad.head_, ad.in_dim_, ad.id_ = head, meta["in_dim"], meta["id"]
        ad.input_signature_ = meta.get("input", {})
        return ad


def _load_classifier(path: Path, tensors: dict, weight: float):
    """The label classifier saved with a head (None when the head has none)."""
    w, b = tensors.get(_CLASSIFIER + "weight"), tensors.get(_CLASSIFIER + "bias")
    if w is None and b is None:
        if weight:
            raise ValueError(f"{path}: label_probs_weight is {weight} but the file holds no label classifier")
        return None
    if w is None or b is None or w.ndim != 2 or b.shape != (w.shape[0],):
        raise ValueError(f"{path}: damaged label classifier (weight {None if w is None else tuple(w.shape)}, "
                         f"bias {None if b is None else tuple(b.shape)})")
    lin = nn.Linear(w.shape[1], w.shape[0])
    lin.load_state_dict({"weight": w, "bias": b})
    return lin.eval()


#: heads shipped with visrec, by the embedder settings they expect
HEADS_DIR = Path(__file__).resolve().parent / "heads"  # package data of ``features``


def default_head_path(signature: dict) -> Path | None:
    """The shipped head for vectors made with ``signature`` (backbone, preprocessing, size), if any."""
    if not signature or not standard_vectors(signature):  # heads ship for the standard vectors
        return None
    name = f"hm-{signature.get('backbone')}-{signature.get('preprocess')}-{signature.get('input_size')}.safetensors"
    p = HEADS_DIR / name
    return p if p.exists() else None


def load_default_head(signature: dict) -> "VisualAdapter":
    p = default_head_path(signature)
    if p is None:
        raise ValueError(f"no shipped adapter head for backbone={signature.get('backbone')}, "
                         f"preprocess={signature.get('preprocess')}, input_size={signature.get('input_size')}; "
                         "train one with `visrec adapt` and pass --head")
    ad = VisualAdapter.load(p)
    diff = space_mismatch(ad.input_signature_, signature)
    if diff:
        raise ValueError(f"the shipped head {p.name} expects vectors made with other settings (head vs given: {diff})")
    return ad
