"""Digests and alerts through a real SMTP exchange (aiosmtpd), on SQLite and PostgreSQL.

A manager limited to one platform receives Monday's digest of a view an admin shared: the
right recipient and subject, the PDF attached (the real renderer, headless Chromium), and
KPI numbers equal to the API's for the same view *in the manager's scope*; two senders
racing send it once. Failures are retried with a backoff and listed for Admin · System;
an alert fires at most once per business day.
"""
from __future__ import annotations

import datetime as dt
import re
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import delete, select

from callbacks import subscriptions
from dashapp import mailings
from dashapp.context import fetch, setting
from dashapp.extensions import db
from dashapp.views import checked_view
from models import Alert, Delivery, SavedView, Subscription, User
from services import alerts, digests, saved_views
from services.admin import Actor
from services.deliveries import (
    FIRST_RETRY,
    LAST_RETRY,
    MAX_FAILURES,
    failed_deliveries,
    retry_delay,
)
from services.filters import format_range
from services.forecast_anomalies import anomalies
from services.mail import MailSettings
from tests.conftest import (
    ADMIN,
    LIMITED,
    TestDatabase,
    callback_request,
    csrf_token,
    make_app,
)
from tests.dashapp.smtp import Inbox, body, smtp_server

QUERY = "range=30d&grain=day&compare=prev"
PUBLIC = "http://pulse.example"


@pytest.fixture(scope="module")
def mail(database: TestDatabase) -> Iterator[tuple[Flask, Inbox]]:
    """An app on the test database whose mail goes to a local SMTP server."""
    with smtp_server() as (inbox, settings):
        yield make_app(database.url, MAIL=settings, PUBLIC_URL=PUBLIC), inbox


def _user(email: str) -> User:
    return db.session.scalars(select(User).where(User.email == email)).one()


@pytest.fixture
def shared_view(mail: tuple[Flask, Inbox]) -> Iterator[str]:
    """The id of a view of the last 30 days an admin shared with the team; removed
    afterwards with its digests, alerts and deliveries."""
    app, inbox = mail
    with app.app_context():
        admin = _user(ADMIN)
        view = saved_views.create_view(db.session, Actor(admin.id, "admin"), "Weekly board",
                                       "/", QUERY, "team")
        db.session.commit()
        view_id = view.id
    yield view_id
    inbox.take()
    with app.app_context():
        db.session.execute(delete(Delivery))
        db.session.execute(delete(Subscription).where(Subscription.view_id == view_id))
        db.session.execute(delete(Alert).where(Alert.view_id == view_id))
        db.session.execute(delete(SavedView).where(SavedView.id == view_id))
        db.session.commit()


def _subscribe_manager(app: Flask, view_id: str) -> tuple[int, dt.datetime]:
    """The admin subscribes the limited manager to the view every Monday at 08:00; the
    subscription's id and its first due moment."""
    with app.app_context():
        admin, manager = _user(ADMIN), _user(LIMITED)
        row = digests.subscribe(db.session, Actor(admin.id, "admin"), view_id, "weekly", 8,
                                weekday=0, user_id=manager.id, timezone="UTC",
                                now=dt.datetime(2026, 11, 25, 12, 0))
        db.session.commit()
        return row.id, row.next_due_at


def _api_kpis(app: Flask, token: str) -> dict[str, Any]:
    response = app.test_client().get(f"/api/v1/overview?{QUERY}",
                                     headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    return response.get_json()["kpis"]


def _race(app: Flask, now: dt.datetime) -> list[mailings.Outcome]:
    """Two senders (threads, each with its own session) run send-due at the same moment."""
    start = threading.Barrier(2)
    outcomes: list[mailings.Outcome] = []

    def sender() -> None:
        start.wait()
        outcomes.append(mailings.send_due(app, now))

    threads = [threading.Thread(target=sender) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    return outcomes


def test_mondays_digest_reaches_the_manager_once_with_their_numbers(
        mail: tuple[Flask, Inbox], shared_view: str, database: TestDatabase) -> None:
    app, inbox = mail
    row_id, due = _subscribe_manager(app, shared_view)
    assert due == dt.datetime(2026, 11, 30, 8, 0) and due.weekday() == 0  # Monday 08:00

    assert mailings.send_due(app, due - dt.timedelta(minutes=1)).sent == 0  # not yet due
    outcomes = _race(app, due + dt.timedelta(minutes=1))
    with app.app_context():
        error = db.session.get(Subscription, row_id).last_error
    assert sum(outcome.sent for outcome in outcomes) == 1, error
    assert sum(outcome.failed for outcome in outcomes) == 0
    received = inbox.take()
    assert len(received) == 1
    recipients, message = received[0]
    assert recipients == [LIMITED] and message["To"] == LIMITED
    with app.app_context():
        business = setting("BUSINESS_NAME")
    period = app.test_client().get(f"/api/v1/overview?{QUERY}", headers={
        "Authorization": f"Bearer {database.limited_token}"}).get_json()["period"]
    with app.app_context():
        dates = format_range(dt.date.fromisoformat(period["start"]),
                             dt.date.fromisoformat(period["end"]))
    assert message["Subject"] == f"{business}: Weekly board ({dates})"

    attachments = list(message.iter_attachments())
    assert [part.get_content_type() for part in attachments] == ["application/pdf"]
    assert attachments[0].get_content().startswith(b"%PDF")

    # Every KPI of the body is the API's number for the same view, in the manager's scope.
    text, html = body(message), body(message, "html")
    mine = _api_kpis(app, database.limited_token)
    everyone = _api_kpis(app, database.admin_token)
    assert mine["net_revenue"]["current"] < everyone["net_revenue"]["current"]
    with app.app_context():
        for key, label in mailings.KPIS:
            shown = mailings.exact(key, mine[key]["current"], "GBP")
            assert f"{label}: {shown}" in text
            assert shown.replace("£", "&#163;") in html or shown in html
        assert mailings.exact("net_revenue", everyone["net_revenue"]["current"], "GBP") \
            not in text
    assert f"{PUBLIC}/v/{shared_view}" in text

    with app.app_context():
        row = db.session.get(Subscription, row_id)
        assert row.next_due_at == due + dt.timedelta(days=7) and row.claimed_until is None
        assert row.last_sent_at == due + dt.timedelta(minutes=1) and row.failures == 0
        sent = db.session.scalars(select(Delivery).where(Delivery.subscription_id == row_id))
        assert [(d.ok, d.recipient) for d in sent] == [(True, LIMITED)]
    assert mailings.send_due(app, due + dt.timedelta(hours=1)).sent == 0  # once a week

    # The unsubscribe link works without a login and ends this digest only.
    link = re.search(rf"Unsubscribe: {re.escape(PUBLIC)}(\S+)", text)
    assert link
    client = app.test_client()
    page = client.get(link.group(1))
    assert page.status_code == 200 and "Weekly board" in page.get_data(as_text=True)
    done = client.post(link.group(1), data={"csrf_token": csrf_token(client, link.group(1))})
    assert done.status_code == 200
    assert client.get(link.group(1)).status_code == 404
    with app.app_context():
        assert db.session.get(Subscription, row_id) is None


def test_a_failed_send_is_retried_with_backoff_and_listed(
        mail: tuple[Flask, Inbox], shared_view: str, database: TestDatabase) -> None:
    app, _inbox = mail
    row_id, due = _subscribe_manager(app, shared_view)
    # No SMTP server configured: the send fails (before the PDF is drawn).
    down = make_app(database.url, MAIL=MailSettings(), PUBLIC_URL=PUBLIC)
    assert mailings.send_due(down, due) == mailings.Outcome(sent=0, failed=1)
    with app.app_context():
        row = db.session.get(Subscription, row_id)
        assert row.failures == 1 and row.next_due_at == due + FIRST_RETRY
        assert row.claimed_until is None and "PULSEBOARD_SMTP_HOST" in (row.last_error or "")
        admin = _user(ADMIN)
        listed = failed_deliveries(db.session, Actor(admin.id, "admin"))
        assert [listed[0][key] for key in ("kind", "recipient", "failing")] == [
            "digest", LIMITED, 1]
        assert row_id not in digests.due_ids(db.session, due + FIRST_RETRY / 2)
        assert row_id in digests.due_ids(db.session, due + FIRST_RETRY)
    assert mailings.send_due(down, due + FIRST_RETRY).failed == 1
    with app.app_context():
        row = db.session.get(Subscription, row_id)
        assert row.failures == 2 and row.next_due_at == due + FIRST_RETRY * 3  # 5, then 10

    # After MAX_FAILURES in a row, the next try is the next regular time; delays double.
    assert [retry_delay(n) for n in (1, 2, 3)] == [FIRST_RETRY, FIRST_RETRY * 2,
                                                   FIRST_RETRY * 4]
    assert retry_delay(20) == LAST_RETRY
    with app.app_context():
        row = db.session.get(Subscription, row_id)
        row.failures = MAX_FAILURES - 1
        digests.finish(db.session, row, LIMITED, due, "UTC", "still down")
        assert row.next_due_at == due + dt.timedelta(days=7)
        db.session.rollback()


def test_an_alert_fires_at_most_once_a_day(mail: tuple[Flask, Inbox], shared_view: str,
                                           database: TestDatabase) -> None:
    app, inbox = mail
    value = _api_kpis(app, database.limited_token)["net_revenue"]["current"]
    with app.app_context():
        manager = _user(LIMITED)
        me = Actor(manager.id, manager.role)
        above = alerts.create_alert(db.session, me, shared_view, "above", "net_revenue",
                                    value - 1)
        quiet = alerts.create_alert(db.session, me, shared_view, "below", "net_revenue",
                                    value - 1)
        db.session.commit()
        above_id, quiet_id = above.id, quiet.id
    monday = dt.datetime(2026, 11, 30, 9, 0)
    assert mailings.check_alerts(app, monday).sent == 1
    assert mailings.check_alerts(app, monday + dt.timedelta(hours=3)).sent == 0
    received = inbox.take()
    assert [recipients for recipients, _ in received] == [[LIMITED]]
    text = body(received[0][1])
    with app.app_context():
        assert f"Net revenue is {mailings.exact('net_revenue', value, 'GBP')}" in text
    assert mailings.check_alerts(app, monday + dt.timedelta(days=1)).sent == 1
    assert len(inbox.take()) == 1
    with app.app_context():
        assert db.session.get(Alert, above_id).last_fired_on == dt.date(2026, 12, 1)
        assert db.session.get(Alert, quiet_id).last_fired_on is None
        assert db.session.get(Alert, quiet_id).claimed_until is None


def test_the_dialog_subscribes_lists_and_removes(mail: tuple[Flask, Inbox],
                                                 shared_view: str) -> None:
    app, _inbox = mail
    with callback_request(app, LIMITED):
        refused = subscriptions.add_digest(shared_view, "weekly", "08:00", None, None, None)
        assert refused.color == "danger" and "weekday" in str(refused.children)
        done = subscriptions.add_digest(shared_view, "monthly", "07:30", None, 3, None)
        assert done.color == "success" and "monthly on day 3 at 07:30" in str(done.children)
        assert subscriptions.add_alert(shared_view, "anomaly", "orders", None,
                                       None).color == "success"
        admin_id = str(_user(ADMIN).id)  # only an admin may subscribe someone else
        assert subscriptions.add_digest(shared_view, "daily", "09:00", None, None,
                                        admin_id).color == "danger"
        mine = digests.subscriptions_of(db.session, Actor(_user(LIMITED).id, "analyst"))
        listed = str(subscriptions.listing())
        assert "monthly on day 3 at 07:30" in listed and "an anomalous day of Orders" in listed
        assert subscriptions.remove("digest", mine[0]["id"]).color == "success"
        assert "monthly on day 3" not in str(subscriptions.listing())


def test_an_anomaly_alert_reports_each_flagged_day_once(mail: tuple[Flask, Inbox],
                                                        shared_view: str) -> None:
    app, inbox = mail
    with callback_request(app, LIMITED) as manager:
        view, period = checked_view(QUERY)
        flagged = fetch(anomalies, view.filters, period, "net_revenue")
        alerts.create_alert(db.session, Actor(manager.id, manager.role), shared_view,
                            "anomaly", "net_revenue")
        db.session.commit()
    monday = dt.datetime(2026, 11, 30, 9, 0)
    assert mailings.check_alerts(app, monday).sent == (0 if flagged.empty else 1)
    received = inbox.take()
    if not flagged.empty:  # the days in words, as the Forecasts page words them
        text = body(received[0][1])
        assert f"{len(flagged)} anomalous day(s)" in text
        assert any(words in text for words in flagged["text"])
    # The data does not change: the next days bring no new flagged day, so no e-mail.
    assert mailings.check_alerts(app, monday + dt.timedelta(days=1)).sent == 0
    assert inbox.take() == []
