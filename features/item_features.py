"""Dense item vectors aligned with a dataset's item index."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field

import numpy as np

from recsys.io.atomic import atomic_write_bytes


#: rows normalised at a time
BLOCK = 65536


@dataclass
class ItemFeatures:
    """One L2-normalised vector per item, in the item index order of a :class:`recsys.data.Dataset`.

    Attributes
    ----------
    vectors : ndarray, shape (n_items, dim), float32
        Zero rows for items without a vector (unreadable or missing image).
    present : ndarray of bool, shape (n_items,)
    source : str
        What made the vectors (e.g. ``"efficientnet_lite0"``).
    errors : list of dict
        Items without a vector and why (``item_id``, ``path``, ``reason``).
    signature : dict
        The embedder settings that made the vectors (:meth:`visual.ImageEmbedder.signature`), so
        a query photo can be embedded the same way later.
    """

    vectors: np.ndarray
    present: np.ndarray
    source: str = "visual"
    errors: list = field(default_factory=list)
    signature: dict = field(default_factory=dict)

    def __post_init__(self):
        v = np.ascontiguousarray(self.vectors, dtype=np.float32)
        self.present = np.asarray(self.present, dtype=bool)
        if v.ndim != 2 or len(v) != len(self.present):
            raise ValueError(f"vectors {v.shape} and present {self.present.shape} do not align")
        # block by block, at most one copy: a million 1,280-d vectors are 5 GB
        norms = np.concatenate([np.linalg.norm(v[s:s + BLOCK], axis=1) for s in range(0, len(v), BLOCK)]) \
            if len(v) else np.zeros(0, np.float32)
        ok = (norms > 0) & self.present  # rows of absent items are zero
        unit = np.abs(norms - 1) <= 1e-6  # rows already of unit norm are kept as they are, row by row
        if not (ok.all() and unit.all()):
            v = v.copy()
            for s in range(0, len(v), BLOCK):
                b, o, u = v[s:s + BLOCK], ok[s:s + BLOCK], unit[s:s + BLOCK]
                scale = np.where(u, 1.0, 1.0 / np.maximum(norms[s:s + BLOCK], 1e-12)).astype(np.float32)
                b *= scale[:, None]
                b[~o] = 0  # also rows with NaN or infinite values
        self.vectors = v
        self.present = ok

    @property
    def n_items(self) -> int:
        return len(self.vectors)

    @property
    def dim(self) -> int:
        return self.vectors.shape[1]

    def subset(self, index) -> "ItemFeatures":
        return ItemFeatures(self.vectors[index], self.present[index], self.source, signature=self.signature)

    def append(self, other: "ItemFeatures") -> "ItemFeatures":
        if other.dim != self.dim:
            raise ValueError(f"cannot append {other.dim}-d vectors to {self.dim}-d item features")
        return ItemFeatures(np.vstack([self.vectors, other.vectors]), np.concatenate([self.present, other.present]),
                            self.source, self.errors + other.errors, self.signature)

    def save(self, path, item_ids=None) -> None:
        """Write an ``.npz`` (vectors, present, source, signature and, if given, item_ids) atomically."""
        buf = io.BytesIO()
        extra = {} if item_ids is None else {"item_ids": np.asarray([str(i) for i in item_ids])}
        np.savez(buf, vectors=self.vectors, present=self.present, source=np.asarray(self.source),
                 signature=np.asarray(json.dumps(self.signature)), **extra)
        atomic_write_bytes(path, buf.getvalue())

    @classmethod
    def load(cls, path) -> "ItemFeatures":
        with np.load(path, allow_pickle=False) as z:
            sig = json.loads(str(z["signature"])) if "signature" in z.files else {}
            return cls(z["vectors"], z["present"], str(z["source"]), signature=sig)


def fetch_images(paths: list, refused: dict, fetcher=None) -> tuple[list, dict]:
    """``paths`` with each http(s) URL replaced by its downloaded file (:class:`visual.fetch.UrlFetcher`,
    default settings unless ``fetcher``), and ``refused`` with ``{row: (url, reason)}`` for each URL that
    could not be fetched (its item is skipped, the others are not)."""
    rows = [i for i, p in enumerate(paths) if isinstance(p, str)]
    if not rows:
        return paths, refused
    from visual.fetch import UrlFetcher
    fetcher = fetcher or UrlFetcher()
    done, failed = fetcher.fetch_all(paths[i] for i in rows)
    paths, refused = list(paths), dict(refused)
    for i in rows:
        url = paths[i]
        paths[i] = done.get(url)
        if url in failed:
            refused[i] = (url, f"cannot fetch: {failed[url]}")
    return paths, refused


def embed_catalog(catalog, embedder=None, *, cache_dir=None, item_ids=None, fetcher=None) -> ItemFeatures:
    """Embed every catalog image and align the vectors with ``item_ids`` (default: catalog order).

    Unreadable images are listed in ``ItemFeatures.errors`` with the item id and the reason;
    those items keep a zero vector and ``present=False``. Images given as http(s) URLs are fetched
    first (``fetcher``: a :class:`visual.fetch.UrlFetcher`, default settings when None).
    """
    from visual import ImageEmbedder
    embedder = embedder or ImageEmbedder()
    paths, refused = catalog.checked_image_paths()  # refused: outside the images root, a NUL byte
    paths, refused = fetch_images(paths, refused, fetcher)
    res = embedder.embed_paths(paths, store=cache_dir)
    ids = catalog.item_ids
    errors = item_errors(res.errors, ids, refused)
    feats = ItemFeatures(res.vectors, res.present, embedder.backbone, errors, embedder.signature())
    if item_ids is not None and not np.array_equal(np.asarray(item_ids, dtype=object), ids):
        pos = {k: i for i, k in enumerate(ids)}
        idx = np.array([pos[str(k)] for k in item_ids])
        feats = ItemFeatures(feats.vectors[idx], feats.present[idx], feats.source, errors, feats.signature)
    return feats


def item_errors(errors, item_ids, refused: dict) -> list:
    """Per-image errors (``index``, ``path``, ``reason``) as the items' errors of :class:`ItemFeatures`.

    Parameters
    ----------
    errors : list of dict
        :attr:`visual.EmbeddingResult.errors`, indexed like the catalog.
    item_ids : sequence of str
        The catalog's item ids.
    refused : dict
        ``{row: (path, reason)}`` of images never read (``Catalog.checked_image_paths``): their own
        reason replaces "no image given".

    Returns
    -------
    list of dict
        ``{"item_id", "path", "reason"}``, in the order of ``errors``.
    """
    return [{"item_id": item_ids[e["index"]], "path": refused[e["index"]][0], "reason": refused[e["index"]][1]}
            if e["index"] in refused else {"item_id": item_ids[e["index"]], "path": e["path"], "reason": e["reason"]}
            for e in errors]
