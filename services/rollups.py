"""Rollups: the cheapest table that answers an aggregate query exactly, and their upkeep.

Every aggregate of sales goes through `aggregate`. It reads a rollup (models/rollups.py)
when the rollup keeps every column the query groups or filters by and stores every measure
it asks for in a form that adds up over the rollup's groups; otherwise it reads
`order_lines`. The answer is the same either way (tests/services/test_rollups.py proves it
on SQLite and PostgreSQL); only the number of rows read differs:

- `rollup_sales_day` (day × platform × country) answers totals, trends, weekday, platform,
  channel, country and region figures, order counts included: an order lies wholly in one
  day, platform and country.
- `rollup_product_month` (month × platform × product) answers product and category figures
  over the whole months of a range; the days at either end come from `order_lines`. Its
  order counts add up only per product (an order can hold several products).
- `rollup_product_day` (day × platform × product) answers product and category figures
  per day, and over any range the month rollup cannot (no whole month, or grouped by day):
  the Marketing page's promoted products around each post and campaign. Its order counts,
  too, add up only per product.
- `rollup_sales_hour` answers the weekday × hour pattern.
- Distinct customers never add up over days: `rollup_customer_day` lists each known
  customer's orders, net revenue and gross sales per day (and platform and country); summed
  per customer, its rows give the Customers page's per-customer figures (`per_customer`).
  Distinct counts come from its sets of buyers (`services.customer_sets`): one Roaring
  bitmap of customer ids per day, platform and country and one per month, platform and
  country, unioned at query time (the month sets over whole months, unless a group is a
  span of days). Grouped or filtered by product or category they come from `order_lines`.

The rollups (and the customer sets) hold merchandise lines only and are rebuilt by `refresh`
in the transaction of every write to the facts (imports, demo data, catalogue changes of the
merchandise flag).
"""
from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from pyroaring import BitMap
from sqlalchemy import (
    Column,
    ColumnElement,
    CompoundSelect,
    FromClause,
    Select,
    Table,
    case,
    delete,
    desc,
    func,
    insert,
    select,
    union_all,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql import visitors

from models import CustomerDay, OrderLine, Product, ProductMonth, SalesDay, SalesHour
from models.rollups import ProductDay
from services import customer_sets
from services.filters import Filters
from services.metrics import (
    ORDER_COUNTS,
    STORED_MEASURES,
    is_sale,
    line_measures,
    stored_measures,
)
from services.periods import month_end, month_start
from services.query import line_conditions, merchandise_condition
from services.query import month_start as sql_month_start
from services.scope import Scope

log = logging.getLogger(__name__)
ORDER_LINES: Table = OrderLine.__table__
Joins = Sequence[tuple[Any, ColumnElement[bool]]]


@dataclass(frozen=True)
class Lines:
    """Which order lines an aggregate reads: a date range, the filters and the scope, and
    optionally only the lines of some products by id (besides the filters)."""

    filters: Filters
    scope: Scope
    start: dt.date
    end: dt.date
    # A literal list, which PostgreSQL estimates and reads through the product index; the
    # filters' SKU subquery made it scan the whole product-day rollup instead.
    product_ids: frozenset[int] | None = None

    def filtered_columns(self) -> set[str]:
        """The order-line columns the filters and the scope restrict (besides the date): read
        off the conditions themselves, so a new filter cannot be missed here."""
        return _line_columns(self.conditions(ORDER_LINES)) - {"sale_date"}

    def conditions(self, table: FromClause | None = None, date_column: str = "sale_date",
                   start: dt.date | None = None,
                   end: dt.date | None = None) -> list[ColumnElement[bool]]:
        """The WHERE conditions on `order_lines` (or on a rollup with its column names)."""
        conditions = line_conditions(self.filters, self.scope, start or self.start,
                                     end or self.end, table=table, date_column=date_column)
        if self.product_ids is not None:
            source = ORDER_LINES if table is None else table
            conditions.append(source.c.product_id.in_(sorted(self.product_ids)))
        return conditions


@dataclass(frozen=True)
class Rollup:
    """A rollup table, the order-line columns it is grouped by, and how its counts add up."""

    table: Table
    keeps: frozenset[str]
    monthly: bool = False
    orders_add_up: bool = True  # False: order counts add up per product only


DAY = Rollup(SalesDay.__table__, frozenset({"sale_date", "platform_id", "country"}))
PRODUCT_MONTH = Rollup(ProductMonth.__table__,
                       frozenset({"platform_id", "product_id"}), monthly=True,
                       orders_add_up=False)
HOUR = Rollup(SalesHour.__table__,
              frozenset({"sale_date", "sale_hour", "platform_id", "country"}))
PRODUCT_DAY = Rollup(ProductDay.__table__,
                     frozenset({"sale_date", "platform_id", "product_id"}), orders_add_up=False)
# Every sales rollup, fewest rows first: the first that can answer is used.
ROLLUPS = (DAY, PRODUCT_MONTH, HOUR, PRODUCT_DAY)
# Each known customer's sums per day (and platform and country): distinct customers do not
# add up, but a distinct count over the rows with an order is the distinct count over the
# lines, and per customer the stored sums add up like any rollup's.
CUSTOMERS = Rollup(CustomerDay.__table__,
                   frozenset({"sale_date", "platform_id", "country"}))
CUSTOMER_MEASURES = ("orders", "net_revenue", "gross_sales")

# Rollups summed from a finer rollup's rows rather than from the lines: its groups lie wholly
# in theirs, and so does every order (an order has one day and hour), so every stored
# measure, order counts included, adds up. The finer one is refreshed first.
BUILT_FROM = {DAY: HOUR, PRODUCT_MONTH: PRODUCT_DAY}

_base_only: contextvars.ContextVar[bool] = contextvars.ContextVar("base_only", default=False)


@contextlib.contextmanager
def base_tables_only() -> Iterator[None]:
    """Within this block every aggregate reads `order_lines` (to compare, and to time it)."""
    token = _base_only.set(True)
    try:
        yield
    finally:
        _base_only.reset(token)


# --- answering a query ------------------------------------------------------------------------

def aggregate(session: Session, lines: Lines, measures: Sequence[str],
              dimensions: Sequence[ColumnElement[Any]] = (), joins: Joins = (), *,
              order_by_revenue: bool = False, limit: int | None = None,
              with_total: bool = False) -> list[dict[str, Any]]:
    """The named measures per group of labelled `dimensions` over `lines`, from the cheapest
    table that answers exactly.

    `dimensions` and `joins` are written against `OrderLine`; `with_total` adds
    `total_net_revenue` (all groups, before `limit`); `order_by_revenue` sorts by net revenue.
    """
    rollup, reason = explain(lines, measures, dimensions, joins)
    if rollup is None:
        log.debug("order_lines answers %s by %s: %s", ", ".join(measures),
                  ", ".join(d.name for d in dimensions) or "nothing", reason)
    summed = [name for name in measures if rollup is None or name != "customers"]
    stmt, columns = _statement(rollup, lines, summed, dimensions, joins)
    if with_total:
        stmt = stmt.add_columns(func.sum(columns["net_revenue"].element).over()
                                .label("total_net_revenue"))
    if order_by_revenue:
        stmt = stmt.order_by(desc("net_revenue"), *[d.name for d in dimensions])
    if limit is not None:
        stmt = stmt.limit(limit)
    rows = [dict(row) for row in session.execute(stmt).mappings()]
    if rollup is not None and "customers" in measures:
        _add_customers(session, lines, dimensions, joins, rows)
    return rows


def aggregate_select(lines: Lines, measures: Sequence[str],
                     dimensions: Sequence[ColumnElement[Any]] = (),
                     joins: Joins = ()) -> Select[Any]:
    """`aggregate`'s grouped SELECT, not run: to join its groups to another table in the
    database (e.g. orders per platform and day against the funnel days). Distinct customers
    are not offered: a rollup answers them with a second query."""
    if "customers" in measures:
        raise ValueError("aggregate_select cannot count distinct customers")
    rollup, _reason = explain(lines, measures, dimensions, joins)
    return _statement(rollup, lines, measures, dimensions, joins)[0]


def _statement(rollup: Rollup | None, lines: Lines, summed: Sequence[str],
               dimensions: Sequence[ColumnElement[Any]],
               joins: Joins) -> tuple[Select[Any], dict[str, Any]]:
    """The grouped SELECT of the `summed` measures over the rollup (None: `order_lines`),
    and the measures' columns by name."""
    source, conditions = (_base_source(lines) if rollup is None
                          else _rollup_source(rollup, lines, summed))
    columns = (line_measures() if rollup is None
               else {c.name: c for c in stored_measures(source, summed)})
    return (_grouped(source, conditions, [columns[name] for name in summed], dimensions, joins),
            columns)


def choose(lines: Lines, measures: Sequence[str], dimensions: Sequence[ColumnElement[Any]],
           joins: Joins) -> Rollup | None:
    """The first rollup that answers exactly, or None for `order_lines`."""
    return explain(lines, measures, dimensions, joins)[0]


def explain(lines: Lines, measures: Sequence[str], dimensions: Sequence[ColumnElement[Any]],
            joins: Joins) -> tuple[Rollup | None, str]:
    """The rollup that answers exactly (None for `order_lines`), and why no rollup could."""
    summed = set(measures) - {"customers"}
    if _base_only.get():
        return None, "rollups are switched off in this block"
    if not summed <= set(STORED_MEASURES):
        return None, f"no rollup stores {', '.join(sorted(summed - set(STORED_MEASURES)))}"
    needed = _line_columns([*dimensions, *(on for _target, on in joins)])
    needed |= lines.filtered_columns()
    # A drill-down's lines are those of one product: its order counts add up as well.
    one_product = len(lines.filters.products) == 1 and not lines.filters.categories
    per_product = one_product or _groups_by_product(dimensions)
    reasons = []
    for rollup in ROLLUPS:
        name = rollup.table.name
        if not needed <= rollup.keeps:
            reasons.append(f"{name} does not keep {', '.join(sorted(needed - rollup.keeps))}")
        elif summed & ORDER_COUNTS and not (rollup.orders_add_up or per_product):
            reasons.append(f"order counts do not add up over the products of {name}")
        elif rollup.monthly and _whole_months(lines.start, lines.end) is None:
            reasons.append(f"{name} needs a whole month in the range")
        else:
            return rollup, ""
    return None, "; ".join(reasons)


def _line_columns(expressions: Sequence[ColumnElement[Any]]) -> set[str]:
    """Names of the `order_lines` columns the expressions refer to."""
    return {element.name for expression in expressions
            for element in visitors.iterate(expression)
            if isinstance(element, Column) and element.table is ORDER_LINES}


def _groups_by_product(dimensions: Sequence[ColumnElement[Any]]) -> bool:
    """Whether every group holds exactly one product (grouped by its id or SKU)."""
    products = Product.__table__
    keys = {(ORDER_LINES, "product_id"), (products, "id"), (products, "sku")}
    for dimension in dimensions:
        element = getattr(dimension, "element", dimension)
        if isinstance(element, Column) and (element.table, element.name) in keys:
            return True
    return False


def _retarget(expression: ColumnElement[Any], source: FromClause) -> ColumnElement[Any]:
    """The expression with `order_lines` columns replaced by the source's columns."""
    if source is ORDER_LINES:
        return expression

    def replace(element: Any, **kw: Any) -> Any:
        if isinstance(element, Column) and element.table is ORDER_LINES:
            return source.c[element.name]
        return None

    return visitors.replacement_traverse(expression, {}, replace)


def _selected(source: FromClause, conditions: Sequence[ColumnElement[bool]],
              columns: Sequence[ColumnElement[Any]], dimensions: Sequence[ColumnElement[Any]],
              joins: Joins) -> Select[Any]:
    """The SELECT of `dimensions` and `columns` over `source` (not grouped), with
    `dimensions` and `joins` (written against `OrderLine`) moved onto its columns."""
    stmt = select(*[_retarget(d, source) for d in dimensions], *columns).select_from(source)
    for target, on in joins:
        stmt = stmt.join(target, _retarget(on, source))
    return stmt.where(*conditions)


def _grouped(source: FromClause, conditions: Sequence[ColumnElement[bool]],
             measures: Sequence[ColumnElement[Any]], dimensions: Sequence[ColumnElement[Any]],
             joins: Joins) -> Select[Any]:
    """`_selected` grouped by the dimensions."""
    stmt = _selected(source, conditions, measures, dimensions, joins)
    return stmt.group_by(*[_retarget(d, source) for d in dimensions]) if dimensions else stmt


def _base_source(lines: Lines) -> tuple[FromClause, list[ColumnElement[bool]]]:
    return ORDER_LINES, lines.conditions()


def _rollup_source(rollup: Rollup, lines: Lines,
                   measures: Sequence[str]) -> tuple[FromClause, list[ColumnElement[bool]]]:
    """The rollup's rows in range (with the conditions), or for a monthly rollup the whole
    months from the rollup and the days at either end from `order_lines`, as one subquery."""
    if not rollup.monthly:
        return rollup.table, lines.conditions(rollup.table)
    months = _whole_months(lines.start, lines.end)
    assert months is not None  # choose() takes a monthly rollup only for whole months
    keys = sorted(rollup.keeps)
    parts: list[Select[Any]] = [
        select(*[rollup.table.c[key] for key in keys], *[rollup.table.c[m] for m in measures])
        .where(*lines.conditions(rollup.table, "month", months[0], month_start(months[1])))]
    for start, end in _edges(lines.start, lines.end, months):
        edge = line_measures()
        parts.append(select(*[ORDER_LINES.c[key] for key in keys], *[edge[m] for m in measures])
                     .where(*lines.conditions(start=start, end=end))
                     .group_by(*[ORDER_LINES.c[key] for key in keys]))
    return union_all(*parts).subquery("rolled_up"), []


def _add_customers(session: Session, lines: Lines, dimensions: Sequence[ColumnElement[Any]],
                   joins: Joins, rows: list[dict[str, Any]]) -> None:
    """Distinct customers per group into rows answered by a rollup: from the customer sets
    when they keep every column needed, else from `order_lines`."""
    needed = _line_columns([*dimensions, *(on for _target, on in joins)])
    if needed | lines.filtered_columns() <= CUSTOMERS.keeps and not _base_only.get():
        found = _customers_from_sets(session, lines, dimensions, joins)
    else:
        stmt = _grouped(ORDER_LINES, lines.conditions(),
                        [line_measures()["customers"]], dimensions, joins)
        found = {tuple(row[:-1]): row[-1] for row in session.execute(stmt)}
    names = [d.name for d in dimensions]
    for row in rows:
        row["customers"] = found.get(tuple(row[name] for name in names), 0)


def _customers_from_sets(session: Session, lines: Lines,
                         dimensions: Sequence[ColumnElement[Any]],
                         joins: Joins) -> dict[tuple[Any, ...], int]:
    """Distinct customers per group from the customer sets."""
    return customer_sets.counts_of_unions(
        session.execute(_set_rows(lines, dimensions, joins)))


def buyers(session: Session, lines: Lines) -> BitMap | None:
    """The ids of the known customers who bought among the lines, from the customer sets;
    None when the sets cannot tell (lines of some products or categories only)."""
    if not lines.filtered_columns() <= CUSTOMERS.keeps or _base_only.get():
        return None
    return customer_sets.union_of(session.execute(_set_rows(lines, (), ())))


def _set_rows(lines: Lines, dimensions: Sequence[ColumnElement[Any]],
              joins: Joins) -> Select[Any] | CompoundSelect[Any]:
    """The groups' keys and the customer sets that cover the lines: the month sets of the
    range's whole months and the day sets of its other days, or only day sets when a group
    is a span of days (a day, week or month bucket)."""
    by_day = "sale_date" in _line_columns([*dimensions, *(on for _target, on in joins)])
    months = None if by_day else _whole_months(lines.start, lines.end)
    spans = [(lines.start, lines.end)]
    parts: list[Select[Any]] = []
    if months is not None:
        table = customer_sets.MONTH_SETS
        parts.append(_selected(table, lines.conditions(table, "month", months[0],
                                                        month_start(months[1])),
                               [table.c.members], dimensions, joins))
        spans = _edges(lines.start, lines.end, months)
    table = customer_sets.DAY_SETS
    parts += [_selected(table, lines.conditions(table, start=start, end=end),
                        [table.c.members], dimensions, joins) for start, end in spans]
    return parts[0] if len(parts) == 1 else union_all(*parts)


@dataclass(frozen=True)
class PerCustomer:
    """Where per-customer sums over some lines come from: the table, its conditions, the
    `CUSTOMER_MEASURES` as aggregates (labelled), whether a row is a sale, and its day."""

    table: FromClause
    conditions: list[ColumnElement[bool]]
    measures: dict[str, ColumnElement[Any]]
    sale: ColumnElement[bool]

    @property
    def customer_id(self) -> ColumnElement[int]:
        return self.table.c.customer_id

    @property
    def from_rollup(self) -> bool:
        """Whether the sums come from the customer-day rollup (not `order_lines`)."""
        return self.table is not ORDER_LINES

    @property
    def day(self) -> ColumnElement[dt.date]:
        return self.table.c.sale_date

    def sale_day(self) -> ColumnElement[dt.date | None]:
        """The row's day when it holds a sale, else NULL (for the first and last order)."""
        return case((self.sale, self.day))


def per_customer(lines: Lines) -> PerCustomer:
    """Per-customer sums over the lines of known customers: from the customer-day rollup
    when it keeps every filtered column, else from `order_lines`."""
    if lines.filtered_columns() <= CUSTOMERS.keeps and not _base_only.get():
        table = CUSTOMERS.table
        return PerCustomer(table, lines.conditions(table),
                           {c.name: c for c in stored_measures(table, CUSTOMER_MEASURES)},
                           table.c.orders > 0)
    measures = line_measures()
    known = ORDER_LINES.c.customer_id.is_not(None)
    return PerCustomer(ORDER_LINES, [*lines.conditions(), known],
                       {name: measures[name] for name in CUSTOMER_MEASURES}, is_sale())


def pass_over_earlier_days(first: dt.date, start: dt.date, end: dt.date,
                           look_up_cost: float) -> bool:
    """Whether the range's customers' earlier purchases are best found by one pass over the
    days before `start` (back to `first`) rather than by an indexed look-up per customer or
    row of the range. Both grow with their days; `look_up_cost` is how many earlier days'
    rows the look-ups of one day of the range cost (measured per use)."""
    return (start - first).days <= look_up_cost * ((end - start).days + 1)


# --- month arithmetic -------------------------------------------------------------------------

def _whole_months(start: dt.date, end: dt.date) -> tuple[dt.date, dt.date] | None:
    """First and last day of the whole calendar months within start..end (None: none)."""
    if start > end or end == dt.date.max or start == dt.date.min:
        return None
    first = start if start.day == 1 else month_end(start) + dt.timedelta(days=1)
    last = end if end == month_end(end) else end.replace(day=1) - dt.timedelta(days=1)
    return (first, last) if first <= last else None


def _edges(start: dt.date, end: dt.date,
           months: tuple[dt.date, dt.date]) -> list[tuple[dt.date, dt.date]]:
    """The days of start..end outside the whole months."""
    edges = []
    if start < months[0]:
        edges.append((start, months[0] - dt.timedelta(days=1)))
    if months[1] < end:
        edges.append((months[1] + dt.timedelta(days=1), end))
    return edges


# --- upkeep -----------------------------------------------------------------------------------

def refresh(session: Session, start: dt.date | None = None, end: dt.date | None = None,
            tables: Sequence[Rollup] = (*ROLLUPS, CUSTOMERS)) -> None:
    """Rebuild the rollups (every one by default) for the sale dates start..end (all of them
    when None) from `order_lines`, in the caller's transaction."""
    # A rollup before the ones built from it; the customer sets from the customer days.
    for rollup in (HOUR, DAY, PRODUCT_DAY, PRODUCT_MONTH, CUSTOMERS):
        if rollup in tables:
            # From the finer rollup only when it is rebuilt here too (an older migration
            # rebuilds some rollups before the finer one's table exists).
            _refresh(session, rollup, start, end, from_finer=BUILT_FROM.get(rollup) in tables)
    if CUSTOMERS in tables:
        customer_sets.rebuild(session, start, end)


def _refresh(session: Session, rollup: Rollup, start: dt.date | None,
             end: dt.date | None, from_finer: bool = False) -> None:
    if rollup.monthly and start is not None and end is not None:
        start, end = month_start(start), month_end(end)
    date_column = rollup.table.c["month" if rollup.monthly else "sale_date"]
    clear = delete(rollup.table)
    if start is not None and end is not None:
        clear = clear.where(date_column.between(start, end))
    session.execute(clear)
    names, source, day = _rebuilt_rows(rollup, from_finer)
    if start is not None and end is not None:
        source = source.where(day.between(start, end))
    # Written in date order, so a range reads neighbouring rows: PostgreSQL reads a date
    # range through the index, and on rows in random order that was 8x slower.
    first = sql_month_start(day) if rollup.monthly else day
    session.execute(insert(rollup.table).from_select(names, source.order_by(first)))


def _rebuilt_rows(rollup: Rollup, from_finer: bool = False
                  ) -> tuple[list[str], Select[Any], ColumnElement[dt.date]]:
    """A rollup's rows as a SELECT with their column names, and the sale-date column that
    restricts them to a range; `from_finer`: summed from `BUILT_FROM`'s rollup if it has one
    (no second pass over the lines)."""
    keys = _key_names(rollup)
    finer = BUILT_FROM.get(rollup) if from_finer else None
    if finer is not None:
        table = finer.table
        grouping: list[ColumnElement[Any]] = [
            sql_month_start(table.c.sale_date).label("month") if name == "month"
            else table.c[name] for name in keys]
        return ([*keys, *STORED_MEASURES],
                select(*grouping, *[func.sum(table.c[name]) for name in STORED_MEASURES])
                .group_by(*grouping), table.c.sale_date)
    day = ORDER_LINES.c.sale_date
    grouping = [sql_month_start(day).label("month") if name == "month" else ORDER_LINES.c[name]
                for name in keys]
    measures = line_measures()
    if rollup is CUSTOMERS:
        grouping.append(ORDER_LINES.c.customer_id)
        return ([*keys, "customer_id", *CUSTOMER_MEASURES],
                select(*grouping, *[measures[name] for name in CUSTOMER_MEASURES])
                .where(merchandise_condition(), ORDER_LINES.c.customer_id.is_not(None))
                .group_by(*grouping), day)
    return ([*keys, *STORED_MEASURES],
            select(*grouping, *[measures[name] for name in STORED_MEASURES])
            .where(merchandise_condition()).group_by(*grouping), day)


def non_merchandise_ids(session: Session) -> frozenset[int]:
    """Ids of the products whose lines the rollups leave out (compare before and after a
    catalogue change: a change means a full `refresh`)."""
    return frozenset(session.scalars(select(Product.id).where(Product.is_merchandise.is_(False))))


def _key_names(rollup: Rollup) -> list[str]:
    return (["month"] if rollup.monthly else []) + sorted(rollup.keeps)
