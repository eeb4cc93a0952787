"""Similar items for every model: a :class:`recsys.index.VectorIndex` over the model's item vectors,
chosen by size, saved with the model and read back without a rebuild."""

from __future__ import annotations

import warnings

import numpy as np

from recsys.index import IndexFileError, VectorIndex


class SimilarItems:
    """Mixed into :class:`recsys.models.Recommender`.

    Models with item vectors implement ``_item_vectors()`` (and ``_visual_vectors()`` when they
    hold image vectors); the index over them is built on first use with ``kind="auto"``, or ahead
    of time with :meth:`build_index`, and :meth:`save` writes it into the model folder.
    """

    _index: VectorIndex | None = None
    _index_dir = None

    def _item_vectors(self):
        return None

    def _visual_vectors(self):
        return None

    def item_vectors(self):
        """``(vectors, present)`` whose inner product ranks similar items, or None."""
        self._check_fitted()
        return self._item_vectors()

    def visual_vectors(self):
        """``(vectors, present)`` of the catalog images, for search by photo (None: no images)."""
        self._check_fitted()
        return self._visual_vectors()

    def _vectors_for_index(self):
        iv = self._item_vectors()
        if iv is None:
            raise NotImplementedError(f"{type(self).__name__} has no item vectors for similar items")
        return iv

    def build_index(self, kind: str = "auto", **options) -> VectorIndex:
        """(Re)build the similar-items index: ``kind`` ``"auto"`` (by size), ``"flat"`` (exact),
        ``"hnsw"``, ``"hnsw-sq8"`` or ``"ivf-sq8"``; ``options`` go to :class:`VectorIndex`
        (``recall_floor``, ``memory_budget``...). The index is saved with the model."""
        self._check_fitted()
        self._index = VectorIndex(*self._vectors_for_index(), kind=kind, **options)
        self._index_dir = None
        return self._index

    def attach_index(self, path) -> None:
        """Use the index saved in folder ``path`` (read on first use and checked against the
        model's vectors; rebuilt, with a warning, when it does not match them)."""
        self._index, self._index_dir = None, path

    def built_index(self) -> VectorIndex | None:
        """The index built or attached so far (None when similar items were never asked for)."""
        if self._index is None and self._index_dir is not None:
            return self.similar_index()
        return self._index

    def similar_index(self) -> VectorIndex:
        """The similar-items index: attached, else built by size on first use."""
        self._check_fitted()
        if self._index is None:
            iv = self._vectors_for_index()
            if self._index_dir is not None:
                try:
                    self._index = VectorIndex.load(self._index_dir, *iv)
                except IndexFileError as e:
                    warnings.warn(f"{e}; rebuilding it", RuntimeWarning, stacklevel=2)
                self._index_dir = None
            if self._index is None:
                self._index = VectorIndex(*iv)
        return self._index

    def similar_items_index(self, item_index, k: int = 10, allowed=None) -> tuple[np.ndarray, np.ndarray]:
        """Neighbours of items given by dense index; ``allowed`` (a boolean mask over the
        items) filters inside the search."""
        return self.similar_index().search_items(np.asarray(item_index, dtype=np.int64), k, allowed=allowed)

    def similar_items(self, item_ids, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` items most similar to each given item (the item itself excluded).

        Items without a vector (e.g. no readable image for a visual model) get an empty row
        (ids ``None``, scores ``-inf``).
        """
        self._check_fitted()
        scalar = isinstance(item_ids, str)
        iidx = self.items_.to_index([item_ids] if scalar else list(item_ids))
        idx, sc = self.similar_items_index(iidx, k)
        ids = self.items_.to_ids(idx)
        return (ids[0], sc[0]) if scalar else (ids, sc)
