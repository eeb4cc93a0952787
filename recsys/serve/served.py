"""One loaded model as the service sees it: the model, catalog metadata and flags, top lists
cached in memory, and the catalog changes replayed from the SQLite store."""

from __future__ import annotations

import hashlib
from urllib.parse import quote
import threading
from pathlib import Path

import numpy as np

from recsys.data import UnknownIdError
from recsys.models import Recommender

from .locks import RWLock
from .neighbours import CoInteractions, filter_cached, neighbour_scores, top_allowed

META_COLUMNS = ("title", "category", "price", "image_url")


def model_version(model_dir: Path) -> str:
    """A short content hash of the saved model (its manifest, else its model.json)."""
    f = model_dir / "manifest.json"
    if not f.exists():
        f = model_dir / "model.json"
    return hashlib.sha256(f.read_bytes()).hexdigest()[:12]


class ServedModel:
    """A saved model ready to answer: see :func:`recsys.serve.create_app`."""

    def __init__(self, model_dir, *, catalog=None, changes=None, cache_k: int = 100, photo_search: bool = True,
                 text_search=True,
                 index: str = "auto"):
        self.dir = Path(model_dir)
        self.model: Recommender = Recommender.load(self.dir)
        self.name, self.version = self.model.name, model_version(self.dir)
        self.cache_k = int(cache_k)
        self.lock = RWLock()
        n = self.model.n_items
        self.in_stock, self.hidden = np.ones(n, bool), np.zeros(n, bool)
        self.category = np.full(n, -1, dtype=np.int32)  # code of each item's category (-1: none)
        self.category_codes: dict[str, int] = {}
        self.info: dict[str, dict] = {}
        if catalog is not None:
            self._read_catalog(catalog)
        self.index_kind = index
        self._refresh_vectors()
        self.co = CoInteractions(self.model.user_items_)
        self.photo = None
        if photo_search and self.vectors is not None:
            from recsys.search import PhotoSearch
            self.photo = PhotoSearch(self.model, device="cpu")
        self.text, self.text_unavailable = None, "text search is off"
        if text_search and self.vectors is not None:
            self._open_text_search(None if text_search is True else text_search)
        self.user_cache: dict[int, tuple] = {}
        self.similar_cache: dict[tuple, tuple] = {}
        self.skipped: list[str] = []  # recorded additions this model cannot take, with the reason
        if changes is not None:
            self.replay(changes.rows())

    # -- catalog ----------------------------------------------------------------------------
    def _read_catalog(self, catalog):
        df = catalog.df
        idx = self.model.items_.to_index(df["item_id"].tolist(), missing="ignore")
        cols = [c for c in META_COLUMNS if c in df.columns]
        for row, i in zip(df[["item_id", "image", *cols]].itertuples(index=False), idx):
            meta = {c: v for c, v in zip(cols, row[2:]) if v is not None and v == v}
            if "price" in meta:
                meta["price"] = float(meta["price"])
            if "image_url" not in meta and isinstance(getattr(row, "image", None), str):
                meta["image_url"] = f"/v1/items/{quote(row[0], safe='')}/image"  # served thumbnail
            if meta:
                self.info[row[0]] = {k: (v if k == "price" else str(v)) for k, v in meta.items()}
            if i >= 0 and "category" in meta:
                self.category[i] = self._code(str(meta["category"]))
        if "in_stock" in df.columns:
            flags = df["in_stock"].astype(str).str.strip().str.lower().isin(("1", "true", "yes", "y"))
            self.in_stock[idx[idx >= 0]] = flags.to_numpy()[idx >= 0]

    def _refresh_vectors(self):
        vv = self.model.visual_vectors()
        old = getattr(self, "index", None)
        self.vectors, self.present = (None, None) if vv is None else (vv[0], vv[1])
        if vv is None:
            self.index = None
        elif old is not None:  # items were added: grow the index instead of rebuilding it
            self.index = old.grow(self.vectors, self.present)
        else:
            self.index = self._visual_index()

    def _open_text_search(self, head):
        """Search by words with the aligner ``head`` (default: the shipped one, when it fits the model's
        vectors); without one the reason is kept for the endpoint's 422."""
        from recsys.text_search import TextSearch
        try:
            self.text = TextSearch(self.model, head, index=self.index)
        except (ValueError, ImportError) as e:
            if head is not None:
                raise
            self.text_unavailable = str(e)

    def _visual_index(self):
        """The index over the image vectors: the model's own when it was built on them (e.g. saved
        by ``visrec train --index``), else one chosen by size."""
        from recsys.index import VectorIndex
        from recsys.index.store import vectors_fingerprint
        built = self.model.built_index()  # None unless saved with the model or already built
        if built is not None and built.vectors.shape == self.vectors.shape and \
                np.array_equal(built.present, self.present) and (built.vectors is self.vectors or
                vectors_fingerprint(built.vectors, built.rows) == vectors_fingerprint(self.vectors, built.rows)):
            return built
        return VectorIndex(self.vectors, self.present, kind=self.index_kind)

    def replay(self, rows):
        """Apply recorded catalog changes (items added through the service, then edits)."""
        for r in rows:
            if r["vector"] is not None and r["item_id"] not in self.model.items_:
                try:
                    self._add(r["item_id"], r["vector"])
                except (ValueError, NotImplementedError) as e:  # e.g. a model with other vectors
                    self.skipped.append(f"{r['item_id']}: {e}")
                    continue
            if r["item_id"] in self.model.items_:
                self._edit(r["item_id"], {k: r[k] for k in ("title", "category", "in_stock", "hidden")})

    def _add(self, item_id: str, vector: np.ndarray):
        from features import ItemFeatures
        sig = dict(getattr(self.model, "feature_signature_", {}) or {})
        vec = np.asarray(vector, np.float32)[None, :]
        if self.vectors is not None and vec.shape[1] != self.vectors.shape[1]:
            raise ValueError(f"the vector has {vec.shape[1]} dimensions, the model's {self.vectors.shape[1]}")
        self.model.add_items([item_id], ItemFeatures(vec, np.ones(1, bool), signature=sig))
        n = self.model.n_items
        self.in_stock = np.append(self.in_stock, True)
        self.hidden = np.append(self.hidden, False)
        self.category = np.append(self.category, np.int32(-1))
        assert len(self.in_stock) == n
        self._refresh_vectors()
        self.co = self.co.widen(n)
        self.user_cache.clear()
        self.similar_cache.clear()

    def _edit(self, item_id: str, fields: dict):
        i = int(self.model.items_.to_index(item_id))
        if fields.get("in_stock") is not None:
            self.in_stock[i] = bool(fields["in_stock"])
        if fields.get("hidden") is not None:
            self.hidden[i] = bool(fields["hidden"])
        meta = self.info.setdefault(item_id, {})
        for k in ("title", "category"):
            if fields.get(k) is not None:
                meta[k] = str(fields[k])
        if fields.get("category") is not None:
            self.category[i] = self._code(str(fields["category"]))

    def _code(self, category: str) -> int:
        return self.category_codes.setdefault(category, len(self.category_codes))

    def add_item(self, item_id: str, vector: np.ndarray, **fields):
        with self.lock.write():
            self._add(item_id, vector)
            self._edit(item_id, fields)

    def edit_item(self, item_id: str, **fields):
        with self.lock.write():
            self._edit(item_id, fields)

    # -- answers ----------------------------------------------------------------------------
    def allowed(self, exclude=(), categories=(), in_stock: bool = True) -> np.ndarray:
        ok = ~self.hidden
        if in_stock:
            ok = ok & self.in_stock
        if categories:
            codes = [self.category_codes[c] for c in categories if c in self.category_codes]
            ok = ok & np.isin(self.category, np.asarray(codes, np.int32))
        if len(exclude):
            ok = ok.copy()
            ok[exclude] = False
        return ok

    def state(self, item_id: str) -> dict:
        """An item's stock, visibility and metadata as the service applies them."""
        i = self.item_index(item_id)
        info = self.info.get(item_id, {})
        return {"item_id": item_id, "in_stock": bool(self.in_stock[i]), "hidden": bool(self.hidden[i]),
                "title": info.get("title"), "category": info.get("category"),
                "has_image": bool(self.present is not None and self.present[i])}

    def item_index(self, item_id: str) -> int:
        return int(self.model.items_.to_index(item_id))

    def user_index(self, user_id: str) -> int:
        return int(self.model.users_.to_index(user_id))

    def user_cached(self, u: int, k: int, allowed, exclude_seen: bool = True):
        """The answer from the cached list, or None when it must be computed (:meth:`for_user`)."""
        hit = self.user_cache.get(u) if exclude_seen else None
        return None if hit is None else filter_cached(*hit, allowed, k, complete=len(hit[0]) < self.cache_k)

    def for_user(self, u: int, k: int, allowed, exclude_seen: bool = True):
        got = self.user_cached(u, k, allowed, exclude_seen)
        if got is not None:
            return got
        if exclude_seen and k <= self.cache_k and u not in self.user_cache:
            idx, sc = self.model.recommend_index([u], self.cache_k, True, n_jobs=1)
            keep = idx[0] >= 0
            self.user_cache[u] = (idx[0][keep], sc[0][keep])
            got = self.user_cached(u, k, allowed, exclude_seen)
            if got is not None:
                return got
        idx, sc = self.model.recommend_index([u], k, exclude_seen, candidates=np.flatnonzero(allowed), n_jobs=1)
        keep = idx[0] >= 0
        return idx[0][keep], sc[0][keep]

    def for_session(self, item_ids, k: int, allowed):
        X, unknown = self.model.history_matrix([list(item_ids)], on_unknown="ignore")
        idx, sc = self.model.recommend_history_index(X, k, True, candidates=np.flatnonzero(allowed), n_jobs=1)
        keep = idx[0] >= 0
        return idx[0][keep], sc[0][keep], unknown[0]

    def similar_cached(self, i: int, k: int, mode: str, allowed):
        """The answer from the cached neighbours, or None when it must be computed (:meth:`similar`)."""
        hit = self.similar_cache.get((i, mode))
        return None if hit is None else filter_cached(*hit, allowed, k, complete=len(hit[0]) < self.cache_k)

    def similar(self, i: int, k: int, mode: str, allowed):
        got = self.similar_cached(i, k, mode, allowed)
        if got is not None:
            return got
        if mode == "visual" and self.index.kind_ != "flat":  # a large catalog: the approximate index
            if (i, mode) not in self.similar_cache:
                idx, sc = self.index.search_items([i], self.cache_k)
                keep = idx[0] >= 0
                self.similar_cache[(i, mode)] = (idx[0][keep], sc[0][keep])
                got = self.similar_cached(i, k, mode, allowed)
                if got is not None:
                    return got
            idx, sc = self.index.search_items([i], k, allowed=allowed)
            keep = idx[0] >= 0
            return idx[0][keep], sc[0][keep]
        s = neighbour_scores(i, mode, self.vectors, self.present, self.co)
        if (i, mode) not in self.similar_cache:
            self.similar_cache[(i, mode)] = top_allowed(s, None, self.cache_k)
        return top_allowed(s, allowed, k)

    def search_photo(self, query: np.ndarray, k: int, allowed):
        idx, sc = self.index.search(np.asarray(query, np.float32)[None, :], k, allowed=allowed)
        keep = idx[0] >= 0
        return idx[0][keep], sc[0][keep]

    def describe(self, idx, scores) -> list[dict]:
        ids = self.model.items_.to_ids(np.asarray(idx, np.int64))
        return [{"item_id": i, "score": round(float(s), 6), **self.info.get(i, {})} for i, s in zip(ids, scores)]

    def warm(self, stop: threading.Event | None = None, batch: int = 256):
        """Fill the caches: every known user's list and every item's visual neighbours."""
        n_users = len(self.model.users_)
        for s in range(0, n_users, batch):
            if stop is not None and stop.is_set():
                return
            with self.lock.read():
                users = np.arange(s, min(s + batch, n_users))
                idx, sc = self.model.recommend_index(users, self.cache_k, True, n_jobs=1)
                for u, a, b in zip(users, idx, sc):
                    keep = a >= 0
                    self.user_cache.setdefault(int(u), (a[keep], b[keep]))
        if self.vectors is None:
            return
        with self.lock.read():
            index, n = self.index, len(self.present)
        for s in range(0, n, batch):
            if stop is not None and stop.is_set():
                return
            with self.lock.read():
                if len(self.present) != n:  # the catalog changed: cached lists would be stale
                    return
                items = np.arange(s, min(s + batch, n))
                idx, sc = index.search_items(items, self.cache_k)
                for i, a, b in zip(items, idx, sc):
                    if self.present[i]:
                        self.similar_cache.setdefault((int(i), "visual"), (a[a >= 0], b[a >= 0]))

    def memory_bytes(self) -> int:
        """Bytes held by the cached lists (the model's own arrays not counted)."""
        total = 0
        for cache in (self.user_cache, self.similar_cache):
            for a, b in list(cache.values()):
                total += a.nbytes + b.nbytes + 120
        return total


__all__ = ["ServedModel", "UnknownIdError", "model_version"]
