"""New catalog items without refitting: the ``add_items`` part of every model's interface."""

from __future__ import annotations

from recsys.data import IdMap

from .scoring import widen


class GrowingCatalog:
    """Mixed into :class:`recsys.models.Recommender`: items with only a photo join a fitted model.

    Models that can place such items implement ``_add_items(features)`` (extend their learned
    item arrays); the others refuse with NotImplementedError.
    """

    def _add_items(self, features) -> None:
        raise NotImplementedError(
            f"{type(self).__name__} cannot score items without interactions; add new items to a model "
            "that uses images (vbpr, als-visual, hybrid, visual, lightfm) or refit")

    def extend_items(self, features) -> "GrowingCatalog":
        """Append items without interactions in index space (they get the next indices); raises
        NotImplementedError for models that cannot place them. See :meth:`add_items`."""
        self._check_fitted()
        self._add_items(features)
        n = self.user_items_.shape[1] + features.n_items
        self.user_items_ = widen(self.user_items_, n)
        if getattr(self, "recency_", None) is not None:
            self.recency_ = widen(self.recency_, n)
        self._index = self._index_dir = None  # the catalog changed: the index is rebuilt on next use
        return self

    def add_items(self, item_ids, features) -> "GrowingCatalog":
        """Add catalog items that have no interactions (e.g. new arrivals with only a photo).

        They become recommendable and searchable in :meth:`similar_items` at once, without
        refitting: visual models place them from their vectors.

        Parameters
        ----------
        item_ids : array-like of str
            New, distinct external ids.
        features : features.ItemFeatures
            Their vectors, embedded with the same settings as the training features
            (``features.embed_catalog`` with the same embedder).

        Returns
        -------
        self
        """
        self._check_fitted()
        ids = [str(i) for i in item_ids]
        if not ids:
            return self
        known = [i for i in ids if i in self.items_]
        if known:
            raise ValueError(f"{len(known)} item id(s) are already in the model, e.g. {known[:5]}; "
                             "add_items is for new items only")
        if len(set(ids)) != len(ids):
            raise ValueError("add_items got duplicate item ids")
        if features is None or features.n_items != len(ids):
            got = "none" if features is None else features.n_items
            raise ValueError(f"add_items needs one feature row per new item: {len(ids)} ids, {got} rows")
        mine = getattr(self, "feature_signature_", {}) or {}
        theirs = getattr(features, "signature", {}) or {}
        diff = {k for k in set(mine) & set(theirs) if mine[k] != theirs[k]}
        if diff:
            raise ValueError(f"the new items were embedded with different settings ({', '.join(sorted(diff))}) "
                             "than the model's training features; embed them with the same embedder")
        self.extend_items(features)
        self.items_ = IdMap(self.items_.to_list() + ids, kind="item")
        return self
