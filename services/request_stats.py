"""Request latency and error counts for the system status, kept in the shared cache backend
so every gunicorn worker (and host, with Redis) adds to the same figures.

Latencies go into fixed buckets per minute; percentiles are read back as "at most the
bucket's upper bound". Each worker adds its counts about once a second (`services.tallies`);
they are approximate under heavy concurrency (read, then write): good enough to watch a
deployment, not to bill anyone.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from cachelib import BaseCache, NullCache

from services.tallies import Tally

BUCKETS_MS = (5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, math.inf)
KEEP_SECONDS = 3_600
WINDOW_MINUTES = 15


@dataclass
class RequestStats:
    """Per-minute latency histograms and error counts in a cache backend."""

    backend: BaseCache
    namespace: str
    _tally: Tally = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._tally = Tally(self.backend)

    @property
    def enabled(self) -> bool:
        """False when there is no cache backend to keep the figures in."""
        return not isinstance(self.backend, NullCache)

    def _add(self, key: str) -> None:
        self._tally.add(key, timeout=KEEP_SECONDS)

    def record(self, milliseconds: float, status: int, now: float) -> None:
        """Count one request: its latency bucket, and an error when it answered 5xx."""
        if not self.enabled:
            return
        minute = int(now // 60)
        bucket = next(i for i, bound in enumerate(BUCKETS_MS) if milliseconds <= bound)
        self._add(f"{self.namespace}:requests:{minute}:{bucket}")
        if status >= 500:
            self._add(f"{self.namespace}:errors:{minute}")

    def summary(self, now: float, minutes: int = WINDOW_MINUTES) -> dict[str, Any]:
        """Requests, p50/p95/p99 (ms, as bucket bounds) and errors over the last minutes."""
        self._tally.flush()
        last = int(now // 60)
        counts = [0] * len(BUCKETS_MS)
        errors = 0
        for minute in range(last - minutes + 1, last + 1):
            for bucket in range(len(BUCKETS_MS)):
                counts[bucket] += int(self.backend.get(
                    f"{self.namespace}:requests:{minute}:{bucket}") or 0)
            errors += int(self.backend.get(f"{self.namespace}:errors:{minute}") or 0)
        total = sum(counts)
        return {"minutes": minutes, "requests": total, "errors": errors,
                **{f"p{q}": percentile_bound(counts, q / 100) for q in (50, 95, 99)}}


def percentile_bound(counts: list[int], quantile: float) -> float | None:
    """The upper bound (ms) of the bucket holding the given quantile of the requests."""
    total = sum(counts)
    if not total:
        return None
    seen = 0
    for bound, count in zip(BUCKETS_MS, counts, strict=True):
        seen += count
        if seen >= quantile * total:
            return bound
    return BUCKETS_MS[-1]
