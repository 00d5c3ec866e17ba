"""Every Overview service, on SQLite and PostgreSQL, checked against pandas over the raw lines.

The expected numbers are computed here from the SPEC §3 definitions applied to the rows read
straight from `order_lines` (joined with `products` and `platforms`); nothing below calls
`services.metrics` or `services.sales` to compute an expected value. Money is summed in exact
integer units of 1/10 000 (the precision of the Money columns), so that "zero" means zero.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from models import Order, OrderLine, Product
from services import overview, rollups
from services.filters import Filters, Period
from services.sales import resolve
from services.scope import Scope
from tests.conftest import TestDatabase

KPI_KEYS = ("net_revenue", "gross_sales", "returns", "orders", "units", "aov", "customers",
            "gross_profit", "margin")
METRICS = (*KPI_KEYS, "cost_coverage")
# Breakdowns that do not show customers leave the count out (it costs a scan of the lines).
WITHOUT_CUSTOMERS = tuple(name for name in METRICS if name != "customers")
SUMMED = ("net_revenue", "gross_sales", "returns", "orders", "units", "customers")
MONEY = frozenset({"net_revenue", "gross_sales", "returns", "gross_profit",
                   "compare_net_revenue", "rolling_3", "rolling_7", "rolling_30"})
COUNTS = frozenset({"orders", "units", "customers"})
UNCATEGORISED = "Uncategorised"
SCALE = 10_000  # Money columns are Numeric(14, 4): integers of 1/10 000 are exact
WINDOWS = (3, 7, 30)
EVERYTHING = Scope()

RAW_SQL = sa.text("""
    SELECT l.order_id, l.quantity, l.unit_price, l.unit_cost, l.sale_date, l.platform_id,
           l.customer_id, p.sku, p.name AS product_name, p.category,
           f.slug, f.name AS platform_name, f.kind
    FROM order_lines AS l
    JOIN products AS p ON p.id = l.product_id
    JOIN platforms AS f ON f.id = l.platform_id
""")


# --- the raw rows ----------------------------------------------------------------------------

def read_raw(connection: sa.Connection) -> pd.DataFrame:
    """Every sale line with its product and platform, as stored, plus exact money columns."""
    frame = pd.read_sql(RAW_SQL, connection)
    frame["day"] = pd.to_datetime(frame["sale_date"].astype(str).str[:10],
                                  format="%Y-%m-%d").astype("datetime64[ns]")
    frame["quantity"] = frame["quantity"].astype("int64")
    price = pd.to_numeric(frame["unit_price"]).astype(float)
    cost = pd.to_numeric(frame["unit_cost"]).astype(float)
    frame["unit_price"] = price
    frame["unit_cost"] = cost
    frame["price_units"] = (price * SCALE).round().astype("int64")
    frame["cost_units"] = (cost * SCALE).round().fillna(0).astype("int64")
    return frame


_RAW: dict[str, pd.DataFrame] = {}

@pytest.fixture
def raw(database: TestDatabase) -> pd.DataFrame:
    """The raw sale lines of the parametrised database (read once per database)."""
    if database.name not in _RAW:
        with database.engine.connect() as connection:
            _RAW[database.name] = read_raw(connection)
    return _RAW[database.name]


def ts(day: dt.date) -> pd.Timestamp:
    """A date as a pandas timestamp (nanosecond unit, like the raw `day` column)."""
    return pd.Timestamp(day).as_unit("ns")


def span(raw: pd.DataFrame, scope: Scope = EVERYTHING) -> tuple[dt.date, dt.date]:
    """First and last day with any line visible to `scope`."""
    def compute() -> tuple[dt.date, dt.date]:
        days = raw["day"] if scope.platform_ids is None else \
            raw.loc[raw["platform_id"].isin(list(scope.platform_ids)), "day"]
        return days.min().date(), days.max().date()
    platforms = None if scope.platform_ids is None else sorted(scope.platform_ids)
    return memo(raw, f"span {platforms}", compute)


def view_lines(raw: pd.DataFrame, filters: Filters, start: dt.date, end: dt.date,
               scope: Scope = EVERYTHING) -> pd.DataFrame:
    """The raw lines a view sees: date range, scope, platforms, and SKUs ∪ categories."""
    mask = raw["day"].between(ts(start), ts(end))
    if scope.platform_ids is not None:
        mask &= raw["platform_id"].isin(list(scope.platform_ids))
    if filters.platforms:
        mask &= raw["slug"].isin(list(filters.platforms))
    if filters.products or filters.categories:
        mask &= (raw["sku"].isin(list(filters.products))
                 | raw["category"].isin(list(filters.categories)))
    return raw.loc[mask]


# --- SPEC §3 in pandas -----------------------------------------------------------------------

def expected_metrics(lines: pd.DataFrame, key: pd.Series) -> pd.DataFrame:
    """Every SPEC §3 metric per value of `key` (a Series aligned with `lines`)."""
    quantity = lines["quantity"]
    value = quantity * lines["price_units"]
    # Orders, units and customers count lines sold at a price above zero (SPEC §3).
    sale = (quantity > 0) & (lines["price_units"] > 0)
    costed = lines["unit_cost"].notna()
    parts = pd.DataFrame({
        "key": key,
        "net_revenue": value,
        "gross_sales": value.where(quantity > 0, 0),
        "returns": (-value).where(quantity < 0, 0),
        "orders": lines["order_id"].where(sale),
        "units": quantity.where(sale, 0),
        "customers": lines["customer_id"].where(sale),
        "costed_revenue": value.where(costed, 0),
        "gross_profit": ((lines["price_units"] - lines["cost_units"]) * quantity).where(costed, 0),
        "costed_lines": costed.astype("int64"),
    })
    grouped = parts.groupby("key", observed=True, sort=True)
    out = grouped[["net_revenue", "gross_sales", "returns", "units", "costed_revenue",
                   "gross_profit", "costed_lines"]].sum()
    out["orders"] = grouped["orders"].nunique()  # distinct, NaN (not a sale) excluded
    out["customers"] = grouped["customers"].nunique()  # distinct known buyers
    for column in ("net_revenue", "gross_sales", "returns", "costed_revenue", "gross_profit"):
        out[column] = out[column].astype(float) / SCALE
    has_cost = out["costed_lines"] > 0
    out["aov"] = (out["gross_sales"] / out["orders"]).where(out["orders"] > 0)
    out["gross_profit"] = out["gross_profit"].where(has_cost)
    out["margin"] = (out["gross_profit"] / out["costed_revenue"]).where(
        has_cost & (out["costed_revenue"] != 0))
    out["cost_coverage"] = (out["costed_revenue"] / out["net_revenue"]).where(
        out["net_revenue"] != 0)
    out.index.name = None
    return out[list(METRICS)]


def reindexed(frame: pd.DataFrame, index: pd.Index) -> pd.DataFrame:
    """`frame` on `index`, with the summed metrics of missing groups as zero."""
    out = frame.reindex(index)
    out[list(SUMMED)] = out[list(SUMMED)].astype(float).fillna(0.0)
    return out


def expected_totals(lines: pd.DataFrame) -> dict[str, Any]:
    """Every metric over all of `lines` (None where a ratio or profit is undefined)."""
    frame = reindexed(expected_metrics(lines, pd.Series(0, index=lines.index)), pd.Index([0]))
    return {name: None if pd.isna(value) else value
            for name, value in frame.iloc[0].to_dict().items()}


def expected_change(metric: str, current: float | None, comparison: float | None) -> float | None:
    """SPEC change: relative to |comparison|; in points for margin; None when undefined."""
    if current is None or comparison is None:
        return None
    if metric == "margin":
        return current - comparison
    if comparison == 0:
        return None
    return (current - comparison) / abs(comparison)


def bucket_of(days: pd.Series, grain: str) -> pd.Series:
    """The start of the day, week (Monday) or month bucket of each day."""
    if grain == "week":
        return days - pd.to_timedelta(days.dt.day_of_week, unit="D")
    if grain == "month":
        return days.dt.to_period("M").dt.to_timestamp().astype("datetime64[ns]")
    return days


def bucket_starts(start: dt.date, end: dt.date, grain: str) -> pd.DatetimeIndex:
    """Every bucket start from the bucket holding `start` to the one holding `end`."""
    if grain == "week":
        first = start - dt.timedelta(days=start.weekday())
        index = pd.date_range(first, end, freq="7D")
    elif grain == "month":
        index = pd.date_range(start.replace(day=1), end, freq="MS")
    else:
        index = pd.date_range(start, end, freq="D")
    return index.as_unit("ns")


def net_revenue_of(lines: pd.DataFrame) -> float:
    """Net revenue of `lines`."""
    return float((lines["quantity"] * lines["price_units"]).sum()) / SCALE


def net_by_bucket(lines: pd.DataFrame, starts: pd.DatetimeIndex, grain: str) -> pd.Series:
    """Net revenue per bucket of `starts`, zero where a bucket has no lines."""
    value = lines["quantity"] * lines["price_units"]
    sums = value.groupby(bucket_of(lines["day"], grain)).sum()
    return (sums.reindex(starts, fill_value=0).astype(float) / SCALE).rename("net_revenue")


# --- the comparison, computed here from the rule in words ----------------------------------------

def compared_day(day: dt.date, filters: Filters, period: Period) -> dt.date:
    """The day `day` is compared with: the range's length earlier (previous period); a year
    earlier (year over year): 52 weeks at day and week grain, the calendar day by month."""
    if filters.compare == "prev":
        return day - dt.timedelta(days=(period.end - period.start).days + 1)
    if filters.grain == "month":
        return minus_year(day)
    return day - dt.timedelta(weeks=52)


def comparison_covered(raw: pd.DataFrame, scope: Scope, period: Period) -> bool:
    """Whether the data has every day of the comparison period (it starts on or after the
    first sale in the scope)."""
    return bool(period.compare_start and period.compare_start >= span(raw, scope)[0])


def expected_comparison(filters: Filters, period: Period, starts: pd.DatetimeIndex,
                        first_sale: dt.date, value_of: Callable[[dt.date, dt.date], float],
                        ) -> tuple[list[dt.date | None], list[float]]:
    """Per bucket of `starts`: the first compared day, and `value_of` the bucket's days in
    the range shifted by the comparison (first to last day); NaN where those days begin
    before the first sale (a gap, not a zero)."""
    if not (period.compare_start and period.compare_end):
        return [None] * len(starts), [np.nan] * len(starts)
    buckets, values = [], []
    for start in starts:
        first = max(start.date(), period.start)
        last = min(last_day_of_bucket(start.date(), filters.grain), period.end)
        low, high = compared_day(first, filters, period), compared_day(last, filters, period)
        buckets.append(low)
        values.append(value_of(low, high) if low >= first_sale else np.nan)
    return buckets, values


def last_day_of_bucket(start: dt.date, grain: str) -> dt.date:
    """The last day of the day, week or month bucket starting on `start`."""
    if grain == "week":
        return start + dt.timedelta(days=6)
    if grain == "month":
        return (pd.Timestamp(start) + pd.offsets.MonthEnd(0)).date()
    return start


# --- comparing -------------------------------------------------------------------------------

def missing(value: Any) -> bool:
    """True for None and NaN/NaT."""
    return value is None or bool(pd.isna(value))


def tolerance(name: str) -> dict[str, float]:
    """pytest.approx arguments: cents on sums of money, exact counts, tight ratios."""
    if name in MONEY:
        return {"abs": 0.01, "rel": 0}
    if name in COUNTS:
        return {"abs": 0, "rel": 0}
    return {"abs": 1e-12, "rel": 1e-9}


def assert_value(name: str, actual: Any, expected: Any, where: str) -> None:
    """One metric value equals the pandas value (both missing, or equal within tolerance)."""
    if missing(expected):
        assert missing(actual), f"{where}: {name} should be None, got {actual!r}"
        return
    assert not missing(actual), f"{where}: {name} is {actual!r}, expected {expected!r}"
    assert actual == pytest.approx(expected, **tolerance(name)), f"{where}: {name}"


def floats(values: pd.Series | list[Any]) -> list[float]:
    """Values as floats, with None/NaN as NaN (for pytest.approx(nan_ok=True))."""
    return [np.nan if missing(value) else float(value) for value in values]


def assert_columns(actual: pd.DataFrame, expected: pd.DataFrame, columns: tuple[str, ...],
                   where: str) -> None:
    """The given metric columns are equal row by row (NaN where the pandas value is NaN)."""
    assert len(actual) == len(expected), f"{where}: {len(actual)} rows, expected {len(expected)}"
    for name in columns:
        assert floats(actual[name]) == pytest.approx(floats(expected[name]), nan_ok=True,
                                                     **tolerance(name)), f"{where}: {name}"


def as_dates(values: pd.Series) -> list[dt.date | None]:
    """Bucket values (dates or timestamps) as dates, None where missing."""
    return [None if missing(value) else pd.Timestamp(value).date() for value in values]


def assert_ranked(actual: pd.DataFrame, key: str, expected: pd.DataFrame, where: str,
                  limit: int | None = None) -> None:
    """Rows are the expected groups, largest net revenue first, cut at `limit`, metrics equal.

    Ties in net revenue may come in any order, so the check is: every row's metrics match
    its group, revenue never increases down the table, and no group left out beats a row.
    """
    keys = actual[key].tolist()
    assert len(set(keys)) == len(keys), f"{where}: duplicate {key}: {keys}"
    unknown = set(keys) - set(expected.index)
    assert not unknown, f"{where}: rows for {sorted(unknown)} which have no lines in the view"
    size = len(expected) if limit is None else min(limit, len(expected))
    assert len(actual) == size, f"{where}: {len(actual)} rows, expected {size}"
    revenue = actual["net_revenue"].astype(float).to_numpy()
    assert (np.diff(revenue) <= 0.005).all(), f"{where}: not ordered by revenue: {revenue}"
    left_out = expected.drop(index=keys)
    if len(left_out) and len(revenue):
        assert left_out["net_revenue"].max() <= revenue.min() + 0.005, \
            f"{where}: a larger group was left out"
    # Breakdowns carry only the distinct counts they show (see grouped_metrics' `counts`).
    shown = tuple(name for name in METRICS if name in actual.columns)
    assert set(METRICS) - set(shown) <= {"orders", "aov", "customers"}, where
    assert_columns(actual, expected.loc[keys], shown, where)


# --- picking filter values from the data -----------------------------------------------------

_MEMO: dict[tuple[int, str], tuple[pd.DataFrame, Any]] = {}


def memo(raw: pd.DataFrame, name: str, compute: Callable[[], Any]) -> Any:
    """`compute()` once per raw frame (the frame is kept alive so its id stays unique)."""
    key = (id(raw), name)
    if key not in _MEMO:
        _MEMO[key] = (raw, compute())
    return _MEMO[key][1]


def busiest(raw: pd.DataFrame, column: str) -> list[str]:
    """Values of `column`, most lines first (ties by value)."""
    return memo(raw, f"busiest {column}", lambda: raw[column].dropna().value_counts()
                .sort_index().sort_values(ascending=False, kind="stable").index.tolist())


def first_rows(raw: pd.DataFrame, column: str) -> pd.DataFrame:
    """One raw row per value of `column` (names, kinds and categories are per product/platform)."""
    return memo(raw, f"rows by {column}", lambda: raw.drop_duplicates(column).set_index(column))


def platform_slugs(raw: pd.DataFrame) -> list[str]:
    """Platform slugs, busiest (most lines) first."""
    return busiest(raw, "slug")


def platform_id(raw: pd.DataFrame, slug: str) -> int:
    """The id of the platform with `slug`."""
    return int(first_rows(raw, "slug").loc[slug, "platform_id"])


def busiest_skus(raw: pd.DataFrame) -> list[str]:
    """SKUs, most lines first."""
    return busiest(raw, "sku")


def busiest_categories(raw: pd.DataFrame) -> list[str]:
    """Categories, most lines first."""
    return busiest(raw, "category")


def sku_outside(raw: pd.DataFrame, category: str) -> str:
    """The busiest SKU that is not in `category`."""
    categories = first_rows(raw, "sku")["category"]
    return next(sku for sku in busiest_skus(raw) if categories[sku] != category)


def costed_line_counts(raw: pd.DataFrame) -> pd.DataFrame:
    """Per SKU: number of lines, and of lines with a known cost."""
    return memo(raw, "costed lines", lambda: raw.groupby("sku", observed=True).agg(
        lines=("unit_cost", "size"), costed=("unit_cost", "count")))


def unknown_cost_sku(raw: pd.DataFrame) -> str:
    """The busiest SKU none of whose lines has a known cost."""
    counts = costed_line_counts(raw)
    skus = [sku for sku in busiest_skus(raw) if counts.loc[sku, "costed"] == 0]
    assert skus, "the demo data must contain a sold product with unknown cost"
    return skus[0]


def known_cost_sku(raw: pd.DataFrame) -> str:
    """The busiest SKU all of whose lines have a known cost."""
    counts = costed_line_counts(raw)
    return next(sku for sku in busiest_skus(raw)
                if counts.loc[sku, "costed"] == counts.loc[sku, "lines"])


def custom_dates(raw: pd.DataFrame) -> tuple[dt.date, dt.date]:
    """A custom range in the data's second year (so it has a year-ago comparison): starts on a
    Wednesday, 53 days long."""
    first, last = span(raw)
    start = first + dt.timedelta(days=(last - first).days * 3 // 5)
    start += dt.timedelta(days=(2 - start.weekday()) % 7)
    return start, start + dt.timedelta(days=52)


def range_filters(raw: pd.DataFrame, range_: str, compare: str, **chosen: Any) -> Filters:
    """Filters for a preset (or "custom", resolved to `custom_dates`) and comparison."""
    if range_ == "custom":
        start, end = custom_dates(raw)
        return Filters(range="custom", start=start, end=end, compare=compare, **chosen)
    return Filters(range=range_, compare=compare, **chosen)


FILTER_CASES: dict[str, Callable[[pd.DataFrame], dict[str, tuple[str, ...]]]] = {
    "one_platform": lambda raw: {"platforms": tuple(platform_slugs(raw)[:1])},
    "several_platforms": lambda raw: {"platforms": tuple(platform_slugs(raw)[1:4])},
    "one_sku": lambda raw: {"products": tuple(busiest_skus(raw)[:1])},
    "several_skus": lambda raw: {"products": tuple(busiest_skus(raw)[:4])},
    "one_category": lambda raw: {"categories": tuple(busiest_categories(raw)[:1])},
    "category_and_sku_outside_it": lambda raw: {
        "categories": tuple(busiest_categories(raw)[:1]),
        "products": (sku_outside(raw, busiest_categories(raw)[0]),)},
    "platforms_and_skus": lambda raw: {"platforms": tuple(platform_slugs(raw)[:2]),
                                       "products": tuple(busiest_skus(raw)[:6])},
    "platform_categories_and_sku": lambda raw: {
        "platforms": tuple(platform_slugs(raw)[1:2]),
        "categories": tuple(busiest_categories(raw)[1:3]),
        "products": tuple(busiest_skus(raw)[:2])},
    "unknown_sku": lambda raw: {"products": ("NO-SUCH-SKU",)},
}


# --- one checker per service: run it, compute the same in pandas, compare --------------------

def check_kpis(session: Session, raw: pd.DataFrame, scope: Scope,
               filters: Filters) -> dict[str, dict[str, Any]]:
    """`kpis` equals pandas for the current and comparison ranges, and their change."""
    period = resolve(session, scope, filters)
    result = overview.kpis(session, scope, filters, period)
    assert set(result) == set(METRICS)
    current = expected_totals(view_lines(raw, filters, period.start, period.end, scope))
    comparison: dict[str, Any] = {}
    if comparison_covered(raw, scope, period):  # a partly observed base gives no change
        comparison = expected_totals(view_lines(raw, filters, period.compare_start,
                                                period.compare_end, scope))
    for key in METRICS:
        assert set(result[key]) == {"current", "comparison", "change"}
        assert_value(key, result[key]["current"], current[key], "current")
        assert_value(key, result[key]["comparison"], comparison.get(key), "comparison")
        if key in KPI_KEYS:
            wanted = expected_change(key, current[key], comparison.get(key))
            assert_value("change", result[key]["change"], wanted, f"{key} change")
    return result


def check_kpi_series(session: Session, raw: pd.DataFrame, scope: Scope,
                     filters: Filters) -> pd.DataFrame:
    """`kpi_series` has every bucket of the range at the grain, each equal to pandas."""
    period = resolve(session, scope, filters)
    frame = overview.kpi_series(session, scope, filters, period)
    lines = view_lines(raw, filters, period.start, period.end, scope)
    starts = bucket_starts(period.start, period.end, filters.grain)
    expected = reindexed(expected_metrics(lines, bucket_of(lines["day"], filters.grain)), starts)
    assert as_dates(frame["bucket"]) == [day.date() for day in starts]
    assert_columns(frame, expected, METRICS, f"kpi_series by {filters.grain}")
    return frame


def check_revenue_trend(session: Session, raw: pd.DataFrame, scope: Scope,
                        filters: Filters) -> pd.DataFrame:
    """`revenue_trend`: buckets, revenue, comparison aligned bucket by bucket, rolling means."""
    period = resolve(session, scope, filters)
    trend = overview.revenue_trend(session, scope, filters, period)
    grain = filters.grain
    starts = bucket_starts(period.start, period.end, grain)
    current = net_by_bucket(view_lines(raw, filters, period.start, period.end, scope),
                            starts, grain)
    assert as_dates(trend["bucket"]) == [day.date() for day in starts]
    assert floats(trend["net_revenue"]) == pytest.approx(current.tolist(), abs=0.01)

    compare_buckets, compare_revenue = expected_comparison(
        filters, period, starts, span(raw, scope)[0],
        lambda low, high: net_revenue_of(view_lines(raw, filters, low, high, scope)))
    assert as_dates(trend["compare_bucket"]) == compare_buckets
    assert floats(trend["compare_net_revenue"]) == pytest.approx(compare_revenue, abs=0.01,
                                                                 nan_ok=True)

    for window in WINDOWS:
        expected = [np.nan] * len(starts)
        if grain == "day":
            expected = rolling_means(raw, scope, filters, period, window)
        assert floats(trend[f"rolling_{window}"]) == pytest.approx(
            expected, abs=0.01, nan_ok=True), f"rolling_{window}"
    return trend


def rolling_means(raw: pd.DataFrame, scope: Scope, filters: Filters, period: Period,
                  window: int) -> list[float]:
    """Mean daily net revenue of each range day and the window - 1 days before it.

    The days before the range count, but never days before the first day with data in the
    scope (a day inside the range always counts: it is on the chart).
    """
    first = span(raw, scope)[0]
    lead_in = max(period.start - dt.timedelta(days=max(WINDOWS) - 1), min(first, period.start))
    days = bucket_starts(lead_in, period.end, "day")
    daily = net_by_bucket(view_lines(raw, filters, lead_in, period.end, scope), days, "day")
    values = daily.to_numpy()
    means = []
    for position, day in enumerate(days):
        if day >= ts(period.start):
            window_values = values[max(0, position - window + 1):position + 1]
            means.append(float(window_values.mean()))
    return means


def check_revenue_by_platform(session: Session, raw: pd.DataFrame, scope: Scope,
                              filters: Filters) -> pd.DataFrame:
    """`revenue_by_platform`: per platform metrics, names, comparison revenue and share."""
    period = resolve(session, scope, filters)
    frame = overview.revenue_by_platform(session, scope, filters, period)
    lines = view_lines(raw, filters, period.start, period.end, scope)
    expected = expected_metrics(lines, lines["slug"])
    assert_ranked(frame, "slug", expected, "revenue_by_platform")
    assert "orders" in frame and "customers" not in frame
    names = first_rows(raw, "slug")
    assert frame["platform"].tolist() == names.loc[frame["slug"], "platform_name"].tolist()
    assert frame["kind"].tolist() == names.loc[frame["slug"], "kind"].tolist()
    total = expected["net_revenue"].sum()
    share = [value / total if total else np.nan for value in frame["net_revenue"]]
    assert floats(frame["share"]) == pytest.approx(share, rel=1e-9, nan_ok=True)
    previous = [np.nan] * len(frame)
    if comparison_covered(raw, scope, period):
        before = view_lines(raw, filters, period.compare_start, period.compare_end, scope)
        by_slug = net_by_key(before, "slug")
        previous = [by_slug.get(slug, 0.0) for slug in frame["slug"]]
    assert floats(frame["compare_net_revenue"]) == pytest.approx(previous, abs=0.01,
                                                                 nan_ok=True)
    return frame


def net_by_key(lines: pd.DataFrame, key: str) -> dict[str, float]:
    """Net revenue per value of column `key`."""
    value = lines["quantity"] * lines["price_units"]
    return (value.groupby(lines[key], observed=True).sum().astype(float) / SCALE).to_dict()


def check_revenue_by_category(session: Session, raw: pd.DataFrame, scope: Scope,
                              filters: Filters) -> pd.DataFrame:
    """`revenue_by_category`: per category metrics (null as "Uncategorised") and share."""
    period = resolve(session, scope, filters)
    frame = overview.revenue_by_category(session, scope, filters, period)
    lines = view_lines(raw, filters, period.start, period.end, scope)
    expected = expected_metrics(lines, lines["category"].fillna(UNCATEGORISED))
    assert_ranked(frame, "category", expected, "revenue_by_category")
    assert "orders" not in frame and "customers" not in frame
    total = expected["net_revenue"].sum()
    share = [value / total if total else np.nan for value in frame["net_revenue"]]
    assert floats(frame["share"]) == pytest.approx(share, rel=1e-9, nan_ok=True)
    return frame


def check_top_products(session: Session, raw: pd.DataFrame, scope: Scope, filters: Filters,
                       limit: int = 10) -> pd.DataFrame:
    """`top_products`: the `limit` best products by net revenue, their share of the view."""
    period = resolve(session, scope, filters)
    frame = overview.top_products(session, scope, filters, period, limit=limit)
    lines = view_lines(raw, filters, period.start, period.end, scope)
    expected = expected_metrics(lines, lines["sku"])
    assert_ranked(frame, "sku", expected, "top_products", limit=limit)
    assert "orders" in frame and "customers" not in frame
    products = first_rows(raw, "sku")
    assert frame["name"].tolist() == products.loc[frame["sku"], "product_name"].tolist()
    assert frame["category"].tolist() == \
        products.loc[frame["sku"], "category"].fillna(UNCATEGORISED).tolist()
    total = expected["net_revenue"].sum()
    share = [value / total if total else np.nan for value in frame["net_revenue"]]
    assert floats(frame["share"]) == pytest.approx(share, rel=1e-9, nan_ok=True)
    return frame


Checker = Callable[[Session, pd.DataFrame, Scope, Filters], Any]
CHECKS: dict[str, Checker] = {
    "kpis": check_kpis,
    "kpi_series": check_kpi_series,
    "revenue_trend": check_revenue_trend,
    "revenue_by_platform": check_revenue_by_platform,
    "revenue_by_category": check_revenue_by_category,
    "top_products": check_top_products,
}


def assert_nothing(service: str, result: Any) -> None:
    """The result of `service` shows no sales at all: zeros, or no rows."""
    if service == "kpis":
        for key in ("net_revenue", "gross_sales", "returns", "orders", "units", "customers"):
            assert result[key]["current"] == 0, key
        for key in ("aov", "gross_profit", "margin", "cost_coverage"):
            assert missing(result[key]["current"]), key
    elif service in ("kpi_series", "revenue_trend"):
        assert len(result) > 0
        assert (result["net_revenue"] == 0).all()
        if service == "kpi_series":
            assert (result[["orders", "units", "customers"]] == 0).all().all()
    else:
        assert len(result) == 0, result


# --- period resolution against the data ------------------------------------------------------

def minus_year(day: dt.date) -> dt.date:
    """The same day a year earlier (29 Feb becomes 28 Feb)."""
    return day.replace(year=day.year - 1, day=min(day.day, 28) if day.month == 2 else day.day)


@pytest.mark.parametrize("range_, compare, grain", [
    ("7d", "none", "day"), ("30d", "prev", "day"), ("90d", "yoy", "day"),
    ("90d", "yoy", "week"), ("12m", "yoy", "month"), ("12m", "prev", "month"),
    ("all", "prev", "week")])
def test_presets_count_back_from_the_last_day_with_data(session: Session, raw: pd.DataFrame,
                                                        range_: str, compare: str,
                                                        grain: str) -> None:
    first, last = span(raw)
    period = resolve(session, EVERYTHING, Filters(range=range_, compare=compare, grain=grain))
    days = {"7d": 7, "30d": 30, "90d": 90}
    start = {"12m": minus_year(last) + dt.timedelta(days=1), "all": first}.get(
        range_, last - dt.timedelta(days=days.get(range_, 1) - 1))
    assert (period.start, period.end, period.first_data) == (start, last, first)
    if compare == "none":
        assert (period.compare_start, period.compare_end) == (None, None)
    elif compare == "prev":
        assert period.compare_end == start - dt.timedelta(days=1)
        assert period.compare_end - period.compare_start == last - start
    elif grain == "month":  # year over year by month: the same calendar days
        assert (period.compare_start, period.compare_end) == (minus_year(start), minus_year(last))
    else:  # by day or week: 52 weeks earlier, Monday against Monday
        assert (period.compare_start, period.compare_end) == (
            start - dt.timedelta(weeks=52), last - dt.timedelta(weeks=52))
        assert period.compare_start.weekday() == start.weekday()


# --- kpis ------------------------------------------------------------------------------------

@pytest.mark.parametrize("range_, compare", [
    ("7d", "prev"), ("30d", "none"), ("30d", "prev"), ("30d", "yoy"), ("90d", "prev"),
    ("12m", "prev"), ("12m", "yoy"), ("all", "none"), ("custom", "none"), ("custom", "prev"),
    ("custom", "yoy")])
def test_kpis_match_pandas_for_each_range_and_comparison(session: Session, raw: pd.DataFrame,
                                                         range_: str, compare: str) -> None:
    result = check_kpis(session, raw, EVERYTHING, range_filters(raw, range_, compare))
    assert result["net_revenue"]["current"] > 0
    if compare != "none" and range_ != "all":
        assert result["net_revenue"]["comparison"] > 0  # a real comparison, not an empty one


@pytest.mark.parametrize("case, compare", [
    *[(case, "prev") for case in FILTER_CASES],
    ("several_platforms", "yoy"), ("category_and_sku_outside_it", "yoy"),
    ("platform_categories_and_sku", "none")])
def test_kpis_match_pandas_under_platform_product_and_category_filters(
        session: Session, raw: pd.DataFrame, case: str, compare: str) -> None:
    filters = range_filters(raw, "90d", compare, **FILTER_CASES[case](raw))
    result = check_kpis(session, raw, EVERYTHING, filters)
    if case == "unknown_sku":
        assert_nothing("kpis", result)


def test_category_filter_adds_its_products_to_the_chosen_skus(session: Session,
                                                              raw: pd.DataFrame) -> None:
    category = busiest_categories(raw)[0]
    sku = sku_outside(raw, category)
    both = check_kpis(session, raw, EVERYTHING,
                      Filters(range="90d", compare="none", categories=(category,), products=(sku,)))
    alone = {name: check_kpis(session, raw, EVERYTHING, Filters(range="90d", compare="none",
                                                                 **chosen))
             for name, chosen in (("category", {"categories": (category,)}),
                                  ("sku", {"products": (sku,)}))}
    for key in ("net_revenue", "gross_sales", "units"):
        union = alone["category"][key]["current"] + alone["sku"][key]["current"]
        assert both[key]["current"] == pytest.approx(union, abs=0.01), key
    assert alone["sku"]["net_revenue"]["current"] > 0


def test_orders_with_only_returned_lines_are_not_counted_as_orders(session: Session,
                                                                   raw: pd.DataFrame) -> None:
    has_sale = (raw["quantity"] > 0).groupby(raw["order_id"]).any()
    return_only = has_sale.index[~has_sale]
    assert len(return_only), "the demo data must contain orders made only of returns"
    result = check_kpis(session, raw, EVERYTHING, Filters(range="all", compare="none"))
    assert result["orders"]["current"] == raw["order_id"].nunique() - len(return_only)

    # One day and platform that has a return-only order: it is still not an order there.
    line = raw.loc[raw["order_id"] == return_only[0]].iloc[0]
    day = line["day"].date()
    filters = Filters(range="custom", start=day, end=day, compare="prev",
                      platforms=(line["slug"],))
    lines = view_lines(raw, filters, day, day)
    on_day = check_kpis(session, raw, EVERYTHING, filters)
    returned_that_day = lines.loc[lines["order_id"].isin(return_only), "order_id"].nunique()
    assert returned_that_day >= 1
    assert on_day["orders"]["current"] == lines["order_id"].nunique() - returned_that_day
    assert on_day["returns"]["current"] > 0


def test_returns_and_cancellations_subtract_from_net_revenue(session: Session,
                                                             raw: pd.DataFrame) -> None:
    # A cancelled order is reversed on the same order: its lines net to zero.
    per_order = raw.assign(value=raw["quantity"] * raw["price_units"]).groupby("order_id")
    cancelled = per_order.agg(net=("value", "sum"), lowest=("quantity", "min"),
                              highest=("quantity", "max"))
    cancelled = cancelled.loc[(cancelled["net"] == 0) & (cancelled["lowest"] < 0)
                              & (cancelled["highest"] > 0)]
    assert len(cancelled), "the demo data must contain cancelled (fully reversed) orders"
    # The cancelled order on the busiest platform-day, so that day has other sales too.
    lines_per_day = raw.groupby(["day", "slug"], observed=True).size()
    candidates = raw.loc[raw["order_id"].isin(cancelled.index)].drop_duplicates("order_id")
    keys = list(zip(candidates["day"], candidates["slug"], strict=True))
    busiest_day = lines_per_day.loc[keys].to_numpy()
    line = candidates.iloc[int(np.argmax(busiest_day))]
    day = line["day"].date()
    for filters in (Filters(range="all", compare="none"),
                    Filters(range="custom", start=day, end=day, compare="yoy",
                            platforms=(line["slug"],))):
        result = check_kpis(session, raw, EVERYTHING, filters)
        current = {key: value["current"] for key, value in result.items()}
        assert current["returns"] > 0
        assert current["net_revenue"] == pytest.approx(
            current["gross_sales"] - current["returns"], abs=0.01)


def test_platform_days_whose_sales_were_all_cancelled_have_zero_revenue_and_no_ratios(
        session: Session, raw: pd.DataFrame) -> None:
    value = raw["quantity"] * raw["price_units"]
    per_day = value.groupby([raw["day"], raw["slug"]]).sum()
    netting_to_zero = per_day.index[per_day == 0]
    assert len(netting_to_zero), "the demo data must have a platform-day netting to zero"
    wrong = []
    for day, slug in netting_to_zero:
        filters = Filters(range="custom", start=day.date(), end=day.date(), compare="none",
                          platforms=(slug,))
        result = overview.kpis(session, EVERYTHING, filters,
                               resolve(session, EVERYTHING, filters))
        expected = expected_totals(view_lines(raw, filters, day.date(), day.date()))
        for key in ("net_revenue", "gross_profit", "margin", "cost_coverage"):
            try:
                assert_value(key, result[key]["current"], expected[key], f"{day:%Y-%m-%d} {slug}")
            except AssertionError as error:
                wrong.append(f"{error}".splitlines()[0] + f" = {result[key]['current']!r}")
    assert not wrong, f"{len(wrong)} wrong values, e.g.:\n" + "\n".join(wrong[:8])


def test_product_with_unknown_cost_has_no_profit_or_margin(session: Session,
                                                           raw: pd.DataFrame) -> None:
    filters = Filters(range="all", compare="prev", products=(unknown_cost_sku(raw),))
    result = check_kpis(session, raw, EVERYTHING, filters)
    assert result["net_revenue"]["current"] > 0
    assert result["gross_profit"]["current"] is None
    assert result["margin"]["current"] is None
    assert result["margin"]["change"] is None
    assert result["cost_coverage"]["current"] == 0
    for check in (check_revenue_by_category, check_top_products, check_revenue_by_platform):
        frame = check(session, raw, EVERYTHING, filters)
        assert frame["gross_profit"].isna().all() and frame["margin"].isna().all()


def test_mixed_known_and_unknown_costs_give_profit_over_costed_lines_only(
        session: Session, raw: pd.DataFrame) -> None:
    unknown, known = unknown_cost_sku(raw), known_cost_sku(raw)
    mixed = check_kpis(session, raw, EVERYTHING,
                       Filters(range="all", compare="none", products=(unknown, known)))
    costed = check_kpis(session, raw, EVERYTHING,
                        Filters(range="all", compare="none", products=(known,)))
    current = {key: value["current"] for key, value in mixed.items()}
    assert current["gross_profit"] == pytest.approx(costed["gross_profit"]["current"], abs=0.01)
    assert current["margin"] == pytest.approx(costed["margin"]["current"], rel=1e-9)
    assert current["cost_coverage"] == pytest.approx(
        costed["net_revenue"]["current"] / current["net_revenue"], rel=1e-9)
    assert 0 < current["cost_coverage"] < 1


def test_margin_change_is_in_percentage_points(session: Session, raw: pd.DataFrame) -> None:
    result = check_kpis(session, raw, EVERYTHING, Filters(range="90d", compare="yoy"))
    margin = result["margin"]
    assert margin["change"] == pytest.approx(margin["current"] - margin["comparison"], rel=1e-9)


@pytest.mark.parametrize("filters", [Filters(range="all", compare="prev"),
                                     Filters(range="all", compare="yoy", grain="month")])
def test_a_comparison_reaching_before_the_first_sale_has_no_change_and_says_why(
        session: Session, raw: pd.DataFrame, filters: Filters) -> None:
    result = check_kpis(session, raw, EVERYTHING, filters)
    for key in KPI_KEYS:
        assert missing(result[key]["comparison"]), key
        assert result[key]["change"] is None, key
    period = resolve(session, EVERYTHING, filters)
    first = span(raw)[0]
    reason = f"the comparison period starts before the first sale, {first.day} {first:%b %Y}"
    assert period.comparison is None and reason in (period.compare_note or "")
    assert reason in period.label
    if filters.compare == "yoy":  # a year back from "all data" overlaps the range itself
        assert "overlaps the range itself" in (period.compare_note or "")
    trend = check_revenue_trend(session, raw, EVERYTHING, filters)
    # Buckets compared with days before the first sale are gaps, not zeros.
    before = [bucket < first for bucket in as_dates(trend["compare_bucket"])]
    assert any(before)
    assert trend.loc[before, "compare_net_revenue"].isna().all()


@pytest.mark.parametrize("range_, grain, compare", [
    ("90d", "week", "yoy"), ("90d", "day", "yoy"), ("12m", "month", "yoy"),
    ("90d", "week", "prev"), ("30d", "month", "prev"), ("custom", "week", "yoy")])
def test_the_comparison_buckets_add_up_to_the_comparison_kpi(
        session: Session, raw: pd.DataFrame, range_: str, grain: str, compare: str) -> None:
    _first, last = span(raw)
    custom = {"start": last - dt.timedelta(days=100), "end": last - dt.timedelta(days=3)} \
        if range_ == "custom" else {}
    filters = Filters(range=range_, grain=grain, compare=compare, **custom)
    period = resolve(session, EVERYTHING, filters)
    assert period.comparison is not None  # the demo data covers these comparisons
    kpi = overview.kpis(session, EVERYTHING, filters, period)["net_revenue"]["comparison"]
    trend = check_revenue_trend(session, raw, EVERYTHING, filters)
    assert float(trend["compare_net_revenue"].sum()) == pytest.approx(kpi, abs=0.01)
    # Every current bucket has its comparison, the last (partial) one included.
    assert trend["compare_bucket"].notna().all()


# --- kpi_series and revenue_trend ------------------------------------------------------------

SERIES_CASES = {
    "90d": lambda raw: range_filters(raw, "90d", "prev"),
    "12m_one_platform": lambda raw: range_filters(raw, "12m", "yoy",
                                                  platforms=tuple(platform_slugs(raw)[-1:])),
    "custom_category": lambda raw: range_filters(raw, "custom", "prev",
                                                 categories=tuple(busiest_categories(raw)[:1])),
    "all_one_sku": lambda raw: range_filters(raw, "all", "none",
                                             products=tuple(busiest_skus(raw)[5:6])),
}


@pytest.mark.parametrize("case, grain", [
    ("90d", "day"), ("90d", "week"), ("12m_one_platform", "day"), ("12m_one_platform", "week"),
    ("12m_one_platform", "month"), ("custom_category", "day"), ("custom_category", "week"),
    ("all_one_sku", "week"), ("all_one_sku", "month")])
def test_kpi_series_matches_pandas_bucket_by_bucket(session: Session, raw: pd.DataFrame,
                                                    grain: str, case: str) -> None:
    filters = replace(SERIES_CASES[case](raw), grain=grain)
    frame = check_kpi_series(session, raw, EVERYTHING, filters)
    buckets = as_dates(frame["bucket"])
    if grain == "week":
        assert {day.weekday() for day in buckets} == {0}  # weeks start on Monday
    if grain == "month":
        assert {day.day for day in buckets} == {1}


@pytest.mark.parametrize("grain", ["day", "week", "month"])
def test_kpi_series_zero_fills_buckets_without_sales(session: Session, raw: pd.DataFrame,
                                                     grain: str) -> None:
    first, _last = span(raw)
    filters = Filters(range="custom", start=first - dt.timedelta(days=75),
                      end=first + dt.timedelta(days=20), grain=grain, compare="none")
    frame = check_kpi_series(session, raw, EVERYTHING, filters)
    empty = frame.loc[[day < bucket_of(pd.Series([ts(first)]), grain).iloc[0].date()
                       for day in as_dates(frame["bucket"])]]
    assert len(empty) >= 2
    assert (empty[list(SUMMED)] == 0).all().all()
    assert empty["aov"].isna().all() and empty["margin"].isna().all()
    assert (frame["net_revenue"] > 0).any()


@pytest.mark.parametrize("grain, range_, compare", [
    ("day", "30d", "none"), ("day", "30d", "prev"), ("day", "custom", "yoy"),
    ("day", "all", "prev"), ("week", "90d", "prev"), ("week", "custom", "yoy"),
    ("week", "12m", "none"), ("month", "12m", "yoy"), ("month", "all", "prev"),
    ("month", "custom", "prev")])
def test_revenue_trend_matches_pandas_with_the_comparison_aligned(
        session: Session, raw: pd.DataFrame, grain: str, range_: str, compare: str) -> None:
    filters = replace(range_filters(raw, range_, compare), grain=grain)
    check_revenue_trend(session, raw, EVERYTHING, filters)


def test_revenue_trend_under_filters_matches_pandas(session: Session, raw: pd.DataFrame) -> None:
    chosen = FILTER_CASES["platform_categories_and_sku"](raw)
    check_revenue_trend(session, raw, EVERYTHING,
                        range_filters(raw, "90d", "none", **chosen))


def test_rolling_averages_reach_back_before_the_range_start(session: Session,
                                                            raw: pd.DataFrame) -> None:
    filters = Filters(range="30d", compare="none")
    trend = check_revenue_trend(session, raw, EVERYTHING, filters)
    start = as_dates(trend["bucket"])[0]
    for window in WINDOWS:
        days = view_lines(raw, filters, start - dt.timedelta(days=window - 1), start)
        mean = float((days["quantity"] * days["price_units"]).sum()) / SCALE / window
        assert trend[f"rolling_{window}"].iloc[0] == pytest.approx(mean, abs=0.01), window
    assert trend["rolling_30"].iloc[0] != pytest.approx(trend["net_revenue"].iloc[0], abs=0.01)


def test_rolling_averages_do_not_reach_before_the_first_day_with_data(
        session: Session, raw: pd.DataFrame) -> None:
    first, _last = span(raw)
    start = first + dt.timedelta(days=9)
    filters = Filters(range="custom", start=start, end=start + dt.timedelta(days=30),
                      compare="none")
    trend = check_revenue_trend(session, raw, EVERYTHING, filters)
    days = view_lines(raw, filters, first, start)
    ten_day_mean = float((days["quantity"] * days["price_units"]).sum()) / SCALE / 10
    assert trend["rolling_30"].iloc[0] == pytest.approx(ten_day_mean, abs=0.01)


def test_rolling_averages_are_only_given_at_day_grain(session: Session,
                                                      raw: pd.DataFrame) -> None:
    trend = check_revenue_trend(session, raw, EVERYTHING,
                                Filters(range="90d", grain="week", compare="none"))
    assert trend[[f"rolling_{window}" for window in WINDOWS]].isna().all().all()


# --- revenue by platform and category, top products ------------------------------------------

@pytest.mark.parametrize("case, compare", [
    ("none", "none"), ("none", "prev"), ("none", "yoy"),
    *[(case, "prev") for case in FILTER_CASES], ("several_platforms", "yoy")])
def test_revenue_by_platform_matches_pandas(session: Session, raw: pd.DataFrame, case: str,
                                            compare: str) -> None:
    chosen = FILTER_CASES[case](raw) if case != "none" else {}
    frame = check_revenue_by_platform(session, raw, EVERYTHING,
                                      range_filters(raw, "90d", compare, **chosen))
    if "platforms" in chosen:
        assert set(frame["slug"]) <= set(chosen["platforms"])
    if case == "none":
        assert frame["share"].sum() == pytest.approx(1.0)
        assert len(frame) == raw["slug"].nunique()


@pytest.mark.parametrize("case, range_", [
    ("none", "30d"), ("none", "custom"), ("none", "all"),
    *[(case, "90d") for case in FILTER_CASES]])
def test_revenue_by_category_matches_pandas(session: Session, raw: pd.DataFrame, case: str,
                                            range_: str) -> None:
    chosen = FILTER_CASES[case](raw) if case != "none" else {}
    check_revenue_by_category(session, raw, EVERYTHING,
                              range_filters(raw, range_, "prev", **chosen))


def add_uncategorised_sales(session: Session, raw: pd.DataFrame) -> str:
    """Add (uncommitted) a product without a category and two lines of it on the last day."""
    last = span(raw)[1]
    platform = platform_id(raw, platform_slugs(raw)[0])
    product = Product(sku="TEST-NO-CATEGORY", name="Test product without category",
                      category=None, unit_cost=None, list_price=19.99, active=True)
    session.add(product)
    session.flush()
    order = Order(order_number="TEST-NO-CATEGORY-1", ordered_at=dt.datetime.combine(
        last, dt.time(12)), sale_date=last, sale_hour=12, platform_id=platform)
    session.add(order)
    session.flush()
    for quantity, price in ((3, 19.99), (1, 17.5)):
        session.add(OrderLine(order_id=order.id, product_id=product.id, quantity=quantity,
                              unit_price=price, unit_cost=None, sale_date=last, sale_hour=12,
                              platform_id=platform))
    session.flush()
    rollups.refresh(session, last, last)  # as every writer of the facts does
    return product.sku


def test_products_without_category_are_shown_as_uncategorised(session: Session,
                                                              raw: pd.DataFrame) -> None:
    sku = add_uncategorised_sales(session, raw)
    with_it = read_raw(session.connection())
    assert with_it["category"].isna().any()
    filters = Filters(range="30d", compare="prev")
    frame = check_revenue_by_category(session, with_it, EVERYTHING, filters)
    assert UNCATEGORISED in frame["category"].tolist()
    top = check_top_products(session, with_it, EVERYTHING, replace(filters, products=(sku,)))
    assert top["category"].tolist() == [UNCATEGORISED]


@pytest.mark.parametrize("case, limit", [
    ("none", 1), ("none", 3), ("none", 10), ("none", 1000), ("one_platform", 10),
    ("one_category", 5), ("platform_categories_and_sku", 10), ("unknown_sku", 10)])
def test_top_products_are_the_highest_net_revenue_products_up_to_the_limit(
        session: Session, raw: pd.DataFrame, limit: int, case: str) -> None:
    chosen = FILTER_CASES[case](raw) if case != "none" else {}
    frame = check_top_products(session, raw, EVERYTHING,
                               range_filters(raw, "90d", "prev", **chosen), limit=limit)
    if case == "none" and limit == 1000:
        assert frame["share"].sum() == pytest.approx(1.0)


# --- scope and empty views -------------------------------------------------------------------

def scoped(raw: pd.DataFrame) -> tuple[Scope, str, str]:
    """A scope limited to one platform, its slug, and the slug of another platform."""
    slugs = platform_slugs(raw)
    inside, outside = slugs[1], slugs[0]
    return Scope(user_id=None, platform_ids=frozenset({platform_id(raw, inside)})), inside, outside


@pytest.mark.parametrize("service", list(CHECKS))
def test_scope_limited_to_one_platform_sees_exactly_that_platform(
        session: Session, raw: pd.DataFrame, service: str) -> None:
    scope, inside, _outside = scoped(raw)
    filters = Filters(range="90d", compare="prev")
    period = resolve(session, scope, filters)
    assert (period.first_data, period.end) == span(raw, scope)
    result = CHECKS[service](session, raw, scope, filters)
    if service == "revenue_by_platform":
        assert result["slug"].tolist() == [inside]
    if service == "kpis":  # the same numbers as filtering everything to that platform
        alone = check_kpis(session, raw, EVERYTHING, Filters(
            range="custom", start=period.start, end=period.end, compare="prev",
            platforms=(inside,)))
        for key in KPI_KEYS:
            assert_value(key, result[key]["current"], alone[key]["current"], "scoped")
            assert_value(key, result[key]["comparison"], alone[key]["comparison"], "scoped")


@pytest.mark.parametrize("service", list(CHECKS))
def test_platform_outside_the_scope_gives_nothing(session: Session, raw: pd.DataFrame,
                                                  service: str) -> None:
    scope, _inside, outside = scoped(raw)
    filters = Filters(range="90d", compare="prev", platforms=(outside,))
    assert_nothing(service, CHECKS[service](session, raw, scope, filters))


@pytest.mark.parametrize("service", list(CHECKS))
def test_scope_keeps_only_its_platform_when_the_filter_names_others_too(
        session: Session, raw: pd.DataFrame, service: str) -> None:
    scope, inside, outside = scoped(raw)
    filters = Filters(range="30d", compare="yoy", platforms=(outside, inside))
    result = CHECKS[service](session, raw, scope, filters)
    if service == "revenue_by_platform":
        assert result["slug"].tolist() == [inside]


@pytest.mark.parametrize("service", list(CHECKS))
def test_range_without_data_gives_zeros_not_errors(session: Session, raw: pd.DataFrame,
                                                   service: str) -> None:
    first, _last = span(raw)
    filters = Filters(range="custom", start=first - dt.timedelta(days=120),
                      end=first - dt.timedelta(days=60), compare="prev")
    assert_nothing(service, CHECKS[service](session, raw, EVERYTHING, filters))


@pytest.mark.parametrize("service", list(CHECKS))
def test_unknown_product_gives_zeros_not_errors(session: Session, raw: pd.DataFrame,
                                                service: str) -> None:
    filters = Filters(range="30d", compare="yoy", products=("NO-SUCH-SKU",))
    assert_nothing(service, CHECKS[service](session, raw, EVERYTHING, filters))
