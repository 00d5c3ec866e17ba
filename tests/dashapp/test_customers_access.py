"""Customer names are personal data: viewers see ids, analysts and admins names, on every way
out of a panel -- its drawing on screen, its export and its API entry -- and a viewer cannot
find customers by name either; a platform-limited user's API answer counts only the activity
on their platforms."""
from __future__ import annotations

import json
from collections.abc import Iterator

import plotly
import pytest
import sqlalchemy as sa
from flask import Flask
from flask_login import login_user

from callbacks.exports import panel_export
from callbacks.panels import draw_group
from dashapp.auth import SessionUser
from dashapp.extensions import db
from dashapp.filters import parse_query
from dashapp.panels import panel_rows
from layouts import customers as page
from layouts.pages import page_for
from models import Customer, User
from services import customer_churn as churn
from services import customers as service
from services import model_store
from services.filters import Filters
from services.sales import resolve
from services.scope import Scope
from services.users import create_token, create_user
from tests.conftest import ADMIN, LIMITED, PASSWORD, TestDatabase, callback_request

NAMED = (page.MEMBERS, page.TOP, page.CLV, page.CHURN)
QUERY = "range=90d&segment=Champions"
VIEWER = "customers-viewer@example.com"


@pytest.fixture(scope="module")
def viewer_token(app: Flask) -> str:
    """An API token of a viewer (created once in the shared database)."""
    with app.app_context():
        if db.session.scalar(sa.select(User).where(User.email == VIEWER)) is None:
            create_user(db.session, VIEWER, PASSWORD, "viewer")
        token = create_token(db.session, VIEWER, "customers access")
        db.session.commit()
        return token


def _view() -> tuple:
    view = parse_query(QUERY, page.PARAMS)
    return view, resolve(db.session, Scope(), view.filters)


def _ensure_models() -> None:
    """The view's churn and CLV models stored (trained here unless already stored at this
    data revision), so the at-risk list and the predicted values have customers."""
    view, period = _view()
    filters = Filters(range="90d")  # the models' inputs: the panels drop only the compare
    for key, train in ((churn.churn_key, churn.train_churn), (service.clv_key,
                                                              service.train_clv)):
        if model_store.stored(db.session, key(Scope(), filters, period)) is None:
            train(db.session, Scope(), filters, period)


def _names() -> set[str]:
    return {name for name in db.session.scalars(sa.select(Customer.name)) if name}


def _screen() -> str:
    """Every named panel as drawn for this request's user, as the JSON Dash sends."""
    view, period = _view()
    drawn = [draw_group([panel], view, period) for panel in NAMED]
    return json.dumps(drawn, cls=plotly.utils.PlotlyJSONEncoder, ensure_ascii=False)


def _exports() -> list:
    view, period = _view()
    customers_page = page_for(page.PATH)
    assert customers_page is not None
    return [panel_export(customers_page, panel).build(view, period) for panel in NAMED]


def _rows() -> dict:
    view, period = _view()
    return {panel.key: panel_rows(panel, view, period) for panel in NAMED}


def _api(app: Flask, token: str) -> str:
    """The page's API answer for the token's user, as text (names unescaped)."""
    response = app.test_client().get(f"/api/v1/customers?{QUERY}",
                                     headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    return json.dumps(response.get_json(), ensure_ascii=False)


def _named_frames(rows: dict) -> list[bool]:
    found = []
    for value in rows.values():
        frames = [item for item in (value.values() if isinstance(value, dict) else [value])
                  if hasattr(item, "columns")]
        found += ["name" in frame.columns for frame in frames]
    return found


@pytest.fixture
def as_viewer(app: Flask, viewer_token: str) -> Iterator[SessionUser]:
    """A Dash request of an admin previewing the app as a viewer ("view as"; the viewer is
    made with its token)."""
    with app.test_request_context("/_dash-update-component", method="POST"):
        admin = db.session.scalar(sa.select(User).where(User.email == ADMIN))
        viewer = db.session.scalar(sa.select(User).where(User.email == VIEWER))
        user = SessionUser.of(viewer, viewed_by=admin.id)
        login_user(user)
        _ensure_models()
        yield user


def test_a_viewer_sees_ids_but_no_names_on_screen_in_exports_or_in_the_api(
        app: Flask, viewer_token: str, as_viewer: SessionUser) -> None:
    names = _names()
    rows = _rows()
    assert _named_frames(rows) and not any(_named_frames(rows))
    assert len(rows[page.MEMBERS.key]) > 0 and len(rows[page.CHURN.key]["at_risk"]) > 0
    screen = _screen()
    assert rows[page.MEMBERS.key]["customer"].iloc[0] in screen  # ids are drawn
    assert not [name for name in names if name in screen]
    for table in _exports():
        assert "name" not in table.columns and len(table)
    body = _api(app, viewer_token)
    assert '"top_customers"' in body and not [name for name in names if name in body]


def test_a_viewer_cannot_find_customers_by_name(as_viewer: SessionUser) -> None:
    view, period = _view()
    table = service.rfm(db.session, Scope(), view.filters, period)
    someone = table.dropna(subset=["name"]).iloc[0]
    searched = page.top_rows(table, parse_query(f"range=90d&q={someone['name']}",
                                                page.PARAMS))
    assert searched["top_matches"] == 0
    by_id = page.top_rows(table, parse_query(f"range=90d&q={someone['customer']}",
                                             page.PARAMS))
    assert by_id["top_matches"] >= 1


def test_an_analyst_sees_names_on_screen_in_exports_and_in_the_api(
        app: Flask, sqlite_db: TestDatabase) -> None:
    with callback_request(app, ADMIN):
        _ensure_models()
        rows = _rows()
        assert all(_named_frames(rows))
        shown = [rows[page.MEMBERS.key]["name"].iloc[0],
                 rows[page.CHURN.key]["at_risk"]["name"].iloc[0]]
        screen = _screen()
        assert all(name in screen for name in shown)
        assert all("name" in table.columns for table in _exports())
        view, period = _view()
        table = service.rfm(db.session, Scope(), view.filters, period)
        found = page.top_rows(table, parse_query(f"range=90d&q={shown[0]}", page.PARAMS))
        assert found["top_matches"] >= 1
    body = _api(app, sqlite_db.admin_token)
    assert shown[0] in body


def test_a_limited_user_gets_only_their_platforms_activity(app: Flask,
                                                           sqlite_db: TestDatabase) -> None:
    client = app.test_client()
    headers = {"Authorization": f"Bearer {sqlite_db.limited_token}"}
    body = client.get(f"/api/v1/customers?{QUERY}", headers=headers).get_json()
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == LIMITED))
        platform_ids = frozenset(platform.id for platform in user.platforms)
        scope = Scope(user.id, platform_ids)
        filters = Filters(range="90d")
        period = resolve(db.session, scope, filters)
        base = service.customer_base(db.session, scope, filters, period.start, period.end)
    assert body["kpis"]["customers"]["current"] == len(base)
    top = body["top_customers"][0]
    assert top["net_revenue"] == pytest.approx(base["net_revenue"].max())
    everything = client.get(f"/api/v1/customers?{QUERY}", headers={
        "Authorization": f"Bearer {sqlite_db.admin_token}"}).get_json()
    assert everything["kpis"]["customers"]["current"] > len(base)
