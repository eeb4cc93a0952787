"""Search by words: catalog items whose photos match a typed query, photo-only items included.

The query is mapped into the catalog's image space by a :class:`features.align.TextAligner` (the
shipped one for the default backbone, or one trained by ``visrec align``) and searched in the same
index as search by photo. On a fused catalog (image + MiniLM text vectors) the query fills both
parts, so items that have a text match on it too. Queries are embedded in memory and never stored.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from features.adapt import HEADS_DIR
from features.align import MINILM, TextAligner
from recsys.index import VectorIndex
from recsys.search import catalog_space, shipped_adapter
from visual.signatures import space_mismatch, standard_vectors


def default_text_head_path(signature: dict) -> Path | None:
    """The shipped text aligner for image vectors made with ``signature``, if any."""
    if not signature or not standard_vectors(signature):  # heads ship for the standard vectors
        return None
    p = HEADS_DIR / (f"text-hm-{signature.get('backbone')}-{signature.get('preprocess')}-"
                          f"{signature.get('input_size')}.safetensors")
    return p if p.exists() else None


class TextSearch:
    """Search a catalog's photos by words.

    Parameters
    ----------
    model : Recommender or features.ItemFeatures
        A fitted model that uses images, or a catalog's item features (then give ``item_ids``).
    aligner : features.align.TextAligner or path, optional
        Default: the shipped aligner for the catalog's backbone and preprocessing.
    adapter : features.adapt.VisualAdapter, optional
        The head the catalog vectors went through, when the aligner maps into raw vectors: the query
        goes through it too (loaded from the shipped heads when it is the default one).
    index : str or VectorIndex
        Kind of nearest-neighbour index over the catalog vectors, or an index already built on them.

    Examples
    --------
    >>> ids, scores = TextSearch(model).search(["red floral summer dress"], k=10)  # doctest: +SKIP
    """

    def __init__(self, model, aligner=None, *, item_ids=None, adapter=None, index="auto"):
        vectors, present, sig, self.items = catalog_space(model, item_ids)
        if aligner is None:
            p = default_text_head_path(sig)
            if p is None:
                raise ValueError(f"no shipped text aligner for backbone={sig.get('backbone')}, preprocess="
                                 f"{sig.get('preprocess')}, input_size={sig.get('input_size')}; train one with "
                                 "`visrec align` and pass --text-head")
            aligner = p
        if not isinstance(aligner, TextAligner):
            aligner = TextAligner.load(aligner)
        target = aligner.image_signature_
        diff = space_mismatch(sig, target)
        if diff:
            raise ValueError(f"the text aligner maps into vectors made with other settings than the catalog's "
                             f"(catalog vs aligner: {diff})")
        self.adapter = None
        if sig.get("adapter") and sig.get("adapter") != target.get("adapter"):
            if target.get("adapter"):
                raise ValueError(f"the text aligner maps into adapter head {target['adapter']}'s space, the "
                                 f"catalog is in head {sig['adapter']}'s")
            self.adapter = adapter if adapter is not None else shipped_adapter(sig)
        self.aligner = aligner
        self.text_weight = float(sig["text_weight"]) if "fused_text" in sig else None
        self.fused_minilm = self.text_weight is not None and "MiniLM" in str(sig.get("fused_text"))
        self.index = index if isinstance(index, VectorIndex) else VectorIndex(vectors, present, kind=index)

    def embed(self, texts) -> np.ndarray:
        """Query vectors of ``texts`` in the catalog's vector space, one row each; ValueError naming an
        empty query."""
        texts = list(texts)
        q = self.aligner.transform_texts(texts)
        if self.adapter is not None:
            from features import ItemFeatures
            q = self.adapter.transform(ItemFeatures(q, np.ones(len(q), bool))).vectors
        if self.text_weight is not None:  # fused catalog: [image part, text part]
            pad = self.index.vectors.shape[1] - q.shape[1]
            same_text = self.fused_minilm and self.aligner.text_model_ == MINILM
            t = self.aligner.encode_texts(texts) if same_text else np.zeros((len(q), pad), np.float32)
            q = np.hstack([q * np.sqrt(1.0 - self.text_weight), t * np.sqrt(self.text_weight)])
        return q.astype(np.float32)

    def search(self, texts, k: int = 10, allowed=None) -> tuple[np.ndarray, np.ndarray]:
        """Best-matching catalog items for each text: ``(item_ids, scores)`` of shape ``(n_texts, k)``
        (``allowed``: a boolean mask of the items that may be returned)."""
        idx, scores = self.index.search(self.embed(texts), k, allowed=allowed)
        return self.items.to_ids(idx), scores

