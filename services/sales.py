"""Sales aggregates shared by every page: data bounds, metrics by any dimension or period."""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import pandas as pd
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from models import OrderLine
from services.cache import cached
from services.filters import Filters, Period, resolve_period
from services.metrics import KPI_MEASURES, derive, money
from services.periods import bucket_starts
from services.query import as_date, bucket, scope_condition
from services.rollups import Joins, Lines, aggregate
from services.scope import Scope

METRIC_COLUMNS = ("net_revenue", "gross_sales", "returns", "orders", "units", "aov",
                  "customers", "gross_profit", "margin", "cost_coverage")
COUNTS = ("orders", "customers")


@cached
def data_bounds(session: Session, scope: Scope) -> tuple[dt.date | None, dt.date | None]:
    """First and last sale date visible in the scope (None, None when there is no data)."""
    def bound(aggregate: Any) -> Any:
        stmt = select(aggregate(OrderLine.sale_date))
        if scope.is_limited:
            stmt = stmt.where(scope_condition(scope, OrderLine.platform_id))
        return stmt.scalar_subquery()

    # One subquery each: SQLite reads min() or max() off the date index only when it is the
    # query's lone aggregate; both in one SELECT scanned every line (~90 ms at 1M lines).
    first, last = session.execute(select(bound(func.min), bound(func.max))).one()
    return _as_date(first), _as_date(last)


def _as_date(value: Any) -> dt.date | None:
    return None if value is None else as_date(value)


@cached
def resolve(session: Session, scope: Scope, filters: Filters) -> Period:
    """The concrete dates of `filters` against the data the scope can see."""
    first, last = data_bounds(session, scope)
    return resolve_period(filters, first, last)


def grouped_metrics(
    session: Session,
    lines: Lines,
    dimensions: Sequence[ColumnElement[Any]] = (),
    joins: Joins = (),
    order_by_revenue: bool = False,
    limit: int | None = None,
    with_total: bool = False,
    counts: Sequence[str] = COUNTS,
) -> pd.DataFrame:
    """Every metric, grouped by labelled `dimensions` (on `OrderLine`), over `lines`.

    `with_total` adds `total_net_revenue`, the net revenue of all groups (before `limit`).
    `counts` are the distinct counts to include: customers never add up over days and
    orders not over products, so a caller that does not show them leaves them out and is
    answered from a rollup (without orders there is no average order value either).
    """
    left_out = set(COUNTS) - set(counts)
    measures = [m for m in KPI_MEASURES if m not in left_out]
    rows = aggregate(session, lines, measures, dimensions, joins,
                     order_by_revenue=order_by_revenue, limit=limit, with_total=with_total)
    names = [column.name for column in dimensions] + (["total_net_revenue"] if with_total else [])
    if "orders" in left_out:
        left_out.add("aov")
    metrics = [m for m in METRIC_COLUMNS if m not in left_out]
    return pd.DataFrame([{**{name: row[name] for name in names}, **derive(row)} for row in rows],
                        columns=[*names, *metrics])


@cached
def totals(session: Session, scope: Scope, filters: Filters, start: dt.date,
           end: dt.date) -> dict[str, float | int | None]:
    """All metrics for one date range."""
    # An aggregate without GROUP BY always returns exactly one row. Not via a DataFrame:
    # a row of mixed numbers would come back with the integer counts turned into floats.
    return derive(aggregate(session, Lines(filters, scope, start, end), KPI_MEASURES)[0])


ADDITIVE = ("net_revenue", "gross_sales", "returns", "orders", "units")


def additive_metrics(session: Session, lines: Lines,
                     dimensions: Sequence[ColumnElement[Any]]) -> pd.DataFrame:
    """Net revenue, gross sales, returns, orders, units and AOV per group (the metrics that
    trends and heatmaps show: no customers or costs)."""
    rows = aggregate(session, lines, ADDITIVE, dimensions)
    names = [column.name for column in dimensions]
    frame = pd.DataFrame(rows, columns=[*names, *ADDITIVE])
    for column in ("net_revenue", "gross_sales", "returns"):
        frame[column] = frame[column].map(money).astype(float)
    frame[["orders", "units"]] = frame[["orders", "units"]].astype(int)
    frame["aov"] = (frame["gross_sales"] / frame["orders"]).where(frame["orders"] > 0)
    return frame


def _every_bucket(frame: pd.DataFrame, lines: Lines, grain: str,
                  zero: Sequence[str]) -> pd.DataFrame:
    """`frame` (one row per bucket that has sales) on every bucket of the lines' range, the
    `zero` columns of empty buckets as 0."""
    frame = frame.assign(bucket=frame["bucket"].map(_as_date))
    full = pd.DataFrame({"bucket": bucket_starts(lines.start, lines.end, grain)})
    merged = full.merge(frame, on="bucket", how="left")
    merged[list(zero)] = merged[list(zero)].fillna(0)
    return merged


def metrics_by_period(session: Session, lines: Lines, grain: str) -> pd.DataFrame:
    """Every metric per day/week/month bucket of the lines' range, empty buckets as zero."""
    period = bucket(OrderLine.sale_date, grain).label("bucket")
    counts = ["orders", "units", "customers"]
    merged = _every_bucket(grouped_metrics(session, lines, [period]), lines, grain,
                           ["net_revenue", "gross_sales", "returns", *counts])
    merged[counts] = merged[counts].astype(int)
    return merged


def additive_by_period(session: Session, lines: Lines, grain: str) -> pd.DataFrame:
    """The additive sums per bucket of the lines' range (indexed by bucket start), empty
    buckets as zero."""
    period = bucket(OrderLine.sale_date, grain).label("bucket")
    frame = additive_metrics(session, lines, [period])[["bucket", *ADDITIVE]]
    return _every_bucket(frame, lines, grain, ADDITIVE).set_index("bucket")


def net_revenue_by(session: Session, lines: Lines, dimensions: Sequence[ColumnElement[Any]],
                   joins: Joins = ()) -> pd.DataFrame:
    """Net revenue alone per group: far cheaper than every metric (no distinct counts)."""
    rows = aggregate(session, lines, ["net_revenue"], dimensions, joins)
    names = [column.name for column in dimensions]
    return pd.DataFrame([(*[row[name] for name in names], money(row["net_revenue"]))
                         for row in rows], columns=[*names, "net_revenue"])
