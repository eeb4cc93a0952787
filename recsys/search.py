"""Search by photo: catalog items visually similar to an uploaded image.

The query image is decoded and embedded in memory only: it is never written to disk, cached or
logged, so shoppers' uploads stay private.
"""

from __future__ import annotations

import numpy as np

from recsys.index import VectorIndex

#: signature keys that must match between the catalog vectors and the query embedder
_COMPATIBLE = ("backbone", "weights_id", "preprocess", "input_size", "dim")


class PhotoSearch:
    """Reverse image search over the catalog images of a fitted visual model.

    Parameters
    ----------
    model : Recommender
        A fitted model that uses images (``visual``, ``hybrid``, ``lightfm`` with visual features).
    embedder : visual.ImageEmbedder, optional
        Defaults to one rebuilt from the settings recorded when the catalog was embedded.
    """

    def __init__(self, model, embedder=None, *, weights=None, device: str = "auto"):
        vv = model._visual_vectors()
        if vv is None:
            raise ValueError(f"model {model.name!r} does not use images; search by photo needs a visual, "
                             "hybrid or lightfm (visual features) model")
        sig = getattr(model, "feature_signature_", {}) or {}
        if embedder is None:
            from visual import ImageEmbedder
            if not sig:
                raise ValueError("the model does not record how its catalog images were embedded; "
                                 "pass embedder=ImageEmbedder(...) with the same settings")
            embedder = ImageEmbedder(sig["backbone"], weights, preprocess=sig["preprocess"],
                                     input_size=sig["input_size"], device=device, decoder="pil", progress=False)
        if sig:
            mine = embedder.signature()
            diff = {k: (sig.get(k), mine.get(k)) for k in _COMPATIBLE if sig.get(k) != mine.get(k)}
            if diff:
                raise ValueError(f"the query embedder differs from the one that embedded the catalog "
                                 f"(catalog vs query: {diff})")
        self.model = model
        self.embedder = embedder
        self.index = VectorIndex(*vv)

    def search(self, images, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """Most similar catalog items for each query image (PIL image, bytes or path).

        Returns ``(item_ids, scores)`` of shape ``(n_images, k)``. Raises
        :class:`visual.ImageError` naming the image that cannot be used.
        """
        q = self.embedder.embed_images(list(images))
        idx, scores = self.index.search(q, k)
        return self.model._to_ids(idx), scores
