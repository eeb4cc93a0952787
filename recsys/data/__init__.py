"""Tables in (catalog, interactions), dense indices out: the one place ids are mapped."""

from .errors import DataError, UnknownIdError, ValidationReport
from .idmap import IdMap
from .tables import Catalog, Interactions, EVENT_WEIGHTS
from .dataset import Dataset, item_user_counts
from .loaders import load_catalog, load_interactions, load_movielens_1m, load_hm, load_folder_catalog

__all__ = [
    "DataError", "UnknownIdError", "ValidationReport", "IdMap", "Catalog", "Interactions",
    "EVENT_WEIGHTS", "Dataset", "item_user_counts", "load_catalog", "load_interactions", "load_movielens_1m",
    "load_hm", "load_folder_catalog",
]
