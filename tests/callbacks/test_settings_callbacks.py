"""Business settings changed on the Admin page reach every reader at once: the currency of a
panel's figure, its export and the API, and the Marketing benchmarks of a panel already
drawn (and cached) before the change."""
from __future__ import annotations

import base64
import io
from collections.abc import Callable, Iterator
from typing import Any

import openpyxl
import pytest
from dash._callback_context import context_value
from dash._utils import AttributeDict
from flask import Flask
from sqlalchemy import delete

from callbacks.admin import save_settings, tab_content
from callbacks.common import cached_output, view_of_page
from callbacks.exports import export_file, page_exports
from callbacks.panels import draw_group
from dashapp.auth import SessionUser
from dashapp.context import settings_changed
from dashapp.extensions import db
from dashapp.filters import parse_query
from dashapp.panels import grouped
from dashapp.views import store_payload
from layouts import admin as admin_page
from layouts.pages import page_for
from models import BusinessSetting
from services.sales import resolve
from tests.conftest import ADMIN, callback_request, login


@pytest.fixture
def admin(app: Flask) -> Iterator[SessionUser]:
    """A callback request as the admin; every stored setting is removed afterwards."""
    with callback_request(app, ADMIN) as user:
        context_value.set(AttributeDict(outputs_list=[]))  # as Dash sets it per request
        try:
            yield user
        finally:
            db.session.rollback()
            db.session.execute(delete(BusinessSetting))
            db.session.commit()
            settings_changed()


def store_of(path: str, query: str, user: SessionUser) -> dict[str, Any]:
    """The browser store of a view, as the sync callback writes it."""
    page = page_for(path)
    view = parse_query(query, page.params)
    return store_payload(path, view, resolve(db.session, user.scope, view.filters), page.params)


def panel_callback(path: str, key: str) -> Callable[[dict[str, Any]], list[Any]]:
    """The (cached) callback that fills the panel `key`, as `callbacks.panels` registers it."""
    page = page_for(path)
    panels = next(group for group in grouped(page.panels) if key in [p.key for p in group])

    def fill(data: dict[str, Any]) -> list[Any]:
        view, period = view_of_page(data, page.path, page.params)
        return draw_group(panels, view, period)

    fill.__qualname__ = f"panels.{panels[0].key}"
    return cached_output(fill)


def test_the_settings_tab_shows_the_defaults_and_a_refusal_saves_nothing(
        admin: SessionUser) -> None:
    content = str(tab_content(parse_query("tab=settings", admin_page.PARAMS)))
    assert "Business settings" in content and "deployment default" in content
    assert "dates imports from now on" in content
    feedback, refresh = save_settings({"currency": "ZZZ", "roas_benchmark": 3})
    assert "not an ISO 4217 currency code" in str(feedback) and "Nothing was saved" in str(
        feedback)
    assert db.session.query(BusinessSetting).count() == 0


def test_a_changed_benchmark_reaches_a_panel_drawn_before_the_change(
        admin: SessionUser) -> None:
    store = store_of("/marketing", "range=90d&tab=influencers", admin)
    campaigns = panel_callback("/marketing", "marketing-campaigns")
    assert "benchmark 4:1" in str(campaigns(store))  # drawn, and cached, with the default
    feedback, _refresh = save_settings({"roas_benchmark": "2.5"})
    assert "ROAS benchmark: 4:1 → 2.5:1" in str(feedback)
    assert "benchmark 2.5:1" in str(campaigns(store))


def test_a_changed_currency_reaches_figures_exports_and_the_api(app: Flask,
                                                                admin: SessionUser) -> None:
    store = store_of("/", "range=90d", admin)
    trend = panel_callback("/", "overview-trend")
    assert "£" in str(trend(store))  # the test app's default, GBP
    feedback, _refresh = save_settings({"currency": "EUR"})
    assert "Currency: GBP → EUR" in str(feedback)
    drawn = str(trend(store))
    assert "€" in drawn and "£" not in drawn
    spec = {spec.key: spec for spec in page_exports([page_for("/")])}["overview-platforms"]
    xlsx = export_file(spec, store, "xlsx")
    book = openpyxl.load_workbook(io.BytesIO(base64.b64decode(xlsx["content"])))
    about = {row[0].value: row[1].value for row in book["About"].iter_rows(min_row=2)}
    assert about["Currency"] == "EUR"
    client = login(app.test_client())
    assert client.get("/api/v1/overview?range=30d").get_json()["currency"] == "EUR"
