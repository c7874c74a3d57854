"""Run a generator in a background thread, handing its items over through a bounded queue.

The encoder's main thread feeds x264 and the muxer while this thread decodes, scales and
conforms the next frames (PyAV releases the GIL inside FFmpeg calls), so decoding no longer
stalls the encoders. An exception in the generator is re-raised in the consumer; a consumer that
stops early (error, KeyboardInterrupt) stops the producer too.
"""
from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import TypeVar

T = TypeVar("T")
_END = object()


def in_background(make: Callable[[], Iterator[T]], depth: int = 16) -> Iterator[T]:
    """Yield what make() yields, produced in a daemon thread at most `depth` items ahead."""
    items: queue.Queue[object] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: object) -> bool:
        while not stop.is_set():
            try:
                items.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def run() -> None:
        try:
            for item in make():
                if not put(item):
                    return
            put(_END)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, raised there
            put(_Failure(exc))

    thread = threading.Thread(target=run, name="ingest-feeder", daemon=True)
    thread.start()
    try:
        while True:
            item = items.get()
            if item is _END:
                return
            if isinstance(item, _Failure):
                raise item.exc
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        thread.join()


class _Failure:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc
