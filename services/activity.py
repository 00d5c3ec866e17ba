"""Latest activity for a live view: the most recent orders and imports the user may see, and
how fresh the data is ("data up to 9 Dec 2011, last import 14:05")."""
from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
from sqlalchemy import ColumnElement, func, select, true
from sqlalchemy.orm import Session

from models import Order, OrderLine, Platform
from services.cache import cached
from services.filters import Filters, Period
from services.imports.jobs import import_history
from services.imports.report import SUCCEEDED
from services.metrics import line_measures, money
from services.query import merchandise_condition, scope_condition
from services.scope import Scope
from services.spans import SALES, span_bounds

LATEST_ORDERS = 8
LATEST_IMPORTS = 5
HISTORY_LOOKUP = 25  # import jobs looked through for the latest loaded ones
ORDER_COLUMNS = ["order_number", "ordered_at", "sale_date", "platform", "slug", "lines",
                 "units", "net_revenue"]
IMPORT_COLUMNS = ["finished_at", "filename", "kind", "platform", "status", "status_label",
                  "rows_loaded", "rows_rejected"]


def _platform_condition(filters: Filters) -> ColumnElement[bool]:
    if not filters.platforms:
        return true()
    return Order.platform_id.in_(select(Platform.id).where(Platform.slug.in_(filters.platforms)))


@cached
def latest_activity(session: Session, scope: Scope, filters: Filters, period: Period,
                    orders: int = LATEST_ORDERS,
                    imports: int = LATEST_IMPORTS) -> dict[str, pd.DataFrame]:
    """The latest orders of the range (newest first, up to its last day) on the platforms
    the user may see and chose, each with its merchandise lines summed in SQL, and the
    latest loaded imports the user may see (`loaded_imports`)."""
    # The newest orders first, off the orders' date index: only these orders' lines are read.
    newest = (select(Order.id)
              .where(Order.sale_date.between(period.start, period.end),
                     scope_condition(scope, Order.platform_id), _platform_condition(filters))
              .order_by(Order.sale_date.desc(), Order.ordered_at.desc(), Order.id.desc())
              .limit(orders))
    measures = line_measures()
    stmt = (select(Order.order_number, Order.ordered_at, Order.sale_date,
                   Platform.name.label("platform"), Platform.slug.label("slug"),
                   func.count(OrderLine.id).label("lines"), measures["units"],
                   measures["net_revenue"])
            .join(OrderLine, OrderLine.order_id == Order.id)
            .join(Platform, Platform.id == Order.platform_id)
            .where(Order.id.in_(newest.scalar_subquery()), merchandise_condition())
            .group_by(Order.id, Order.order_number, Order.ordered_at, Order.sale_date,
                      Platform.name, Platform.slug)
            .order_by(Order.sale_date.desc(), Order.ordered_at.desc(), Order.id.desc()))
    rows = [{**row._asdict(), "net_revenue": money(row.net_revenue), "units": int(row.units)}
            for row in session.execute(stmt)]
    return {"latest_orders": pd.DataFrame(rows, columns=ORDER_COLUMNS),
            "latest_imports": pd.DataFrame(loaded_imports(session, scope)[:imports],
                                           columns=IMPORT_COLUMNS)}


def loaded_imports(session: Session, scope: Scope) -> list[dict[str, Any]]:
    """The latest imports that loaded data and that the scope may see (`import_history`'s
    rule), newest first. Only these: a load changes the data version, so a cached answer
    is never stale (a rejected or checked file changes nothing, and is on the Data page)."""
    return [{name: job[name] for name in IMPORT_COLUMNS}
            for job in import_history(session, scope, HISTORY_LOOKUP)
            if job["status"] == SUCCEEDED and job["finished_at"]]


@cached
def data_status(session: Session, scope: Scope,
                span: str = SALES) -> dict[str, dt.date | dt.datetime | None]:
    """How fresh the user's data is: the last day of the span's data they may see (a sale,
    or on the Funnel and Pipeline pages their own data: `services.spans`) and when the last
    successful import they may see finished (None for none)."""
    _first, last = span_bounds(session, scope, span)
    loaded = loaded_imports(session, scope)
    return {"last_day": last, "last_import": loaded[0]["finished_at"] if loaded else None}
