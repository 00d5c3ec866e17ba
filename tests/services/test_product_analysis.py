"""Every Products service, on SQLite and PostgreSQL, checked against pandas over the raw rows.

The catalogue and the media posts are read straight from their tables; sales from the raw
lines (see `tests/services/test_sales_analysis.py`), with SPEC §3 applied in pandas.
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from services import product_analysis as service
from services.errors import NotFound
from services.filters import Filters, Period
from services.sales import resolve
from services.scope import Scope
from tests.conftest import TestDatabase
from tests.services.test_overview import (
    EVERYTHING,
    METRICS,
    WITHOUT_CUSTOMERS,
    assert_columns,
    busiest_categories,
    busiest_skus,
    floats,
    known_cost_sku,
    platform_id,
    platform_slugs,
    reindexed,
    span,
    ts,
    unknown_cost_sku,
    view_lines,
)
from tests.services.test_overview import expected_metrics as metrics_by
from tests.services.test_sales_analysis import add_sales, lines_of, read_lines

CATALOGUE_SQL = sa.text("SELECT sku, name, category, brand, list_price, unit_cost, active "
                        "FROM products")
POSTS_SQL = sa.text("""
    SELECT m.id, p.sku, m.post_date, m.post_type, f.slug, f.name AS platform, m.platform_id,
           m.impressions, m.likes
    FROM media_posts AS m JOIN products AS p ON p.id = m.product_id
    JOIN platforms AS f ON f.id = m.platform_id
""")


@pytest.fixture
def raw(database: TestDatabase) -> pd.DataFrame:
    """The raw lines of the parametrised database."""
    return lines_of(database)


def catalogue(session: Session) -> pd.DataFrame:
    """The products table as stored (category missing as 'Uncategorised')."""
    frame = pd.read_sql(CATALOGUE_SQL, session.connection())
    frame["category"] = frame["category"].fillna("Uncategorised")
    frame["active"] = frame["active"].astype(bool)
    return frame.set_index("sku")


def chosen(products: pd.DataFrame, filters: Filters) -> pd.DataFrame:
    """Products picked by the SKU and category filters (all without them)."""
    if not (filters.products or filters.categories):
        return products
    return products.loc[products.index.isin(filters.products)
                        | products["category"].isin(filters.categories)]


def expected_performance(session: Session, raw: pd.DataFrame, filters: Filters,
                         start: dt.date, end: dt.date, scope: Scope = EVERYTHING) -> pd.DataFrame:
    """Every chosen product with every metric in the range, zero when unsold."""
    lines = view_lines(raw, filters, start, end, scope)
    products = chosen(catalogue(session), filters)
    frame = reindexed(metrics_by(lines, lines["sku"]), products.index)
    frame["avg_price"] = (frame["gross_sales"] / frame["units"]).where(frame["units"] > 0)
    frame["share"] = frame["net_revenue"] / frame["net_revenue"].sum()
    return frame.join(products)


def check_performance(session: Session, raw: pd.DataFrame, filters: Filters,
                      scope: Scope = EVERYTHING) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`product_performance` has every chosen product, each equal to pandas."""
    period = resolve(session, scope, filters)
    frame = service.product_performance(session, scope, filters, period)
    expected = expected_performance(session, raw, filters, period.start, period.end, scope)
    assert sorted(frame["sku"]) == sorted(expected.index)
    expected = expected.loc[frame["sku"]]
    assert_columns(frame, expected, WITHOUT_CUSTOMERS, "product_performance")
    for column in ("avg_price", "share"):
        assert floats(frame[column]) == pytest.approx(floats(expected[column]), nan_ok=True,
                                                      rel=1e-9)
    assert frame["name"].tolist() == expected["name"].tolist()
    return frame, expected


@pytest.mark.parametrize("case", ["all", "platform", "category_and_sku"])
def test_product_performance_matches_pandas_including_unsold_products(
        session: Session, raw: pd.DataFrame, case: str) -> None:
    extra = {"all": {}, "platform": {"platforms": tuple(platform_slugs(raw)[2:4])},
             "category_and_sku": {"categories": tuple(busiest_categories(raw)[:1]),
                                  "products": tuple(busiest_skus(raw)[:1])}}[case]
    frame, _ = check_performance(session, raw, Filters(range="30d", **extra))
    assert (frame["units"] == 0).any()  # unsold products are listed too
    assert frame["share"].sum() == pytest.approx(1.0)


def test_best_sellers_are_the_most_units_sold(session: Session, raw: pd.DataFrame) -> None:
    frame, expected = check_performance(session, raw, Filters(range="90d"))
    best = service.best_sellers(frame)
    wanted = expected.loc[expected["units"] > 0].reset_index(names="sku").sort_values(
        ["units", "net_revenue", "sku"], ascending=[False, False, True]).head(10)
    assert best["sku"].tolist() == wanted["sku"].tolist()
    assert best["units"].tolist() == wanted["units"].astype(int).tolist()


def test_most_profitable_with_partly_unknown_costs(session: Session, raw: pd.DataFrame) -> None:
    known, unknown = known_cost_sku(raw), unknown_cost_sku(raw)
    last = span(raw)[1]
    # Lines of a costed product whose cost snapshot is unknown: its profit covers the rest.
    add_sales(session, raw, "TEST-HALF-COST", [(last, 2, 40.0, 10.0, "Germany"),
                                               (last, 1, 40.0, None, "Germany")])
    with_it = read_lines(session.connection())
    filters = Filters(range="30d", products=(known, unknown, "TEST-HALF-COST"))
    frame, expected = check_performance(session, with_it, filters)
    half = frame.set_index("sku").loc["TEST-HALF-COST"]
    assert half["gross_profit"] == pytest.approx(2 * (40 - 10))
    assert half["cost_coverage"] == pytest.approx(80 / 120)
    assert np.isnan(frame.set_index("sku").loc[unknown, "gross_profit"])

    top = service.most_profitable(frame)
    assert unknown not in top["sku"].tolist()
    costed = expected.loc[expected["gross_profit"].notna()].sort_values(
        "gross_profit", ascending=False)
    assert top["sku"].tolist() == costed.index.tolist()
    assert top["gross_profit"].tolist() == pytest.approx(costed["gross_profit"].tolist(),
                                                         abs=0.01)

    coverage = service.profit_coverage(frame)
    lines = view_lines(with_it, filters, *_range(session, filters))
    value = lines["quantity"] * lines["price_units"]
    assert coverage["coverage"] == pytest.approx(
        float(value[lines["unit_cost"].notna()].sum()) / float(value.sum()), rel=1e-9)
    assert 0 < coverage["coverage"] < 1
    assert coverage["unknown_cost_skus"] == ([unknown] if unknown in
                                            set(lines["sku"]) else [])


def _range(session: Session, filters: Filters) -> tuple[dt.date, dt.date]:
    period = resolve(session, EVERYTHING, filters)
    return period.start, period.end


def test_revenue_share_by_product_adds_up(session: Session, raw: pd.DataFrame) -> None:
    frame, expected = check_performance(session, raw, Filters(range="90d"))
    share = service.revenue_share_by_product(frame)
    ranked = expected.loc[expected["net_revenue"] != 0].sort_values(
        "net_revenue", ascending=False)
    assert share["sku"].tolist()[:10] == ranked.index[:10].tolist()
    assert share["sku"].iloc[-1] is None
    assert share["name"].iloc[-1] == f"Other products ({len(ranked) - 10})"
    assert share["net_revenue"].iloc[-1] == pytest.approx(
        ranked["net_revenue"].iloc[10:].sum(), abs=0.01)
    assert share["share"].sum() == pytest.approx(1.0)


def test_price_vs_margin_is_per_costed_sold_product(session: Session, raw: pd.DataFrame) -> None:
    frame, expected = check_performance(session, raw, Filters(range="12m"))
    points = service.price_vs_margin(frame).set_index("sku")
    wanted = expected.loc[(expected["units"] > 0) & expected["margin"].notna()]
    assert sorted(points.index) == sorted(wanted.index)
    assert floats(points["avg_price"]) == pytest.approx(
        floats(wanted.loc[points.index, "gross_sales"] / wanted.loc[points.index, "units"]))
    assert floats(points["margin"]) == pytest.approx(floats(wanted.loc[points.index, "margin"]))


def test_product_table_searches_and_sorts(session: Session, raw: pd.DataFrame) -> None:
    frame, _ = check_performance(session, raw, Filters(range="90d"))
    category = busiest_categories(raw)[0]
    found = service.product_table(frame, category.upper()[:5], "units")
    assert len(found) and found["units"].is_monotonic_decreasing
    text = (frame["sku"] + " " + frame["name"] + " " + frame["category"] + " "
            + frame["brand"].fillna("")).str.lower()
    assert sorted(found["sku"]) == sorted(frame.loc[text.str.contains(
        category.lower()[:5], regex=False), "sku"])
    by_name = service.product_table(frame, "", "name")
    assert by_name["name"].tolist() == sorted(frame["name"])
    assert len(service.product_table(frame, "no product is called this")) == 0


# --- low performers ---------------------------------------------------------------------------

def check_low_performers(session: Session, raw: pd.DataFrame, filters: Filters,
                         scope: Scope = EVERYTHING, limit: int = 10) -> pd.DataFrame:
    """Lowest revenue in the last 30 days of the range among active products and anything
    that sold in that window, with the last sale day up to the range end."""
    period = resolve(session, scope, filters)
    low = service.low_performers(session, scope, filters, period, limit=limit)
    start = max(period.start, period.end - dt.timedelta(days=29))
    window = expected_performance(session, raw, filters, start, period.end, scope)
    lines = view_lines(raw, filters, start, period.end, scope)
    candidates = window.loc[window["active"] | window.index.isin(lines["sku"])]
    ranked = candidates.reset_index(names="sku").sort_values(["net_revenue", "units", "sku"])
    wanted = ranked.head(limit)
    assert low["sku"].tolist() == wanted["sku"].tolist()
    assert low["net_revenue"].tolist() == pytest.approx(wanted["net_revenue"].tolist(), abs=0.01)
    assert (low["window_start"] == start).all() and (low["window_end"] == period.end).all()
    history = raw.loc[(raw["day"] <= ts(period.end)) & (raw["quantity"] > 0)]
    if scope.platform_ids is not None:
        history = history.loc[history["platform_id"].isin(list(scope.platform_ids))]
    if filters.platforms:
        history = history.loc[history["slug"].isin(list(filters.platforms))]
    last = history.groupby("sku")["day"].max()
    for row in low.itertuples():
        expected = last.get(row.sku)
        if expected is None:
            assert row.last_sale is None or pd.isna(row.last_sale), row.sku
        else:
            assert row.last_sale == expected.date(), row.sku
    return low


def test_low_performers_include_products_that_never_sold(session: Session,
                                                         raw: pd.DataFrame) -> None:
    low = check_low_performers(session, raw, Filters(range="all"), limit=20)
    never = low.loc[low["last_sale"].isna()]
    assert len(never) >= 6  # docs/demo-data.md: six active products never sell
    assert (never["units"] == 0).all() and never["active"].all()


@pytest.mark.parametrize("case", ["90d_platform", "7d", "category"])
def test_low_performers_match_pandas(session: Session, raw: pd.DataFrame, case: str) -> None:
    filters = {"90d_platform": Filters(range="90d", platforms=(platform_slugs(raw)[-1],)),
               "7d": Filters(range="7d"),
               "category": Filters(range="12m", categories=(busiest_categories(raw)[2],))}[case]
    low = check_low_performers(session, raw, filters)
    assert len(low) == 10


def test_retired_products_without_sales_are_not_low_performers(session: Session,
                                                               raw: pd.DataFrame) -> None:
    products = catalogue(session)
    retired = set(products.index[~products["active"]])
    low = check_low_performers(session, raw, Filters(range="30d"), limit=300)
    assert retired and not (retired & set(low.loc[low["units"] == 0, "sku"]))


# --- drill-down -------------------------------------------------------------------------------

def test_product_info_and_unknown_sku(session: Session, raw: pd.DataFrame) -> None:
    sku = busiest_skus(raw)[0]
    info = service.product_info(session, EVERYTHING, sku)
    row = catalogue(session).loc[sku]
    assert (info["name"], info["category"], info["active"]) == (row["name"], row["category"],
                                                                 bool(row["active"]))
    with pytest.raises(NotFound):
        service.product_info(session, EVERYTHING, "NO-SUCH-SKU")


def test_drill_filters_keep_the_dates_and_platforms_but_not_the_product_filters() -> None:
    filters = Filters(range="90d", platforms=("amazon",), products=("A", "B"),
                      categories=("Toys",), grain="week", compare="yoy")
    drilled = service.drill_filters(filters, "C")
    assert (drilled.products, drilled.categories) == (("C",), ())
    assert (drilled.range, drilled.platforms, drilled.grain, drilled.compare) == \
        ("90d", ("amazon",), "week", "yoy")


def test_top_customers_of_a_product_match_pandas(session: Session, raw: pd.DataFrame) -> None:
    sku = busiest_skus(raw)[1]
    filters = service.drill_filters(Filters(range="12m", platforms=tuple(platform_slugs(raw)[:3])),
                                    sku)
    period = resolve(session, EVERYTHING, filters)
    top = service.top_customers(session, EVERYTHING, filters, period)
    lines = view_lines(raw, filters, period.start, period.end)
    known = lines.loc[lines["customer_id"].notna()]
    expected = metrics_by(known, known["customer_id"])
    external = pd.read_sql(sa.text("SELECT id, external_id FROM customers"),
                           session.connection()).set_index("external_id")["id"]
    ids = external.loc[top["customer"]].tolist()
    assert len(top) == 10
    assert_columns(top, expected.loc[ids], METRICS, "top_customers")
    assert top["net_revenue"].is_monotonic_decreasing
    assert top["net_revenue"].min() >= expected.drop(index=ids)["net_revenue"].max() - 0.005


def test_posts_featuring_a_product_obey_dates_platforms_and_scope(session: Session,
                                                                  raw: pd.DataFrame) -> None:
    posts = pd.read_sql(POSTS_SQL, session.connection())
    posts["post_date"] = pd.to_datetime(posts["post_date"].astype(str).str[:10])
    sku = posts["sku"].value_counts().index[0]
    filters = service.drill_filters(Filters(range="all"), sku)
    period = resolve(session, EVERYTHING, filters)
    found = service.posts_featuring(session, EVERYTHING, filters, period)
    mine = posts.loc[posts["sku"] == sku]
    assert len(found) == len(mine) > 0
    assert (found["sku"] == sku).all()
    assert found["impressions"].sum() == mine["impressions"].sum()
    slug = mine["slug"].value_counts().index[0]
    one_platform = service.posts_featuring(session, EVERYTHING,
                                           Filters(range="all", products=(sku,),
                                                   platforms=(slug,)), period)
    assert len(one_platform) == (mine["slug"] == slug).sum()
    other = next(s for s in platform_slugs(raw) if s not in set(mine["slug"]))
    scope = Scope(platform_ids=frozenset({platform_id(raw, other)}))
    assert service.posts_featuring(session, scope, filters, period).empty
    assert (found["post_date"].tolist() ==
            sorted(found["post_date"].tolist(), reverse=True))


def test_products_of_a_limited_scope(session: Session, raw: pd.DataFrame) -> None:
    slug = platform_slugs(raw)[0]
    scope = Scope(platform_ids=frozenset({platform_id(raw, slug)}))
    frame, _ = check_performance(session, raw, Filters(range="90d"), scope)
    everything, _ = check_performance(session, raw, Filters(range="90d"))
    assert frame["net_revenue"].sum() < everything["net_revenue"].sum()
    check_low_performers(session, raw, Filters(range="90d"), scope)


def test_product_performance_of_a_view_without_sales(session: Session) -> None:
    """Nothing sold in the view: every product with zeros and no average price, not a
    division by zero (found by the load test: a small platform over the last 7 days)."""
    day = dt.date(2000, 1, 3)
    period = Period(day, day, None, None, day, "a day before any data")
    frame = service.product_performance(session, EVERYTHING, Filters(), period)
    assert len(frame) and (frame["units"] == 0).all() and frame["avg_price"].isna().all()
