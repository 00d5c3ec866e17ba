"""Chart exports through the callback layer: same rows as the chart, scope and role obeyed."""
from __future__ import annotations

import base64
import io
from collections.abc import Iterator

import openpyxl
import pandas as pd
import pytest
from dash.exceptions import PreventUpdate
from flask import Flask
from flask_login import login_user
from sqlalchemy import func, select

from callbacks.exports import export_file, page_exports
from dashapp.auth import SessionUser
from dashapp.extensions import db
from dashapp.filters import parse_query
from dashapp.permissions import can_export
from dashapp.views import store_payload
from layouts.overview import PARAMS
from layouts.pages import page_for
from models import AuditEvent, User
from services import overview
from services.sales import resolve
from tests.conftest import ADMIN, LIMITED, LIMITED_PLATFORM

SPECS = {spec.key: spec for spec in page_exports([page_for("/")])}


@pytest.fixture
def logged_in(app: Flask, request: pytest.FixtureRequest) -> Iterator[SessionUser]:
    """A request context with the user named by the test's parameter logged in."""
    email = getattr(request, "param", ADMIN)
    with app.test_request_context("/_dash-update-component", method="POST"):
        user = SessionUser.of(db.session.scalar(select(User).where(User.email == email)))
        login_user(user)
        yield user


def store_for(query: str, user: SessionUser) -> dict:
    """The browser store for an Overview view, as the sync callback writes it."""
    view = parse_query(query, PARAMS)
    period = resolve(db.session, user.scope, view.filters)
    return store_payload("/", view, period, PARAMS)


def read_csv_download(download: dict) -> pd.DataFrame:
    """A dcc.send_bytes payload holding our CSV, read as a plain `pandas.read_csv` reads it."""
    return pd.read_csv(io.BytesIO(base64.b64decode(download["content"])))


def test_platform_export_is_exactly_the_chart_data(logged_in: SessionUser) -> None:
    store = store_for("range=90d&compare=prev", logged_in)
    download = export_file(SPECS["overview-platforms"], store, "csv")
    table = read_csv_download(download)
    view = parse_query(store["query"], PARAMS)
    period = resolve(db.session, logged_in.scope, view.filters)
    expected = overview.revenue_by_platform(db.session, logged_in.scope, view.filters, period)
    assert list(table["Platform key"]) == list(expected["slug"])
    assert table["Net revenue"].tolist() == pytest.approx(expected["net_revenue"].tolist(),
                                                          abs=0.005)
    assert table["Net revenue"].sum() == pytest.approx(expected["net_revenue"].sum(), abs=0.05)
    assert download["filename"] == (f"overview-platforms_{period.start}_{period.end}.csv")
    # The view and its dates are in the XLSX's About sheet.
    xlsx = export_file(SPECS["overview-platforms"], store, "xlsx")
    book = openpyxl.load_workbook(io.BytesIO(base64.b64decode(xlsx["content"])))
    about = {row[0].value: row[1].value for row in book["About"].iter_rows(min_row=2)}
    assert about["View"].endswith("/?range=90d&grain=day&compare=prev")
    assert about["Dates"] == period.label
    names = [cell.value for cell in book["Data"][1]]
    money = book["Data"].cell(row=2, column=names.index("Net revenue") + 1)
    assert "0.00" in money.number_format  # a currency format, rounded to the cent
    assert book["Data"].freeze_panes == "A2"


@pytest.mark.parametrize("logged_in", [LIMITED], indirect=True)
def test_export_obeys_the_platform_limit_whatever_the_store_says(
        logged_in: SessionUser) -> None:
    store = store_for("range=all", logged_in)
    store["query"] = "range=all&platform=online-store&platform=instagram"
    table = read_csv_download(export_file(SPECS["overview-platforms"], store, "csv"))
    assert list(table["Platform key"]) == [LIMITED_PLATFORM]


def test_each_export_is_recorded_in_the_audit_log(logged_in: SessionUser) -> None:
    before = db.session.scalar(select(func.count()).select_from(AuditEvent))
    export_file(SPECS["overview-kpis"], store_for("range=30d", logged_in), "xlsx")
    events = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).all()
    assert len(events) == before + 1
    assert events[0].action == "export" and "overview-kpis" in events[0].detail


def test_a_store_from_another_page_exports_nothing(logged_in: SessionUser) -> None:
    store = store_for("range=30d", logged_in)
    store["path"] = "/sales"
    with pytest.raises(PreventUpdate):
        export_file(SPECS["overview-trend"], store, "csv")


@pytest.mark.parametrize("email, allowed", [(ADMIN, True), ("viewer@example.com", False)])
def test_viewers_may_not_export(app: Flask, email: str, allowed: bool) -> None:
    from services.users import create_user

    with app.test_request_context("/"):
        user = db.session.scalar(select(User).where(User.email == email))
        if user is None:
            user = create_user(db.session, email, "a-long-password", "viewer")
            db.session.commit()
        login_user(SessionUser.of(user))
        assert can_export() is allowed
