"""Facts: orders and their lines (a line with negative quantity is a return or cancellation)."""
from __future__ import annotations

import datetime as dt
from typing import Optional

from sqlalchemy import (
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, Money

# What a line is (`order_lines.line_kind`), decided by the importer from the file's own rules
# (services/imports/sales.py) and counted by services/metrics.py:
LINE_ORDINARY = 0  # a sale, or a return (the general rules of services.metrics apply)
LINE_CANCELLATION = 1  # on a UCI cancellation invoice (a number starting with C)
LINE_STOCK_ADJUSTMENT = 2  # a UCI stock write-off: no sale and no customer return
LINE_KINDS = (LINE_ORDINARY, LINE_CANCELLATION, LINE_STOCK_ADJUSTMENT)


class Order(Base):
    """An order header; `sale_date`/`sale_hour` are local to the business time zone."""

    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("platform_id", "order_number", name="uq_orders_platform_number"),
        Index("ix_orders_sale_date", "sale_date"),
        # The order countries without reading every order (the country picker's options,
        # `services.sales_analysis.country_options`): one probe per platform and country.
        Index("ix_orders_platform_country", "platform_id", "country"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_number: Mapped[str] = mapped_column(String(64))
    ordered_at: Mapped[dt.datetime] = mapped_column(DateTime)  # UTC, naive
    sale_date: Mapped[dt.date] = mapped_column(Date)
    sale_hour: Mapped[int] = mapped_column(SmallInteger)
    platform_id: Mapped[int] = mapped_column(ForeignKey("platforms.id"))
    customer_id: Mapped[Optional[int]] = mapped_column(ForeignKey("customers.id"))
    country: Mapped[Optional[str]] = mapped_column(String(80))
    region: Mapped[Optional[str]] = mapped_column(String(80))
    state: Mapped[Optional[str]] = mapped_column(String(80))
    city: Mapped[Optional[str]] = mapped_column(String(80))
    ship_mode: Mapped[Optional[str]] = mapped_column(String(40))
    # The import job that wrote the order (import_jobs.id), so that import can be undone;
    # None for demo data and for orders imported before it was recorded (a sale entered by
    # hand is an import: services.imports.manual).
    import_job_id: Mapped[Optional[int]] = mapped_column(Integer, index=True)


class OrderLine(Base):
    """One product on an order.

    Date, hour, platform, customer and country are copied from the order so that every filter and
    aggregate is a single-table scan over indexed columns (no join on the hot path).

    The fact table has no foreign-key constraints: PostgreSQL checks those row by row, which
    took 11 s of a 14 s COPY of the 541,909 UCI lines. Its writers (the importer, the demo
    data) take every id from the parent rows they read or wrote in the same transaction, and
    delete an order's lines with the order.
    """

    __tablename__ = "order_lines"
    __table_args__ = (
        Index("ix_order_lines_sale_date", "sale_date"),
        Index("ix_order_lines_platform_date", "platform_id", "sale_date"),
        Index("ix_order_lines_product_date", "product_id", "sale_date"),
        Index("ix_order_lines_customer", "customer_id"),
        Index("ix_order_lines_order", "order_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(Integer)  # orders.id
    product_id: Mapped[int] = mapped_column(Integer)  # products.id
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[float] = mapped_column(Money())
    unit_cost: Mapped[Optional[float]] = mapped_column(Money())  # snapshot; None = unknown
    sale_date: Mapped[dt.date] = mapped_column(Date)
    sale_hour: Mapped[int] = mapped_column(SmallInteger)
    platform_id: Mapped[int] = mapped_column(Integer)  # platforms.id
    customer_id: Mapped[Optional[int]] = mapped_column(Integer)  # customers.id
    country: Mapped[Optional[str]] = mapped_column(String(80))  # orders.country
    line_kind: Mapped[int] = mapped_column(SmallInteger, default=LINE_ORDINARY,
                                           server_default=str(LINE_ORDINARY))
