"""Training a view's models in the background job's way: which models a view still needs,
the signed ticket, and training as the ticket's user, in that user's scope (a platform-limited
user's model is fitted on their platforms only), with the role and account checked again."""
from __future__ import annotations

import dataclasses
import json
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from dashapp.extensions import db
from dashapp.model_jobs import TrainingRequest, read_request, run_request, sign_request, untrained
from dashapp.views import checked_view
from layouts.model_status import ModelJob
from layouts.pages import PAGES, Page, page_for
from models import User
from services import model_store
from services.filters import Filters, Period
from services.overview import revenue_by_platform
from services.scope import Scope
from services.users import create_user
from tests.conftest import (
    ADMIN,
    LIMITED,
    LIMITED_PLATFORM,
    PASSWORD,
    TestDatabase,
    callback_request,
)

KIND = "test-platform-mix"
QUERY = "range=all&grain=month&compare=none"


def mix_key(scope: Scope, filters: Filters, period: Period) -> model_store.ModelKey:
    """The key of a toy model: the platform mix of the view (a real service's answer)."""
    return model_store.model_key(KIND, scope, "Platform mix", end=period.end,
                                 platforms=filters.platforms)


def train_mix(session: Session, scope: Scope, filters: Filters,
              period: Period) -> model_store.Trained:
    """Fit the toy model: the share of net revenue per platform, in the user's scope."""
    def fit() -> tuple[pd.Series, dict[str, Any]]:
        rows = revenue_by_platform(session, scope, filters, period)
        share = rows.set_index("slug")["net_revenue"] / rows["net_revenue"].sum()
        return share, {"platforms": len(share)}
    return model_store.train(session, mix_key(scope, filters, period), fit, scope.user_id)


@pytest.fixture(scope="module")
def page() -> Page:
    """The Overview page with the toy model on its platform panel."""
    return dataclasses.replace(page_for("/"), models=(ModelJob(
        KIND, panel="overview-platforms", key=mix_key, train=train_mix, label="toy model"),))


def _request(app: Flask, email: str, force: bool = False) -> TrainingRequest:
    with app.app_context():
        user_id = db.session.scalar(sa.select(User.id).where(User.email == email))
    return TrainingRequest(int(user_id), "/", QUERY, (KIND,), force)


def _untrained(app: Flask, email: str, page: Page) -> list[str]:
    with callback_request(app, email):
        view, period = checked_view(QUERY, page.params)
        return untrained(page, view, period)


def _stored_mix(app: Flask, email: str, page: Page) -> pd.Series | None:
    with callback_request(app, email) as user:
        view, period = checked_view(QUERY, page.params)
        found = model_store.stored(db.session, mix_key(user.scope, view.filters, period))
        return None if found is None else found.artefact


def test_a_ticket_round_trips_and_a_forged_one_is_refused(app: Flask) -> None:
    request = _request(app, ADMIN)
    ticket = sign_request(app, request)
    assert read_request(app, ticket) == request
    assert read_request(app, ticket[:-3] + "abc") is None


def test_the_job_trains_what_the_view_needs_in_the_users_scope(
        app: Flask, page: Page, sqlite_db: TestDatabase) -> None:
    for email in (ADMIN, LIMITED):
        assert _untrained(app, email, page) == [KIND]
        assert run_request(app, _request(app, email), page) == [KIND]
        assert _untrained(app, email, page) == []
        # Asked again (another worker, a second tab): nothing is trained twice.
        assert run_request(app, _request(app, email), page) == []

    platforms = pd.read_sql("SELECT DISTINCT p.slug FROM order_lines l JOIN platforms p "
                            "ON p.id = l.platform_id", sqlite_db.engine)["slug"]
    everyone = _stored_mix(app, ADMIN, page)
    limited = _stored_mix(app, LIMITED, page)
    assert everyone is not None and limited is not None
    assert set(everyone.index) == set(platforms) and everyone.sum() == pytest.approx(1)
    assert list(limited.index) == [LIMITED_PLATFORM]  # fitted on the user's platform only


def test_a_retrain_needs_an_analyst_and_an_active_account(app: Flask, page: Page) -> None:
    with app.app_context():
        if db.session.scalar(sa.select(User).where(User.email == "jobs-viewer@example.com")) \
                is None:
            create_user(db.session, "jobs-viewer@example.com", PASSWORD, "viewer")
            db.session.commit()
    assert run_request(app, _request(app, "jobs-viewer@example.com", force=True), page) == []
    assert run_request(app, _request(app, ADMIN, force=True), page) == [KIND]
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == ADMIN))
        user.active = False
        db.session.commit()
    try:
        assert run_request(app, _request(app, ADMIN, force=True), page) == []
    finally:
        with app.app_context():
            db.session.scalar(sa.select(User).where(User.email == ADMIN)).active = True
            db.session.commit()


def _declared_outputs(key: str) -> set[str]:
    """'id.prop' of every output a callback_map key names (without allow_duplicate's hash)."""
    parts = key.strip(".").split("...") if key.startswith("..") else [key]
    return {part.split("@")[0] for part in parts}


def _as_key(component_id: str | dict[str, str]) -> str:
    """An id as callback_map keys write it (a pattern id as compact, sorted JSON)."""
    if isinstance(component_id, str):
        return component_id
    return json.dumps(component_id, sort_keys=True, separators=(",", ":"))


def test_no_panel_waits_for_a_background_job(app: Flask) -> None:
    """Dash's renderer holds a callback while one that outputs any of its inputs is pending:
    a panel listening to a declared output of the training job would stay blank until
    training ended. The job sets the trained stamp with set_props instead."""
    dash_app = app.extensions["dash"]
    background = set().union(*(_declared_outputs(key) for key, spec in
                               dash_app.callback_map.items() if spec.get("background")))
    panels = {_as_key(panel.component_id) for page in PAGES for panel in page.panels}
    waiting = [key for key, spec in dash_app.callback_map.items()
               if {output.split(".")[0] for output in _declared_outputs(key)} & panels
               and {f"{item['id']}.{item['property']}" for item in spec["inputs"]} & background]
    assert background and panels
    assert waiting == []
