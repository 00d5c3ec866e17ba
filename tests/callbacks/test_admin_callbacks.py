"""Admin callbacks as plain functions: admins get every tab, anyone else gets nothing."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from dash import no_update
from flask import Flask
from sqlalchemy import select

from callbacks.admin import run_action, tab_content
from dashapp.extensions import db
from dashapp.filters import parse_query
from layouts.admin import PARAMS
from models import AuditEvent, User
from services import admin
from services.errors import AccessDenied
from tests.conftest import ADMIN, ANALYST, callback_request


@pytest.fixture
def as_user(app: Flask, request: pytest.FixtureRequest) -> Iterator[None]:
    """A request context with the user named by the parameter logged in."""
    with callback_request(app, request.param):
        yield


@pytest.mark.parametrize("as_user", [ADMIN], indirect=True)
@pytest.mark.parametrize("tab, expected", [("users", ANALYST), ("tokens", "Starts with"),
                                           ("audit", "The newest"), ("status", "order_lines")])
def test_admin_sees_every_tab(as_user: None, tab: str, expected: str) -> None:
    content = tab_content(parse_query(f"tab={tab}", PARAMS))
    assert expected in str(content)


@pytest.mark.parametrize("as_user", [ANALYST], indirect=True)
def test_non_admin_gets_no_admin_data_through_callbacks(as_user: None) -> None:
    with pytest.raises(AccessDenied):
        tab_content(parse_query("tab=users", PARAMS))
    denial = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert denial.action == "access_denied" and "list_users" in denial.detail
    feedback, refresh = run_action(admin.add_user, "intruder@example.com", "a-long-password",
                                   "admin", [], None, success="Added")
    assert "Only administrators" in str(feedback) and refresh is no_update
    assert db.session.scalar(select(User).where(User.email == "intruder@example.com")) is None
