"""What is loaded, and how complete it is: the Data page's quality summary.

Every figure is an aggregate the database computes (counts, first and last days), within the
user's platform limit. Definitions (docs/imports.md, "Data quality"):

- *coverage*: per kind of data and platform, its rows and first and last day;
- *left out of the metrics*: lines of non-merchandise products, stock adjustments and
  merchandise given away at a price of 0 — loaded, but no sale (`services.metrics`);
- *gaps*: merchandise lines without a customer (guests), without a cost (no margin) or whose
  product has no category; products sold without a cost; customers without a country;
- *imports*: the last loaded import of each kind, and the rows imports refused.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, select
from sqlalchemy.orm import Session

from models import Customer, FunnelDay, MediaPost, OrderLine, Platform, Product, Tracking
from models.sales import LINE_STOCK_ADJUSTMENT
from services.cache import cached
from services.imports.jobs import import_history
from services.imports.report import SUCCEEDED
from services.query import as_date, merchandise_condition, scope_condition
from services.scope import Scope

# (label, table, date column) of every dated kind of data that belongs to a platform.
COVERAGE_SOURCES: tuple[tuple[str, Any, Any], ...] = (
    ("Sales (order lines)", OrderLine, OrderLine.sale_date),
    ("Media posts", MediaPost, MediaPost.post_date),
    ("Campaign tracking", Tracking, Tracking.date),
    ("Funnel counts", FunnelDay, FunnelDay.date),
)
LEFT_OUT_LABELS = {
    "not_merchandise": "lines of products that are not merchandise (postage, fees, …)",
    "stock_adjustments": "stock adjustments (written off, not returns)",
    "free_lines": "merchandise given away at a price of 0 (not sold)",
}
GAP_LABELS = {
    "guest_lines": "merchandise lines without a customer (guest orders)",
    "uncosted_lines": "merchandise lines without a unit cost (no margin for them)",
    "uncategorised_lines": "merchandise lines whose product has no category",
    "uncosted_products": "products sold without a unit cost in the catalogue",
    "customers_without_country": "customers without a country",
}
IMPORTS_SCANNED = 500  # newest jobs looked through for the last import of each kind


@dataclass(frozen=True)
class DataQuality:
    """The summary: coverage rows, counts by reason and the last import of each kind."""

    coverage: list[dict[str, Any]] = field(default_factory=list)
    lines: int = 0
    left_out: dict[str, int] = field(default_factory=dict)
    gaps: dict[str, int] = field(default_factory=dict)
    last_imports: list[dict[str, Any]] = field(default_factory=list)
    rows_refused: int = 0

    @property
    def kinds(self) -> list[dict[str, Any]]:
        """Coverage per kind over its platforms: rows, platforms, first and last day."""
        out: dict[str, dict[str, Any]] = {}
        for row in self.coverage:
            kind = out.setdefault(row["kind"], {"kind": row["kind"], "rows": 0, "platforms": 0,
                                                "first": row["first"], "last": row["last"]})
            kind["rows"] += row["rows"]
            kind["platforms"] += 1
            kind["first"], kind["last"] = (min(kind["first"], row["first"]),
                                           max(kind["last"], row["last"]))
        return list(out.values())

    @property
    def is_empty(self) -> bool:
        """No data of any kind is loaded (in the user's platforms)."""
        return not self.coverage


@cached
def data_quality(session: Session, scope: Scope) -> DataQuality:
    """The quality summary of the data the user's scope sees."""
    history = [row for row in import_history(session, scope, IMPORTS_SCANNED)
               if row["status"] == SUCCEEDED]
    lines, left_out, gaps = _line_counts(session, scope)
    return DataQuality(coverage=coverage(session, scope), lines=lines, left_out=left_out,
                       gaps={**gaps, **_catalogue_gaps(session, scope)},
                       last_imports=_last_per_kind(history),
                       rows_refused=sum(int(row["rows_rejected"] or 0) for row in history))


def coverage(session: Session, scope: Scope) -> list[dict[str, Any]]:
    """Per kind and platform: rows, first and last day (kinds with no rows left out)."""
    out: list[dict[str, Any]] = []
    for label, model, day in COVERAGE_SOURCES:
        stmt = (select(Platform.name, func.count().label("rows"), func.min(day), func.max(day))
                .select_from(model).join(Platform, Platform.id == model.platform_id)
                .where(scope_condition(scope, model.platform_id))
                .group_by(Platform.name).order_by(Platform.name))
        out += [{"kind": label, "platform": name, "rows": int(rows),
                 "first": as_date(first), "last": as_date(last)}
                for name, rows, first, last in session.execute(stmt)]
    return out


def _count(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.count(case((condition, 1)))


def _line_counts(session: Session, scope: Scope) -> tuple[int, dict[str, int], dict[str, int]]:
    """Lines in scope; those left out of the metrics by reason; gaps of the merchandise."""
    merchandise = merchandise_condition()
    uncategorised = OrderLine.product_id.in_(
        select(Product.id).where(Product.category.is_(None)).correlate(None))
    row = session.execute(select(
        func.count().label("lines"),
        _count(~merchandise).label("not_merchandise"),
        _count(and_(merchandise, OrderLine.line_kind == LINE_STOCK_ADJUSTMENT))
        .label("stock_adjustments"),
        _count(and_(merchandise, OrderLine.quantity > 0, OrderLine.unit_price == 0))
        .label("free_lines"),
        _count(and_(merchandise, OrderLine.customer_id.is_(None))).label("guest_lines"),
        _count(and_(merchandise, OrderLine.unit_cost.is_(None))).label("uncosted_lines"),
        _count(and_(merchandise, uncategorised)).label("uncategorised_lines"),
    ).where(scope_condition(scope, OrderLine.platform_id))).one()._mapping
    return (int(row["lines"]), {key: int(row[key]) for key in LEFT_OUT_LABELS},
            {key: int(row[key]) for key in ("guest_lines", "uncosted_lines",
                                            "uncategorised_lines")})


def _catalogue_gaps(session: Session, scope: Scope) -> dict[str, int]:
    """Products sold (in scope) without a cost; customers (who bought in scope) without a
    country — a limited user learns nothing of other platforms' customers."""
    in_scope = scope_condition(scope, OrderLine.platform_id)
    sold = select(OrderLine.product_id).where(in_scope)
    buyers = select(OrderLine.customer_id).where(in_scope, OrderLine.customer_id.is_not(None))
    products = session.scalar(select(func.count()).select_from(Product).where(
        Product.is_merchandise.is_(True), Product.unit_cost.is_(None), Product.id.in_(sold)))
    customers = select(func.count()).select_from(Customer).where(
        Customer.country.is_(None) | (Customer.country == ""))
    if scope.is_limited:
        customers = customers.where(Customer.id.in_(buyers))
    return {"uncosted_products": int(products or 0),
            "customers_without_country": int(session.scalar(customers) or 0)}


def _last_per_kind(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The newest loaded import of each kind (the history is newest first)."""
    seen: dict[str, dict[str, Any]] = {}
    for row in history:
        seen.setdefault(row["kind"], {key: row[key] for key in (
            "id", "kind", "filename", "finished_at", "user", "rows_loaded")})
    return sorted(seen.values(), key=lambda row: row["finished_at"] or dt.datetime.min,
                  reverse=True)
