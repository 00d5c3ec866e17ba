"""GET /api/v1/sales and /api/v1/products: the JSON contract, the page-level parameters, the
numbers against the raw rows, and the same access rules as the pages."""
from __future__ import annotations

import datetime as dt
import json
from types import ModuleType

import pandas as pd
import pytest
from flask import Flask
from flask.testing import FlaskClient

from dashapp.filters import parse_query, to_query
from layouts import products, sales
from services.filters import Filters
from tests.conftest import LIMITED, LIMITED_PLATFORM, TestDatabase, login, view_inputs

SALES_KEYS = {"query", "currency", "period", "page", "trend", "by_weekday", "best_day",
              "by_weekday_hour", "has_times_of_day", "by_country", "by_region", "by_state",
              "by_city", "by_platform", "by_channel",
              "returns", "returns_by_category", "top_returned_products"}
PRODUCTS_KEYS = {"query", "currency", "period", "page", "best_sellers", "most_profitable",
                 "profit_coverage", "low_performers", "share_by_product", "share_by_category",
                 "price_vs_margin", "products"}
DRILL_KEYS = {"query", "currency", "period", "page", "product", "kpis", "trend", "by_platform",
              "by_country", "top_customers", "posts"}


@pytest.fixture
def admin(app: Flask) -> FlaskClient:
    """A client logged in as admin through the session cookie."""
    return login(app.test_client())


@pytest.fixture(scope="module")
def raw_lines(sqlite_db: TestDatabase) -> pd.DataFrame:
    """Every order line with its platform, product and order country, straight from the tables."""
    query = ("SELECT l.order_id, l.quantity, l.unit_price, l.sale_date, p.slug, o.country, "
             "pr.sku FROM order_lines l JOIN platforms p ON p.id = l.platform_id "
             "JOIN orders o ON o.id = l.order_id JOIN products pr ON pr.id = l.product_id")
    frame = pd.read_sql(query, sqlite_db.engine)
    frame["sale_date"] = pd.to_datetime(frame["sale_date"]).dt.date
    frame["value"] = frame["quantity"] * frame["unit_price"]
    return frame


def _get(client: FlaskClient, path: str, token: str | None = None) -> tuple[int, dict]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = client.get(path, headers=headers)
    return response.status_code, response.get_json()


def _in(frame: pd.DataFrame, period: dict) -> pd.DataFrame:
    start, end = (dt.date.fromisoformat(period[key]) for key in ("start", "end"))
    return frame[(frame["sale_date"] >= start) & (frame["sale_date"] <= end)]


# --- the page-level parameters in the URL --------------------------------------------------------

@pytest.mark.parametrize("page, choices, narrowed", [
    (sales, {"metric": "aov", "roll": "30", "sort": "customers"},
     {"country": "United Kingdom", "state": "Texas"}),
    (products, {"sku": "APP-0001", "sort": "margin", "q": "running shoes"}, {}),
])
def test_page_choices_round_trip_through_the_url(page: ModuleType, choices: dict[str, str],
                                                 narrowed: dict[str, str]) -> None:
    # The country and state are page parameters in the URL and filters below it
    # (Filters.country, Filters.state), on the pages that declare them.
    filters = Filters(range="90d", platforms=("instagram",), grain="week", compare="yoy",
                      **narrowed)
    query = to_query(filters, choices, page.PARAMS)
    assert ("country=United+Kingdom" in query) == bool(narrowed)
    assert ("state=Texas" in query) == bool(narrowed)
    view = parse_query(query, page.PARAMS)
    assert view.notices == () and view.filters == filters
    assert dict(view.page) == choices
    assert to_query(view.filters, view.page, page.PARAMS) == query


@pytest.mark.parametrize("page", [sales, products])
def test_default_page_choices_stay_out_of_the_url_and_bad_ones_are_reported(
        page: ModuleType) -> None:
    defaults = {spec.name: spec.default for spec in page.PARAMS}
    assert to_query(Filters(), defaults, page.PARAMS) == "range=30d&grain=day&compare=prev"
    view = parse_query("sort=upside-down&sort=units", page.PARAMS)
    assert view.page["sort"] == defaults["sort"]
    assert any("sort" in notice for notice in view.notices)


def test_sales_link_with_country_and_grain_is_canonical() -> None:
    view = parse_query(["/sales", "grain=week&country=Germany&range=90d"][1], sales.PARAMS)
    assert to_query(view.filters, view.page, sales.PARAMS) == \
        "range=90d&grain=week&compare=prev&country=Germany"


# --- /api/v1/sales ----------------------------------------------------------------------------

def test_sales_contract_and_numbers(admin: FlaskClient, raw_lines: pd.DataFrame) -> None:
    status, body = _get(admin, "/api/v1/sales?range=90d&grain=week&compare=yoy"
                               "&country=Germany&metric=orders")
    assert status == 200 and set(body) == SALES_KEYS
    assert body["query"] == "range=90d&grain=week&compare=yoy&metric=orders&country=Germany"
    assert body["page"]["country"] == "Germany" and body["page"]["metric"] == "orders"
    assert all(dt.date.fromisoformat(row["bucket"]).weekday() == 0 for row in body["trend"])
    lines = _in(raw_lines, body["period"])
    german = lines[lines["country"] == "Germany"]
    orders = german.loc[german["quantity"] > 0, "order_id"].nunique()
    assert sum(row["value"] for row in body["trend"]) == orders
    assert sum(row["orders"] for row in body["by_platform"]) == orders
    assert sum(row["net_revenue"] for row in body["by_weekday"]) == \
        pytest.approx(german["value"].sum(), abs=0.01)
    # The country table always lists every country: it is where a country is chosen.
    assert sum(row["net_revenue"] for row in body["by_country"]) == \
        pytest.approx(lines["value"].sum(), abs=0.01)
    assert body["returns"]["returns"] == pytest.approx(
        -german.loc[german["quantity"] < 0, "value"].sum(), abs=0.01)
    assert len(body["by_weekday_hour"]) == 168
    assert body["best_day"]["text"]


def test_sales_country_table_follows_the_sort_choice(admin: FlaskClient) -> None:
    _, body = _get(admin, "/api/v1/sales?range=90d&sort=country")
    names = [row["country"] for row in body["by_country"]]
    assert names == sorted(names)


@pytest.mark.parametrize("query, bad", [("metric=profit", "metric"), ("sort=upwards", "sort"),
                                        ("roll=14", "roll"), ("colour=red", "colour")])
def test_sales_rejects_invalid_page_parameters(admin: FlaskClient, query: str, bad: str) -> None:
    status, body = _get(admin, f"/api/v1/sales?{query}")
    assert status == 400 and "trend" not in body
    assert any(bad in notice for notice in body["notices"])


def test_sales_for_a_country_without_sales_is_empty_not_an_error(admin: FlaskClient) -> None:
    # A country with orders, but none in this range: every panel is empty, not an error.
    status, body = _get(admin, "/api/v1/sales?range=7d&asof=2000-01-07&country=Germany")
    assert status == 200
    assert all(row["value"] == 0 for row in body["trend"]) and body["by_platform"] == []


def test_an_unknown_country_is_refused_with_a_notice(admin: FlaskClient) -> None:
    status, body = _get(admin, "/api/v1/sales?range=30d&country=Atlantis")
    assert status == 400 and "trend" not in body
    assert any("Atlantis" in notice for notice in body["notices"])


# --- /api/v1/products -------------------------------------------------------------------------

def test_products_contract_and_numbers(admin: FlaskClient, raw_lines: pd.DataFrame) -> None:
    status, body = _get(admin, "/api/v1/products?range=90d&sort=units&q=eco")
    assert status == 200 and set(body) == PRODUCTS_KEYS
    lines = _in(raw_lines, body["period"])
    units = lines[lines["quantity"] > 0].groupby("sku")["quantity"].sum()
    best = body["best_sellers"]
    assert [row["units"] for row in best] == sorted(units, reverse=True)[:len(best)]
    assert all("eco" in (row["name"] + row["sku"]).lower() for row in body["products"])
    table_units = [row["units"] for row in body["products"]]
    assert table_units == sorted(table_units, reverse=True)
    assert body["low_performers"][0]["net_revenue"] <= body["low_performers"][-1]["net_revenue"]
    assert 0 < body["profit_coverage"]["coverage"] <= 1


def test_product_drill_down_and_unknown_sku(admin: FlaskClient, raw_lines: pd.DataFrame) -> None:
    sku = raw_lines["sku"].value_counts().index[0]
    status, body = _get(admin, f"/api/v1/products?range=12m&sku={sku}&category=Beauty")
    assert status == 200 and set(body) == DRILL_KEYS
    assert body["product"]["sku"] == sku
    lines = _in(raw_lines[raw_lines["sku"] == sku], body["period"])
    assert body["kpis"]["net_revenue"] == pytest.approx(lines["value"].sum(), abs=0.01)
    assert sum(row["net_revenue"] for row in body["by_country"]) == \
        pytest.approx(lines["value"].sum(), abs=0.01)
    status, body = _get(admin, "/api/v1/products?sku=NO-SUCH-SKU")
    assert status == 404 and "NO-SUCH-SKU" in body["error"]


# --- access -------------------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/api/v1/sales", "/api/v1/products",
                                  "/api/v1/products?sku=APP-0001"])
def test_anonymous_requests_get_401_and_no_data(app: Flask, path: str) -> None:
    status, body = _get(app.test_client(), path)
    assert status == 401 and set(body) == {"error"}


def test_limited_user_sees_only_their_platform(app: Flask, sqlite_db: TestDatabase) -> None:
    client = app.test_client()
    _, limited = _get(client, "/api/v1/sales?range=all&compare=none", sqlite_db.limited_token)
    _, admin_same = _get(client, f"/api/v1/sales?range=all&compare=none&platform="
                                 f"{LIMITED_PLATFORM}", sqlite_db.admin_token)
    assert [row["slug"] for row in limited["by_platform"]] == [LIMITED_PLATFORM]
    for key in ("trend", "by_country", "by_weekday", "returns"):
        assert limited[key] == admin_same[key], key
    status, body = _get(client, "/api/v1/sales?range=all&platform=online-store",
                        sqlite_db.limited_token)
    assert status == 400 and "trend" not in body
    _, mine = _get(client, "/api/v1/products?range=all", sqlite_db.limited_token)
    _, theirs = _get(client, f"/api/v1/products?range=all&platform={LIMITED_PLATFORM}",
                     sqlite_db.admin_token)
    assert mine["products"] == theirs["products"]


def test_crafted_sales_callback_cannot_reach_other_platforms(app: Flask,
                                                             sqlite_db: TestDatabase) -> None:
    _, limited = _get(app.test_client(), "/api/v1/sales?range=all&compare=none",
                      sqlite_db.limited_token)
    client = login(app.test_client(), LIMITED)
    store = {"path": "/sales", "query": "range=all&compare=none&platform=online-store",
             "period": limited["period"]}
    payload = {
        "outputs": [{"id": {"chart": "sales-platforms", "dim": "platform", "type": "xfilter"},
                     "property": "figure"},
                    {"id": "sales-platforms-note", "property": "children"}],
        "inputs": view_inputs("/sales", store),
        "changedPropIds": ["view-state.data"], "state": [],
    }
    payload["output"] = ("..{\"chart\":\"sales-platforms\",\"dim\":\"platform\",\"type\":"
                         "\"xfilter\"}.figure...sales-platforms-note.children..")
    response = client.post("/_dash-update-component", data=json.dumps(payload),
                           content_type="application/json",
                           headers={"Origin": "http://localhost"})
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    figures = response.get_json()["response"]
    chart = figures['{"chart":"sales-platforms","dim":"platform","type":"xfilter"}']["figure"]
    # Online Store is outside this user's scope: nothing to draw, only the empty message.
    assert chart["data"] == [] and "No sales" in json.dumps(chart["layout"])
