"""Nearest-neighbour search over item vectors (faiss): exact for small catalogs, approximate by
size above that with measured recall, filters applied inside the search, saved with the model.

- :class:`VectorIndex`: build (``kind="auto"|"flat"|"hnsw"|"hnsw-sq8"|"ivf-sq8"``), ``search``,
  ``search_items``, ``save`` / ``load``.
- :func:`choose_kind`: what ``auto`` builds for a catalog size.
- :func:`augment_gallery`: catalog vectors pulled towards their nearest neighbours (tighter similar-items feeds).
"""

from .augment import augment_gallery
from .kinds import KINDS, choose_kind
from .recall import IndexRecallWarning
from .store import IndexFileError
from .vector_index import VectorIndex

__all__ = ["VectorIndex", "KINDS", "choose_kind", "IndexRecallWarning", "IndexFileError", "augment_gallery"]
