"""Search by photo: catalog items visually similar to an uploaded image.

The query image is decoded and embedded in memory only: it is never written to disk, cached or
logged, so shoppers' uploads stay private.
"""

from __future__ import annotations

import numpy as np

from recsys.data import IdMap
from recsys.index import VectorIndex
from visual.signatures import space_mismatch


def catalog_space(model, item_ids=None):
    """``(vectors, present, signature, items)`` of a fitted visual model's image vectors, or of
    :class:`features.ItemFeatures` with their ``item_ids``."""
    from features import ItemFeatures
    if isinstance(model, ItemFeatures):
        if item_ids is None or len(item_ids) != model.n_items:
            raise ValueError("searching ItemFeatures needs item_ids, one per row")
        return model.vectors, model.present, dict(model.signature), IdMap(item_ids, kind="item")
    vv = model.visual_vectors()
    if vv is None:
        raise ValueError(f"model {model.name!r} does not use images; searching its catalog needs a visual, "
                         "hybrid or lightfm (visual features) model")
    return vv[0], vv[1], dict(getattr(model, "feature_signature_", {}) or {}), model.items_


def shipped_adapter(signature: dict):
    """The shipped adapter head the catalog vectors of ``signature`` went through (its id checked);
    ValueError asking for ``--head`` when it is not the shipped one."""
    from features.adapt import VisualAdapter, default_head_path
    p = default_head_path(signature)
    if p is None or VisualAdapter.load(p).id_ != signature["adapter"]:
        raise ValueError(f"the catalog vectors went through adapter head {signature['adapter']}: pass that head "
                         "(--head) to search them")
    return VisualAdapter.load(p)


class PhotoSearch:
    """Reverse image search over the catalog images of a fitted visual model.

    Parameters
    ----------
    model : Recommender or features.ItemFeatures
        A fitted model that uses images (``visual``, ``hybrid``, ``lightfm`` with visual features),
        or a catalog's item features (then give ``item_ids``).
    embedder : visual.ImageEmbedder, optional
        Defaults to one rebuilt from the settings recorded when the catalog was embedded.
    adapter : features.adapt.VisualAdapter, optional
        Needed when the catalog vectors went through an adapter head (checked by its id).
    index : str
        Kind of nearest-neighbour index over the catalog vectors (see :class:`recsys.index.VectorIndex`).
    """

    def __init__(self, model, embedder=None, *, item_ids=None, weights=None, device: str = "auto",
                 adapter=None, index: str = "auto"):
        vectors, present, sig, self.items = catalog_space(model, item_ids)  # or a catalog's vectors alone
        vv = (vectors, present)
        if embedder is None:
            from visual import ImageEmbedder
            if not sig:
                raise ValueError("the model does not record how its catalog images were embedded; "
                                 "pass embedder=ImageEmbedder(...) with the same settings")
            embedder = ImageEmbedder(sig["backbone"], weights, preprocess=sig["preprocess"],
                                     input_size=sig["input_size"], device=device, decoder="pil",
                                     pooling=sig.get("pooling", "avg"), tta=sig.get("tta", "none"),
                                     progress=False)
        if sig:
            mine = embedder.signature()
            diff = space_mismatch(sig, mine)
            if diff:
                raise ValueError(f"the query embedder differs from the one that embedded the catalog "
                                 f"(catalog vs query: {diff})")
        if sig.get("adapter") and adapter is None:
            from features.adapt import default_head_path, VisualAdapter
            p = default_head_path(sig)
            if p is not None and VisualAdapter.load(p).id_ == sig["adapter"]:
                adapter = VisualAdapter.load(p)
        if sig.get("adapter") and (adapter is None or getattr(adapter, "id_", None) != sig["adapter"]):
            raise ValueError(f"the catalog vectors went through adapter head {sig['adapter']}: pass that head "
                             "(--head) to search by photo")
        self.model = model
        self.embedder = embedder
        self.adapter = adapter if sig.get("adapter") else None
        self.text_weight = float(sig["text_weight"]) if "fused_text" in sig else None
        self.index = VectorIndex(*vv, kind=index)

    def embed(self, images) -> np.ndarray:
        """Query vectors of images (PIL image, bytes or path) in the catalog's vector space, one row
        each (the same space as the model's ``visual_vectors``); raises :class:`visual.ImageError`
        naming the image that cannot be used."""
        q = self.embedder.embed_images(list(images))
        if self.adapter is not None:
            from features import ItemFeatures
            q = self.adapter.transform(ItemFeatures(q, np.ones(len(q), bool))).vectors
        if self.text_weight is not None:  # fused catalog: a photo has only the image part
            pad = self.index.vectors.shape[1] - q.shape[1]
            q = np.hstack([q * np.sqrt(1.0 - self.text_weight), np.zeros((len(q), pad), np.float32)])
        return q

    def search(self, images, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """Most similar catalog items for each query image (PIL image, bytes or path).

        Returns ``(item_ids, scores)`` of shape ``(n_images, k)``. Raises
        :class:`visual.ImageError` naming the image that cannot be used.
        """
        idx, scores = self.index.search(self.embed(images), k)
        return self.items.to_ids(idx), scores
