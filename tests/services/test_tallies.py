"""Buffered counters: nothing counted is lost, and each worker writes about once a second."""
from __future__ import annotations

import time
from pathlib import Path

from cachelib import FileSystemCache

from services.tallies import Tally


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class CountingCache(FileSystemCache):
    """A directory cache that counts its writes of entries (not its own bookkeeping)."""

    writes = 0

    def set(self, key: str, value: object, timeout: int | None = None,
            mgmt_element: bool = False) -> bool:
        CountingCache.writes += not mgmt_element
        return super().set(key, value, timeout, mgmt_element)


def test_counts_are_written_once_a_second_and_none_is_lost(tmp_path: Path) -> None:
    clock = Clock()
    backend = CountingCache(str(tmp_path))
    first, second = Tally(backend, clock=clock), Tally(backend, clock=clock)  # two workers
    CountingCache.writes = 0
    for _ in range(50):
        first.add("hits")
        second.add("hits")
    assert CountingCache.writes == 0  # within the second: all in memory
    clock.now += 1.0
    first.add("hits")  # the first count after the interval writes what was kept
    assert CountingCache.writes == 1
    assert second.read("hits") == 51 + 50  # a reader adds its own counts before reading
    assert first.read("misses") == 0
    assert first.read("hits") == 101


def test_a_timeout_is_kept_with_the_count(tmp_path: Path) -> None:
    backend = FileSystemCache(str(tmp_path))
    tally = Tally(backend)
    tally.add("minute", timeout=1)
    tally.add("forever")
    tally.flush()
    assert backend.get("minute") == 1 and backend.get("forever") == 1
    time.sleep(1.1)  # the backend's own clock: entries with a 1-second timeout expire
    assert backend.get("minute") is None and backend.get("forever") == 1
