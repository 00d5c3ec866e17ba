"""The full dataset as the Data page exports it: every order line in the filters and the
user's scope, with its order, product and platform in words, read in chunks."""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import pandas as pd
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from models import Customer, Order, OrderLine, Platform, Product
from services.filters import Filters, Period
from services.query import line_conditions
from services.scope import Scope

CHUNK_ROWS = 50_000
XLSX_MAX_ROWS = 100_000  # beyond this an XLSX takes minutes to build: CSV streams instead
COLUMNS = ("order_number", "ordered_at_utc", "sale_date", "sale_hour", "platform", "sku",
           "product", "category", "merchandise", "quantity", "unit_price", "unit_cost",
           "line_value", "customer", "country")


def _statement(filters: Filters, scope: Scope, period: Period) -> Select:
    conditions = line_conditions(filters, scope, period.start, period.end,
                                 merchandise_only=False)
    return (select(Order.order_number, Order.ordered_at, OrderLine.sale_date,
                   OrderLine.sale_hour, Platform.name, Product.sku, Product.name,
                   Product.category, Product.is_merchandise, OrderLine.quantity,
                   OrderLine.unit_price, OrderLine.unit_cost,
                   (OrderLine.quantity * OrderLine.unit_price), Customer.external_id,
                   Order.country)
            .select_from(OrderLine)
            .join(Order, Order.id == OrderLine.order_id)
            .join(Platform, Platform.id == OrderLine.platform_id)
            .join(Product, Product.id == OrderLine.product_id)
            .outerjoin(Customer, Customer.id == OrderLine.customer_id)
            .where(*conditions)
            .order_by(OrderLine.sale_date, Order.order_number, OrderLine.id))


def count_order_lines(session: Session, scope: Scope, filters: Filters, period: Period) -> int:
    """How many lines the full export of this view holds."""
    conditions = line_conditions(filters, scope, period.start, period.end,
                                 merchandise_only=False)
    return int(session.scalar(select(func.count()).select_from(OrderLine).where(*conditions))
               or 0)


def order_line_chunks(session: Session, scope: Scope, filters: Filters, period: Period,
                      chunk_rows: int = CHUNK_ROWS) -> Iterator[pd.DataFrame]:
    """Every line of the view, `chunk_rows` at a time (at least one, possibly empty, frame)."""
    result = session.execute(_statement(filters, scope, period),
                             execution_options={"yield_per": chunk_rows})
    empty = True
    for rows in result.partitions():
        empty = False
        yield _frame(rows)
    if empty:
        yield _frame([])


def _frame(rows: Sequence[Any]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(COLUMNS))
    frame["merchandise"] = frame["merchandise"].map(lambda flag: "yes" if flag else "no")
    frame["line_value"] = frame["line_value"].astype(float).round(4)
    return frame
