"""Run a generator in a background thread a few items ahead of its consumer."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import NamedTuple, TypeVar

T = TypeVar("T")


class _Raised(NamedTuple):
    """The producer stopped with this exception (re-raised in the consumer)."""

    error: BaseException


_DONE = object()


def prefetch(items: Iterable[T], depth: int = 2) -> Iterator[T]:
    """Iterate ``items`` in a daemon thread, at most ``depth`` items ahead of the consumer.

    An exception raised by the producer is raised again in the consumer, where it would have been
    raised without the thread.
    """
    q: queue.Queue = queue.Queue(maxsize=depth)

    def run():
        try:
            for item in items:
                q.put(item)
        except BaseException as e:  # surface producer errors in the consumer
            q.put(_Raised(e))
        finally:
            q.put(_DONE)

    t = threading.Thread(target=run, daemon=True)
    t.start()
    while True:
        item = q.get()
        if item is _DONE:
            break
        if isinstance(item, _Raised):
            raise item.error
        yield item
    t.join()
