"""The metric registry: every registered KPI is answered by a rollup at the default filters,
and a query that cannot use one says why."""
from __future__ import annotations

import logging

import pytest
from sqlalchemy.orm import Session

from models import OrderLine
from services.filters import Filters
from services.metrics import KPI_MEASURES, METRICS, STORED_MEASURES, Metric
from services.rollups import CUSTOMERS, Lines, aggregate, explain
from services.sales import resolve
from services.scope import Scope

EVERYTHING = Scope.everything()


def default_lines(session: Session) -> Lines:
    """The lines of the default view (last 30 days of data, every platform)."""
    period = resolve(session, EVERYTHING, Filters())
    return Lines(Filters(), EVERYTHING, period.start, period.end)


def test_no_registered_kpi_falls_back_to_order_lines_at_the_default_filters(
        session: Session) -> None:
    lines = default_lines(session)
    for metric in METRICS.values():
        summed = [name for name in metric.needs if name != "customers"]
        if summed:
            rollup, reason = explain(lines, summed, (), ())
            assert rollup is not None, f"{metric.key} reads order_lines: {reason}"
        if not metric.additive:  # distinct customers: the customer-day rollup
            assert lines.filtered_columns() <= CUSTOMERS.keeps, metric.key
    rollup, reason = explain(lines, [m for m in KPI_MEASURES if m != "customers"], (), ())
    assert rollup is not None, reason  # the KPI cards' one query


def test_every_metric_derives_from_stored_sums() -> None:
    for metric in METRICS.values():
        assert set(metric.needs) <= {*STORED_MEASURES, "customers"}, metric.key
        assert metric.unit in ("money", "count", "ratio")


def test_a_metric_no_rollup_stores_is_logged_with_the_reason(
        session: Session, caplog: pytest.LogCaptureFixture) -> None:
    # What a non-additive metric such as a median would do: the check above catches it.
    median = Metric("median_order", "Median order value", "money", ("median_order",),
                    additive=False)
    lines = default_lines(session)
    rollup, reason = explain(lines, median.needs, (), ())
    assert rollup is None and "no rollup stores median_order" in reason
    with caplog.at_level(logging.DEBUG, logger="services.rollups"):
        aggregate(session, lines, ["net_revenue", "orders"],
                  [], [])  # answered by a rollup: nothing logged
        assert not caplog.records
        aggregate(session, lines, ["net_revenue"], [OrderLine.customer_id.label("customer")])
    assert any("order_lines answers net_revenue" in record.getMessage()
               and "does not keep customer_id" in record.getMessage()
               for record in caplog.records)


def test_money_values_round_like_money() -> None:
    """The vectorised rounding gives `money`'s value for every sum: amounts of four decimals
    added as binary floats (as SQLite sums them), a sale and its cancellation, and NULL."""
    import numpy as np

    from services.metrics import money, money_values

    rng = np.random.default_rng(7)
    amounts = rng.integers(-500_000, 5_000_000, size=(20_000, 7)) / 10_000
    sums = [sum(row) for row in amounts.tolist()]  # Python's float sums, errors and all
    values = [*sums, 8.9e-15, -1e-13, 0.1 + 0.2, -0.0, None]
    assert money_values(values).tolist() == [money(value) for value in values]
    assert str(money_values([-1e-13])[0]) == "0.0"  # no negative zero
