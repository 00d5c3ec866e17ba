"""Request statistics: percentiles from the buckets agree with the raw latencies."""
from __future__ import annotations

import numpy as np
import pytest
from cachelib import NullCache, SimpleCache
from flask import Flask

from services.request_stats import BUCKETS_MS, RequestStats, percentile_bound

NOW = 1_800_000_000.0


def bound_of(value: float) -> float:
    """The bucket bound a latency falls under (independent of the module's search)."""
    return min(bound for bound in BUCKETS_MS if value <= bound)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_percentiles_are_the_bucket_bounds_of_the_true_percentiles(seed: int) -> None:
    latencies = np.random.default_rng(seed).lognormal(mean=3.5, sigma=1.0, size=500)
    stats = RequestStats(SimpleCache(threshold=10_000), "t")
    for index, value in enumerate(latencies):
        stats.record(float(value), 500 if index % 50 == 0 else 200, NOW - index % 600)
    summary = stats.summary(NOW)
    assert summary["requests"] == 500 and summary["errors"] == 10
    ordered = np.sort(latencies)
    for quantile in (50, 95, 99):
        true_value = ordered[int(np.ceil(quantile / 100 * len(ordered))) - 1]
        assert summary[f"p{quantile}"] == bound_of(true_value)


def test_old_minutes_fall_out_of_the_window() -> None:
    stats = RequestStats(SimpleCache(), "t")
    stats.record(12.0, 200, NOW - 20 * 60)
    stats.record(12.0, 503, NOW)
    summary = stats.summary(NOW, minutes=15)
    assert (summary["requests"], summary["errors"]) == (1, 1)


def test_without_a_backend_nothing_is_recorded() -> None:
    stats = RequestStats(NullCache(), "t")
    stats.record(5.0, 200, NOW)
    assert not stats.enabled and percentile_bound([0] * len(BUCKETS_MS), 0.5) is None


def test_the_app_records_its_requests(app: Flask) -> None:
    from dashapp import security
    from tests.conftest import login

    client = login(app.test_client())
    for _ in range(3):
        client.get("/api/v1/overview?range=7d")
    summary = app.extensions["request_stats"].summary(security.clock())
    assert summary["requests"] >= 5 and summary["p50"] is not None
