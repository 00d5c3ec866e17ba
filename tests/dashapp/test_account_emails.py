"""Accounts by e-mail through a real SMTP exchange (aiosmtpd): an admin's invitation and the
"Forgot password" link are one-time, expire, and the reset answers the same for any address
and is rate-limited per address and per IP; both audited."""
from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import delete, select

from dashapp.extensions import db
from dashapp.mailings import send_account_link
from models import AccountToken, AuditEvent, User, user_platforms, utcnow
from services.account_tokens import (
    INVITE_LIFETIME,
    ResetLimits,
    invite_user,
    request_reset,
    token_user,
)
from services.admin import Actor
from services.errors import AccessDenied
from services.users import create_user
from tests.conftest import ADMIN, TestDatabase, csrf_token, make_app, post_login
from tests.dashapp.smtp import Inbox, body, smtp_server

INVITED = "new.hire@example.com"
FORGETFUL = "forgetful@example.com"
NEW_PASSWORD = "a-brand-new-passphrase"
LINK = re.compile(r"http://pulse\.example(/account/password/\S+)")


@pytest.fixture(scope="module")
def mail(sqlite_db: TestDatabase) -> Iterator[tuple[Flask, Inbox]]:
    """An app whose mail goes to a local SMTP server, and low reset limits."""
    with smtp_server() as (inbox, settings):
        app = make_app(sqlite_db.url, MAIL=settings, PUBLIC_URL="http://pulse.example",
                       RESET_LIMITS=ResetLimits(per_address=2, per_ip=10))
        yield app, inbox
        with app.app_context():
            emails = [INVITED, FORGETFUL] + [f"nobody{n}@example.com" for n in range(6)]
            db.session.execute(delete(AuditEvent).where(AuditEvent.ip == "198.51.100.7"))
            # SQLite enforces no ON DELETE CASCADE here: their platform rows first, or a user
            # created later with a reused id inherits them.
            ids = select(User.id).where(User.email.in_(emails))
            db.session.execute(delete(user_platforms).where(user_platforms.c.user_id.in_(ids)))
            db.session.execute(delete(User).where(User.email.in_(emails)))
            db.session.commit()


def _link(inbox: Inbox, to: str) -> str:
    received = inbox.take()
    assert [recipients for recipients, _ in received] == [[to]]
    found = LINK.search(body(received[0][1]))
    assert found and found.group(1) in body(received[0][1], "html")
    return found.group(1)


def _set_password(client: FlaskClient, link: str, password: str) -> int:
    # The token of any form of the session: a used-up link shows no form.
    data = {"password": password, "confirm": password,
            "csrf_token": csrf_token(client, "/forgot-password")}
    return client.post(link, data=data).status_code


def _actions(app: Flask, email: str) -> list[str]:
    with app.app_context():
        rows = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))
        return [row.action for row in rows if email in (row.detail or "")]


def test_an_invitation_link_sets_the_password_once(mail: tuple[Flask, Inbox]) -> None:
    app, inbox = mail
    with app.app_context():
        admin = db.session.scalars(select(User).where(User.email == ADMIN)).one()
        with pytest.raises(AccessDenied):
            invite_user(db.session, Actor(admin.id, "viewer"), INVITED, "viewer")
        user, token = invite_user(db.session, Actor(admin.id, "admin"), INVITED, "analyst",
                                  ["instagram"])
        db.session.commit()
        send_account_link(user, token, "invite", utcnow() + INVITE_LIFETIME)
        # The token is stored as its digest only, and expires after 72 hours.
        stored = db.session.scalars(select(AccountToken).where(
            AccountToken.user_id == user.id)).one()
        assert token not in stored.token_hash
        assert token_user(db.session, token, utcnow() + dt.timedelta(hours=71)) is not None
        assert token_user(db.session, token, utcnow() + dt.timedelta(hours=73)) is None
    link = _link(inbox, INVITED)
    client = app.test_client()
    assert post_login(client, INVITED, NEW_PASSWORD).status_code == 401  # no password yet
    assert INVITED in client.get(link).get_data(as_text=True)
    assert _set_password(client, link, "short") == 400
    assert _set_password(client, link, NEW_PASSWORD) == 200
    assert client.get(link).status_code == 404  # used up
    assert _set_password(client, link, "another-password-1") == 404
    assert post_login(app.test_client(), INVITED, NEW_PASSWORD).status_code == 302
    assert {"user_invited", "invite_accepted"} <= set(_actions(app, INVITED))


def _forgot(client: FlaskClient, email: str) -> str:
    response = client.post("/forgot-password", environ_base={"REMOTE_ADDR": "198.51.100.7"},
                           data={"email": email,
                                 "csrf_token": csrf_token(client, "/forgot-password")},
                           follow_redirects=True)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_a_reset_link_answers_alike_and_is_rate_limited(mail: tuple[Flask, Inbox]) -> None:
    app, inbox = mail
    with app.app_context():
        create_user(db.session, FORGETFUL, "the-old-password", "viewer")
        db.session.commit()
    client = app.test_client()
    known, unknown = _forgot(client, FORGETFUL), _forgot(client, "nobody0@example.com")
    assert "If that address has an account" in known
    assert _strip_csrf(known) == _strip_csrf(unknown)  # the same page either way
    link = _link(inbox, FORGETFUL)  # one message: none for the unknown address

    _forgot(client, FORGETFUL)  # the second within the hour: still sent
    newer = _link(inbox, FORGETFUL)
    assert _set_password(client, link, NEW_PASSWORD) == 404  # a newer link voids the older
    assert _strip_csrf(_forgot(client, FORGETFUL)) == _strip_csrf(known)  # third: throttled
    assert inbox.take() == []
    assert _set_password(client, newer, NEW_PASSWORD) == 200
    assert post_login(app.test_client(), FORGETFUL, NEW_PASSWORD).status_code == 302
    assert post_login(app.test_client(), FORGETFUL, "the-old-password").status_code == 401
    actions = _actions(app, FORGETFUL)
    assert actions.count("password_reset_requested") == 2
    assert "password_reset_throttled" in actions and "password_reset" in actions

    # Per IP: past the limit, even an existing address gets no link from that IP.
    with app.app_context():
        limits, ip, now = ResetLimits(per_address=10, per_ip=2), "198.51.100.8", utcnow()
        assert [request_reset(db.session, f"nobody{n}@example.com", ip, now, limits)
                for n in (1, 2)] == [None, None]  # unknown addresses: nothing to send
        assert request_reset(db.session, ADMIN, ip, now, limits) is None
        assert request_reset(db.session, ADMIN, "198.51.100.9", now, limits) is not None
        later = now + dt.timedelta(hours=1, minutes=1)
        assert request_reset(db.session, ADMIN, ip, later, limits) is not None
        db.session.rollback()


def _strip_csrf(page: str) -> str:
    return re.sub(r'name="csrf_token" value="[^"]+"', "", page)
