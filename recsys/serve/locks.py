"""A readers--writer lock: requests read the served model together; a catalog change waits for them."""

from __future__ import annotations

import threading


class RWLock:
    """Many readers or one writer (catalog changes wait for requests in flight)."""

    def __init__(self):
        self._cond = threading.Condition()
        self._readers = 0
        self._writer = False

    def read(self):
        return _Guard(self._acquire_read, self._release_read)

    def write(self):
        return _Guard(self._acquire_write, self._release_write)

    def _acquire_read(self):
        with self._cond:
            while self._writer:
                self._cond.wait()
            self._readers += 1

    def _release_read(self):
        with self._cond:
            self._readers -= 1
            self._cond.notify_all()

    def _acquire_write(self):
        with self._cond:
            while self._writer or self._readers:
                self._cond.wait()
            self._writer = True

    def _release_write(self):
        with self._cond:
            self._writer = False
            self._cond.notify_all()


class _Guard:
    def __init__(self, acquire, release):
        self.acquire, self.release = acquire, release

    def __enter__(self):
        self.acquire()

    def __exit__(self, *exc):
        self.release()
