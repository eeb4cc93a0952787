"""When two sets of image vectors can be compared: the parts of an embedder's signature
(:meth:`visual.ImageEmbedder.signature`) that decide the vector space. Kept free of torch so that the
layers above can check signatures cheaply."""

from __future__ import annotations

#: signature keys on which two sets of vectors must agree to be compared (network, weights, pixels, pooling, tta)
SPACE_KEYS = ("backbone", "weights_id", "preprocess", "input_size", "dim", "pooling", "tta")
#: what a missing key means (signatures written before the option)
DEFAULTS = {"pooling": "avg", "tta": "none"}


def space_mismatch(a: dict, b: dict) -> dict:
    """``{key: (a's, b's)}`` for the :data:`SPACE_KEYS` on which two vector signatures disagree (a missing key
    reads as None, a missing ``pooling`` or ``tta`` as its default: :data:`DEFAULTS`)."""
    out = {}
    for k in SPACE_KEYS:
        va, vb = a.get(k, DEFAULTS.get(k)), b.get(k, DEFAULTS.get(k))
        if va != vb:
            out[k] = (va, vb)
    return out


def standard_vectors(signature: dict) -> bool:
    """Whether ``signature`` describes the standard vectors (average pooling, no augmentation): the ones the
    shipped heads were trained on."""
    return all(signature.get(k, v) == v for k, v in DEFAULTS.items())
