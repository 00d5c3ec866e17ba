"""Saved views on SQLite and PostgreSQL: who sees which, who changes them, the audit trail,
and that a shared view shows each recipient only their own platforms."""
from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from dashapp.context import current_role, fetch
from dashapp.extensions import db
from dashapp.views import checked_view
from models import AuditEvent, SavedView, User
from services import saved_views
from services.admin import Actor
from services.errors import AccessDenied, InvalidInput, NotFound
from services.overview import revenue_by_platform
from services.scope import Scope
from services.users import create_user
from tests.conftest import (
    ADMIN,
    ANALYST,
    LIMITED,
    LIMITED_PLATFORM,
    PASSWORD,
    TestDatabase,
    callback_request,
    make_app,
)

QUERY = "range=all&grain=month&compare=none"


def actor(session: Session, email: str) -> Actor:
    """The Actor of an existing user."""
    user = session.scalar(select(User).where(User.email == email))
    return Actor(user.id, user.role, "203.0.113.9")


def scope_of(who: Actor) -> Scope:
    """The scope the service sees for `who` (the platform limit does not matter here)."""
    return Scope(user_id=who.id)


def events(session: Session, view_id: str) -> list[tuple[str, dict]]:
    """The audit events about one view, oldest first, with their details."""
    rows = session.scalars(select(AuditEvent).where(AuditEvent.action.like("view_%"))
                           .order_by(AuditEvent.id))
    found = [(row.action, json.loads(row.detail or "{}"), row) for row in rows]
    return [(action, detail) for action, detail, _ in found if detail.get("view") == view_id]


@pytest.fixture
def viewer(session: Session) -> Actor:
    """A viewer without a platform limit (rolled back with the session)."""
    user = create_user(session, "viewer-views@example.com", PASSWORD, "viewer")
    return Actor(user.id, user.role, None)


def ids(session: Session, who: Actor) -> set[str]:
    """The ids of the views `who` is offered."""
    return {row["id"] for row in saved_views.views_for(session, scope_of(who), who.role)}


def test_private_team_and_role_views_are_offered_to_the_right_users(
        session: Session, viewer: Actor) -> None:
    owner, analyst, boss = actor(session, LIMITED), actor(session, ANALYST), actor(session, ADMIN)
    private = saved_views.create_view(session, owner, "  Mine   only ", "/sales", QUERY)
    team = saved_views.create_view(session, owner, "Everyone", "/sales", QUERY, "team")
    analysts = saved_views.create_view(session, owner, "Analysts", "/", "?" + QUERY, "role",
                                       "analyst")
    assert private.name == "Mine only" and analysts.query == QUERY
    assert len(private.id) >= 12 and private.id != team.id
    assert {private.id, team.id, analysts.id} <= ids(session, owner)
    assert {team.id, analysts.id} <= ids(session, analyst)
    assert private.id not in ids(session, analyst)
    assert team.id in ids(session, viewer)
    assert not {private.id, analysts.id} & ids(session, viewer)
    assert {private.id, team.id, analysts.id} <= ids(session, boss)  # admins see all
    rows = saved_views.views_for(session, scope_of(owner), owner.role)
    mine = [row["name"] for row in rows if row["mine"]]
    assert mine[:3] == sorted(mine, key=str.lower)[:3]
    assert rows[0]["mine"] and {row["owner"] for row in rows if row["mine"]} == {LIMITED}


def test_the_permalink_resolves_only_for_who_may_open_it(session: Session,
                                                          viewer: Actor) -> None:
    owner, analyst = actor(session, ANALYST), actor(session, LIMITED)
    private = saved_views.create_view(session, owner, "Private", "/products", QUERY)
    for_viewers = saved_views.create_view(session, owner, "Viewers", "/sales", QUERY, "role",
                                          "viewer")
    assert saved_views.view_url(session, scope_of(owner), owner.role, private.id) == \
        f"/products?{QUERY}"
    assert saved_views.view_url(session, scope_of(viewer), "viewer", for_viewers.id) == \
        f"/sales?{QUERY}"
    for view_id, who in ((private.id, analyst), (for_viewers.id, analyst),
                         ("no-such-view", owner), ("", owner)):
        with pytest.raises(NotFound):
            saved_views.view_url(session, scope_of(who), who.role, view_id)


def test_owners_rename_share_and_delete_and_every_change_is_audited(session: Session) -> None:
    owner, other, boss = actor(session, ANALYST), actor(session, LIMITED), actor(session, ADMIN)
    view = saved_views.create_view(session, owner, "Q1", "/sales", QUERY, "team")
    saved_views.rename_view(session, owner, view.id, "Q1 sales")
    saved_views.share_view(session, owner, view.id, "role", "viewer")
    assert (view.name, view.sharing, view.shared_role) == ("Q1 sales", "role", "viewer")
    saved_views.share_view(session, owner, view.id, "team")
    with pytest.raises(AccessDenied):  # the team may open it, not change it
        saved_views.rename_view(session, other, view.id, "Mine now")
    with pytest.raises(AccessDenied):
        saved_views.delete_view(session, other, view.id)
    saved_views.rename_view(session, boss, view.id, "Q1 sales (checked)")  # an admin may
    saved_views.delete_view(session, owner, view.id)
    assert session.get(SavedView, view.id) is None
    with pytest.raises(NotFound):
        saved_views.view_url(session, scope_of(owner), owner.role, view.id)
    trail = events(session, view.id)
    assert [action for action, _ in trail] == [
        "view_created", "view_renamed", "view_shared", "view_shared", "view_renamed",
        "view_deleted"]
    assert trail[0][1]["url"] == f"/sales?{QUERY}" and trail[0][1]["sharing"] == "team"
    assert trail[1][1] == {"view": view.id, "old": "Q1", "name": "Q1 sales"}
    assert trail[2][1]["role"] == "viewer"


def test_a_foreign_private_view_cannot_be_changed_or_seen(session: Session) -> None:
    owner, other = actor(session, ANALYST), actor(session, LIMITED)
    view = saved_views.create_view(session, owner, "Secret", "/sales", QUERY)
    for change in (lambda: saved_views.rename_view(session, other, view.id, "x"),
                   lambda: saved_views.share_view(session, other, view.id, "team"),
                   lambda: saved_views.delete_view(session, other, view.id)):
        with pytest.raises(NotFound):
            change()


@pytest.mark.parametrize("name, path, query, sharing, role, message", [
    ("", "/sales", QUERY, "private", None, "name"),
    ("x" * 121, "/sales", QUERY, "private", None, "at most"),
    ("Bell\x07here", "/sales", QUERY, "private", None, "control"),
    ("Elsewhere", "https://evil.example/", QUERY, "private", None, "Pulseboard page"),
    ("Elsewhere", "//evil.example", QUERY, "private", None, "Pulseboard page"),
    ("Header", "/sales", "range=all\r\nSet-Cookie: x", "private", None, "malformed"),
    ("Shared", "/sales", QUERY, "everyone", None, "Share a view"),
    ("Shared", "/sales", QUERY, "role", "owner", "role"),
])
def test_bad_views_are_refused(session: Session, name: str, path: str, query: str,
                               sharing: str, role: str | None, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        saved_views.create_view(session, actor(session, ANALYST), name, path, query, sharing,
                                role)


def test_names_are_unique_per_owner(session: Session) -> None:
    owner = actor(session, ANALYST)
    saved_views.create_view(session, owner, "Weekly", "/sales", QUERY)
    saved_views.create_view(session, actor(session, LIMITED), "Weekly", "/sales", QUERY)
    with pytest.raises(InvalidInput, match="already have"):
        saved_views.create_view(session, owner, "Weekly", "/", QUERY)


# --- the recipient's platform limit ------------------------------------------------------------

_APPS: dict[str, Flask] = {}


def app_on(database: TestDatabase) -> Flask:
    """The app on the parametrised database (built once per database)."""
    if database.name not in _APPS:
        _APPS[database.name] = make_app(database.url)
    return _APPS[database.name]


def net_revenue_by_slug(database: TestDatabase, start: dt.date, end: dt.date) -> pd.Series:
    """Net revenue per platform slug in [start, end], straight from the lines in pandas."""
    with database.engine.connect() as connection:
        lines = pd.read_sql(sa.text(
            "SELECT l.quantity, l.unit_price, l.sale_date, f.slug FROM order_lines AS l "
            "JOIN platforms AS f ON f.id = l.platform_id"), connection)
    days = pd.to_datetime(lines["sale_date"].astype(str).str[:10]).dt.date
    lines = lines[(days >= start) & (days <= end)]
    revenue = lines["quantity"] * pd.to_numeric(lines["unit_price"])
    return revenue.groupby(lines["slug"]).sum()


def test_a_shared_view_shows_the_recipient_only_the_recipients_platforms(
        database: TestDatabase) -> None:
    app = app_on(database)
    with callback_request(app, ADMIN) as sender:
        url = f"/?range=all&platform=amazon&platform={LIMITED_PLATFORM}&compare=none"
        view = saved_views.create_view(db.session, Actor(sender.id, sender.role), "Amazon + IG",
                                       "/", url.split("?")[1], "team")
        db.session.commit()
        view_id = view.id
        sender_view, sender_period = checked_view(fetch(saved_views.view_url, current_role(),
                                                        view_id).split("?")[1])
        sender_rows = fetch(revenue_by_platform, sender_view.filters, sender_period)
    try:
        with callback_request(app, LIMITED):
            stored = fetch(saved_views.view_url, current_role(), view_id)
            assert stored == url  # the same link for both
            seen, period = checked_view(stored.split("?")[1])
            rows = fetch(revenue_by_platform, seen.filters, period)
        assert seen.filters.platforms == (LIMITED_PLATFORM,)
        assert any("amazon" in notice for notice in seen.notices)
        assert set(sender_rows["slug"]) == {"amazon", LIMITED_PLATFORM}  # not the sender's view
        assert list(rows["slug"]) == [LIMITED_PLATFORM]
        expected = net_revenue_by_slug(database, period.start, period.end)
        assert rows["net_revenue"].iloc[0] == pytest.approx(expected[LIMITED_PLATFORM],
                                                            rel=1e-9)
    finally:
        with app.app_context():
            db.session.execute(sa.delete(SavedView).where(SavedView.id == view_id))
            db.session.commit()
