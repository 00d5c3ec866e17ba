"""Metric definitions (SPEC section 3), written once and used by every page, export and API.

- net revenue = Σ quantity × unit price over all lines (returns subtract)
- gross sales = Σ over lines with quantity > 0; returns = −Σ over lines with quantity < 0
- orders = distinct orders with at least one line of quantity > 0; units = Σ positive quantity
- AOV = gross sales / orders; customers = distinct known customers with an order in range
- cost and profit only over lines whose unit cost is known; `cost_coverage` is the share of
  net revenue those lines carry. With no known cost at all, profit and margin are None.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import ColumnElement, Float, case, distinct, func, type_coerce

from models import OrderLine

KPI_KEYS = ("net_revenue", "gross_sales", "returns", "orders", "units", "aov", "customers",
            "gross_profit", "margin")
# Metrics whose change is shown in percentage points rather than as a relative change.
POINT_METRICS = frozenset({"margin"})
METRIC_LABELS = {
    "net_revenue": "Net revenue",
    "gross_sales": "Gross sales",
    "returns": "Returns",
    "orders": "Orders",
    "units": "Units",
    "aov": "Average order value",
    "customers": "Customers",
    "gross_profit": "Gross profit",
    "margin": "Margin",
}
CURRENCY_METRICS = frozenset({"net_revenue", "gross_sales", "returns", "aov", "gross_profit"})

_line_value = OrderLine.quantity * OrderLine.unit_price
_is_sale = OrderLine.quantity > 0
_has_cost = OrderLine.unit_cost.is_not(None)


def _total(expression: ColumnElement[Any]) -> ColumnElement[float]:
    return type_coerce(func.coalesce(func.sum(expression), 0), Float)


def net_revenue() -> ColumnElement[float]:
    """Σ quantity × unit price over all lines."""
    return _total(_line_value).label("net_revenue")


def aggregate_columns() -> list[ColumnElement[Any]]:
    """The base aggregates every metric is derived from, labelled, for a SELECT over lines."""
    return [
        net_revenue(),
        _total(case((_is_sale, _line_value), else_=0)).label("gross_sales"),
        _total(case((~_is_sale, -_line_value), else_=0)).label("returns"),
        func.count(distinct(case((_is_sale, OrderLine.order_id)))).label("orders"),
        func.coalesce(func.sum(case((_is_sale, OrderLine.quantity), else_=0)), 0).label("units"),
        func.count(distinct(case((_is_sale, OrderLine.customer_id)))).label("customers"),
        _total(case((_has_cost, _line_value), else_=0)).label("costed_revenue"),
        _total(case((_has_cost, OrderLine.quantity * OrderLine.unit_cost), else_=0)).label("cost"),
        func.count(case((_has_cost, 1))).label("costed_lines"),
    ]


MONEY_DECIMALS = 4  # the scale of every money column


def money(value: Any) -> float:
    """A money sum rounded to the stored scale.

    SQLite keeps money as binary floats, so a sale and its cancellation can sum to 8.9e-15
    instead of 0; rounding makes "zero" zero again before anything divides by it.
    """
    return round(float(value or 0), MONEY_DECIMALS) + 0.0  # + 0.0 turns -0.0 into 0.0


def derive(row: Mapping[str, Any]) -> dict[str, float | int | None]:
    """All KPI values from one row of `aggregate_columns()`."""
    net = money(row["net_revenue"])
    gross = money(row["gross_sales"])
    orders = int(row["orders"] or 0)
    costed_revenue = money(row["costed_revenue"])
    has_cost = int(row["costed_lines"] or 0) > 0
    profit = money(costed_revenue - money(row["cost"])) if has_cost else None
    return {
        "net_revenue": net,
        "gross_sales": gross,
        "returns": money(row["returns"]),
        "orders": orders,
        "units": int(row["units"] or 0),
        "aov": gross / orders if orders else None,
        "customers": int(row["customers"] or 0),
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
