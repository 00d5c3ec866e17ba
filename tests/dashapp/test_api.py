"""GET /api/v1/overview: the public JSON contract and its numbers against the raw rows."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import TestDatabase, login

KPI_KEYS = {"net_revenue", "gross_sales", "returns", "orders", "units", "aov", "customers",
            "gross_profit", "margin"}


@pytest.fixture
def admin(app: Flask) -> FlaskClient:
    """A client logged in as admin through the session cookie."""
    return login(app.test_client())


@pytest.fixture(scope="module")
def raw_lines(sqlite_db: TestDatabase) -> pd.DataFrame:
    """Every order line with its platform slug, straight from the table."""
    query = ("SELECT l.order_id, l.quantity, l.unit_price, l.unit_cost, l.sale_date, "
             "l.customer_id, p.slug FROM order_lines l JOIN platforms p ON p.id = l.platform_id")
    frame = pd.read_sql(query, sqlite_db.engine)
    frame["sale_date"] = pd.to_datetime(frame["sale_date"]).dt.date
    frame["value"] = frame["quantity"] * frame["unit_price"]
    return frame


def test_overview_contract(admin: FlaskClient) -> None:
    body = admin.get("/api/v1/overview?range=90d&grain=week&compare=yoy").get_json()
    assert set(body) >= {"period", "kpis", "trend", "by_platform", "by_category",
                         "top_products", "query", "currency"}
    assert set(body["kpis"]) >= KPI_KEYS
    for key in KPI_KEYS:
        assert set(body["kpis"][key]) == {"current", "comparison", "change"}
    period = body["period"]
    start, end = dt.date.fromisoformat(period["start"]), dt.date.fromisoformat(period["end"])
    assert (end - start).days == 89
    # Year over year by week: 52 weeks earlier, each bucket against the same weekdays.
    assert period["compare_start"] == (start - dt.timedelta(weeks=52)).isoformat()
    assert body["query"] == "range=90d&grain=week&compare=yoy"
    assert all(dt.date.fromisoformat(row["bucket"]).weekday() == 0 for row in body["trend"])
    compared = [dt.date.fromisoformat(row["compare_bucket"]) for row in body["trend"]]
    assert compared[0] == dt.date.fromisoformat(period["compare_start"])
    assert all(day.weekday() == 0 for day in compared[1:])
    assert period["compare_note"] is None
    assert len(body["top_products"]) == 10


def test_overview_numbers_match_the_raw_rows(admin: FlaskClient, raw_lines: pd.DataFrame) -> None:
    body = admin.get("/api/v1/overview?from=2026-01-01&to=2026-03-31&platform=amazon"
                     "&platform=online-store&compare=prev").get_json()
    chosen = raw_lines[raw_lines["slug"].isin(["amazon", "online-store"])]
    current = chosen[(chosen["sale_date"] >= dt.date(2026, 1, 1))
                     & (chosen["sale_date"] <= dt.date(2026, 3, 31))]
    positive = current[current["quantity"] > 0]
    kpis = body["kpis"]
    assert kpis["net_revenue"]["current"] == pytest.approx(current["value"].sum(), abs=0.01)
    assert kpis["returns"]["current"] == pytest.approx(
        -current.loc[current["quantity"] < 0, "value"].sum(), abs=0.01)
    assert kpis["orders"]["current"] == positive["order_id"].nunique()
    assert kpis["customers"]["current"] == positive["customer_id"].dropna().nunique()
    previous = chosen[(chosen["sale_date"] >= dt.date(2025, 10, 3))
                      & (chosen["sale_date"] <= dt.date(2025, 12, 31))]
    assert kpis["net_revenue"]["comparison"] == pytest.approx(previous["value"].sum(), abs=0.01)
    assert {row["slug"] for row in body["by_platform"]} == {"amazon", "online-store"}


def test_invalid_parameters_get_a_400_with_reasons(admin: FlaskClient) -> None:
    response = admin.get("/api/v1/overview?range=fortnight&platform=atlantis")
    assert response.status_code == 400
    body = response.get_json()
    assert "kpis" not in body
    assert len(body["notices"]) == 2


def test_unknown_api_path_is_json_404(admin: FlaskClient) -> None:
    response = admin.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert "error" in response.get_json()


def test_the_api_trains_a_views_missing_model_and_answers_with_it(admin: FlaskClient) -> None:
    # An as-of day no other test forecasts from: its model is not stored yet. A page would
    # show "training…" and redraw; the API has no later, so it trains first.
    body = admin.get("/api/v1/forecasts?asof=2026-06-13&range=90d&platform=online-store")\
        .get_json()
    assert body["summary"]["shown"] in {"model", "baseline"}, body["summary"]
    assert body["summary"]["trained"], body["summary"]
    assert body["forecast"] and body["history"]
