"""Metric definitions (SPEC section 3), written once and used by every page, export and API.

- net revenue = Σ quantity × unit price over all lines (returns subtract)
- gross sales = Σ over lines with quantity > 0; returns = −Σ over lines with quantity < 0
- orders = distinct orders with gross sales > 0: at least one line sold (quantity > 0) at a
  price > 0 (an order of zero-price lines only is a stock movement, not a sale);
  units = Σ quantity of those sold lines (free units are not "units sold")
- AOV = gross sales / orders; customers = distinct known customers with such an order in range
- a cancellation is a line on a cancellation invoice (UCI files: `LINE_CANCELLATION`), or a
  negative line on an order that also has sales (the order was reversed); a stock adjustment
  (UCI write-offs, `LINE_STOCK_ADJUSTMENT`) is neither a sale nor a return: it is left out of
  returns, returned units and return orders (and so of every return rate)
- cost and profit only over lines whose unit cost is known; `cost_coverage` is the share of
  net revenue those lines carry. With no known cost at all, profit and margin are None.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import (
    ColumnElement,
    Float,
    FromClause,
    and_,
    case,
    distinct,
    exists,
    func,
    or_,
    type_coerce,
)
from sqlalchemy.orm import aliased

from models import OrderLine
from models.sales import LINE_CANCELLATION, LINE_STOCK_ADJUSTMENT


@dataclass(frozen=True)
class Metric:
    """A metric as every page, export and API shows it.

    `unit` is money, count or ratio (a ratio's change is shown in percentage points);
    `needs` are the stored sums it derives from (in `derive`); `additive` says whether those
    sums add up over any grouping of lines, so a rollup can answer it (distinct customers
    do not: they come from the customer sets, or from the lines).
    """

    key: str
    label: str
    unit: str
    needs: tuple[str, ...]
    additive: bool = True
    lower_is_better: bool = False  # more returns is bad news

    @property
    def in_points(self) -> bool:
        """Whether a change of this metric is a difference in points, not a relative change."""
        return self.unit == "ratio"


_COST = ("costed_revenue", "cost", "costed_lines")
METRICS: dict[str, Metric] = {metric.key: metric for metric in (
    Metric("net_revenue", "Net revenue", "money", ("net_revenue",)),
    Metric("gross_sales", "Gross sales", "money", ("gross_sales",)),
    Metric("returns", "Returns", "money", ("returns",), lower_is_better=True),
    Metric("orders", "Orders", "count", ("orders",)),
    Metric("units", "Units", "count", ("units",)),
    Metric("aov", "Average order value", "money", ("gross_sales", "orders")),
    Metric("customers", "Customers", "count", ("customers",), additive=False),
    Metric("gross_profit", "Gross profit", "money", _COST),
    Metric("margin", "Margin", "ratio", _COST),
)}
KPI_KEYS = tuple(METRICS)
METRIC_LABELS = {key: metric.label for key, metric in METRICS.items()}
# Metrics whose change is shown in percentage points rather than as a relative change.
POINT_METRICS = frozenset(key for key, metric in METRICS.items() if metric.in_points)
CURRENCY_METRICS = frozenset(key for key, metric in METRICS.items() if metric.unit == "money")

_line_value = OrderLine.quantity * OrderLine.unit_price
_is_positive = OrderLine.quantity > 0
_is_sale = and_(_is_positive, OrderLine.unit_price > 0)
_is_return = and_(OrderLine.quantity < 0, OrderLine.line_kind != LINE_STOCK_ADJUSTMENT)
_has_cost = OrderLine.unit_cost.is_not(None)

# The aggregates every rollup stores: sums over lines, and counts of distinct orders that
# add up over any grouping in which every order lies wholly in one group.
STORED_MEASURES = ("net_revenue", "gross_sales", "returns", "cancelled", "costed_revenue",
                   "cost", "units", "returned_units", "costed_lines", "orders", "return_orders")
ORDER_COUNTS = frozenset({"orders", "return_orders"})
MONEY_MEASURES = frozenset({"net_revenue", "gross_sales", "returns", "cancelled",
                            "costed_revenue", "cost"})
# What `derive` needs for every registered metric (and the cost coverage).
KPI_MEASURES = tuple(dict.fromkeys(["net_revenue", *(name for metric in METRICS.values()
                                                     for name in metric.needs)]))


def is_sale() -> ColumnElement[bool]:
    """A line that sells (quantity > 0 at a price > 0): the lines orders, units and customers
    count."""
    return _is_sale


def _total(expression: ColumnElement[Any]) -> ColumnElement[float]:
    return type_coerce(func.coalesce(func.sum(expression), 0), Float)


def line_measures() -> dict[str, ColumnElement[Any]]:
    """Every aggregate over order lines, labelled by name (the rules in the module docstring).

    Whether an ordinary negative line's order has sales is looked up for those lines only,
    through the index on `order_id`: an `IN (orders with sales)` list is hashed only while it
    fits in memory, and at a million lines PostgreSQL scanned it once per line instead (the
    query never finished).
    """
    sales = aliased(OrderLine)
    order_has_sales = exists().where(sales.order_id == OrderLine.order_id, sales.quantity > 0)
    is_cancellation = and_(_is_return, or_(OrderLine.line_kind == LINE_CANCELLATION,
                                           order_has_sales))
    expressions: dict[str, ColumnElement[Any]] = {
        "net_revenue": _total(_line_value),
        "gross_sales": _total(case((_is_positive, _line_value), else_=0)),
        "returns": _total(case((_is_return, -_line_value), else_=0)),
        "cancelled": _total(case((is_cancellation, -_line_value), else_=0)),
        "costed_revenue": _total(case((_has_cost, _line_value), else_=0)),
        "cost": _total(case((_has_cost, OrderLine.quantity * OrderLine.unit_cost), else_=0)),
        "units": func.coalesce(func.sum(case((_is_sale, OrderLine.quantity), else_=0)), 0),
        "returned_units": func.coalesce(
            func.sum(case((_is_return, -OrderLine.quantity), else_=0)), 0),
        "costed_lines": func.count(case((_has_cost, 1))),
        "orders": func.count(distinct(case((_is_sale, OrderLine.order_id)))),
        "return_orders": func.count(distinct(case((_is_return, OrderLine.order_id)))),
        "customers": func.count(distinct(case((_is_sale, OrderLine.customer_id)))),
    }
    return {name: expression.label(name) for name, expression in expressions.items()}


def stored_measures(table: FromClause, names: Iterable[str]) -> list[ColumnElement[Any]]:
    """The same aggregates summed from a rollup's stored columns, labelled by name."""
    return [(_total(table.c[name]) if name in MONEY_MEASURES
             else func.coalesce(func.sum(table.c[name]), 0)).label(name) for name in names]


MONEY_DECIMALS = 4  # the scale of every money column


def ratio(part: Any, whole: Any) -> np.ndarray:
    """part / whole elementwise, NaN where the whole is not positive (a rate or share of
    nothing is unknown, not 0)."""
    part, whole = np.asarray(part, dtype=float), np.asarray(whole, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(whole > 0, part / np.where(whole > 0, whole, 1.0), np.nan)


def money(value: Any) -> float:
    """A money sum rounded to the stored scale.

    SQLite keeps money as binary floats, so a sale and its cancellation can sum to 8.9e-15
    instead of 0; rounding makes "zero" zero again before anything divides by it.
    """
    return round(float(value or 0), MONEY_DECIMALS) + 0.0  # + 0.0 turns -0.0 into 0.0


def money_values(values: Any) -> np.ndarray:
    """`money` of every value at once (NULL as 0): the same rounding, vectorised. (numpy
    rounds x × 10⁴ to the nearest integer, which for a sum of stored amounts is never near a
    half, so each value is the one `money` gives.)"""
    array = np.nan_to_num(np.asarray(values, dtype=float), nan=0.0)
    return np.round(array, MONEY_DECIMALS) + 0.0


def derive(row: Mapping[str, Any]) -> dict[str, float | int | None]:
    """All KPI values from one row of the `KPI_MEASURES` (without a customer count when the
    row has none)."""
    net = money(row["net_revenue"])
    gross = money(row["gross_sales"])
    orders = int(row["orders"] or 0) if "orders" in row else None
    costed_revenue = money(row["costed_revenue"])
    has_cost = int(row["costed_lines"] or 0) > 0
    profit = money(costed_revenue - money(row["cost"])) if has_cost else None
    return {
        "net_revenue": net,
        "gross_sales": gross,
        "returns": money(row["returns"]),
        **({"orders": orders} if orders is not None else {}),
        "units": int(row["units"] or 0),
        "aov": gross / orders if orders else None,  # also None without an order count
        **({"customers": int(row["customers"] or 0)} if "customers" in row else {}),
        "gross_profit": profit,
        "margin": profit / costed_revenue if profit is not None and costed_revenue else None,
        "cost_coverage": costed_revenue / net if has_cost and net else (0.0 if net else None),
    }


def change(metric: str, current: float | None, comparison: float | None) -> float | None:
    """Change vs the comparison: relative (0.12 = +12%), or in points for ratio metrics."""
    if current is None or comparison is None:
        return None
    if metric in POINT_METRICS:
        return current - comparison
    if comparison == 0:
        return None
    return (current - comparison) / abs(comparison)
