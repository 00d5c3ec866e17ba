"""Pre-aggregated sales (rollups): additive sums of merchandise order lines at a coarser grain.

Each table stores, per group, the aggregates that `services.metrics` defines over order lines
and that stay exact when summed over its groups (see `services.rollups` for which query may
use which table). They are derived data: `services.rollups.refresh` rebuilds them from
`order_lines` in the same transaction as every write to the facts.
"""
from __future__ import annotations

import datetime as dt
from typing import Optional

from sqlalchemy import Date, Index, Integer, LargeBinary, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, Money


class _Measures:
    """The stored aggregates (names as in `services.metrics.STORED_MEASURES`)."""

    net_revenue: Mapped[float] = mapped_column(Money())
    gross_sales: Mapped[float] = mapped_column(Money())
    returns: Mapped[float] = mapped_column(Money())
    cancelled: Mapped[float] = mapped_column(Money())
    costed_revenue: Mapped[float] = mapped_column(Money())
    cost: Mapped[float] = mapped_column(Money())
    units: Mapped[int] = mapped_column(Integer)
    returned_units: Mapped[int] = mapped_column(Integer)
    costed_lines: Mapped[int] = mapped_column(Integer)
    orders: Mapped[int] = mapped_column(Integer)
    return_orders: Mapped[int] = mapped_column(Integer)


class SalesDay(_Measures, Base):
    """Per day, platform and order country: every order lies wholly in one group."""

    __tablename__ = "rollup_sales_day"
    __table_args__ = (Index("ix_rollup_sales_day_date", "sale_date", "platform_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sale_date: Mapped[dt.date] = mapped_column(Date)
    platform_id: Mapped[int] = mapped_column(Integer)
    country: Mapped[Optional[str]] = mapped_column(String(80))


class SalesHour(_Measures, Base):
    """Per day, local hour, platform and order country (for weekday × hour patterns)."""

    __tablename__ = "rollup_sales_hour"
    __table_args__ = (Index("ix_rollup_sales_hour_date", "sale_date", "platform_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sale_date: Mapped[dt.date] = mapped_column(Date)
    sale_hour: Mapped[int] = mapped_column(SmallInteger)
    platform_id: Mapped[int] = mapped_column(Integer)
    country: Mapped[Optional[str]] = mapped_column(String(80))


class ProductMonth(_Measures, Base):
    """Per calendar month, platform and product; `orders` counts the orders with that product,
    so it adds up over months and platforms but not over products."""

    __tablename__ = "rollup_product_month"
    __table_args__ = (Index("ix_rollup_product_month_month", "month", "platform_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[dt.date] = mapped_column(Date)
    platform_id: Mapped[int] = mapped_column(Integer)
    product_id: Mapped[int] = mapped_column(Integer)


class ProductDay(_Measures, Base):
    """Per day, platform and product; `orders` counts the orders with that product, so it adds
    up over days and platforms but not over products (as in `ProductMonth`)."""

    __tablename__ = "rollup_product_day"
    __table_args__ = (
        Index("ix_rollup_product_day_date", "sale_date", "platform_id"),
        # A few products' days (the Marketing page's promoted products around each post and
        # campaign): on PostgreSQL the index holds what those sums read, so it answers them
        # without the table, whose rows lie in date order (half the time at all time).
        Index("ix_rollup_product_day_product", "product_id", "sale_date",
              postgresql_include=["platform_id", "net_revenue", "orders"]))

    id: Mapped[int] = mapped_column(primary_key=True)
    sale_date: Mapped[dt.date] = mapped_column(Date)
    platform_id: Mapped[int] = mapped_column(Integer)
    product_id: Mapped[int] = mapped_column(Integer)


class CustomerDay(Base):
    """Each known customer with merchandise lines, per day, platform and order country, with
    their orders, net revenue and gross sales there: the per-customer sums of any range and
    grouping these columns can express (an order lies wholly in one row, so orders add up).

    A row with `orders` 0 holds only returns (or free lines): that customer did not buy that
    day, so distinct customers are counted over the rows with an order.
    """

    __tablename__ = "rollup_customer_day"
    __table_args__ = (Index("ix_rollup_customer_day_date", "sale_date", "platform_id"),
                      # a customer's earlier days (their first purchase) without a scan,
                      # and every per-customer read from the index alone, in customer order
                      Index("ix_rollup_customer_day_customer", "customer_id", "sale_date",
                            "platform_id", "country", "orders", "net_revenue", "gross_sales"))

    id: Mapped[int] = mapped_column(primary_key=True)
    sale_date: Mapped[dt.date] = mapped_column(Date)
    platform_id: Mapped[int] = mapped_column(Integer)
    country: Mapped[Optional[str]] = mapped_column(String(80))
    customer_id: Mapped[int] = mapped_column(Integer)
    orders: Mapped[int] = mapped_column(Integer)
    net_revenue: Mapped[float] = mapped_column(Money())
    gross_sales: Mapped[float] = mapped_column(Money())


class _CustomerSet:
    """The ids of the known customers who bought (had an order) in a group, as one
    serialized Roaring bitmap: distinct customers over any groups are the size of the union
    of their sets, exact and without reading a row per customer."""

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(Integer)
    country: Mapped[Optional[str]] = mapped_column(String(80))
    members: Mapped[bytes] = mapped_column(LargeBinary)


class CustomerSetDay(_CustomerSet, Base):
    """The buyers per day, platform and order country (as `CustomerDay`'s rows with an
    order)."""

    __tablename__ = "rollup_customer_set_day"
    __table_args__ = (Index("ix_rollup_customer_set_day_date", "sale_date", "platform_id"),)

    sale_date: Mapped[dt.date] = mapped_column(Date)


class CustomerSetMonth(_CustomerSet, Base):
    """The buyers per calendar month, platform and order country: the union of the month's
    day sets, so a long range reads a set per month and only its edge days' sets."""

    __tablename__ = "rollup_customer_set_month"
    __table_args__ = (Index("ix_rollup_customer_set_month_month", "month", "platform_id"),)

    month: Mapped[dt.date] = mapped_column(Date)
