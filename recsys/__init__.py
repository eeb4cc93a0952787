"""visrec: visual-similarity recommendations for e-commerce.

Data flow: ``visual`` (images -> CNN embeddings) -> ``features`` (item features)
-> ``recsys.models`` (fit / recommend / similar_items) -> ``evaluation``.
"""

__version__ = "0.1.0"
