"""Counters kept in memory and added to a shared cache backend now and then, not per request.

The status page's figures (cache hits and misses, request latencies) are counted on every
callback. Written through at once, each count was a read and an atomic file replace (or a
Redis round trip): a third of a cached callback's time. A tally adds its counts to the
backend when a second has passed since its last write, or when its figures are read, so a
worker's own counts are exact where it reads them and another worker's are at most that
second late. A worker that exits takes its last second of counts with it: status figures,
not records.
"""
from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable

from cachelib import BaseCache

FLUSH_SECONDS = 1.0


class Tally:
    """Increments of named counters, buffered in this process and added to `backend`."""

    def __init__(self, backend: BaseCache, interval: float = FLUSH_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.backend = backend
        self._interval = interval
        self._clock = clock
        self._lock = threading.Lock()
        self._pending: Counter[str] = Counter()
        self._timeouts: dict[str, int] = {}
        self._written = clock()

    def add(self, key: str, timeout: int = 0) -> None:
        """Count one of `key` (kept `timeout` seconds in the backend; 0: for good)."""
        with self._lock:
            self._pending[key] += 1
            self._timeouts[key] = timeout
            due = self._clock() - self._written >= self._interval
        if due:
            self.flush()

    def flush(self) -> None:
        """Add what this process counted since its last write to the backend."""
        with self._lock:
            pending, timeouts = self._pending, self._timeouts
            self._pending, self._timeouts = Counter(), {}
            self._written = self._clock()
        for key, count in pending.items():
            # Read, then write: two workers writing the same second may lose one's counts,
            # which these figures (watching a deployment, not billing) can afford.
            total = int(self.backend.get(key) or 0) + count
            self.backend.set(key, total, timeout=timeouts[key])

    def read(self, key: str) -> int:
        """The counter as the backend has it, with this process's counts added first."""
        self.flush()
        return int(self.backend.get(key) or 0)
