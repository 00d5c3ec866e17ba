"""The Views menu's callbacks as plain functions: a view is saved in the canonical URL form,
the menu offers it, a preview ("view as") changes nothing."""
from __future__ import annotations

import dataclasses

import sqlalchemy as sa
from flask import Flask
from flask_login import login_user

from callbacks.views_menu import PREVIEW_REFUSAL, change_view, editable, save_current
from dashapp.context import current_role, fetch
from dashapp.extensions import db
from models import SavedView, User
from services.saved_views import views_for
from tests.conftest import ADMIN, ANALYST, callback_request


def test_the_current_view_is_saved_in_canonical_form_and_offered(app: Flask) -> None:
    store = {"path": "/sales", "query": "platform=instagram&range=90d&bogus=1"}
    with callback_request(app, ANALYST):
        alert = save_current("Instagram, 90 days", "team", None, store)
        assert alert.color == "success", alert.children
        rows = fetch(views_for, current_role())
        saved = next(row for row in rows if row["name"] == "Instagram, 90 days")
        try:
            assert saved["url"] == "/sales?range=90d&platform=instagram&grain=day&compare=prev"
            assert f"/v/{saved['id']}" in str(alert.children)
            assert {"label": "Instagram, 90 days", "value": saved["id"]} in editable(
                rows, "analyst")
            again = save_current("Instagram, 90 days", "team", None, store)
            assert again.color == "danger" and "already have" in again.children
            assert change_view("rename", saved["id"], "", None, None).color == "danger"
            assert change_view("delete", saved["id"], None, None, None).color == "success"
        finally:
            db.session.execute(sa.delete(SavedView).where(SavedView.id == saved["id"]))
            db.session.commit()


def test_nothing_but_a_page_is_saved(app: Flask) -> None:
    with callback_request(app, ANALYST):
        for store in (None, {"path": "/nowhere", "query": ""}, {"query": "range=7d"}):
            assert save_current("Broken", "private", None, store).color == "danger"


def test_an_admin_previewing_as_someone_changes_none_of_their_views(app: Flask) -> None:
    store = {"path": "/", "query": "range=30d"}
    with callback_request(app, ANALYST):
        assert save_current("Mine, 30 days", "private", None, store).color \
            == "success"
    with app.app_context():
        view = db.session.scalar(sa.select(SavedView).where(SavedView.name == "Mine, 30 days"))
        admin_id = db.session.scalar(sa.select(User.id).where(
            User.email == ADMIN))
    try:
        with callback_request(app, ANALYST) as analyst:
            login_user(dataclasses.replace(analyst, viewed_by=admin_id))  # "view as"
            for action in ("rename", "share", "delete"):
                refused = change_view(action, view.id, "Renamed", "team", None)
                assert refused.color == "danger" and refused.children == PREVIEW_REFUSAL
            refused = save_current("Saved in a preview", "private", None, store)
            assert refused.children == PREVIEW_REFUSAL
        with app.app_context():
            kept = db.session.get(SavedView, view.id)
            assert kept is not None and kept.name == "Mine, 30 days" and \
                kept.sharing == "private"
            assert db.session.scalar(sa.select(sa.func.count()).select_from(SavedView).where(
                SavedView.name == "Saved in a preview")) == 0
    finally:
        with app.app_context():
            db.session.execute(sa.delete(SavedView).where(SavedView.id == view.id))
            db.session.commit()
