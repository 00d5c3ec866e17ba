"""Distinct customers from the customer sets against `count(DISTINCT)`, in process.

    python -m benchmarks.customer_sets --database-url postgresql+psycopg2://… [--repeat 5]

On a database `benchmarks.pages` filled (or any other): for 30 days, 12 months and all time,
with no filter, one platform and one country, ungrouped and by platform and by country, the
median milliseconds of the count from the sets, and of the same count as `count(DISTINCT)`
over the customer-day rollup and over `order_lines`; every answer is checked against the
`order_lines` count. Prints a Markdown table.
"""
from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from models import OrderLine
from services import rollups
from services.filters import Filters
from services.sales import resolve
from services.scope import Scope

RANGES = {"30d": "30 days", "12m": "12 months", "all": "all time"}
GROUPINGS = {"—": (), "platform": (OrderLine.platform_id.label("platform"),),
             "country": (OrderLine.country.label("country"),)}
Counts = dict[tuple[Any, ...], int]


def _median_ms(repeat: int, run: Callable[[], Counts]) -> tuple[float, Counts]:
    times, answer = [], {}
    for _ in range(repeat):
        started = time.perf_counter()
        answer = run()
        times.append(1000 * (time.perf_counter() - started))
    return statistics.median(times), answer


def _counted(session: Session, stmt: sa.Select[Any]) -> Counts:
    return {tuple(row[:-1]): row[-1] for row in session.execute(stmt) if row[-1]}


def compare(session: Session, lines: rollups.Lines, dimensions: Sequence[Any],
            repeat: int) -> tuple[float, float, float]:
    """Median ms from the sets, the customer-day rollup and `order_lines`, after checking
    that the sets' answer is the lines' one."""
    days = rollups.CUSTOMERS.table
    sets_ms, from_sets = _median_ms(repeat, lambda: rollups._customers_from_sets(
        session, lines, dimensions, ()))
    rollup_ms, _ = _median_ms(repeat, lambda: _counted(session, rollups._grouped(
        days, [*lines.conditions(days), days.c.orders > 0],
        [sa.func.count(sa.distinct(days.c.customer_id))], dimensions, ())))
    lines_ms, from_lines = _median_ms(repeat, lambda: _counted(session, rollups._grouped(
        rollups.ORDER_LINES, lines.conditions(), [rollups.line_measures()["customers"]],
        dimensions, ())))
    if from_sets != from_lines:
        raise AssertionError(f"the sets count other customers than the lines: {lines}")
    return sets_ms, rollup_ms, lines_ms


def main() -> None:
    """Print the comparison table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    engine = sa.create_engine(args.database_url)
    everything = Scope.everything()
    print("| range | filter | grouped by | sets ms | customer-day ms | order lines ms |")
    print("|---|---|---|---:|---:|---:|")
    with Session(engine) as session:
        platform = session.scalar(sa.text("SELECT slug FROM platforms ORDER BY id LIMIT 1"))
        country = session.scalar(sa.text(
            "SELECT country FROM rollup_sales_day WHERE country IS NOT NULL GROUP BY country "
            "ORDER BY SUM(orders) DESC LIMIT 1"))
        restrictions = {"—": {}, "one platform": {"platforms": (platform,)},
                        "one country": {"country": country}}
        for range_, range_label in RANGES.items():
            for restriction, extra in restrictions.items():
                filters = Filters(range=range_, **extra)
                period = resolve(session, everything, filters)
                lines = rollups.Lines(filters, everything, period.start, period.end)
                for grouping, dimensions in GROUPINGS.items():
                    sets_ms, rollup_ms, lines_ms = compare(session, lines, dimensions,
                                                           args.repeat)
                    print(f"| {range_label} | {restriction} | {grouping} | {sets_ms:.1f} | "
                          f"{rollup_ms:.1f} | {lines_ms:.0f} |", flush=True)
    engine.dispose()


if __name__ == "__main__":
    main()
