"""The model being served, swapped atomically on reload: requests take the current one at their
start and finish on it; a folder that fails to load leaves the old model serving."""

from __future__ import annotations

import logging
import threading
import time

from .served import ServedModel

log = logging.getLogger("visrec.serve")


class ModelHolder:
    def __init__(self, model_dir, *, catalog=None, changes=None, cache_k: int = 100, warm: bool = True,
                 photo_search: bool = True, metrics=None, variant: str | None = None, index: str = "auto",
                 text_search=True):
        self._kw = dict(catalog=catalog, changes=changes, cache_k=cache_k, photo_search=photo_search, index=index,
                        text_search=text_search)
        self.changes = changes
        self.warm_enabled = warm
        self.metrics = metrics
        self.variant = variant
        self._reload_lock = threading.Lock()
        self._stop = threading.Event()
        self.current: ServedModel = ServedModel(model_dir, **self._kw)
        self.loaded_at = time.time()
        self._published()

    def _published(self):
        m = self.current
        if self.metrics is not None:
            self.metrics.set_model(self.variant, m.name, m.version, m.model.n_items)
        if self.warm_enabled:
            self._stop = threading.Event()
            threading.Thread(target=self._warm, args=(m, self._stop), daemon=True, name="visrec-warm").start()

    @staticmethod
    def _warm(m: ServedModel, stop: threading.Event):
        t0 = time.perf_counter()
        try:
            m.warm(stop)
            m.warm_seconds = time.perf_counter() - t0
        except Exception:  # a cache that does not fill only costs speed
            log.exception("filling the caches of %s failed", m.dir)

    def reload(self, model_dir=None) -> ServedModel:
        """Load ``model_dir`` (default: the current folder again) and swap it in; raises on failure
        with the old model still serving."""
        with self._reload_lock:
            old = self.current
            try:
                new = ServedModel(model_dir or old.dir, **self._kw)
            except Exception:
                if self.metrics is not None:
                    self.metrics.reloads.labels("failed").inc()
                raise
            self._stop.set()
            self.current = new  # one reference assignment: atomic for readers
            self.loaded_at = time.time()
            if self.metrics is not None:
                self.metrics.reloads.labels("ok").inc()
            self._published()
            log.info("now serving %s (%s@%s)", new.dir, new.name, new.version)
            return new

    def close(self):
        self._stop.set()
