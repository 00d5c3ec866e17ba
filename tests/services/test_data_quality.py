"""The Data page's quality summary against pandas on the same rows, on SQLite and PostgreSQL,
for everything and for a platform-limited user (a few imperfect rows are added to the demo
data in the test's transaction, which is rolled back)."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from models import Customer, Order, OrderLine, Platform, Product
from models.sales import LINE_STOCK_ADJUSTMENT
from services.data_quality import GAP_LABELS, LEFT_OUT_LABELS, data_quality
from services.imports.jobs import record_demo_load
from services.scope import Scope
from tests.conftest import LIMITED_PLATFORM


def add_imperfect_rows(session: Session) -> None:
    """A product without cost or category, a customer without a country, and a guest line,
    a free line and a stock adjustment on an order of the limited user's platform."""
    platform = session.scalar(sa.select(Platform).where(Platform.slug == LIMITED_PLATFORM))
    assert platform is not None
    product = Product(sku="QA-1", name="No cost", is_merchandise=True)
    customer = Customer(external_id="QA-C", name="Nowhere")
    session.add_all([product, customer])
    session.flush()
    day = dt.date(2024, 5, 2)
    order = Order(order_number="QA-ORDER", ordered_at=dt.datetime(2024, 5, 2, 10),
                  sale_date=day, sale_hour=10, platform_id=platform.id)
    session.add(order)
    session.flush()
    common = {"order_id": order.id, "product_id": product.id, "sale_date": day, "sale_hour": 10,
              "platform_id": platform.id}
    session.add_all([
        OrderLine(**common, quantity=2, unit_price=5.0, unit_cost=None, customer_id=None),
        OrderLine(**common, quantity=1, unit_price=0.0, unit_cost=None,
                  customer_id=customer.id),
        OrderLine(**common, quantity=-3, unit_price=0.0, unit_cost=None, customer_id=None,
                  line_kind=LINE_STOCK_ADJUSTMENT)])
    record_demo_load(session, type("Summary", (), {"order_lines": 3})(), seed=1)
    session.flush()


def expected(session: Session, platform_ids: set[int] | None) -> dict[str, object]:
    """The same figures computed by pandas from the raw tables."""
    read = session.connection()
    lines = pd.read_sql(sa.text("SELECT * FROM order_lines"), read)
    products = pd.read_sql(sa.text("SELECT * FROM products"), read)
    customers = pd.read_sql(sa.text("SELECT * FROM customers"), read)
    platforms = pd.read_sql(sa.text("SELECT id, name FROM platforms"), read)
    if platform_ids is not None:
        lines = lines[lines["platform_id"].isin(platform_ids)]
    lines = lines.merge(products[["id", "is_merchandise", "category", "unit_cost"]]
                        .rename(columns={"id": "product_id", "unit_cost": "catalogue_cost"}),
                        on="product_id")
    goods = lines[lines["is_merchandise"].astype(bool)]
    sold = products[products["id"].isin(lines["product_id"])
                    & products["is_merchandise"].astype(bool)]
    buyers = customers if platform_ids is None else customers[
        customers["id"].isin(lines["customer_id"].dropna())]
    sales = lines.merge(platforms.rename(columns={"id": "platform_id", "name": "platform"}),
                        on="platform_id").groupby("platform")["sale_date"]
    return {
        "lines": len(lines),
        "left_out": {"not_merchandise": int((~lines["is_merchandise"].astype(bool)).sum()),
                     "stock_adjustments": int((goods["line_kind"] == LINE_STOCK_ADJUSTMENT)
                                              .sum()),
                     "free_lines": int(((goods["quantity"] > 0)
                                        & (goods["unit_price"] == 0)).sum())},
        "gaps": {"guest_lines": int(goods["customer_id"].isna().sum()),
                 "uncosted_lines": int(goods["unit_cost"].isna().sum()),
                 "uncategorised_lines": int(goods["category"].isna().sum()),
                 "uncosted_products": int(sold["unit_cost"].isna().sum()),
                 "customers_without_country": int(
                     (buyers["country"].isna() | (buyers["country"] == "")).sum())},
        "sales": {name: (len(days), str(days.min())[:10], str(days.max())[:10])
                  for name, days in sales},
    }


@pytest.mark.parametrize("limited", [False, True])
def test_the_quality_summary_matches_pandas(session: Session, limited: bool) -> None:
    add_imperfect_rows(session)
    ids = None
    if limited:
        ids = {session.scalar(sa.select(Platform.id).where(Platform.slug == LIMITED_PLATFORM))}
    scope = Scope(platform_ids=frozenset(ids)) if ids else Scope.everything()
    summary = data_quality(session, scope)
    want = expected(session, ids)
    assert summary.lines == want["lines"]
    assert summary.left_out == want["left_out"] and set(summary.left_out) == set(LEFT_OUT_LABELS)
    assert summary.gaps == want["gaps"] and set(summary.gaps) == set(GAP_LABELS)
    assert all(value > 0 for value in summary.gaps.values())  # each rule was exercised
    sales = {row["platform"]: (row["rows"], row["first"].isoformat(), row["last"].isoformat())
             for row in summary.coverage if row["kind"].startswith("Sales")}
    assert sales == want["sales"]
    kinds = {row["kind"]: row for row in summary.kinds}
    assert kinds["Sales (order lines)"]["rows"] == want["lines"]
    assert kinds["Sales (order lines)"]["platforms"] == len(want["sales"])
    assert kinds["Sales (order lines)"]["first"].isoformat() == min(
        first for _, first, _ in want["sales"].values())
    # The demo load spans every platform: a limited user's history (and summary) omits it.
    assert [row["kind"] for row in summary.last_imports] == ([] if limited else ["demo"])


def test_an_empty_scope_sees_no_data(session: Session) -> None:
    summary = data_quality(session, Scope(platform_ids=frozenset()))
    assert summary.is_empty and summary.lines == 0
    assert not any(summary.left_out.values()) and not any(summary.gaps.values())
