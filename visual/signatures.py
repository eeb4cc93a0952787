"""When two sets of image vectors can be compared: the parts of an embedder's signature
(:meth:`visual.ImageEmbedder.signature`) that decide the vector space. Kept free of torch so that the
layers above can check signatures cheaply."""

from __future__ import annotations

#: signature keys on which two sets of vectors must agree to be compared (network, weights, pixels, pooling)
SPACE_KEYS = ("backbone", "weights_id", "preprocess", "input_size", "dim", "pooling")


def space_mismatch(a: dict, b: dict) -> dict:
    """``{key: (a's, b's)}`` for the :data:`SPACE_KEYS` on which two vector signatures disagree (a missing key
    reads as None; a missing ``pooling`` as the standard ``"avg"``)."""
    out = {}
    for k in SPACE_KEYS:
        va, vb = a.get(k), b.get(k)
        if k == "pooling":
            va, vb = va or "avg", vb or "avg"
        if va != vb:
            out[k] = (va, vb)
    return out
