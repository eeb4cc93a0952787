"""A linear category classifier on image vectors whose class probabilities extend adapted vectors.

Two photos of the same kind of product (trousers, bras, sneakers) should be neighbours even where the
contrastive head places them apart. A multinomial logistic regression on the frozen image vectors
predicts the catalog's category; the square roots of its probabilities form a unit vector whose dot
product with another is the Bhattacharyya coefficient of the two predictions, and
:class:`features.adapt.VisualAdapter` appends it (weighted) to the head's output. Items of a variant
group share its label where only some of them carry one (colour variants are one product).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


def spread_labels(labels: np.ndarray, groups: np.ndarray | None) -> np.ndarray:
    """Label codes (-1 = none) filled in from the other items of the same variant group.

    Where a group's items carry different labels the most frequent one is used.
    """
    out = np.asarray(labels, dtype=np.int64).copy()
    if groups is None:
        return out
    g = np.asarray(groups, dtype=np.int64)
    known = (out >= 0) & (g >= 0)
    if not known.any():
        return out
    n_lab = int(out.max()) + 1
    pair = g[known] * n_lab + out[known]
    uniq, counts = np.unique(pair, return_counts=True)
    grp, lab = uniq // n_lab, uniq % n_lab
    order = np.lexsort((-counts, grp))  # per group, the most frequent label first
    first = np.r_[True, grp[order][1:] != grp[order][:-1]]
    best = np.full(int(g.max()) + 1, -1, np.int64)
    best[grp[order][first]] = lab[order][first]
    fill = (out < 0) & (g >= 0)
    out[fill] = best[g[fill]]
    return out


#: the classifier's default L2 penalty: chosen on validation products of the H&M sample (unit-length image vectors
#: need large weights, so scikit-learn's C = 1 under-fits them; see benchmarks/RESULTS.md)
LABEL_PROBS_L2 = 0.1


def check_label_probs_settings(weight: float, l2: float) -> None:
    """The checks shared by every estimator that appends class probabilities (``label_probs_weight``/``_l2``)."""
    if not 0 <= weight < 1:
        raise ValueError(f"label_probs_weight must be in [0, 1), got {weight}")
    if not l2 > 0:
        raise ValueError(f"label_probs_l2 must be > 0, got {l2}")


def fit_label_classifier(vectors: np.ndarray, labels: np.ndarray, *, l2: float = LABEL_PROBS_L2, max_iter: int = 300,
                         device: str | torch.device = "cpu") -> nn.Linear:
    """Multinomial logistic regression of ``labels`` (codes, -1 = unlabelled) on ``vectors``.

    ``l2`` is the penalty ``l2 / 2 * ||W||^2`` added to the summed cross-entropy (scikit-learn's
    ``LogisticRegression(C=1 / l2)``); full-batch L-BFGS. Classes are the codes ``0 .. max``.
    """
    y = np.asarray(labels, dtype=np.int64)
    keep = y >= 0
    n_classes = int(y.max()) + 1 if keep.any() else 0
    if n_classes < 2:
        raise ValueError(f"a label classifier needs at least 2 labelled categories, got {n_classes}")
    X = torch.from_numpy(np.ascontiguousarray(vectors[keep], dtype=np.float32)).to(device)
    Y = torch.from_numpy(y[keep]).to(device)
    lin = nn.Linear(X.shape[1], n_classes).to(device)
    nn.init.zeros_(lin.weight)
    nn.init.zeros_(lin.bias)
    opt = torch.optim.LBFGS(lin.parameters(), lr=1.0, max_iter=max_iter, history_size=20,
                            line_search_fn="strong_wolfe", tolerance_grad=1e-6, tolerance_change=1e-9)
    n = float(len(Y))

    def closure():
        opt.zero_grad()
        # mean loss (well scaled for L-BFGS); the penalty divided by n keeps the optimum of the summed form
        loss = nn.functional.cross_entropy(lin(X), Y) + 0.5 * float(l2) / n * lin.weight.pow(2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return lin.cpu().eval()


def label_features(classifier: nn.Linear, vectors: np.ndarray, block: int = 4096) -> np.ndarray:
    """Square roots of the classifier's class probabilities: unit vectors ``(n, n_classes)``."""
    out = []
    with torch.inference_mode():
        for s in range(0, len(vectors), block):
            x = torch.from_numpy(np.ascontiguousarray(vectors[s:s + block], dtype=np.float32))
            out.append(torch.softmax(classifier(x), dim=-1).sqrt().numpy())
    return np.concatenate(out) if out else np.zeros((0, classifier.out_features), np.float32)


def append_label_features(adapted: np.ndarray, probs: np.ndarray, weight: float) -> np.ndarray:
    """``[(1 - weight) * adapted, weight * probs]`` row-normalised (both parts are unit rows)."""
    v = np.concatenate([(1.0 - weight) * adapted, weight * probs], axis=1).astype(np.float32)
    v /= np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)
    return v
