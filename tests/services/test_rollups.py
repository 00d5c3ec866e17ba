"""Rollups answer exactly what the base tables answer, on SQLite and PostgreSQL.

Two independent checks:
- every rollup table equals a pandas aggregation of the raw order lines, after an import,
  an overlapping re-import that moves, changes and drops lines, and a catalogue change;
- every page service gives the same result with the rollups as with `order_lines` alone,
  over ranges with and without whole months, and under platform, product, category,
  country and scope restrictions; and the rollups were really read.
"""
from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import replace
from io import BytesIO
from typing import Any

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from pyroaring import BitMap
from sqlalchemy import event
from sqlalchemy.orm import Session

from services import (
    marketing,
    marketing_campaigns,
    overview,
    product_analysis,
    rollups,
    sales_analysis,
)
from services.admin import Actor
from services.filters import Filters
from services.imports.undo import undo_import
from services.sales import resolve
from services.scope import Scope
from services.users import create_user
from tests.conftest import TestDatabase
from tests.fixtures.imports import (  # noqa: F401 - the fixtures are used by name
    Fresh,
    fresh_fixture,
    imports_postgres_url_fixture,
    sqlite_template_fixture,
    uci_bytes,
)

EVERYTHING = Scope.everything()
MONEY_TOLERANCE = 0.005  # half a cent: SQLite sums binary floats in another order
MEASURES = ("net_revenue", "gross_sales", "returns", "cancelled", "costed_revenue", "cost",
            "units", "returned_units", "costed_lines", "orders", "return_orders")


# --- the rollup tables against pandas -------------------------------------------------------

def raw_lines(engine: sa.Engine) -> pd.DataFrame:
    """Every order line with its product's merchandise flag, read without any of our code."""
    sql = sa.text("SELECT l.order_id, l.product_id, l.customer_id, l.quantity, l.unit_price, "
                  "l.unit_cost, "
                  "l.sale_date, l.sale_hour, l.platform_id, l.country, p.is_merchandise, "
                  "o.order_number "
                  "FROM order_lines l JOIN products p ON p.id = l.product_id "
                  "JOIN orders o ON o.id = l.order_id")
    frame = pd.read_sql(sql, engine)
    frame["sale_date"] = pd.to_datetime(frame["sale_date"]).dt.date
    frame["is_merchandise"] = frame["is_merchandise"].astype(bool)
    return frame


def expected_rollup(lines: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """The stored measures per group of `keys`, as SPEC's metric definitions say, in pandas.

    UCI invoices are six digits, with a C before them for a cancellation: on a platform with
    such cancellations, a line of one is a cancellation, and a negative zero-price line
    without a customer on another invoice is a stock adjustment, neither sold nor returned.
    """
    has_sale = set(lines.loc[lines["quantity"] > 0, "order_id"])
    on_c_invoice = lines["order_number"].str.fullmatch(r"[Cc]\d{6}")
    uci_platform = lines["platform_id"].isin(set(lines.loc[on_c_invoice, "platform_id"]))
    lines = lines.assign(on_c_invoice=on_c_invoice, write_off=(
        uci_platform & lines["order_number"].str.fullmatch(r"\d{6}") & (lines["quantity"] < 0)
        & (lines["unit_price"] == 0) & lines["customer_id"].isna()))
    lines = lines.loc[lines["is_merchandise"]].copy()
    value = lines["quantity"] * lines["unit_price"]
    on_c_invoice, write_off = lines["on_c_invoice"], lines["write_off"]
    sale = (lines["quantity"] > 0) & (lines["unit_price"] > 0)
    returned = (lines["quantity"] < 0) & ~write_off
    costed = lines["unit_cost"].notna()
    cancelled = returned & (lines["order_id"].isin(has_sale) | on_c_invoice)
    parts = pd.DataFrame({
        "net_revenue": value, "gross_sales": value.where(lines["quantity"] > 0, 0),
        "returns": -value.where(returned, 0), "cancelled": -value.where(cancelled, 0),
        "costed_revenue": value.where(costed, 0),
        "cost": (lines["quantity"] * lines["unit_cost"]).where(costed, 0),
        "units": lines["quantity"].where(sale, 0),
        "returned_units": -lines["quantity"].where(returned, 0),
        "costed_lines": costed.astype(int),
        "sale_order": lines["order_id"].where(sale),
        "return_order": lines["order_id"].where(returned),
    })
    for key in keys:
        parts[key] = (lines["sale_date"].map(lambda day: day.replace(day=1)) if key == "month"
                      else lines[key].fillna("∅") if key == "country" else lines[key])
    grouped = parts.groupby(keys)
    out = grouped[list(MEASURES[:9])].sum()
    out["orders"] = grouped["sale_order"].nunique()
    out["return_orders"] = grouped["return_order"].nunique()
    return out.sort_index()


def stored_rollup(engine: sa.Engine, rollup: rollups.Rollup) -> pd.DataFrame:
    """A rollup table as stored, indexed like `expected_rollup`."""
    keys = rollups._key_names(rollup)
    frame = pd.read_sql(sa.select(*[rollup.table.c[name] for name in [*keys, *MEASURES]]),
                        engine)
    for key in keys:
        if key in ("sale_date", "month"):
            frame[key] = pd.to_datetime(frame[key]).dt.date
        if key == "country":
            frame[key] = frame[key].fillna("∅")
    return frame.set_index(keys).sort_index()


def assert_rollups_match_the_lines(engine: sa.Engine, where: str) -> None:
    """Each rollup table holds exactly the pandas aggregation of the current order lines."""
    assert_customer_days_match_the_lines(engine, where)
    assert_customer_sets_match_the_lines(engine, where)
    lines = raw_lines(engine)
    for rollup in rollups.ROLLUPS:
        expected = expected_rollup(lines, rollups._key_names(rollup))
        stored = stored_rollup(engine, rollup)
        assert len(stored) > 0, f"{where}: {rollup.table.name} is empty"
        assert stored.index.tolist() == expected.index.tolist(), \
            f"{where}: {rollup.table.name} has other groups than the lines"
        for name in MEASURES:
            assert stored[name].astype(float).to_numpy() == pytest.approx(
                expected[name].astype(float).to_numpy(), abs=MONEY_TOLERANCE), \
                f"{where}: {rollup.table.name}.{name}"


def assert_customer_days_match_the_lines(engine: sa.Engine, where: str) -> None:
    """The customer-day rollup holds, per known customer, day, platform and country with
    merchandise lines, their orders (distinct orders with a line sold at a price), net
    revenue and gross sales, as pandas sums them over the lines."""
    lines = raw_lines(engine)
    lines = lines.loc[lines["is_merchandise"] & lines["customer_id"].notna()]
    value = lines["quantity"] * lines["unit_price"]
    sale = (lines["quantity"] > 0) & (lines["unit_price"] > 0)
    keys = ["sale_date", "platform_id", "country", "customer_id"]
    parts = pd.DataFrame({"sale_date": lines["sale_date"], "platform_id": lines["platform_id"],
                          "country": lines["country"].fillna("∅"),
                          "customer_id": lines["customer_id"].astype(int),
                          "net_revenue": value,
                          "gross_sales": value.where(lines["quantity"] > 0, 0),
                          "order": lines["order_id"].where(sale)})
    grouped = parts.groupby(keys)
    expected = grouped[["net_revenue", "gross_sales"]].sum()
    expected["orders"] = grouped["order"].nunique()
    table = rollups.CUSTOMERS.table
    stored = pd.read_sql(sa.select(*[table.c[name] for name in
                                     [*keys, "net_revenue", "gross_sales", "orders"]]), engine)
    stored["sale_date"] = pd.to_datetime(stored["sale_date"]).dt.date
    stored["country"] = stored["country"].fillna("∅")
    stored = stored.set_index(keys).sort_index()
    assert stored.index.tolist() == expected.index.tolist(), \
        f"{where}: rollup_customer_day has other rows than the lines"
    assert stored["orders"].tolist() == expected["orders"].tolist(), f"{where}: orders"
    for name in ("net_revenue", "gross_sales"):
        assert stored[name].astype(float).to_numpy() == pytest.approx(
            expected[name].astype(float).to_numpy(), abs=MONEY_TOLERANCE), f"{where}: {name}"


def assert_customer_sets_match_the_lines(engine: sa.Engine, where: str) -> None:
    """The customer sets hold, per day (and month), platform and country, exactly the known
    customers with a merchandise line sold at a price there, as pandas finds them."""
    lines = raw_lines(engine)
    sold = lines.loc[lines["is_merchandise"] & lines["customer_id"].notna()
                     & (lines["quantity"] > 0) & (lines["unit_price"] > 0)]
    sold = sold.assign(country=sold["country"].fillna("∅"),
                       month=sold["sale_date"].map(lambda day: day.replace(day=1)),
                       customer_id=sold["customer_id"].astype(int))
    for table, column in (("rollup_customer_set_day", "sale_date"),
                          ("rollup_customer_set_month", "month")):
        expected = {key: set(ids) for key, ids in
                    sold.groupby([column, "platform_id", "country"])["customer_id"]}
        with engine.connect() as connection:
            rows = connection.execute(sa.text(
                f"SELECT {column}, platform_id, country, members FROM {table}")).all()
        stored = {(pd.Timestamp(day).date(), platform_id, country or "∅"):
                  set(BitMap.deserialize(bytes(members))) for day, platform_id, country, members
                  in rows}
        assert len(stored) == len(rows), f"{where}: {table} has a group twice"
        assert stored == expected, f"{where}: {table} differs from the lines"


def changed_file(original: bytes) -> bytes:
    """The UCI slice with invoices moved to another day, quantities changed and lines
    dropped: re-imported, each touched order is replaced (old lines deleted)."""
    frame = pd.read_csv(BytesIO(original), dtype=str, keep_default_na=False)
    invoices = frame["InvoiceNo"].drop_duplicates().tolist()
    moved, changed, shortened = invoices[::7], invoices[3::11], invoices[5::13]
    dates = pd.to_datetime(frame["InvoiceDate"])
    frame.loc[frame["InvoiceNo"].isin(moved), "InvoiceDate"] = (
        dates + pd.Timedelta(days=40)).dt.strftime("%Y-%m-%d %H:%M:%S")
    quantity = frame["Quantity"].astype(int)
    frame.loc[frame["InvoiceNo"].isin(changed), "Quantity"] = (quantity * 2).astype(str)
    first_lines = frame.drop_duplicates("InvoiceNo").index
    frame = frame.drop(index=frame.index[frame["InvoiceNo"].isin(shortened)
                                         & ~frame.index.isin(first_lines)])
    return frame.to_csv(index=False).encode()


def extra_file(original: bytes) -> bytes:
    """New invoices (numbers the slice does not use) of the slice's first customers on its
    days, one of them cancelled on a later day: an import that adds to existing days."""
    frame = pd.read_csv(BytesIO(original), dtype=str, keep_default_na=False)
    known = frame.loc[frame["CustomerID"] != ""]
    invoices = known["InvoiceNo"].loc[~known["InvoiceNo"].str.startswith("C")].unique()[:4]
    extra = known.loc[known["InvoiceNo"].isin(invoices)].copy()
    numbers = {invoice: str(990000 + n) for n, invoice in enumerate(invoices)}
    extra["InvoiceNo"] = extra["InvoiceNo"].map(numbers)
    cancelled = extra.loc[extra["InvoiceNo"] == numbers[invoices[0]]].copy()
    cancelled["InvoiceNo"] = "C" + cancelled["InvoiceNo"]
    cancelled["Quantity"] = "-" + cancelled["Quantity"]
    cancelled["InvoiceDate"] = (pd.to_datetime(cancelled["InvoiceDate"])
                                + pd.Timedelta(days=3)).dt.strftime("%Y-%m-%d %H:%M:%S")
    return pd.concat([extra, cancelled]).to_csv(index=False).encode()


def undone(fresh: Fresh, job_id: int) -> None:
    """Undo an import as an administrator."""
    with fresh.session() as session:
        admin = create_user(session, "undo-admin@example.com", "a-long-password", "admin")
        session.flush()
        undo_import(session, Actor(admin.id, "admin"), job_id)
        session.commit()


def catalogue_turning_fee(sku: str) -> bytes:
    """A product catalogue file that marks one merchandise SKU as not merchandise."""
    return f"SKU,Name,Merchandise\n{sku},Now a fee,no\n".encode()


def busiest_sku(engine: sa.Engine) -> str:
    with engine.connect() as connection:
        return connection.execute(sa.text(
            "SELECT p.sku FROM order_lines l JOIN products p ON p.id = l.product_id "
            "WHERE p.is_merchandise GROUP BY p.sku ORDER BY COUNT(*) DESC, p.sku LIMIT 1")
        ).scalar_one()


def test_rollups_follow_imports_re_imports_and_catalogue_changes(fresh: Fresh) -> None:
    original = uci_bytes()
    assert fresh.run(original, "online_retail.csv").status == "succeeded"
    assert_rollups_match_the_lines(fresh.engine, "after the import")
    # Not vacuous: customers with only returns on a day have their row (orders 0).
    assert fresh.scalar("SELECT COUNT(*) FROM rollup_customer_day WHERE orders = 0") > 0
    before = fresh.scalar("SELECT COUNT(*) FROM order_lines")
    report = fresh.run(changed_file(original), "online_retail_changed.csv")
    assert report.status == "succeeded", report.to_text()
    assert fresh.scalar("SELECT COUNT(*) FROM order_lines") < before  # lines were deleted
    assert_rollups_match_the_lines(fresh.engine, "after an overlapping re-import")
    report = fresh.run(extra_file(original), "online_retail_extra.csv")
    assert report.status == "succeeded", report.to_text()
    assert_rollups_match_the_lines(fresh.engine, "after an import adding to existing days")
    assert report.job_id is not None
    undone(fresh, report.job_id)
    assert_rollups_match_the_lines(fresh.engine, "after undoing that import")
    sku = busiest_sku(fresh.engine)
    report = fresh.run(catalogue_turning_fee(sku), "catalogue.csv", kind="products")
    assert report.status == "succeeded", report.to_text()
    assert fresh.scalar(f"SELECT COUNT(*) FROM products WHERE sku = '{sku}' "
                        "AND NOT is_merchandise") == 1
    assert_rollups_match_the_lines(fresh.engine, "after a catalogue change")
    with fresh.session() as session:
        assert_services_agree(session, Filters(range="all", compare="none"), EVERYTHING)
        # A refresh of days in mid-month rebuilds their months' sets from all their days.
        middle = mid_month_sale_day(session)
        rollups.refresh(session, middle, middle + dt.timedelta(days=1))
        session.commit()
    assert_customer_sets_match_the_lines(fresh.engine, "after refreshing two days")


def mid_month_sale_day(session: Session) -> dt.date:
    """A day with sales on the 10th to 20th of a month that has sales before and after it."""
    days = sorted({pd.Timestamp(day).date() for day in session.execute(sa.text(
        "SELECT DISTINCT sale_date FROM order_lines")).scalars()})
    for day in days:
        month = [other for other in days if other.replace(day=1) == day.replace(day=1)]
        if 10 <= day.day <= 20 and month[0] < day and month[-1] > day + dt.timedelta(days=1):
            return day
    raise AssertionError("no month has sales before and after its middle")


# --- every service: rollups against the base tables -----------------------------------------

@contextlib.contextmanager
def statements_run(session: Session) -> Iterator[list[str]]:
    """The SQL the session's engine runs within the block."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


Service = Callable[..., Any]


def page_services(country: str) -> dict[str, Callable[[Session, Scope, Filters, Any], Any]]:
    """Every aggregate a page refresh asks for, by name."""
    def sales(function: Service, **extra: Any) -> Callable[..., Any]:
        # The Sales page's country is a filter: its panels get it in their filters.
        return lambda session, scope, filters, period: function(
            session, scope, replace(filters, country=country), period, **extra)

    return {
        "kpis": overview.kpis, "kpi_series": overview.kpi_series,
        "revenue_trend": overview.revenue_trend,
        "revenue_by_platform": overview.revenue_by_platform,
        "revenue_by_category": overview.revenue_by_category,
        "top_products": overview.top_products,
        "metric_trend": sales(sales_analysis.metric_trend),
        "aov_trend": sales(sales_analysis.metric_trend, metric="aov"),
        "by_weekday": sales(sales_analysis.by_weekday),
        "by_weekday_hour": sales(sales_analysis.by_weekday_hour),
        "by_country": sales_analysis.by_country,
        "by_region": sales(sales_analysis.by_region),
        "by_platform": sales(sales_analysis.by_platform),
        "by_channel": sales(sales_analysis.by_channel),
        "returns_summary": sales(sales_analysis.returns_summary),
        "returns_by_category": sales(sales_analysis.returns_by_category),
        "top_returned_products": sales(sales_analysis.top_returned_products),
        "product_performance": product_analysis.product_performance,
        "low_performers": product_analysis.low_performers,
        "post_impact": marketing.post_impact,
        "campaign_performance": marketing_campaigns.campaign_performance,
    }


def assert_same(actual: Any, expected: Any, where: str) -> None:
    """Frames, dicts and numbers equal within half a cent (counts exactly)."""
    if isinstance(expected, pd.DataFrame):
        assert list(actual.columns) == list(expected.columns), where
        pd.testing.assert_frame_equal(actual.reset_index(drop=True),
                                      expected.reset_index(drop=True), check_dtype=False,
                                      check_exact=False, rtol=1e-9, atol=MONEY_TOLERANCE,
                                      obj=where)
    elif isinstance(expected, dict):
        assert actual.keys() == expected.keys(), where
        for key in expected:
            assert_same(actual[key], expected[key], f"{where}.{key}")
    elif expected is None or (isinstance(expected, float) and np.isnan(expected)):
        assert actual is None or (isinstance(actual, float) and np.isnan(actual)), where
    elif isinstance(expected, (int, float)):
        assert actual == pytest.approx(expected, rel=1e-9, abs=MONEY_TOLERANCE), where
    else:
        assert actual == expected, where


READABLE = (*(rollup.table.name for rollup in rollups.ROLLUPS), "rollup_customer_set_day",
            "rollup_customer_set_month")


def assert_services_agree(session: Session, filters: Filters, scope: Scope,
                          country: str = "") -> set[str]:
    """Every page service gives the same answer with and without rollups; returns the
    rollup tables that were read."""
    period = resolve(session, scope, filters)
    read: set[str] = set()
    for name, service in page_services(country).items():
        with statements_run(session) as statements:
            with_rollups = service(session, scope, filters, period)
        read |= {name for name in READABLE if any(name in sql for sql in statements)}
        with rollups.base_tables_only():
            from_lines = service(session, scope, filters, period)
        assert_same(with_rollups, from_lines, f"{name} {filters} {scope} {country!r}")
    return read


def odd_range(session: Session) -> Filters:
    """A custom range starting and ending mid-month, with whole months between."""
    period = resolve(session, EVERYTHING, Filters(range="all"))
    start = period.start.replace(day=1) + dt.timedelta(days=46)
    return Filters(range="custom", start=start, end=start + dt.timedelta(days=200),
                   compare="prev")


@pytest.mark.parametrize("range_", ["30d", "12m", "all", "odd"])
def test_every_page_service_agrees_with_the_base_tables(session: Session,
                                                        range_: str) -> None:
    filters = (odd_range(session) if range_ == "odd"
               else Filters(range=range_, compare="none" if range_ == "all" else "prev"))
    read = assert_services_agree(session, filters, EVERYTHING)
    # Not a vacuous comparison: the rollups answered (the product-month rollup needs whole
    # months; the product-day one answers the posts' and campaigns' products per day).
    # The customer counts come from the day sets, and over whole months from the month sets.
    expected = {"rollup_sales_day", "rollup_sales_hour", "rollup_product_day",
                "rollup_customer_set_day"}
    if range_ != "30d":
        expected |= {"rollup_product_month", "rollup_customer_set_month"}
    assert expected <= read


FILTERED = {
    "platforms": lambda session: {"platforms": ("instagram", "amazon")},
    "category": lambda session: {"categories": (_first(session, "category"),)},
    "products": lambda session: {"products": tuple(_skus(session, 3))},
    "one product": lambda session: {"products": tuple(_skus(session, 1))},
}


def _first(session: Session, column: str) -> str:
    return session.execute(sa.text(f"SELECT MIN({column}) FROM products "
                                   "WHERE is_merchandise")).scalar_one()


def _skus(session: Session, count: int) -> list[str]:
    return list(session.execute(sa.text(
        "SELECT sku FROM products WHERE is_merchandise ORDER BY sku LIMIT :n"), {"n": count})
        .scalars())


@pytest.mark.parametrize("restriction", sorted(FILTERED))
def test_services_agree_under_filters(session: Session, restriction: str) -> None:
    filters = replace(odd_range(session), **FILTERED[restriction](session))
    assert_services_agree(session, filters, EVERYTHING)


def test_services_agree_for_a_limited_scope_and_a_country(session: Session,
                                                          database: TestDatabase) -> None:
    platform = session.execute(sa.text("SELECT id FROM platforms WHERE slug = 'instagram'")
                               ).scalar_one()
    limited = Scope(platform_ids=frozenset({platform}))
    country = session.execute(sa.text(
        "SELECT country FROM orders WHERE country IS NOT NULL GROUP BY country "
        "ORDER BY COUNT(*) DESC LIMIT 1")).scalar_one()
    assert_services_agree(session, Filters(range="12m", compare="prev"), limited)
    assert_services_agree(session, Filters(range="12m", compare="prev"), EVERYTHING, country)


def test_whole_months_and_edges_cover_the_range_exactly() -> None:
    cases = [(dt.date(2026, 1, 17), dt.date(2026, 5, 9)), (dt.date(2026, 1, 1),
             dt.date(2026, 3, 31)), (dt.date(2026, 2, 3), dt.date(2026, 2, 27)),
             (dt.date(2024, 2, 29), dt.date(2025, 3, 1))]
    for start, end in cases:
        months = rollups._whole_months(start, end)
        if months is None:
            assert (start.day != 1 or end < rollups.month_end(start))
            continue
        edges = rollups._edges(start, end, months)
        days = {months[0] + dt.timedelta(days=i) for i in range((months[1] - months[0]).days + 1)}
        for first, last in edges:
            days |= {first + dt.timedelta(days=i) for i in range((last - first).days + 1)}
        assert days == {start + dt.timedelta(days=i) for i in range((end - start).days + 1)}
        assert months[0].day == 1 and months[1] == rollups.month_end(months[1])
