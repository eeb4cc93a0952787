"""Similar-item (retrieval) quality from item metadata: category precision and variant recall."""

from __future__ import annotations

import numpy as np
import pandas as pd

from recsys.index import VectorIndex


def _codes(values) -> np.ndarray:
    s = pd.Series(list(values), dtype="object")
    codes, _ = pd.factorize(s.where(s.notna() & (s.astype(str) != ""), None), use_na_sentinel=True)
    return codes


def label_precision_at_k(vectors: np.ndarray, labels, k: int = 10, present=None) -> np.ndarray:
    """Per labelled item: share of its ``k`` nearest labelled items (itself excluded) with the same
    label. Only labelled items with a vector take part, as queries and as the gallery."""
    lab = _codes(labels)
    ok = (lab >= 0) & (np.ones(len(lab), bool) if present is None else np.asarray(present, bool))
    idx = np.flatnonzero(ok)
    index = VectorIndex(vectors[idx])
    nb, _ = index.search(vectors[idx], k + 1)
    out = np.empty(len(idx))
    for r, row in enumerate(nb):
        row = [j for j in row if j >= 0 and j != r][:k]
        out[r] = np.mean(lab[idx[row]] == lab[idx[r]]) if row else 0.0
    return out


def group_recall_at_k(vectors: np.ndarray, groups, k: int = 10, present=None) -> np.ndarray:
    """Per item of a group with >= 2 members: share of the other members among its ``k`` nearest
    items (gallery: every item with a vector, itself excluded)."""
    g = _codes(groups)
    ok = np.ones(len(g), bool) if present is None else np.asarray(present, bool)
    idx = np.flatnonzero(ok)
    sizes = pd.Series(g[idx]).map(pd.Series(g[idx]).value_counts()).to_numpy()
    queries = [r for r in range(len(idx)) if g[idx[r]] >= 0 and sizes[r] >= 2]
    index = VectorIndex(vectors[idx])
    nb, _ = index.search(vectors[idx[queries]], k + 1)
    out = np.empty(len(queries))
    for qi, (r, row) in enumerate(zip(queries, nb)):
        row = [j for j in row if j >= 0 and j != r][:k]
        out[qi] = np.sum(g[idx[row]] == g[idx[r]]) / (sizes[r] - 1)
    return out


def score_similar_feed(rows, labels: dict, groups: dict, k: int = 10) -> dict:
    """The two retrieval numbers from a similar-items feed (``visrec similar`` JSONL rows).

    ``labels``: item id -> category (items without one are skipped as queries and as
    neighbours); ``groups``: item id -> variant group. Returns the mean category precision@k
    over labelled neighbours and the mean recall@k of the other members of each item's group
    that are in the feed.
    """
    in_feed = {r["item_id"] for r in rows}
    size: dict = {}
    for i in in_feed:
        if groups.get(i) is not None:
            size[groups[i]] = size.get(groups[i], 0) + 1
    prec, rec = [], []
    for r in rows:
        q = r["item_id"]
        nb = [x["item_id"] for x in r["similar"][:k]]
        if labels.get(q) is not None:
            judged = [labels[n] for n in nb if labels.get(n) is not None]
            if judged:
                prec.append(np.mean([lab == labels[q] for lab in judged]))
        g = groups.get(q)
        if g is not None and size.get(g, 0) >= 2:
            rec.append(sum(groups.get(n) == g for n in nb) / (size[g] - 1))
    return {f"type_precision@{k}": float(np.mean(prec)) if prec else float("nan"),
            f"variant_recall@{k}": float(np.mean(rec)) if rec else float("nan"),
            "n_precision": len(prec), "n_recall": len(rec)}
