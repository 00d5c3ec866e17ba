"""Every Sales service, on SQLite and PostgreSQL, checked against pandas over the raw lines.

Expected values come from the rows of `order_lines` (with their order's country, product and
platform) and SPEC §3 applied in pandas (`expected_metrics` of the Overview tests); nothing
here calls the services' helpers to compute an expected value.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from models import Order, OrderLine, Product
from services import rollups
from services import sales_analysis as service
from services.filters import Filters, Period
from services.sales import resolve
from services.scope import Scope
from tests.conftest import TestDatabase
from tests.services.test_overview import (
    EVERYTHING,
    SCALE,
    WITHOUT_CUSTOMERS,
    as_dates,
    assert_columns,
    assert_ranked,
    bucket_of,
    bucket_starts,
    busiest_categories,
    busiest_skus,
    comparison_covered,
    custom_dates,
    expected_comparison,
    floats,
    memo,
    platform_id,
    platform_slugs,
    reindexed,
    span,
    ts,
    view_lines,
)
from tests.services.test_overview import expected_metrics as metrics_by

RAW_SQL = sa.text("""
    SELECT l.order_id, l.quantity, l.unit_price, l.unit_cost, l.sale_date, l.sale_hour,
           l.platform_id, l.customer_id, p.sku, p.name AS product_name, p.category, p.active,
           f.slug, f.name AS platform_name, f.kind, o.country, o.region AS order_region,
           o.state, o.city
    FROM order_lines AS l
    JOIN products AS p ON p.id = l.product_id
    JOIN platforms AS f ON f.id = l.platform_id
    JOIN orders AS o ON o.id = l.order_id
""")
REGIONS_SQL = sa.text("SELECT country, region FROM customers")
ADDITIVE = ("net_revenue", "gross_sales", "orders", "units")


def read_lines(connection: sa.Connection) -> pd.DataFrame:
    """Every sale line as stored, with exact money in integer units of 1/10 000."""
    frame = pd.read_sql(RAW_SQL, connection)
    frame["day"] = pd.to_datetime(frame["sale_date"].astype(str).str[:10],
                                  format="%Y-%m-%d").astype("datetime64[ns]")
    frame["quantity"] = frame["quantity"].astype("int64")
    frame["sale_hour"] = frame["sale_hour"].astype("int64")
    frame["unit_price"] = pd.to_numeric(frame["unit_price"]).astype(float)
    frame["unit_cost"] = pd.to_numeric(frame["unit_cost"]).astype(float)
    frame["price_units"] = (frame["unit_price"] * SCALE).round().astype("int64")
    frame["cost_units"] = (frame["unit_cost"] * SCALE).round().fillna(0).astype("int64")
    return frame


_LINES: dict[str, pd.DataFrame] = {}


def lines_of(database: TestDatabase) -> pd.DataFrame:
    """The raw lines of a test database (read once per database)."""
    if database.name not in _LINES:
        with database.engine.connect() as connection:
            _LINES[database.name] = read_lines(connection)
    return _LINES[database.name]


@pytest.fixture
def raw(database: TestDatabase) -> pd.DataFrame:
    """The raw lines of the parametrised database."""
    return lines_of(database)


def in_country(filters: Filters, country: str) -> Filters:
    """The filters narrowed to an order country ('' for all), as the Sales page passes them."""
    return replace(filters, country=country)


def sales_lines(raw: pd.DataFrame, filters: Filters, start: dt.date, end: dt.date,
                country: str = "", scope: Scope = EVERYTHING) -> pd.DataFrame:
    """The lines a Sales panel sees: the view's lines, then the page's country."""
    lines = view_lines(raw, filters, start, end, scope)
    return lines.loc[lines["country"] == country] if country else lines


def busiest_countries(raw: pd.DataFrame) -> list[str]:
    """Countries, most lines first."""
    return memo(raw, "busiest countries", lambda: raw["country"].dropna().value_counts()
                .sort_index().sort_values(ascending=False, kind="stable").index.tolist())


def metric_values(frame: pd.DataFrame, metric: str) -> pd.Series:
    """A trend metric from summed columns (AOV = gross sales / orders)."""
    if metric == "aov":
        return (frame["gross_sales"] / frame["orders"]).where(frame["orders"] > 0)
    return frame[metric].astype(float)


def bucket_last_day(start: pd.Timestamp, grain: str) -> pd.Timestamp:
    """The last day of the bucket starting at `start`."""
    if grain == "week":
        return start + pd.Timedelta(days=6)
    if grain == "month":
        return start + pd.offsets.MonthEnd(0)
    return start


def metric_of(lines: pd.DataFrame, metric: str) -> float:
    """One metric over some lines."""
    totals = reindexed(metrics_by(lines, pd.Series(0, index=lines.index)), pd.Index([0]))
    return float(metric_values(totals, metric).iloc[0])


def growth(value: float, base: float | None) -> float:
    """Relative change, NaN when the base is missing or zero."""
    if base is None or np.isnan(base) or base == 0 or np.isnan(value):
        return np.nan
    return (value - base) / abs(base)


# --- the metric over time ----------------------------------------------------------------------

def check_trend(session: Session, raw: pd.DataFrame, filters: Filters, metric: str,
                country: str = "", scope: Scope = EVERYTHING) -> pd.DataFrame:
    """`metric_trend` bucket by bucket: values, comparison, rolling means and both growths."""
    period = resolve(session, scope, filters)
    trend = service.metric_trend(session, scope, in_country(filters, country), period, metric)
    grain = filters.grain
    starts = bucket_starts(period.start, period.end, grain)
    lines = sales_lines(raw, filters, period.start, period.end, country, scope)
    current = reindexed(metrics_by(lines, bucket_of(lines["day"], grain)), starts)
    assert as_dates(trend["bucket"]) == [day.date() for day in starts]
    expected = metric_values(current, metric)
    tolerance = {"abs": 0.01} if metric == "net_revenue" else {"rel": 1e-9, "abs": 1e-9}
    assert floats(trend["value"]) == pytest.approx(floats(expected), nan_ok=True, **tolerance)
    complete = [start >= ts(period.start) and bucket_last_day(start, grain) <= ts(period.end)
                for start in starts]
    assert trend["complete"].tolist() == complete

    first = span(raw, scope)[0]

    def base(start: pd.Timestamp) -> float | None:
        if start < ts(first):
            return None
        return metric_of(sales_lines(raw, filters, start.date(),
                                     bucket_last_day(start, grain).date(), country, scope), metric)

    previous = [start - (pd.offsets.MonthBegin(1) if grain == "month" else
                         pd.Timedelta(days=7 if grain == "week" else 1)) for start in starts]
    year_ago = [start - (pd.DateOffset(years=1) if grain == "month" else pd.Timedelta(days=364))
                for start in starts]
    pop = [growth(value, base(prev)) if done else np.nan
           for value, prev, done in zip(expected, previous, complete, strict=True)]
    yoy = [growth(value, base(back)) if done else np.nan
           for value, back, done in zip(expected, year_ago, complete, strict=True)]
    assert floats(trend["pop_growth"]) == pytest.approx(pop, nan_ok=True, rel=1e-6, abs=1e-9)
    assert floats(trend["yoy_growth"]) == pytest.approx(yoy, nan_ok=True, rel=1e-6, abs=1e-9)
    assert not np.isinf(floats(trend["pop_growth"])).any()

    compare_buckets, compare = expected_comparison(
        filters, period, starts, first,
        lambda low, high: metric_of(sales_lines(raw, filters, low, high, country, scope),
                                    metric))
    assert as_dates(trend["compare_bucket"]) == compare_buckets
    assert floats(trend["compare_value"]) == pytest.approx(compare, nan_ok=True, **tolerance)
    if grain == "day":
        check_rolling(raw, filters, period, metric, country, scope, trend, first)
    else:
        assert trend[["rolling_3", "rolling_7", "rolling_30"]].isna().all().all()
    return trend


def check_rolling(raw: pd.DataFrame, filters: Filters, period: Period, metric: str,
                  country: str, scope: Scope, trend: pd.DataFrame, first: dt.date) -> None:
    """Trailing means over days that reach before the range but not before the data."""
    lead_in = max(period.start - dt.timedelta(days=29), min(first, period.start))
    days = bucket_starts(lead_in, period.end, "day")
    lines = sales_lines(raw, filters, lead_in, period.end, country, scope)
    daily = reindexed(metrics_by(lines, lines["day"]), days)
    for window in (3, 7, 30):
        expected = []
        for position, day in enumerate(days):
            if day < ts(period.start):
                continue
            chunk = daily.iloc[max(0, position - window + 1):position + 1]
            if metric == "aov":
                orders = chunk["orders"].sum()
                expected.append(chunk["gross_sales"].sum() / orders if orders else np.nan)
            else:
                expected.append(float(chunk[metric].mean()))
        assert floats(trend[f"rolling_{window}"]) == pytest.approx(
            expected, nan_ok=True, rel=1e-9, abs=0.01), window


@pytest.mark.parametrize("grain, metric, range_, compare", [
    ("day", "net_revenue", "30d", "prev"), ("day", "aov", "90d", "yoy"),
    ("week", "orders", "90d", "prev"), ("week", "net_revenue", "custom", "yoy"),
    ("month", "units", "12m", "yoy"), ("month", "net_revenue", "all", "prev"),
    ("month", "aov", "custom", "none")])
def test_metric_trend_matches_pandas_with_growth_rates(session: Session, raw: pd.DataFrame,
                                                       grain: str, metric: str, range_: str,
                                                       compare: str) -> None:
    filters = Filters(range=range_, grain=grain, compare=compare)
    if range_ == "custom":
        start, end = custom_dates(raw)
        filters = replace(filters, start=start, end=end)
    trend = check_trend(session, raw, filters, metric)
    assert trend["pop_growth"].notna().any()
    if range_ in ("12m", "custom") or (range_ == "90d" and grain == "day"):
        assert trend["yoy_growth"].notna().any()  # the demo data has two years


def test_growth_across_empty_periods_is_missing_not_infinite(session: Session,
                                                             raw: pd.DataFrame) -> None:
    # A rarely sold product by day: many days without sales, so many zero bases.
    rare = busiest_skus(raw)[-12]
    filters = Filters(range="90d", grain="day", compare="none", products=(rare,))
    trend = check_trend(session, raw, filters, "net_revenue")
    zero_base = trend["previous_value"] == 0
    assert zero_base.any() and trend.loc[zero_base, "pop_growth"].isna().all()
    # Before the first day of data there is no base at all; from the first day, growth.
    first = span(raw)[0]
    start = first - dt.timedelta(days=40)
    early = Filters(range="custom", start=start, end=first + dt.timedelta(days=100),
                    grain="month", compare="yoy")
    months = check_trend(session, raw, early, "orders")
    assert months["yoy_growth"].isna().all()
    assert months["pop_growth"].notna().sum() >= 1


@pytest.mark.parametrize("grain", ["day", "week"])
def test_metric_trend_for_one_country_and_platform(session: Session, raw: pd.DataFrame,
                                                   grain: str) -> None:
    country = busiest_countries(raw)[2]
    filters = Filters(range="90d", grain=grain, compare="prev",
                      platforms=tuple(platform_slugs(raw)[:2]))
    trend = check_trend(session, raw, filters, "net_revenue", country)
    everywhere = service.metric_trend(session, EVERYTHING, filters,
                                      resolve(session, EVERYTHING, filters))
    assert trend["value"].sum() < everywhere["value"].sum()


# --- weekday and hour --------------------------------------------------------------------------

def expected_weekdays(lines: pd.DataFrame, start: dt.date, end: dt.date) -> pd.DataFrame:
    """Metrics per weekday (0 = Monday), the number of such days and per-day averages."""
    frame = reindexed(metrics_by(lines, lines["day"].dt.day_of_week), pd.Index(range(7)))
    days = pd.Series(pd.date_range(start, end, freq="D").day_of_week).value_counts()
    frame["days"] = days.reindex(range(7), fill_value=0)
    frame["per_day_net_revenue"] = frame["net_revenue"] / frame["days"]
    total = frame["net_revenue"].sum()
    frame["share"] = frame["net_revenue"] / total
    frame["index"] = frame["per_day_net_revenue"] / (total / ((end - start).days + 1))
    return frame


@pytest.mark.parametrize("range_, country_rank", [("30d", None), ("90d", 0), ("custom", 4)])
def test_sales_by_weekday_match_pandas(session: Session, raw: pd.DataFrame, range_: str,
                                       country_rank: int | None) -> None:
    country = busiest_countries(raw)[country_rank] if country_rank is not None else ""
    filters = Filters(range=range_, compare="prev")
    if range_ == "custom":
        filters = replace(filters, start=custom_dates(raw)[0], end=custom_dates(raw)[1])
    period = resolve(session, EVERYTHING, filters)
    frame = service.by_weekday(session, EVERYTHING, in_country(filters, country), period)
    lines = sales_lines(raw, filters, period.start, period.end, country)
    expected = expected_weekdays(lines, period.start, period.end)
    assert frame["day"].tolist() == ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday",
                                     "Saturday", "Sunday"]
    assert frame["days"].tolist() == expected["days"].tolist()
    assert frame["days"].sum() == period.days
    assert_columns(frame, expected, WITHOUT_CUSTOMERS, "by_weekday")
    for column in ("per_day_net_revenue", "share", "index"):
        assert floats(frame[column]) == pytest.approx(floats(expected[column]), rel=1e-9)
    best = service.best_day(frame)
    top = expected["per_day_net_revenue"].round(4)
    assert best["days"] == [frame["day"][i] for i in top.index[top == top.max()]]
    assert best["share"] == pytest.approx(float(expected.loc[top == top.max(), "share"].sum()))


def test_the_planted_best_day_is_found_in_words(session: Session, raw: pd.DataFrame) -> None:
    filters = Filters(range="all", compare="none")
    period = resolve(session, EVERYTHING, filters)
    best = service.best_day(service.by_weekday(session, EVERYTHING, filters, period))
    assert best["days"] == ["Sunday"]  # docs/demo-data.md: Sunday is planted as the best day
    assert best["text"].startswith("Sundays bring ")
    assert f"{best['index']:.1f}× the average day" in best["text"]


def add_sales(session: Session, raw: pd.DataFrame, sku: str,
              lines: list[tuple[dt.date, int, float, float | None, str | None]]) -> str:
    """Add (uncommitted) a product and one order per (day, quantity, price, cost, country)."""
    platform = platform_id(raw, platform_slugs(raw)[0])
    product = Product(sku=sku, name=f"Test product {sku}", category="Test category",
                      unit_cost=None, list_price=10.0, active=True)
    session.add(product)
    session.flush()
    for number, (day, quantity, price, cost, country) in enumerate(lines):
        order = Order(order_number=f"{sku}-{number}", ordered_at=dt.datetime.combine(
            day, dt.time(12)), sale_date=day, sale_hour=12, platform_id=platform,
            country=country)
        session.add(order)
        session.flush()
        session.add(OrderLine(order_id=order.id, product_id=product.id, quantity=quantity,
                              unit_price=price, unit_cost=cost, sale_date=day, sale_hour=12,
                              platform_id=platform, country=country))
    session.flush()
    # Like every writer of the facts, bring the rollups up to date in the same transaction.
    rollups.refresh(session, min(line[0] for line in lines), max(line[0] for line in lines))
    return sku


def test_best_day_names_every_tied_weekday(session: Session, raw: pd.DataFrame) -> None:
    last = span(raw)[1]
    monday = last - dt.timedelta(days=last.weekday() + 7)
    sku = add_sales(session, raw, "TEST-TIE", [(monday, 2, 12.5, None, "Germany"),
                                               (monday + dt.timedelta(days=3), 1, 25.0, None,
                                                "Germany"),
                                               (monday + dt.timedelta(days=4), 1, 5.0, None,
                                                "Germany")])
    filters = Filters(range="custom", start=monday, end=monday + dt.timedelta(days=6),
                      compare="none", products=(sku,))
    period = resolve(session, EVERYTHING, filters)
    frame = service.by_weekday(session, EVERYTHING, filters, period)
    best = service.best_day(frame)
    assert best["days"] == ["Monday", "Thursday"]
    assert best["share"] == pytest.approx(50 / 55)
    assert best["text"].startswith("Mondays and Thursdays tie for the best day")
    nothing = service.best_day(service.by_weekday(
        session, EVERYTHING, replace(filters, products=("NO-SUCH-SKU",)), period))
    assert nothing["days"] == [] and nothing["text"].startswith("No best day")


def test_hour_by_weekday_has_every_cell_and_matches_pandas(session: Session,
                                                           raw: pd.DataFrame) -> None:
    country = busiest_countries(raw)[1]
    filters = Filters(range="90d", compare="none", categories=tuple(busiest_categories(raw)[:2]))
    period = resolve(session, EVERYTHING, filters)
    cells = service.by_weekday_hour(session, EVERYTHING, in_country(filters, country), period)
    lines = sales_lines(raw, filters, period.start, period.end, country)
    index = pd.MultiIndex.from_product([range(7), range(24)])
    key = pd.Series(list(zip(lines["day"].dt.day_of_week, lines["sale_hour"], strict=True)),
                    index=lines.index)
    expected = reindexed(metrics_by(lines, key), pd.Index(list(index)))
    assert len(cells) == 168
    assert list(zip(cells["weekday"], cells["hour"], strict=True)) == list(index)
    assert_columns(cells, expected, ("net_revenue", "gross_sales", "returns", "orders", "units",
                                     "aov"), "by_weekday_hour")


# --- geography ---------------------------------------------------------------------------------

def region_map(database: TestDatabase) -> dict[str, str]:
    """Region of each country whose customers all have the same one (the others have none)."""
    customers = pd.read_sql(REGIONS_SQL, database.engine).dropna()
    regions = customers.groupby("country")["region"].agg(["nunique", "first"])
    return regions.loc[regions["nunique"] == 1, "first"].to_dict()


def check_countries(session: Session, raw: pd.DataFrame, database: TestDatabase,
                    filters: Filters, scope: Scope = EVERYTHING) -> pd.DataFrame:
    """`by_country`: per country (missing as Unknown) metrics and share; no region (a
    country's orders may lie in several)."""
    period = resolve(session, scope, filters)
    frame = service.by_country(session, scope, filters, period)
    lines = view_lines(raw, filters, period.start, period.end, scope)
    expected = metrics_by(lines, lines["country"].fillna("Unknown"))
    assert_ranked(frame, "country", expected, "by_country")
    assert "region" not in frame.columns
    total = expected["net_revenue"].sum()
    assert floats(frame["share"]) == pytest.approx(
        [value / total for value in frame["net_revenue"]], rel=1e-9)
    return frame


@pytest.mark.parametrize("case", ["all", "one_platform", "category"])
def test_revenue_by_country_matches_pandas(session: Session, raw: pd.DataFrame,
                                           database: TestDatabase, case: str) -> None:
    chosen = {"all": {}, "one_platform": {"platforms": tuple(platform_slugs(raw)[:1])},
              "category": {"categories": tuple(busiest_categories(raw)[:1])}}[case]
    frame = check_countries(session, raw, database, Filters(range="90d", **chosen))
    assert frame["share"].sum() == pytest.approx(1.0)


def test_orders_without_a_country_are_shown_as_unknown(session: Session, raw: pd.DataFrame,
                                                       database: TestDatabase) -> None:
    last = span(raw)[1]
    add_sales(session, raw, "TEST-NOWHERE", [(last, 3, 9.99, 4.0, None),
                                             (last, 1, 9.99, None, None)])
    with_it = read_lines(session.connection())
    assert with_it["country"].isna().any()
    frame = check_countries(session, with_it, database, Filters(range="30d"))
    unknown = frame.loc[frame["country"] == "Unknown"]
    assert len(unknown) == 1 and unknown["country_key"].isna().all()
    assert unknown["net_revenue"].iloc[0] == pytest.approx(39.96)
    assert frame["share"].sum() == pytest.approx(1.0)
    period = resolve(session, EVERYTHING, Filters(range="30d"))
    regions = service.by_region(session, EVERYTHING, Filters(range="30d"), period)
    assert regions.loc[regions["region"] == "Unknown", "net_revenue"].iloc[0] == \
        pytest.approx(39.96)
    assert regions["net_revenue"].sum() == pytest.approx(frame["net_revenue"].sum(), abs=0.01)


def test_revenue_by_region_matches_pandas(session: Session, raw: pd.DataFrame,
                                          database: TestDatabase) -> None:
    filters = Filters(range="12m", platforms=tuple(platform_slugs(raw)[1:3]))
    period = resolve(session, EVERYTHING, filters)
    frame = service.by_region(session, EVERYTHING, filters, period)
    lines = view_lines(raw, filters, period.start, period.end)
    regions = region_map(database)
    region = lines["order_region"].fillna(lines["country"].map(regions)).fillna("Unknown")
    expected = metrics_by(lines, region)
    assert_ranked(frame, "region", expected, "by_region")
    assert set(frame["region"]) == {"North America", "Europe", "APAC", "Latin America"}


def test_sorted_countries_orders_the_table_as_chosen(session: Session, raw: pd.DataFrame,
                                                     database: TestDatabase) -> None:
    frame = check_countries(session, raw, database, Filters(range="90d"))
    by_orders = service.sorted_countries(frame, "orders")
    assert by_orders["orders"].is_monotonic_decreasing
    assert service.sorted_countries(frame, "country")["country"].tolist() == \
        sorted(frame["country"])
    assert service.sorted_countries(frame, "nonsense")["net_revenue"].is_monotonic_decreasing


def test_country_options_are_limited_by_scope(session: Session, raw: pd.DataFrame) -> None:
    slug = platform_slugs(raw)[-1]
    scope = Scope(platform_ids=frozenset({platform_id(raw, slug)}))
    visible = service.country_options(session, scope)
    assert visible == sorted(raw.loc[raw["slug"] == slug, "country"].dropna().unique())
    assert service.country_options(session, EVERYTHING) == \
        sorted(raw["country"].dropna().unique())


# --- platforms and channels --------------------------------------------------------------------

@pytest.mark.parametrize("compare, country_rank", [("prev", None), ("yoy", 0), ("none", 3)])
def test_platforms_and_channels_match_pandas(session: Session, raw: pd.DataFrame, compare: str,
                                             country_rank: int | None) -> None:
    country = busiest_countries(raw)[country_rank] if country_rank is not None else ""
    filters = Filters(range="90d", compare=compare)
    period = resolve(session, EVERYTHING, filters)
    lines = sales_lines(raw, filters, period.start, period.end, country)
    before = (sales_lines(raw, filters, period.compare_start, period.compare_end, country)
              if comparison_covered(raw, EVERYTHING, period) else None)
    for key, column, result in (
            ("slug", "slug", service.by_platform(session, EVERYTHING,
                                                 in_country(filters, country), period)),
            ("channel", "kind", service.by_channel(session, EVERYTHING,
                                                   in_country(filters, country), period))):
        expected = metrics_by(lines, lines[column])
        assert_ranked(result, key, expected, f"by {key}")
        assert result["share"].sum() == pytest.approx(1.0)
        previous = [np.nan] * len(result)
        if before is not None:
            sums = (before["quantity"] * before["price_units"]).groupby(before[column]).sum()
            previous = [float(sums.get(k, 0)) / SCALE for k in result[key]]
        assert floats(result["compare_net_revenue"]) == pytest.approx(previous, abs=0.01,
                                                                      nan_ok=True)


def test_a_limited_scope_sees_only_its_platform(session: Session, raw: pd.DataFrame,
                                                database: TestDatabase) -> None:
    slug = platform_slugs(raw)[1]
    scope = Scope(platform_ids=frozenset({platform_id(raw, slug)}))
    filters = Filters(range="90d", platforms=(platform_slugs(raw)[0], slug))
    period = resolve(session, scope, filters)
    assert service.by_platform(session, scope, filters, period)["slug"].tolist() == [slug]
    check_trend(session, raw, filters, "orders", scope=scope)
    check_countries(session, raw, database, filters, scope)


# --- returns and cancellations -----------------------------------------------------------------

def expected_returns(raw: pd.DataFrame, lines: pd.DataFrame, start: dt.date,
                     end: dt.date) -> pd.Series:
    """Returns split into cancellations (negative lines on an order with sales in the range)
    and returns on return-only orders, with rates."""
    in_range = raw.loc[raw["day"].between(ts(start), ts(end)) & (raw["quantity"] > 0)]
    sold_orders = set(in_range["order_id"])
    value = lines["quantity"] * lines["price_units"]
    negative = lines["quantity"] < 0
    cancelled = negative & lines["order_id"].isin(sold_orders)
    gross = float(value[lines["quantity"] > 0].sum()) / SCALE
    returns = float(-value[negative].sum()) / SCALE
    # Units sold are those sold at a price above zero (SPEC §3).
    units = int(lines.loc[(lines["quantity"] > 0) & (lines["price_units"] > 0), "quantity"].sum())
    returned_units = int(-lines.loc[negative, "quantity"].sum())
    return pd.Series({
        "returns": returns, "cancelled": float(-value[cancelled].sum()) / SCALE,
        "returned": float(-value[negative & ~cancelled].sum()) / SCALE, "gross_sales": gross,
        "return_rate": returns / gross if gross else np.nan, "returned_units": returned_units,
        "units": units, "unit_return_rate": returned_units / units if units else np.nan,
        "return_orders": lines.loc[negative, "order_id"].nunique()})


@pytest.mark.parametrize("range_, country_rank", [("90d", None), ("all", None), ("12m", 1)])
def test_returns_and_cancellations_match_pandas(session: Session, raw: pd.DataFrame,
                                                range_: str, country_rank: int | None) -> None:
    country = busiest_countries(raw)[country_rank] if country_rank is not None else ""
    filters = Filters(range=range_)
    period = resolve(session, EVERYTHING, filters)
    lines = sales_lines(raw, filters, period.start, period.end, country)
    summary = service.returns_summary(session, EVERYTHING, in_country(filters, country), period)
    expected = expected_returns(raw, lines, period.start, period.end)
    for key, value in expected.items():
        assert summary[key] == pytest.approx(value, abs=0.01, rel=1e-9), key
    assert summary["cancelled"] > 0 and summary["returned"] > 0

    categories = service.returns_by_category(session, EVERYTHING,
                                             in_country(filters, country), period)
    for row in categories.itertuples():
        wanted = expected_returns(raw, lines.loc[lines["category"] == row.category],
                                  period.start, period.end)
        for key in ("returns", "cancelled", "gross_sales", "returned_units", "units"):
            assert getattr(row, key) == pytest.approx(wanted[key], abs=0.01), (row.category, key)
    assert categories["return_rate"].is_monotonic_decreasing
    if range_ == "all":  # docs/demo-data.md: Apparel returns the most, Beauty the least
        assert categories["category"].iloc[0] == "Apparel"
        assert categories["category"].iloc[-1] == "Beauty"

    top = service.top_returned_products(session, EVERYTHING, in_country(filters, country), period)
    value = lines["quantity"] * lines["price_units"]
    by_sku = (-value.where(lines["quantity"] < 0, 0)).groupby(lines["sku"]).sum() / SCALE
    by_sku = by_sku[by_sku > 0].sort_values(ascending=False)
    assert len(top) == min(10, len(by_sku))
    assert top["returns"].tolist() == pytest.approx(by_sku.iloc[:len(top)].tolist(), abs=0.01)
    left_out = by_sku.iloc[len(top):]
    assert not len(left_out) or top["returns"].min() >= left_out.max() - 0.005


def test_weekdays_of_a_period_without_days_have_no_index(session: Session) -> None:
    # A database without sales (a pipeline-only business) can resolve to no days at all.
    day = dt.date(2026, 1, 1)
    empty = Period(day, day - dt.timedelta(days=1), None, None, day, "no data")
    weekdays = service.by_weekday(session, Scope.everything(), Filters(compare="none"), empty)
    assert weekdays["net_revenue"].sum() == 0 and weekdays["index"].isna().all()
    assert service.best_day(weekdays)["days"] == []
