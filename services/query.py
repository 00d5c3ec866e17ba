"""Shared query building: the filter and scope conditions and the time buckets.

Every service that reads sales builds its WHERE clause here, so the user's platform scope
cannot be forgotten on one data path, and so every page agrees on which lines are sales:
lines of products that are not merchandise (postage, fees, manual entries, bad-debt
adjustments; `products.is_merchandise` false) are kept in the database and in the import
report but left out of every metric.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd
from sqlalchemy import (
    ColumnElement,
    Date,
    Float,
    FromClause,
    Integer,
    SQLColumnExpression,
    false,
    or_,
    select,
    true,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import QueryableAttribute, Session
from sqlalchemy.sql import Executable
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from models import Order, OrderLine, Platform, Product
from services.filters import Filters
from services.scope import Scope


def frame_of(rows: Iterable[Any], columns: Sequence[str]) -> pd.DataFrame:
    """A query's rows as a frame with these columns.

    Each row becomes a plain tuple first: pandas takes SQLAlchemy's `Row` for a namedtuple
    and asks every row for its `_fields`, a failed attribute lookup per row that cost ten
    times the frame itself (255 ms against 28 ms for 20,000 rows of seven columns)."""
    return pd.DataFrame([tuple(row) for row in rows], columns=list(columns))


def driver_rows(session: Session, stmt: Executable) -> list[tuple[Any, ...]]:
    """The rows of `stmt` as the database driver gives them, without SQLAlchemy's work per
    row and column (0.3 s of reading 175,000 customers' rows). Only for columns whose driver
    values are already what the caller wants: integers, text, floats (cast in SQL) and
    dates read with `as_date` (SQLite gives them as text)."""
    result = session.connection().execute(stmt)
    try:
        return list(result.cursor.fetchall())
    finally:
        result.close()


def as_date(value: Any) -> dt.date:
    """A date column's value as a date (SQLite hands back ISO text)."""
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value)[:10])


def as_dates(values: pd.Series) -> pd.Series:
    """`as_date` of a column's values, left as they are when the driver already gave dates
    (PostgreSQL: converting 175,000 dates one by one took 40 ms a column)."""
    if values.empty or isinstance(values.iloc[0], dt.date):
        return values
    return values.map(as_date)


def scope_condition(scope: Scope,
                    platform_column: SQLColumnExpression[int]) -> ColumnElement[bool]:
    """Restrict `platform_column` to the scope's platforms (always true for full scope)."""
    if scope.platform_ids is None:
        return true()
    if not scope.platform_ids:
        return false()
    return platform_column.in_(sorted(scope.platform_ids))


def line_conditions(filters: Filters, scope: Scope, start: dt.date, end: dt.date,
                    merchandise_only: bool = True,
                    table: FromClause | None = None,
                    date_column: str = "sale_date") -> list[ColumnElement[bool]]:
    """WHERE conditions for a date range, the filters (the order country among them) and the
    scope.

    On `order_lines` by default, or on any `table` with its column names (a rollup, whose
    lines are all merchandise already). `merchandise_only=False` is for the full data export
    alone: metrics never include the lines of non-merchandise products.
    """
    lines = OrderLine.__table__ if table is None else table
    conditions: list[ColumnElement[bool]] = [lines.c[date_column].between(start, end)]
    if merchandise_only and table is None:
        conditions.append(merchandise_condition())
    if scope.platform_ids is not None:
        conditions.append(scope_condition(scope, lines.c.platform_id))
    if filters.platforms:
        conditions.append(lines.c.platform_id.in_(
            select(Platform.id).where(Platform.slug.in_(filters.platforms))))
    product_condition = product_filter(filters)
    if product_condition is not None:
        conditions.append(lines.c.product_id.in_(select(Product.id).where(product_condition)))
    if filters.country:
        conditions.append(lines.c.country == filters.country)
    if filters.state:
        # Only the order has a state: no rollup keeps `order_id`, so this reads order_lines.
        conditions.append(lines.c.order_id.in_(
            select(Order.id).where(Order.state == filters.state)))
    return conditions


def merchandise_condition() -> ColumnElement[bool]:
    """Only lines of merchandise products (the set of non-merchandise products is small)."""
    # correlate(None): the subquery must keep its own FROM even when the outer query joins
    # products (top products, by category).
    return OrderLine.product_id.not_in(
        select(Product.id).where(Product.is_merchandise.is_(False)).correlate(None))


def product_filter(filters: Filters) -> ColumnElement[bool] | None:
    """Condition on `products` for the chosen SKUs and categories (a category adds its products)."""
    parts = []
    if filters.products:
        parts.append(Product.sku.in_(filters.products))
    if filters.categories:
        parts.append(Product.category.in_(filters.categories))
    return or_(*parts) if parts else None


class week_start(FunctionElement):  # noqa: N801 - SQL function naming
    """The Monday on or before a date column."""

    type = Date()
    name = "week_start"
    inherit_cache = True


class month_start(FunctionElement):  # noqa: N801 - SQL function naming
    """The first day of the month of a date column."""

    type = Date()
    name = "month_start"
    inherit_cache = True


@compiles(week_start, "sqlite")
def _week_start_sqlite(element: week_start, compiler: SQLCompiler, **kw: Any) -> str:
    # 'weekday 1' moves forward to the next Monday (or stays), so step back six days first.
    return f"date({compiler.process(element.clauses, **kw)}, '-6 days', 'weekday 1')"


# PostgreSQL has no date_trunc of a date: left to itself it casts the date to a timestamp
# *with* time zone, which costs five times as much (76 against 15 ms over 520,000 rows) and
# goes through the session's time zone. A plain timestamp gives the same day, faster.


@compiles(week_start, "postgresql")
def _week_start_pg(element: week_start, compiler: SQLCompiler, **kw: Any) -> str:
    return (f"CAST(date_trunc('week', CAST({compiler.process(element.clauses, **kw)} "
            "AS TIMESTAMP)) AS DATE)")


@compiles(month_start, "sqlite")
def _month_start_sqlite(element: month_start, compiler: SQLCompiler, **kw: Any) -> str:
    return f"date({compiler.process(element.clauses, **kw)}, 'start of month')"


@compiles(month_start, "postgresql")
def _month_start_pg(element: month_start, compiler: SQLCompiler, **kw: Any) -> str:
    return (f"CAST(date_trunc('month', CAST({compiler.process(element.clauses, **kw)} "
            "AS TIMESTAMP)) AS DATE)")


class iso_weekday(FunctionElement):  # noqa: N801 - SQL function naming
    """Day of the week of a date column: 0 = Monday … 6 = Sunday (like Python's weekday())."""

    type = Integer()
    name = "iso_weekday"
    inherit_cache = True


@compiles(iso_weekday, "sqlite")
def _iso_weekday_sqlite(element: iso_weekday, compiler: SQLCompiler, **kw: Any) -> str:
    # strftime('%w') counts from Sunday = 0; shift so Monday is 0.
    return f"((CAST(strftime('%w', {compiler.process(element.clauses, **kw)}) AS INTEGER) + 6) % 7)"


@compiles(iso_weekday, "postgresql")
def _iso_weekday_pg(element: iso_weekday, compiler: SQLCompiler, **kw: Any) -> str:
    return f"(CAST(EXTRACT(ISODOW FROM {compiler.process(element.clauses, **kw)}) AS INTEGER) - 1)"


def bucket(column: ColumnElement[dt.date] | QueryableAttribute[dt.date],
           grain: str) -> ColumnElement[dt.date] | QueryableAttribute[dt.date]:
    """The start date of the day, week (Monday) or month that `column` falls in."""
    if grain == "week":
        return week_start(column)
    if grain == "month":
        return month_start(column)
    return column


class days_between(FunctionElement):  # noqa: N801 - SQL function naming
    """Whole days from the second date column to the first (later − earlier)."""

    type = Float()
    name = "days_between"
    inherit_cache = True


@compiles(days_between, "sqlite")
def _days_between_sqlite(element: days_between, compiler: SQLCompiler, **kw: Any) -> str:
    later, earlier = list(element.clauses)
    return (f"(julianday({compiler.process(later, **kw)}) - "
            f"julianday({compiler.process(earlier, **kw)}))")


@compiles(days_between, "postgresql")
def _days_between_pg(element: days_between, compiler: SQLCompiler, **kw: Any) -> str:
    later, earlier = list(element.clauses)
    return f"CAST(({compiler.process(later, **kw)} - {compiler.process(earlier, **kw)}) AS FLOAT)"
