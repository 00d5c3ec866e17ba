"""The Products page: best sellers, most profitable, low performers, revenue share, price vs
margin, the product table, and one product's drill-down. The API returns what these compute.

One query (`product_performance`) gives every product's metrics in range; the rankings are
pure functions of that small frame, so a page refresh reads the sales once.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from models import Customer, MediaPost, OrderLine, Platform, Product
from models.catalog import ProductName
from services.cache import cached
from services.errors import NotFound
from services.filters import Filters, Period
from services.metrics import money
from services.overview import UNCATEGORISED
from services.query import as_date, frame_of, line_conditions, product_filter, scope_condition
from services.rollups import Lines
from services.sales import grouped_metrics, totals
from services.scope import Scope

LOW_PERFORMER_DAYS = 30
TOP = 10
OTHER = "Other products"
CATALOGUE_COLUMNS = ("sku", "name", "category", "brand", "list_price", "unit_cost", "active")
SORTS = {
    "net_revenue": ("net_revenue", False), "units": ("units", False),
    "gross_profit": ("gross_profit", False), "margin": ("margin", False),
    "orders": ("orders", False), "returns": ("returns", False), "name": ("name", True),
}


def catalogue(session: Session, filters: Filters) -> pd.DataFrame:
    """Merchandise chosen by the product/category filter (all of it when there is none).

    Postage, fees and adjustments are not products anyone sells: they are left out here as
    they are left out of every metric.
    """
    stmt = select(Product.id.label("product_id"), Product.sku, Product.name,
                  func.coalesce(Product.category, UNCATEGORISED).label("category"),
                  Product.brand, Product.list_price, Product.unit_cost, Product.active
                  ).where(Product.is_merchandise.is_(True))
    condition = product_filter(filters)
    if condition is not None:
        stmt = stmt.where(condition)
    rows = session.execute(stmt.order_by(Product.sku)).all()
    return frame_of(rows, ["product_id", *CATALOGUE_COLUMNS])


def _zero_filled(frame: pd.DataFrame) -> pd.DataFrame:
    summed = ["net_revenue", "gross_sales", "returns", "orders", "units"]
    frame[summed] = frame[summed].fillna(0)
    frame[["orders", "units"]] = frame[["orders", "units"]].astype(int)
    return frame


@cached
def product_performance(session: Session, scope: Scope, filters: Filters,
                        period: Period) -> pd.DataFrame:
    """Every product of the filter with every metric in range (zeros when it did not sell).

    Also `avg_price` (gross sales / units) and `share` of the view's net revenue.
    """
    sold = grouped_metrics(session, Lines(filters, scope, period.start, period.end),
                           [OrderLine.product_id.label("product_id")], counts=("orders",))
    frame = _zero_filled(catalogue(session, filters).merge(sold, on="product_id", how="left"))
    # With no sale in the view the filled columns hold Python ints: 0 / 0 would raise, so
    # divide by NaN where nothing sold instead.
    sold_units = frame["units"].where(frame["units"] > 0).astype(float)
    frame["avg_price"] = frame["gross_sales"].astype(float) / sold_units
    total = money(frame["net_revenue"].sum())
    frame["share"] = frame["net_revenue"] / total if total else np.nan
    return frame.drop(columns="product_id")


def best_sellers(products: pd.DataFrame, limit: int = TOP) -> pd.DataFrame:
    """The products with the most units sold (ties by revenue, then SKU)."""
    sold = products.loc[products["units"] > 0]
    return sold.sort_values(["units", "net_revenue", "sku"], ascending=[False, False, True]) \
        .head(limit).reset_index(drop=True)


def most_profitable(products: pd.DataFrame, limit: int = TOP) -> pd.DataFrame:
    """The products with the highest gross profit; products of unknown cost are left out."""
    costed = products.loc[products["gross_profit"].notna()]
    return costed.sort_values(["gross_profit", "sku"], ascending=[False, True]) \
        .head(limit).reset_index(drop=True)


def profit_coverage(products: pd.DataFrame) -> dict[str, Any]:
    """How much of net revenue the profit figures cover, and which sold products lack a cost."""
    net = money(products["net_revenue"].sum())
    costed = money((products["net_revenue"] * products["cost_coverage"].fillna(0)).sum())
    unknown = products.loc[(products["units"] > 0) & products["gross_profit"].isna(), "sku"]
    return {"coverage": costed / net if net else None, "unknown_cost_products": len(unknown),
            "unknown_cost_skus": unknown.tolist()}


def revenue_share_by_product(products: pd.DataFrame, limit: int = TOP) -> pd.DataFrame:
    """Net revenue share of the top products, the rest summed as 'Other products'."""
    ranked = products.loc[products["net_revenue"] != 0].sort_values(
        ["net_revenue", "sku"], ascending=[False, True])
    top = ranked.head(limit)[["sku", "name", "category", "net_revenue", "share"]]
    rest = ranked.iloc[limit:]
    if len(rest):
        other = {"sku": None, "name": f"{OTHER} ({len(rest)})", "category": None,
                 "net_revenue": money(rest["net_revenue"].sum()),
                 "share": float(rest["share"].sum())}
        top = pd.concat([top, pd.DataFrame([other])], ignore_index=True)
    return top.reset_index(drop=True)


def price_vs_margin(products: pd.DataFrame) -> pd.DataFrame:
    """Average selling price and margin of every sold product whose cost is known."""
    chosen = products.loc[(products["units"] > 0) & products["margin"].notna()]
    return chosen[["sku", "name", "category", "avg_price", "margin", "net_revenue", "units",
                   "gross_profit"]].reset_index(drop=True)


def product_table(products: pd.DataFrame, search: str = "",
                  sort: str = "net_revenue") -> pd.DataFrame:
    """The product table: rows matching `search` (SKU, name, category or brand), sorted."""
    needle = search.strip().casefold()
    rows = products
    if needle:
        text = (products["sku"] + " " + products["name"] + " " + products["category"] + " "
                + products["brand"].fillna("")).str.casefold()
        rows = products.loc[text.str.contains(needle, regex=False)]
    column, ascending = SORTS.get(sort, SORTS["net_revenue"])
    return rows.sort_values([column, "sku"], ascending=[ascending, True],
                            na_position="last").reset_index(drop=True)


def low_performer_window(period: Period) -> tuple[dt.date, dt.date]:
    """The last 30 days of the range (the whole range when it is shorter)."""
    return max(period.start, period.end - dt.timedelta(days=LOW_PERFORMER_DAYS - 1)), period.end


@cached
def low_performers(session: Session, scope: Scope, filters: Filters, period: Period,
                   limit: int = TOP) -> pd.DataFrame:
    """The lowest net revenue in the last 30 days of the range, products with no sales included.

    Candidates are the active products of the product/category filter and any product that
    sold in the window; `last_sale` is the last day it sold up to the range end (in the scope
    and platform filter), None when it never did.
    """
    start, end = low_performer_window(period)
    sold = grouped_metrics(session, Lines(filters, scope, start, end),
                           [OrderLine.product_id.label("product_id")], counts=("orders",))
    frame = _zero_filled(catalogue(session, filters).merge(sold, on="product_id", how="left"))
    frame = frame.loc[frame["active"].astype(bool) | frame["product_id"].isin(sold["product_id"])]
    frame = frame.sort_values(["net_revenue", "units", "sku"]).head(limit)
    frame["window_start"], frame["window_end"] = start, end
    frame["last_sale"] = frame["product_id"].map(
        _last_sales(session, scope, filters, end, frame["product_id"].tolist()))
    return frame.drop(columns="product_id").reset_index(drop=True)


def _last_sales(session: Session, scope: Scope, filters: Filters, end: dt.date,
                product_ids: list[int]) -> dict[int, dt.date]:
    if not product_ids:
        return {}
    conditions = line_conditions(replace(filters, products=(), categories=()), scope,
                                 dt.date.min, end)
    stmt = (select(OrderLine.product_id, func.max(OrderLine.sale_date))
            .where(*conditions, OrderLine.quantity > 0, OrderLine.product_id.in_(product_ids))
            .group_by(OrderLine.product_id))
    return {product: as_date(day) for product, day in session.execute(stmt)}



# --- one product ------------------------------------------------------------------------------

def drill_filters(filters: Filters, sku: str) -> Filters:
    """The filters of a product drill-down: that product only, whatever the product filters."""
    return replace(filters, products=(sku,), categories=())


@cached
def product_info(session: Session, scope: Scope, sku: str) -> dict[str, Any]:
    """A product's catalogue entry; NotFound when there is no such SKU."""
    product = session.scalar(select(Product).where(Product.sku == sku))
    if product is None:
        raise NotFound(f"There is no product with SKU “{sku}”.")
    return {"sku": product.sku, "name": product.name,
            "category": product.category or UNCATEGORISED, "brand": product.brand,
            "list_price": product.list_price, "unit_cost": product.unit_cost,
            "active": product.active, "also_sold_as": other_names(session, product)}


def other_names(session: Session, product: Product) -> list[dict[str, Any]]:
    """The names a product was also sold under (not its own), most recently seen first."""
    stmt = (select(ProductName.name, ProductName.first_seen, ProductName.last_seen)
            .where(ProductName.product_id == product.id, ProductName.name != product.name)
            .order_by(ProductName.last_seen.desc(), ProductName.name))
    return [{"name": name, "first_seen": as_date(first), "last_seen": as_date(last)}
            for name, first, last in session.execute(stmt)]


@cached
def product_summary(session: Session, scope: Scope, filters: Filters, period: Period,
                    sku: str) -> dict[str, Any]:
    """A drill-down's header: the product's catalogue entry and its numbers in the range
    (`filters` are the drill-down's: see `drill_filters`); NotFound for an unknown SKU."""
    return {"product": product_info(session, scope, sku),
            "kpis": totals(session, scope, filters, period.start, period.end)}


@cached
def top_customers(session: Session, scope: Scope, filters: Filters, period: Period,
                  limit: int = TOP) -> pd.DataFrame:
    """The known customers with the highest net revenue in range (guest orders have none)."""
    dims: list[ColumnElement[Any]] = [
        Customer.external_id.label("customer"), Customer.name.label("name"),
        Customer.segment.label("segment"), Customer.country.label("country")]
    return grouped_metrics(session, Lines(filters, scope, period.start, period.end), dims,
                           [(Customer, Customer.id == OrderLine.customer_id)],
                           order_by_revenue=True, limit=limit)


@cached
def posts_featuring(session: Session, scope: Scope, filters: Filters,
                    period: Period) -> pd.DataFrame:
    """Media posts in range that promoted a product of the product filter, on the filtered
    platforms (a drill-down's filter is its one product), newest first."""
    stmt = (select(Product.sku, MediaPost.post_date, MediaPost.post_type,
                   Platform.name.label("platform"), MediaPost.caption, MediaPost.impressions,
                   MediaPost.reach, MediaPost.likes, MediaPost.comments, MediaPost.shares,
                   MediaPost.saves, MediaPost.cost)
            .join(Platform, Platform.id == MediaPost.platform_id)
            .join(Product, Product.id == MediaPost.product_id)
            .where(MediaPost.post_date.between(period.start, period.end),
                   scope_condition(scope, MediaPost.platform_id))
            .order_by(MediaPost.posted_at.desc(), MediaPost.id))
    condition = product_filter(filters)
    if condition is not None:
        stmt = stmt.where(condition)
    if filters.platforms:
        stmt = stmt.where(Platform.slug.in_(filters.platforms))
    columns = ["sku", "post_date", "post_type", "platform", "caption", "impressions", "reach",
               "likes", "comments", "shares", "saves", "cost"]
    frame = frame_of(session.execute(stmt).all(), columns)
    frame["post_date"] = frame["post_date"].map(as_date)
    return frame
