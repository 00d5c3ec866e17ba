"""With a broker, digests and alerts are sent by Celery beat on a `pulseboard worker`, with no
cron entry: a real redis-server, a real `pulseboard worker --beat` process, a real SMTP
exchange (aiosmtpd) and the real PDF renderer, on SQLite."""
from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import delete, select

from dashapp import jobs
from dashapp.extensions import db
from models import Delivery, SavedView, Subscription, User
from services import digests, saved_views
from services.admin import Actor
from tests.conftest import ADMIN, LIMITED, TestDatabase, make_app
from tests.dashapp.smtp import Inbox, smtp_server
from tests.fixtures.servers import Worker, redis_url_fixture  # noqa: F401 - by name

INTERVAL = 1  # seconds between two beats
SECRET = "test-secret-" + "x" * 32


def _user_id(email: str) -> int:
    return db.session.scalars(select(User.id).where(User.email == email)).one()


@pytest.fixture
def due_digest(sqlite_db: TestDatabase) -> Iterator[tuple[Flask, int]]:
    """The app and a weekly digest of a shared view, subscribed for the limited manager and
    due since last Monday; removed afterwards with its view and deliveries."""
    app = make_app(sqlite_db.url, SECRET_KEY=SECRET)
    with app.app_context():
        admin = Actor(_user_id(ADMIN), "admin")
        view = saved_views.create_view(db.session, admin, "Board on beat", "/",
                                       "range=30d&grain=day", "team")
        row = digests.subscribe(db.session, admin, view.id, "weekly", 8, weekday=0,
                                user_id=_user_id(LIMITED), timezone="UTC",
                                now=dt.datetime(2026, 11, 25, 12, 0))
        db.session.commit()
        view_id, row_id = view.id, row.id
    yield app, row_id
    with app.app_context():
        db.session.execute(delete(Delivery).where(Delivery.subscription_id == row_id))
        db.session.execute(delete(SavedView).where(SavedView.id == view_id))
        db.session.commit()


def _wait_for_mail(inbox: Inbox, worker: Worker, timeout: float) -> list[object]:
    deadline = time.monotonic() + timeout
    while not inbox.received:
        assert time.monotonic() < deadline, worker.log.read_text()[-3000:]
        time.sleep(0.2)
    return list(inbox.received)


def test_beat_on_a_worker_sends_the_due_digest_once_without_cron(
        due_digest: tuple[Flask, int], sqlite_db: TestDatabase, redis_url: str,
        tmp_path: Path) -> None:
    app, row_id = due_digest
    with smtp_server() as (inbox, mail):
        environment = {
            "PULSEBOARD_ENV": "development", "DATABASE_URL": sqlite_db.url,
            "SECRET_KEY": SECRET, "CELERY_BROKER_URL": redis_url,
            "PULSEBOARD_CACHE_DIR": str(tmp_path / "cache"),
            "PULSEBOARD_PUBLIC_URL": "http://pulse.example",
            "PULSEBOARD_DIGEST_INTERVAL_SECONDS": str(INTERVAL),
            "PULSEBOARD_SMTP_HOST": mail.host, "PULSEBOARD_SMTP_PORT": str(mail.port),
            "PULSEBOARD_SMTP_STARTTLS": "false", "PULSEBOARD_SMTP_FROM": mail.sender}
        worker = Worker(environment, tmp_path / "worker.log",
                        "--beat", "--schedule", str(tmp_path / "beat-schedule"))
        try:
            celery = jobs.celery_app(make_app(sqlite_db.url, CELERY_BROKER_URL=redis_url))
            assert celery is not None
            worker.wait_ready(celery)
            received = _wait_for_mail(inbox, worker, timeout=120)
            # Several more beats pass: the digest is due next Monday now, so none resends it.
            time.sleep(6 * INTERVAL)
        finally:
            worker.stop()
    assert len(inbox.received) == 1, [message["Subject"] for _, message in inbox.received]
    recipients, message = received[0]  # type: ignore[misc]
    assert recipients == [LIMITED]
    assert "Board on beat" in message["Subject"]
    assert [part.get_content_type() for part in message.iter_attachments()] == [
        "application/pdf"]
    with app.app_context():
        row = db.session.get(Subscription, row_id)
        assert row is not None and row.last_error is None
        assert row.next_due_at > dt.datetime.now(dt.UTC).replace(tzinfo=None)
        deliveries = db.session.scalars(
            select(Delivery).where(Delivery.subscription_id == row_id)).all()
    assert [delivery.error for delivery in deliveries] == [None]
    log = (tmp_path / "worker.log").read_text()
    assert "beat: Starting" in log
    # Every run the worker took finished: the one that sent, then runs with nothing due.
    runs = re.findall(rf"Task {re.escape(jobs.DIGEST_TASK)}\[[^\]]+\] succeeded in \S+: "
                      r"\{'sent': (\d+), 'failed': (\d+)\}", log)
    assert runs[0] == ("1", "0") and set(runs[1:]) == {("0", "0")}, log[-3000:]
    assert "raised unexpected" not in log
