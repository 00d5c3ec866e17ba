"""Customer names are personal data: viewers see ids, analysts and admins names, in the rows
of every panel (and so in its export and API entry); a platform-limited user's API answer
counts only the activity on their platforms."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_login import login_user

from dashapp.auth import SessionUser
from dashapp.extensions import db
from dashapp.filters import parse_query
from dashapp.panels import panel_rows
from layouts import customers as page
from models import User
from services import customers as service
from services.filters import Filters
from services.sales import resolve
from services.scope import Scope
from tests.conftest import ADMIN, LIMITED, TestDatabase, callback_request

NAMED = (page.MEMBERS, page.TOP, page.CLV, page.CHURN)
QUERY = "range=90d&segment=Champions"


def _named_rows(panel_rows_of: dict) -> list[bool]:
    found = []
    for rows in panel_rows_of.values():
        frames = [value for value in (rows.values() if isinstance(rows, dict) else [rows])
                  if hasattr(value, "columns")]
        found += ["name" in frame.columns for frame in frames]
    return found


def _rows(period_scope: Scope) -> dict:
    view = parse_query(QUERY, page.PARAMS)
    period = resolve(db.session, period_scope, view.filters)
    return {panel.key: panel_rows(panel, view, period) for panel in NAMED}


@pytest.fixture
def viewer(app: Flask) -> Iterator[SessionUser]:
    """A Dash request of a viewer (an admin's "view as" looks the same)."""
    with app.test_request_context("/_dash-update-component", method="POST"):
        admin = db.session.scalar(sa.select(User).where(User.email == ADMIN))
        user = SessionUser(admin.id, "viewer@example.com", None, "viewer", None,
                           viewed_by=admin.id)
        login_user(user)
        yield user


def test_a_viewer_sees_customer_ids_but_no_names(viewer: SessionUser) -> None:
    rows = _rows(Scope())
    assert _named_rows(rows) and not any(_named_rows(rows))
    assert len(rows[page.MEMBERS.key]) > 0  # ids are there


def test_an_admin_sees_names(app: Flask) -> None:
    with callback_request(app, ADMIN):
        assert all(_named_rows(_rows(Scope())))


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
