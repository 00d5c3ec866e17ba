"""Sales aggregates shared by every page: data bounds, metrics by any dimension or period."""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import pandas as pd
from sqlalchemy import ColumnElement, Select, desc, func, select
from sqlalchemy.orm import Session

from dashapp.filters import Filters, Period, resolve_period
from models import OrderLine
from services.metrics import aggregate_columns, derive, money, net_revenue
from services.query import bucket, bucket_starts, line_conditions, scope_condition
from services.scope import Scope

METRIC_COLUMNS = ("net_revenue", "gross_sales", "returns", "orders", "units", "aov",
                  "customers", "gross_profit", "margin", "cost_coverage")


def data_bounds(session: Session, scope: Scope) -> tuple[dt.date | None, dt.date | None]:
    """First and last sale date visible in the scope (None, None when there is no data)."""
    stmt = select(func.min(OrderLine.sale_date), func.max(OrderLine.sale_date))
    if scope.is_limited:
        stmt = stmt.where(scope_condition(scope, OrderLine.platform_id))
    first, last = session.execute(stmt).one()
    return _as_date(first), _as_date(last)


def _as_date(value: Any) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def resolve(session: Session, scope: Scope, filters: Filters) -> Period:
    """The concrete dates of `filters` against the data the scope can see."""
    first, last = data_bounds(session, scope)
    return resolve_period(filters, first, last)


def grouped_metrics(
    session: Session,
    conditions: Sequence[ColumnElement[bool]],
    dimensions: Sequence[ColumnElement[Any]] = (),
    joins: Sequence[tuple[Any, ColumnElement[bool]]] = (),
    order_by_revenue: bool = False,
    limit: int | None = None,
    with_total: bool = False,
) -> pd.DataFrame:
    """Every metric, grouped by labelled `dimensions`, over lines matching `conditions`.

    `with_total` adds `total_net_revenue`, the net revenue of all groups (before `limit`),
    computed by a window function in the same query.
    """
    extra = [func.sum(net_revenue()).over().label("total_net_revenue")] if with_total else []
    stmt = select(*dimensions, *aggregate_columns(), *extra).select_from(OrderLine)
    for target, on in joins:
        stmt = stmt.join(target, on)
    stmt = stmt.where(*conditions)
    if dimensions:
        stmt = stmt.group_by(*dimensions)
    if order_by_revenue:
        stmt = stmt.order_by(desc("net_revenue"), *dimensions)
    if limit is not None:
        stmt = stmt.limit(limit)
    names = [column.name for column in dimensions] + [column.name for column in extra]
    return pd.DataFrame(_metric_rows(session, stmt, names), columns=[*names, *METRIC_COLUMNS])


def _metric_rows(session: Session, stmt: Select[Any],
                 names: Sequence[str]) -> list[dict[str, Any]]:
    return [{**{name: row[name] for name in names}, **derive(row)}
            for row in session.execute(stmt).mappings()]


def totals(session: Session, scope: Scope, filters: Filters, start: dt.date,
           end: dt.date) -> dict[str, float | int | None]:
    """All metrics for one date range."""
    stmt = select(*aggregate_columns()).where(*line_conditions(filters, scope, start, end))
    # An aggregate without GROUP BY always returns exactly one row. Not via a DataFrame:
    # a row of mixed numbers would come back with the integer counts turned into floats.
    return _metric_rows(session, stmt, [])[0]


def metrics_by_period(session: Session, scope: Scope, filters: Filters, start: dt.date,
                      end: dt.date, grain: str) -> pd.DataFrame:
    """Every metric per day/week/month bucket from `start` to `end`, empty buckets as zero."""
    period = bucket(OrderLine.sale_date, grain).label("bucket")
    frame = grouped_metrics(session, line_conditions(filters, scope, start, end), [period])
    frame["bucket"] = frame["bucket"].map(_as_date)
    full = pd.DataFrame({"bucket": bucket_starts(start, end, grain)})
    merged = full.merge(frame, on="bucket", how="left")
    zero_filled = ["net_revenue", "gross_sales", "returns", "orders", "units", "customers"]
    merged[zero_filled] = merged[zero_filled].fillna(0)
    merged[["orders", "units", "customers"]] = merged[["orders", "units", "customers"]].astype(int)
    return merged


def net_revenue_by(session: Session, conditions: Sequence[ColumnElement[bool]],
                   dimensions: Sequence[ColumnElement[Any]],
                   joins: Sequence[tuple[Any, ColumnElement[bool]]] = ()) -> pd.DataFrame:
    """Net revenue alone per group: far cheaper than every metric (no distinct counts)."""
    stmt = select(*dimensions, net_revenue()).select_from(OrderLine)
    for target, on in joins:
        stmt = stmt.join(target, on)
    stmt = stmt.where(*conditions).group_by(*dimensions)
    names = [column.name for column in dimensions]
    rows = [(*row[:-1], money(row[-1])) for row in session.execute(stmt)]
    return pd.DataFrame(rows, columns=[*names, "net_revenue"])


def net_revenue_by_period(session: Session, scope: Scope, filters: Filters, start: dt.date,
                          end: dt.date, grain: str) -> pd.DataFrame:
    """Net revenue per day/week/month bucket from `start` to `end`, empty buckets as zero."""
    period = bucket(OrderLine.sale_date, grain).label("bucket")
    frame = net_revenue_by(session, line_conditions(filters, scope, start, end), [period])
    found = dict(zip(frame["bucket"].map(_as_date), frame["net_revenue"], strict=True))
    starts = bucket_starts(start, end, grain)
    return pd.DataFrame({"bucket": starts,
                         "net_revenue": [found.get(day, 0.0) for day in starts]})
