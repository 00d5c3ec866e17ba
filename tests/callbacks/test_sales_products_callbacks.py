"""Sales and Products callbacks as plain functions: clicks that set page choices, links that
keep the filters, notes that say what does not apply, and exports equal to the services."""
from __future__ import annotations

import base64
import io
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import Any

import pandas as pd
import pytest
from flask import Flask

from callbacks.exports import export_file, page_exports
from callbacks.shell import Controls, apply_click, sync_view
from dashapp.auth import SessionUser
from dashapp.extensions import db
from dashapp.filters import View, parse_query
from dashapp.views import store_payload
from layouts import products, sales
from layouts.pages import page_for
from layouts.panels import NO_COMPARE, empty_message, not_applied
from services import product_analysis, sales_analysis
from services.filters import Filters, ParamSpec
from services.sales import resolve
from tests.conftest import ADMIN, callback_request

NO_CONTROLS = Controls(None, None, None, None, None, None, None, None)
SALES_EXPORTS = {spec.key: spec for spec in page_exports([page_for("/sales")])}
PRODUCT_EXPORTS = {spec.key: spec for spec in page_exports([page_for("/products")])}


@pytest.fixture
def admin(app: Flask) -> Iterator[SessionUser]:
    """A request context with the admin logged in."""
    with callback_request(app, ADMIN) as user:
        yield user


def test_a_country_click_sets_the_page_choice_and_a_second_click_clears_it() -> None:
    filters = Filters(platforms=("amazon",))
    chosen, page = apply_click(filters, {}, sales.PARAMS, "country", "Germany")
    assert chosen.country == "Germany" and page == {}  # the country is a filter of the page
    cleared, _ = apply_click(chosen, page, sales.PARAMS, "country", "Germany")
    assert cleared.country == ""
    same, choices = apply_click(chosen, {"sort": "orders"}, sales.PARAMS, "platform",
                                "instagram")
    assert same.platforms == ("instagram",) and same.country == "Germany"
    assert choices == {"sort": "orders"}  # a filter dimension still works
    ignored = apply_click(chosen, page, sales.PARAMS, "sku", "APP-0001")
    assert ignored == (chosen, page)  # the Sales page has no drill target


def test_clicking_a_best_seller_drills_into_it_through_the_url(admin: SessionUser) -> None:
    trigger = dict(products.BEST_SELLERS.component_id)
    page, view, _ = sync_view("/products", "?range=90d&grain=week", NO_CONTROLS, {},
                              ("sku", "APP-0001"), trigger)
    assert page is not None and page.path == "/products"
    assert view.page["sku"] == "APP-0001" and view.filters.grain == "week"


def test_a_deep_link_keeps_country_and_grain(admin: SessionUser) -> None:
    _, view, _ = sync_view("/sales", "?range=90d&grain=week&country=France&metric=units",
                           NO_CONTROLS, {}, None, None)
    assert (view.filters.country, view.page["metric"], view.filters.grain) == \
        ("France", "units", "week")
    assert view.notices == ()


def test_drill_links_keep_filters_and_the_back_link_drops_only_the_product() -> None:
    view = parse_query("range=90d&platform=amazon&grain=week&sort=units&q=boots",
                       products.PARAMS)
    link = products.product_href(view, "FTW-0015")
    assert link == ("/products?range=90d&platform=amazon&grain=week&compare=prev&sku=FTW-0015"
                    "&sort=units&q=boots")
    drilled = parse_query(link.split("?", 1)[1], products.PARAMS)
    assert products.back_href(drilled) == \
        "/products?range=90d&platform=amazon&grain=week&compare=prev&sort=units&q=boots"


def test_panels_say_which_settings_they_do_not_use() -> None:
    view = View(Filters(grain="week", compare="yoy", country="Spain"), {})
    panel = replace(sales.HEATMAP, applies=NO_COMPARE - {"country"})
    assert not_applied(panel, view) == ("Not applied to this panel: granularity (week), "
                                        "comparison (same period last year), country (Spain).")
    assert not_applied(sales.HEATMAP, View(Filters(compare="none"))) == ""
    assert not_applied(sales.TREND, view) == ""  # the trend obeys every filter
    assert "product and category filters do not apply" in \
        products.drill_note(Filters(categories=("Toys",)))
    assert products.drill_note(Filters()) == ""


def test_empty_sales_panels_name_the_country(admin: SessionUser) -> None:
    filters = Filters(range="7d", country="Atlantis")
    period = resolve(db.session, admin.scope, filters)
    assert empty_message(filters, period, {}).startswith("No sales to Atlantis in ")


def test_product_names_are_safe_in_markdown_links() -> None:
    view = parse_query("range=30d", products.PARAMS)
    frame = pd.DataFrame([{"sku": "X-1", "name": "Mug [large] (blue)*", "category": "Home",
                           "brand": None, "active": True, "net_revenue": 1.0, "units": 1,
                           "orders": 1, "gross_profit": None, "margin": None, "returns": 0.0,
                           "share": 1.0, "avg_price": 1.0, "list_price": 2.0}])
    (row,) = products.table_rows(frame, view, "GBP")
    assert row["product"].startswith(r"[Mug \[large\] \(blue\)\*](/products?")
    assert row["gross_profit"] == "n/a" and row["status"] == "active"


def read_csv(download: dict) -> pd.DataFrame:
    """A dcc.send_bytes CSV payload as a plain `pandas.read_csv` reads it."""
    return pd.read_csv(io.BytesIO(base64.b64decode(download["content"])))


def store(path: str, query: str, params: Sequence[ParamSpec],
          user: SessionUser) -> dict[str, Any]:
    """The browser store of a view, as the sync callback writes it."""
    view = parse_query(query, params)
    return store_payload(path, view, resolve(db.session, user.scope, view.filters), params)


def test_sales_exports_are_the_panel_data_for_the_country(admin: SessionUser) -> None:
    data = store("/sales", "range=90d&country=Germany&metric=orders", sales.PARAMS, admin)
    view = parse_query(data["query"], sales.PARAMS)
    period = resolve(db.session, admin.scope, view.filters)
    table = read_csv(export_file(SALES_EXPORTS["sales-platforms"], data, "csv"))
    assert view.filters.country == "Germany"
    expected = sales_analysis.by_platform(db.session, admin.scope, view.filters, period)
    assert table["Platform key"].tolist() == expected["slug"].tolist()
    assert table["Net revenue"].tolist() == pytest.approx(expected["net_revenue"].tolist(),
                                                          abs=0.005)
    trend = read_csv(export_file(SALES_EXPORTS[sales.TREND.key], data, "csv"))
    assert {"Orders", "Growth vs the previous period", "Growth vs a year earlier"} <= \
        set(trend.columns)
    assert set(SALES_EXPORTS) == {"sales-trend", "sales-growth", "sales-weekday",
                                  "sales-heatmap", "sales-countries", "sales-country-map",
                                  "sales-country-table", "sales-regions", "sales-states",
                                  "sales-cities", "sales-platforms",
                                  "sales-channels", "sales-returns-summary",
                                  "sales-return-categories", "sales-returned-products"}


def test_product_exports_follow_the_drill_target(admin: SessionUser) -> None:
    data = store("/products", "range=all&sku=FTW-0015", products.PARAMS, admin)
    view = parse_query(data["query"], products.PARAMS)
    period = resolve(db.session, admin.scope, view.filters)
    customers = read_csv(export_file(PRODUCT_EXPORTS[products.DRILL_CUSTOMERS.key], data, "csv"))
    expected = product_analysis.top_customers(
        db.session, admin.scope, product_analysis.drill_filters(view.filters, "FTW-0015"),
        period)
    assert customers["Customer"].tolist() == expected["customer"].tolist()
    best = read_csv(export_file(PRODUCT_EXPORTS["products-best-sellers"], data, "csv"))
    assert best["Units"].is_monotonic_decreasing and len(best) == 10
