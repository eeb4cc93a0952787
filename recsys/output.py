"""Writers for recommendation lists and similar-item feeds (JSONL, CSV, Parquet), atomic."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from visual.store import atomic_write_text


def _entries(ids, scores):
    return [{"item_id": str(i), "score": round(float(s), 6)}
            for i, s in zip(ids, scores) if i is not None and math.isfinite(float(s))]


def _write_lines(path, key: str, list_key: str, heads, ids, scores) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fmt = path.suffix.lower()
    if fmt in (".csv", ".parquet"):
        import pandas as pd
        rows = [(str(h), r + 1, e["item_id"], e["score"]) for h, i, s in zip(heads, ids, scores)
                for r, e in enumerate(_entries(i, s))]
        df = pd.DataFrame(rows, columns=[key, "rank", "item_id" if key != "item_id" else "similar_item_id", "score"])
        tmp = path.with_name(f".{path.name}.tmp")
        (df.to_csv(tmp, index=False) if fmt == ".csv" else df.to_parquet(tmp, index=False))
        tmp.replace(path)
        return path
    lines = [json.dumps({key: str(h), list_key: _entries(i, s)}) for h, i, s in zip(heads, ids, scores)]
    atomic_write_text(path, "\n".join(lines) + ("\n" if lines else ""))
    return path


def write_recommendations(path, user_ids, item_ids: np.ndarray, scores: np.ndarray) -> Path:
    """One line per user: ``{"user_id": ..., "items": [{"item_id": ..., "score": ...}, ...]}``
    (``.jsonl``; ``.csv``/``.parquet`` give one row per (user, rank))."""
    return _write_lines(path, "user_id", "items", user_ids, item_ids, scores)


def write_similar(path, query_ids, item_ids: np.ndarray, scores: np.ndarray) -> Path:
    """One line per item: ``{"item_id": ..., "similar": [{"item_id": ..., "score": ...}, ...]}``."""
    return _write_lines(path, "item_id", "similar", query_ids, item_ids, scores)
