"""The Sales page: a metric over time with growth rates, weekday and hour patterns, geography,
platforms and channels, returns and cancellations. The API returns exactly what these compute.

The order country is a filter (`Filters.country`, '' for all) like the others: it narrows
every function it is given to; the page decides which panels it applies to.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, cast

import numpy as np
import pandas as pd
from sqlalchemy import ColumnElement, String, case, func, literal, select
from sqlalchemy.orm import Session

from models import Customer, Order, OrderLine, Platform, Product
from services.cache import cached
from services.filters import Filters, Period
from services.metrics import money
from services.overview import UNCATEGORISED
from services.query import iso_weekday, scope_condition
from services.rollups import Lines, aggregate
from services.sales import (
    ADDITIVE,
    METRIC_COLUMNS,
    additive_metrics,
    grouped_metrics,
    net_revenue_by,
)
from services.scope import Scope
from services.trends import TREND_METRICS, metric_trend  # noqa: F401 - the Sales trend

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
UNKNOWN_COUNTRY = "Unknown"
UNKNOWN_REGION = "Unknown"
UNKNOWN_STATE = "Unknown"
UNKNOWN_CITY = "Unknown"
TOP_RETURNED = 10


# --- weekday and hour -------------------------------------------------------------------------

def weekday_counts(start: dt.date, end: dt.date) -> list[int]:
    """How many Mondays … Sundays the range holds."""
    days = (end - start).days + 1
    full_weeks, rest = divmod(days, 7)
    counts = [full_weeks] * 7
    for offset in range(rest):
        counts[(start.weekday() + offset) % 7] += 1
    return counts


@cached
def by_weekday(session: Session, scope: Scope, filters: Filters, period: Period) -> pd.DataFrame:
    """Every metric per weekday (Monday first) with the days it occurs and per-day averages.

    `per_day_<metric>` divides by the number of such days in the range (a 30-day range has
    some weekdays five times), `share` is the weekday's part of net revenue and `index` its
    average day against the average day of the range.
    """
    day = iso_weekday(OrderLine.sale_date).label("weekday")
    found = grouped_metrics(session, Lines(filters, scope, period.start, period.end), [day],
                            counts=("orders",))
    frame = pd.DataFrame({"weekday": range(7), "day": WEEKDAYS,
                          "days": weekday_counts(period.start, period.end)})
    found["weekday"] = found["weekday"].astype(int)
    frame = frame.merge(found, on="weekday", how="left")
    frame[list(ADDITIVE)] = frame[list(ADDITIVE)].fillna(0)
    frame[["orders", "units"]] = frame[["orders", "units"]].fillna(0).astype(int)
    for metric in ("net_revenue", "orders", "units"):
        # Weekdays the range does not contain have no per-day value (never a division by 0).
        frame[f"per_day_{metric}"] = frame[metric].astype(float) / \
            frame["days"].where(frame["days"] > 0).astype(float)
    total = money(frame["net_revenue"].sum())
    frame["share"] = frame["net_revenue"] / total if total > 0 else np.nan
    # A database without sales resolves to an empty period (no days): no index, no error.
    average_day = total / period.days if period.days > 0 else 0.0
    frame["index"] = (frame["per_day_net_revenue"] / average_day) if average_day > 0 \
        else np.nan
    return frame


def best_day(weekdays: pd.DataFrame) -> dict[str, Any]:
    """The weekday(s) with the highest net revenue per day, in words; ties are all named."""
    per_day = weekdays["per_day_net_revenue"].map(lambda value: money(value) if pd.notna(value)
                                                  else np.nan)
    if weekdays["share"].isna().all() or per_day.isna().all():
        return {"days": [], "share": None, "index": None,
                "text": "No best day: there is no net revenue in this view."}
    best = weekdays.loc[per_day == per_day.max()]
    names = best["day"].tolist()
    share = float(best["share"].sum())
    index = float(best["index"].iloc[0])
    plural = [f"{name}s" for name in names]
    if len(names) == 1:
        text = (f"{plural[0]} bring {share:.0%} of net revenue, "
                f"{index:.1f}× the average day.")
    else:
        listed = ", ".join(plural[:-1]) + " and " + plural[-1]
        text = (f"{listed} tie for the best day at {index:.1f}× the average day; "
                f"together they bring {share:.0%} of net revenue.")
    return {"days": names, "share": share, "index": index, "text": text}


@cached
def by_weekday_hour(session: Session, scope: Scope, filters: Filters,
                    period: Period) -> pd.DataFrame:
    """Revenue, orders, units and AOV per weekday × local hour: all 168 cells, empty as zero."""
    dims = [iso_weekday(OrderLine.sale_date).label("weekday"),
            OrderLine.sale_hour.label("hour")]
    found = additive_metrics(session, Lines(filters, scope, period.start, period.end), dims)
    found[["weekday", "hour"]] = found[["weekday", "hour"]].astype(int)
    cells = pd.MultiIndex.from_product([range(7), range(24)], names=["weekday", "hour"])
    frame = found.set_index(["weekday", "hour"]).reindex(cells).reset_index()
    frame[list(ADDITIVE)] = frame[list(ADDITIVE)].fillna(0)
    frame[["orders", "units"]] = frame[["orders", "units"]].astype(int)
    frame.insert(1, "day", frame["weekday"].map(dict(enumerate(WEEKDAYS))))
    return frame


DATE_ONLY_MIN_ORDERS = 10  # fewer orders all in the first hour of the day may be chance


def has_times_of_day(cells: pd.DataFrame, count: str = "orders") -> bool:
    """False when the data has dates without times: every order (or post: `count`) of the
    weekday × hour cells, at least 10, is in the hour 00:00-00:59, where a date-only file's
    rows are placed (at midnight)."""
    midnight = cells["hour"] == 0
    return not (cells.loc[midnight, count].sum() >= DATE_ONLY_MIN_ORDERS
                and not cells.loc[~midnight, count].any())


# --- geography --------------------------------------------------------------------------------
#
# An order carries its own country, and where the file had them its region, state and city
# (`orders`; the lines copy only the country). Figures by region, state or city join the lines
# to their orders: no rollup keeps those columns, and one would have to be kept per place for
# data that mostly has none (UCI files have only countries). The join reads the lines of the
# range once; `order_places` keeps it away from data without them.

PLACES = ("region", "state", "city")


@cached
def order_places(session: Session, scope: Scope) -> tuple[str, ...]:
    """Which of region, state and city any order in the scope has (the places imported)."""
    stmt = select(*[func.count(getattr(Order, place)) for place in PLACES])
    if scope.platform_ids is not None:
        stmt = stmt.where(Order.platform_id.in_(sorted(scope.platform_ids)))
    counts = session.execute(stmt).one()
    return tuple(place for place, count in zip(PLACES, counts, strict=True) if count)


def _orders_join(needed: bool = True) -> list[tuple[Any, ColumnElement[bool]]]:
    """The join of the lines to their orders, where an order column is needed. (A chosen
    state narrows every figure through the filters: `services.query.line_conditions`.)"""
    return [(Order, Order.id == OrderLine.order_id)] if needed else []


@cached
def country_regions(session: Session, scope: Scope) -> dict[str, str]:
    """The region of each country whose customers all have the same one: what an order
    without a region of its own is counted in. A country with customers in several regions
    is in none of them."""
    stmt = (select(Customer.country, func.min(Customer.region))
            .where(Customer.country.is_not(None), Customer.region.is_not(None))
            .group_by(Customer.country)
            .having(func.count(func.distinct(Customer.region)) == 1))
    # The WHERE leaves out the NULLs that the columns' types allow.
    return dict(cast("list[tuple[str, str]]", session.execute(stmt).all()))


@cached
def country_options(session: Session, scope: Scope) -> list[str]:
    """Countries that have orders, alphabetically (for the country picker)."""
    # A skip scan over ix_orders_platform_country, per visible platform: each step asks
    # for the platform's first country after the last one found, one index probe each,
    # where a DISTINCT read every order (170 ms at 600,000 orders, on every page that
    # shows the picker).
    later = Order.__table__.alias("later")

    def first_after(platform_id: Any, country: Any = None) -> Any:
        after = later.c.country.is_not(None) if country is None else later.c.country > country
        return (select(func.min(later.c.country))
                .where(later.c.platform_id == platform_id, after).scalar_subquery())

    found = (select(Platform.id.label("platform_id"), first_after(Platform.id).label("country"))
             .where(scope_condition(scope, Platform.id)).cte("countries", recursive=True))
    found = found.union_all(
        select(found.c.platform_id, first_after(found.c.platform_id, found.c.country))
        .where(found.c.country.is_not(None)))
    return sorted(session.scalars(select(found.c.country).where(found.c.country.is_not(None))
                                  .distinct()))


def _shares(frame: pd.DataFrame) -> pd.DataFrame:
    total = money(frame["net_revenue"].sum())
    frame["share"] = frame["net_revenue"] / total if total else np.nan
    return frame


@cached
def by_country(session: Session, scope: Scope, filters: Filters, period: Period) -> pd.DataFrame:
    """Every metric per order country (missing as 'Unknown') and its share, largest first.

    `country_key` is the value the page's country choice takes (None for unknown countries).
    No region: a country's orders may lie in several regions (see `by_region`).
    """
    dims = [OrderLine.country.label("country_key")]
    frame = grouped_metrics(session, Lines(filters, scope, period.start, period.end), dims,
                            order_by_revenue=True)
    frame.insert(0, "country", frame["country_key"].fillna(UNKNOWN_COUNTRY))
    return _shares(frame)


COUNTRY_SORTS = ("net_revenue", "orders", "customers", "aov", "country")


def sorted_countries(countries: pd.DataFrame, sort: str) -> pd.DataFrame:
    """The country table in the chosen order: largest first, or by name."""
    column = sort if sort in COUNTRY_SORTS else "net_revenue"
    ascending = column == "country"
    return countries.sort_values([column, "country"], ascending=[ascending, True],
                                 na_position="last").reset_index(drop=True)


@cached
def by_region(session: Session, scope: Scope, filters: Filters, period: Period) -> pd.DataFrame:
    """Every metric per region of the order: its own, else its country's where the country's
    customers all have one (see `country_regions`), else 'Unknown'. Empty when the data has
    no regions."""
    regions = country_regions(session, scope)
    own = "region" in order_places(session, scope)
    if not (own or regions):
        return pd.DataFrame(columns=["region", *METRIC_COLUMNS, "share"])
    by_country_region = (case(regions, value=OrderLine.country) if regions
                         else literal(None, String))
    region = func.coalesce(*([Order.region] if own else []), by_country_region,
                           literal(UNKNOWN_REGION)).label("region")
    frame = grouped_metrics(session, Lines(filters, scope, period.start, period.end),
                            [region], _orders_join(needed=own), order_by_revenue=True,
                            counts=("orders",))
    return _shares(frame)


@cached
def by_state(session: Session, scope: Scope, filters: Filters, period: Period) -> pd.DataFrame:
    """Every metric per state (province) of the order with its country, largest first; empty
    when no order has a state. `state_key` is the page's state choice; orders without a state
    are one row (state 'Unknown', no key, no country)."""
    if "state" not in order_places(session, scope):
        return pd.DataFrame(columns=["state", "country", "state_key", *METRIC_COLUMNS,
                                     "share"])
    # Orders without a state are one 'Unknown' row, whatever their country.
    country = case((Order.state.is_(None), None), else_=OrderLine.country).label("country")
    dims: list[ColumnElement[Any]] = [Order.state.label("state_key"), country]
    # Every state is listed whatever state is chosen (the panel does not apply the state
    # filter, layouts/sales.py): the chart is how one is chosen.
    frame = grouped_metrics(session, Lines(filters, scope, period.start, period.end), dims,
                            _orders_join(), order_by_revenue=True)
    frame.insert(0, "state", frame["state_key"].fillna(UNKNOWN_STATE))
    return _shares(frame)


@cached
def by_city(session: Session, scope: Scope, filters: Filters, period: Period) -> pd.DataFrame:
    """Every metric per city (with its state) of the orders in the filters (those to the
    chosen state, `Filters.state`), largest first; empty when no order has a city. Orders
    without a city are one row (city 'Unknown', no state)."""
    if "city" not in order_places(session, scope):
        return pd.DataFrame(columns=["city", "state", *METRIC_COLUMNS, "share"])
    # Orders without a city are one 'Unknown' row, whatever their state.
    dims = [func.coalesce(Order.city, UNKNOWN_CITY).label("city"),
            case((Order.city.is_(None), None), else_=Order.state).label("state")]
    frame = grouped_metrics(session, Lines(filters, scope, period.start, period.end), dims,
                            _orders_join(), order_by_revenue=True)
    return _shares(frame)


# --- platforms and channels -------------------------------------------------------------------

def _with_comparison(session: Session, scope: Scope, filters: Filters, period: Period,
                     frame: pd.DataFrame, key: ColumnElement[Any],
                     joins: Sequence[tuple[Any, ColumnElement[bool]]]) -> pd.DataFrame:
    frame["compare_net_revenue"] = np.nan
    if period.comparison and len(frame):
        previous = net_revenue_by(session, Lines(filters, scope, *period.comparison), [key],
                                  joins)
        frame["compare_net_revenue"] = frame[key.name].map(
            previous.set_index(key.name)["net_revenue"]).fillna(0.0)
    return _shares(frame)


@cached
def by_platform(session: Session, scope: Scope, filters: Filters, period: Period) -> pd.DataFrame:
    """Every metric per platform with its comparison revenue and share, largest first."""
    dims = [Platform.slug.label("slug"), Platform.name.label("platform"),
            Platform.kind.label("channel")]
    joins = [(Platform, Platform.id == OrderLine.platform_id)]
    frame = grouped_metrics(session, Lines(filters, scope, period.start, period.end), dims, joins,
                            order_by_revenue=True, counts=("orders",))
    return _with_comparison(session, scope, filters, period, frame, dims[0], joins)


@cached
def by_channel(session: Session, scope: Scope, filters: Filters, period: Period) -> pd.DataFrame:
    """Every metric per channel (platform kind: web, marketplace, social, offline)."""
    dims = [Platform.kind.label("channel")]
    joins = [(Platform, Platform.id == OrderLine.platform_id)]
    frame = grouped_metrics(session, Lines(filters, scope, period.start, period.end), dims, joins,
                            order_by_revenue=True, counts=("orders",))
    return _with_comparison(session, scope, filters, period, frame, dims[0], joins)


# --- returns and cancellations ----------------------------------------------------------------

RETURN_MEASURES = ("returns", "gross_sales", "units", "returned_units", "cancelled",
                   "return_orders")


def _returns_row(row: Any) -> dict[str, Any]:
    returns, gross = money(row["returns"]), money(row["gross_sales"])
    units, returned_units = int(row["units"] or 0), int(row["returned_units"] or 0)
    cancelled = money(row["cancelled"])
    result = {
        "returns": returns, "cancelled": cancelled, "returned": money(returns - cancelled),
        "gross_sales": gross, "return_rate": returns / gross if gross else None,
        "returned_units": returned_units, "units": units,
        "unit_return_rate": returned_units / units if units else None,
    }
    if "return_orders" in row:
        result["return_orders"] = int(row["return_orders"] or 0)
    return result


def _returns_by(session: Session, lines: Lines,
                dimensions: Sequence[ColumnElement[Any]] = (),
                joins: Sequence[tuple[Any, ColumnElement[bool]]] = (),
                measures: Sequence[str] = RETURN_MEASURES) -> list[dict[str, Any]]:
    """Returned value and units, gross sales and units sold, and the cancelled part
    (see `services.metrics.line_measures`) per group."""
    names = [column.name for column in dimensions]
    return [{**{name: row[name] for name in names}, **_returns_row(row)}
            for row in aggregate(session, lines, measures, dimensions, joins)]


@cached
def returns_summary(session: Session, scope: Scope, filters: Filters,
                    period: Period) -> dict[str, Any]:
    """Returns and cancellations in range: value, split, rates against gross sales and units."""
    return _returns_by(session, Lines(filters, scope, period.start, period.end))[0]


@cached
def returns_by_category(session: Session, scope: Scope, filters: Filters,
                        period: Period) -> pd.DataFrame:
    """Returns per product category with their rates, highest value return rate first."""
    category = func.coalesce(Product.category, UNCATEGORISED).label("category")
    # Orders with a return do not add up over the products of a category: not counted here.
    rows = _returns_by(session, Lines(filters, scope, period.start, period.end),
                       [category],
                       [(Product, Product.id == OrderLine.product_id)],
                       [m for m in RETURN_MEASURES if m != "return_orders"])
    frame = pd.DataFrame(rows, columns=["category", *_RETURN_FIELDS[:-1]])
    frame["return_rate"] = frame["return_rate"].astype(float)
    return frame.sort_values(["return_rate", "category"], ascending=[False, True],
                             na_position="last").reset_index(drop=True)


_RETURN_FIELDS = ("returns", "cancelled", "returned", "gross_sales", "return_rate",
                  "returned_units", "units", "unit_return_rate", "return_orders")


@cached
def top_returned_products(session: Session, scope: Scope, filters: Filters, period: Period,
                          limit: int = TOP_RETURNED) -> pd.DataFrame:
    """The products with the largest returned value in range, with their return rates."""
    dims = [Product.sku.label("sku"), Product.name.label("name"),
            func.coalesce(Product.category, UNCATEGORISED).label("category")]
    rows = _returns_by(session, Lines(filters, scope, period.start, period.end),
                       dims,
                       [(Product, Product.id == OrderLine.product_id)])
    frame = pd.DataFrame(rows, columns=["sku", "name", "category", *_RETURN_FIELDS])
    frame = frame.loc[frame["returns"] > 0]
    frame = frame.sort_values(["returns", "sku"], ascending=[False, True]).head(limit)
    return frame.reset_index(drop=True)
