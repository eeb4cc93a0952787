"""Which faiss index a catalog gets, by its size (following faiss's "Guidelines to choose an index").

- ``flat``: exact inner product. Below :data:`EXACT_MAX_CELLS` (items x dimensions) a single query
  takes about a millisecond on one core of a 2-core AMD EPYC (1,280-d: 1.0 ms at 5,000 items,
  2.5 ms at 10,000, 6.1 ms at 20,000), so nothing is gained by approximating.
- ``hnsw``: HNSW graph over the raw vectors (``HNSW32,Flat``): the fastest, when the vectors fit
  the memory budget.
- ``hnsw-sq8``: HNSW (degree 24) over 8-bit scalar-quantised vectors (4x smaller), re-ranked
  exactly with the raw vectors.
- ``ivf-sq8``: an inverted file with an HNSW coarse quantiser and 8-bit codes
  (``IVF{nlist}_HNSW32,SQ8``), for several million items or a tight memory budget.
"""

from __future__ import annotations

import math

KINDS = ("flat", "hnsw", "hnsw-sq8", "ivf-sq8")
#: ``n_items * dim`` up to which ``auto`` stays exact (see the module docstring for the measure)
EXACT_MAX_CELLS = 8_000_000
#: default memory an approximate index may take (bytes)
DEFAULT_MEMORY_BUDGET = 1_500_000_000
HNSW_M = 32
#: graph degree over 8-bit codes: 24 keeps 1M x 1,280-d under 1.5 GB (codes 1.28 GB + links)
HNSW_M_SQ8 = 24
#: search-time knob values tried, smallest first, until the measured recall reaches the floor
EF_SEARCH = (32, 64, 128, 256, 512, 1024)
NPROBE = (8, 16, 32, 64, 128, 256, 512)


def nlist_for(n: int) -> int:
    """Inverted lists for ``n`` vectors: about 4 sqrt(n), at least 16, at most n / 39 (faiss wants
    39 training points a centroid)."""
    return int(max(16, min(4 * math.sqrt(n), n / 39)))


def memory_estimate(kind: str, n: int, d: int) -> int:
    """Bytes an index of ``kind`` takes for ``n`` vectors of dimension ``d`` (codes + graph links)."""
    links = n * HNSW_M * 2 * 4 * 1.1  # level-0 neighbours (2M ints), plus the upper levels
    if kind == "flat":
        return n * d * 4
    if kind == "hnsw":
        return int(n * d * 4 + links)
    if kind == "hnsw-sq8":
        return int(n * d + links * HNSW_M_SQ8 / HNSW_M)
    if kind == "ivf-sq8":
        nl = nlist_for(n)
        return int(n * (d + 8) + nl * d * 4 + nl * HNSW_M * 2 * 4)
    raise ValueError(f"unknown index kind {kind!r}; choose from auto, {', '.join(KINDS)}")


def choose_kind(n: int, d: int, *, memory_budget: int = DEFAULT_MEMORY_BUDGET) -> str:
    """The index ``auto`` picks for ``n`` vectors of dimension ``d``."""
    if n * d <= EXACT_MAX_CELLS:
        return "flat"
    for kind in ("hnsw", "hnsw-sq8"):
        if memory_estimate(kind, n, d) <= memory_budget and n <= 5_000_000:
            return kind
    return "ivf-sq8"


def factory_string(kind: str, n: int) -> str:
    """The faiss ``index_factory`` description of ``kind`` for ``n`` vectors (recorded with the index)."""
    if kind == "flat":
        return "Flat"
    if kind == "hnsw":
        return f"HNSW{HNSW_M},Flat"
    if kind == "hnsw-sq8":
        return f"HNSW{HNSW_M_SQ8},SQ8"
    if kind == "ivf-sq8":
        return f"IVF{nlist_for(n)}_HNSW{HNSW_M},SQ8"
    raise ValueError(f"unknown index kind {kind!r}; choose from auto, {', '.join(KINDS)}")


def knob_values(kind: str) -> tuple:
    """The search-time setting tuned for ``kind`` (efSearch or nprobe), smallest first."""
    return {"hnsw": EF_SEARCH, "hnsw-sq8": EF_SEARCH, "ivf-sq8": NPROBE}.get(kind, ())


def search_parameters(kind: str, knob: int | None, selector=None):
    """faiss search parameters: the tuned knob and an optional ``IDSelector`` (the filters)."""
    import faiss
    if kind == "flat":
        return faiss.SearchParameters(sel=selector) if selector is not None else None
    if kind in ("hnsw", "hnsw-sq8"):
        p = faiss.SearchParametersHNSW(efSearch=int(knob or EF_SEARCH[1]))
    else:
        p = faiss.SearchParametersIVF(nprobe=int(knob or NPROBE[1]))
    if selector is not None:
        p.sel = selector
    return p
