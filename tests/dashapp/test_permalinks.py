"""The permalink route /v/<id>: login first, then a redirect to the stored URL for who may
open the view, 404 for anyone else; the page behind it shows the opener's platforms."""
from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy import select

from models import SavedView, User
from services.admin import Actor
from services.saved_views import create_view
from tests.conftest import ADMIN, ANALYST, LIMITED, LIMITED_PLATFORM, TestDatabase, login

QUERY = f"range=all&platform=amazon&platform={LIMITED_PLATFORM}&grain=month&compare=none"


@pytest.fixture
def views(sqlite_db: TestDatabase) -> Iterator[dict[str, str]]:
    """An analyst's private view, one shared with the team and one with viewers only."""
    with sqlite_db.session() as session:
        owner = session.scalar(select(User).where(User.email == ANALYST))
        who = Actor(owner.id, owner.role)
        made = {"private": create_view(session, who, "Mine", "/sales", QUERY).id,
                "team": create_view(session, who, "Team", "/", QUERY, "team").id,
                "viewers": create_view(session, who, "Viewers", "/", QUERY, "role",
                                       "viewer").id}
        session.commit()
    yield made
    with sqlite_db.session() as session:
        session.execute(sa.delete(SavedView).where(SavedView.id.in_(list(made.values()))))
        session.commit()


def test_a_permalink_needs_a_login(app: Flask, views: dict[str, str]) -> None:
    response = app.test_client().get(f"/v/{views['team']}")
    assert response.status_code == 302
    assert urlsplit(response.location).path == "/login"
    assert f"/v/{views['team']}" in response.location  # back to the view after login


def test_the_owner_is_sent_to_the_stored_url(app: Flask, views: dict[str, str]) -> None:
    client = login(app.test_client(), ANALYST)
    response = client.get(f"/v/{views['private']}")
    assert response.status_code == 302 and response.location == f"/sales?{QUERY}"
    assert client.get(f"/v/{views['viewers']}").location == f"/?{QUERY}"  # owner: any sharing


@pytest.mark.parametrize("email, view, status", [
    (LIMITED, "private", 404),  # somebody else's private view: it does not exist
    (LIMITED, "viewers", 404),  # shared with a role the user lacks
    (LIMITED, "team", 302),
    (ADMIN, "private", 302),  # admins see all
    (ADMIN, "unknown", 404),
])
def test_only_who_may_open_a_view_is_redirected(app: Flask, views: dict[str, str], email: str,
                                                view: str, status: int) -> None:
    client = login(app.test_client(), email)
    response = client.get(f"/v/{views.get(view, 'no-such-id0')}")
    assert response.status_code == status
    if status == 404:
        assert QUERY not in response.get_data(as_text=True)


def test_one_link_for_sender_and_recipient(app: Flask, views: dict[str, str]) -> None:
    """The link carries the sender's filters; the recipient's page drops the platforms they
    may not see (tests/services/test_saved_views.py checks the numbers), and the API, which
    refuses rather than drops, refuses them."""
    limited = login(app.test_client(), LIMITED)
    sender = login(app.test_client(), ANALYST)
    location = limited.get(f"/v/{views['team']}").location
    assert location == sender.get(f"/v/{views['team']}").location == f"/?{QUERY}"
    refused = limited.get(f"/api/v1/sales?{urlsplit(location).query}")
    assert refused.status_code == 400 and "amazon" in refused.get_data(as_text=True)
