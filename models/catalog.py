"""Dimensions: platforms (channels), products and customers."""
from __future__ import annotations

import datetime as dt
from typing import Optional

from sqlalchemy import Boolean, Date, ForeignKey, Integer, String, UniqueConstraint, true
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, Money

PLATFORM_KINDS = ("social", "marketplace", "web", "offline")


class Platform(Base):
    """A sales or marketing channel such as Instagram, Amazon or the Online Store."""

    __tablename__ = "platforms"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    kind: Mapped[str] = mapped_column(String(20))


class Product(Base):
    """A sellable item (or a fee/adjustment code); the unit cost may be unknown (never invented)."""

    __tablename__ = "products"

    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    category: Mapped[Optional[str]] = mapped_column(String(80), index=True)
    subcategory: Mapped[Optional[str]] = mapped_column(String(80))
    brand: Mapped[Optional[str]] = mapped_column(String(80))
    unit_cost: Mapped[Optional[float]] = mapped_column(Money())
    list_price: Mapped[Optional[float]] = mapped_column(Money())
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # False for postage, fees, manual entries and adjustments: their lines stay in the data
    # but not in merchandise metrics (the rule lives in services/query.py).
    is_merchandise: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())


class ProductName(Base):
    """A name a SKU was sold under in imported files, with the first and last day it was seen.

    The product keeps the latest name; the others are listed in its drill-down ("also sold
    as …"), so a renamed product is still found under its old description.
    """

    __tablename__ = "product_names"
    __table_args__ = (UniqueConstraint("product_id", "name", name="uq_product_names_product"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    first_seen: Mapped[dt.date] = mapped_column(Date)
    last_seen: Mapped[dt.date] = mapped_column(Date)


class Customer(Base):
    """A buyer known by an external id; guests have no customer row."""

    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[Optional[str]] = mapped_column(String(255))
    segment: Mapped[Optional[str]] = mapped_column(String(40), index=True)
    country: Mapped[Optional[str]] = mapped_column(String(80))
    region: Mapped[Optional[str]] = mapped_column(String(80))
    first_seen: Mapped[Optional[dt.date]] = mapped_column(Date)
    acquisition_platform_id: Mapped[Optional[int]] = mapped_column(
        Integer, ForeignKey("platforms.id")
    )
