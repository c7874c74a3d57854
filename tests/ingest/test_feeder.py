"""The background feeder: same items in order, errors re-raised, producer stopped on early exit."""
from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from ingest.feeder import in_background


def test_items_in_order() -> None:
    assert list(in_background(lambda: iter(range(100)), depth=3)) == list(range(100))


def test_producer_error_is_raised_in_the_consumer() -> None:
    def broken() -> Iterator[int]:
        yield 1
        raise ValueError("corrupt frame")

    got = []
    with pytest.raises(ValueError, match="corrupt frame"):
        for item in in_background(broken):
            got.append(item)
    assert got == [1]


def test_consumer_stopping_early_stops_the_producer() -> None:
    produced = []

    def endless() -> Iterator[int]:
        n = 0
        while True:
            produced.append(n)
            yield n
            n += 1

    items = in_background(endless, depth=2)
    assert next(items) == 0
    items.close()  # joins the producer thread
    assert len(produced) <= 5
    assert not [t for t in threading.enumerate() if t.name == "ingest-feeder"]
