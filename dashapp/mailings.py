"""The app's e-mails: digests of saved views, alerts, invitations and password resets.

The numbers of a digest or an alert are computed *as the recipient*: a request context of
the view's URL with the recipient logged in, the view checked as the page checks it
(`dashapp.views.checked_view`), and the service called through `fetch`, so they are the
numbers the recipient's own page and API show, in the recipient's platform limit, whoever
subscribed them. The schedule, claims and retries are `services.digests`,
`services.alerts` and `services.deliveries`; `pulseboard digests send-due` runs
`send_due` (and `pulseboard alerts check` runs `check_alerts`).
"""
from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask, current_app, render_template
from flask_login import login_user

from dashapp.auth import SessionUser
from dashapp.context import fetch, setting
from dashapp.extensions import db, db_session
from dashapp.filters import View
from dashapp.views import checked_view
from layouts import figures
from layouts.overview import KPIS
from layouts.pages import page_for
from models import Alert, SavedView, Subscription, User, utcnow
from services import alerts, digests
from services.deliveries import recipient
from services.filters import Period, format_range
from services.forecast_anomalies import anomalies
from services.mail import Attachment, MailError, build_message, send
from services.metrics import METRICS
from services.overview import kpis
from services.saved_views import url_of

log = logging.getLogger(__name__)
PDF_PAPER = "A4"
ANOMALIES_LISTED = 5


@dataclass(frozen=True)
class Outcome:
    """What one run did: messages sent, and sends that failed (to be retried)."""

    sent: int = 0
    failed: int = 0

    def __add__(self, other: Outcome) -> Outcome:
        return Outcome(self.sent + other.sent, self.failed + other.failed)


def public_link(path: str) -> str:
    """An absolute link for an e-mail (`PULSEBOARD_PUBLIC_URL`, else localhost)."""
    return (current_app.config.get("PUBLIC_URL") or "http://localhost") + path


def deliver(to: str, subject: str, template: str, context: dict[str, Any],
            attachments: Sequence[Attachment] = (), headers: dict[str, str] | None = None
            ) -> None:
    """Render `mail/<template>.txt` and `.html` with `context` and send them to `to`."""
    settings = current_app.config["MAIL"]
    context = {"business": setting("BUSINESS_NAME"), **context}
    message = build_message(settings.sender, to, subject,
                            render_template(f"mail/{template}.txt", **context),
                            render_template(f"mail/{template}.html", **context),
                            attachments, headers)
    send(settings, message)


def send_account_link(user: User, token: str, purpose: str, expires: dt.datetime) -> None:
    """E-mail an invitation or a password-reset link (MailError when it cannot be sent)."""
    link = public_link(f"/account/password/{token}")
    if purpose == "invite":
        words = {"intro": "You are invited to Pulseboard. Choose your password to log in:",
                 "action": "Choose your password",
                 "outro": "After that, ask your administrator for a new invitation."}
        subject = f"{setting('BUSINESS_NAME')}: your Pulseboard invitation"
    else:
        words = {"intro": "Someone (hopefully you) asked to reset your Pulseboard password. "
                          "Choose a new one here:",
                 "action": "Choose a new password",
                 "outro": "If you did not ask for it, ignore this e-mail: your password "
                          "stays as it is."}
        subject = f"{setting('BUSINESS_NAME')}: reset your Pulseboard password"
    deliver(user.email, subject, "account",
            {**words, "link": link, "expires": expires.strftime("%d %b %Y %H:%M")})


@contextmanager
def as_recipient(app: Flask, user: User, url: str) -> Iterator[None]:
    """A request of `url` by `user`, in a fresh app context (its own session and `g`)."""
    with app.app_context(), app.test_request_context(url):
        login_user(SessionUser.of(user))
        yield


def recipient_view(view: SavedView) -> tuple[View, Period]:
    """The saved view checked as its page checks it, for the user of the current request."""
    page = page_for(view.path)
    return checked_view(view.query, page.params if page else ())


def exact(metric: str, value: float | None, currency: str) -> str:
    """A KPI value in full ('£123,456', '41.2%', '1,204'): a digest is read, not glanced at."""
    unit = METRICS[metric].unit
    return figures.format_value(value, "percent" if unit == "ratio" else unit, currency,
                                compact=False)


def kpi_summary(view: View, period: Period) -> dict[str, Any]:
    """The view's KPI cards in words (the Overview KPIs for the view's filters and dates)."""
    currency = setting("CURRENCY")
    found = fetch(kpis, view.filters, period)
    rows = [{"key": key, "label": label, "value": exact(key, found[key]["current"], currency),
             "change": figures.format_percent(found[key]["change"], signed=True)
             if found[key]["change"] is not None else ""}
            for key, label in KPIS]
    compared = period.comparison
    dates = format_range(period.start, period.end)
    return {"rows": rows, "period": period.label or dates, "dates": dates,
            "compare": f"vs {format_range(*compared)}" if compared else "",
            "notes": list(view.notices)}


def _render_pdf(app: Flask, user: User, url: str) -> bytes:
    from dashapp.pdf import render_view_pdf  # Chromium and selenium only when a digest goes

    return render_view_pdf(app, user.id, url, PDF_PAPER)


def send_digest(app: Flask, row: Subscription, user: User, view: SavedView) -> None:
    """Compose the digest for its recipient and send it (raises on any failure)."""
    if not app.config["MAIL"].configured:  # fail before the PDF's seconds of Chromium
        raise MailError("No SMTP server is configured (PULSEBOARD_SMTP_HOST).")
    url = url_of(view)
    with as_recipient(app, user, url):
        checked, period = recipient_view(view)
        summary = kpi_summary(checked, period)
    pdf = _render_pdf(app, user, url)
    unsubscribe = public_link(
        f"/digests/unsubscribe/{digests.unsubscribe_token(app.config['SECRET_KEY'], row)}")
    schedule = digests.schedule_words(row)
    subject = f"{setting('BUSINESS_NAME')}: {view.name} ({summary['dates']})"
    deliver(user.email, subject, "digest",
            {**summary, "view_name": view.name, "schedule": schedule,
             "link": public_link(f"/v/{view.id}"), "unsubscribe": unsubscribe},
            [Attachment(f"{view.name[:60]}.pdf", pdf, "application/pdf")],
            {"List-Unsubscribe": f"<{unsubscribe}>"})


def _failure(error: Exception) -> str:
    log.warning("e-mail not sent: %s", error, exc_info=not isinstance(error, MailError))
    return f"{type(error).__name__}: {error}"[:2000]


def send_due(app: Flask, now: dt.datetime | None = None) -> Outcome:
    """Send every due digest once (however many senders run at once), then check alerts."""
    now = now or utcnow()
    with app.app_context():
        session = db_session()
        timezone = setting("TIMEZONE")
        outcome = Outcome()
        for row_id in digests.due_ids(session, now):
            claimed = digests.claim_digest(session, row_id, now)
            db.session.commit()  # the claim, seen by every other sender from now on
            if not claimed:
                continue
            row = session.get(Subscription, row_id)
            assert row is not None  # claimed just now, and cascades delete only with its view
            outcome += _send_one(app, row, now, timezone)
    return outcome + check_alerts(app, now)


def _send_one(app: Flask, row: Subscription, now: dt.datetime, timezone: str) -> Outcome:
    session = db_session()
    user = recipient(session, row.user_id)
    view = session.get(SavedView, row.view_id)
    error = None
    try:
        if user is None or view is None:
            raise MailError("The recipient is inactive or the view is gone.")
        digests.may_receive(session, user, view.id)  # a view unshared since is not sent
        send_digest(app, row, user, view)
    except Exception as failure:  # noqa: BLE001 - any failure is recorded and retried
        error = _failure(failure)
    digests.finish(session, row, user.email if user else "", now, timezone, error)
    db.session.commit()
    return Outcome(sent=error is None, failed=error is not None)


def business_today(now: dt.datetime, timezone: str) -> dt.date:
    """The business's local date at the UTC moment `now`."""
    return now.replace(tzinfo=dt.UTC).astimezone(ZoneInfo(timezone)).date()


def check_alerts(app: Flask, now: dt.datetime | None = None) -> Outcome:
    """Evaluate every alert not fired today, e-mail those that fire (once per day each)."""
    now = now or utcnow()
    with app.app_context():
        session = db_session()
        today = business_today(now, setting("TIMEZONE"))
        outcome = Outcome()
        for alert_id in alerts.due_alert_ids(session, today, now):
            claimed = alerts.claim_alert(session, alert_id, today, now)
            db.session.commit()
            if not claimed:
                continue
            alert = session.get(Alert, alert_id)
            assert alert is not None
            outcome += _check_one(app, alert, today, now)
    return outcome


def _check_one(app: Flask, alert: Alert, today: dt.date, now: dt.datetime) -> Outcome:
    session = db_session()
    user = recipient(session, alert.user_id)
    view = session.get(SavedView, alert.view_id)
    try:
        if user is None or view is None:
            raise MailError("The recipient is inactive or the view is gone.")
        digests.may_receive(session, user, view.id)
        finding = alert_finding(app, alert, user, view)
        if finding is None:
            alerts.release(session, alert)
            db.session.commit()
            return Outcome()
        deliver(user.email, f"{setting('BUSINESS_NAME')} alert: {alerts.rule_words(alert)}",
                "alert", {**finding, "view_name": view.name, "rule": alerts.rule_words(alert),
                          "link": public_link(f"/v/{view.id}")})
        error = None
    except Exception as failure:  # noqa: BLE001 - any failure is recorded and retried
        error = _failure(failure)
    alerts.finish_alert(session, alert, user.email if user else "", today, now, error)
    db.session.commit()
    return Outcome(sent=error is None, failed=error is not None)


def alert_finding(app: Flask, alert: Alert, user: User,
                  view: SavedView) -> dict[str, Any] | None:
    """What the alert reports, as its recipient sees the view, or None when it does not
    fire."""
    with as_recipient(app, user, url_of(view)):
        checked, period = recipient_view(view)
        if alert.kind == "anomaly":
            found = alerts.new_anomalies(alert, fetch(anomalies, checked.filters, period,
                                                      alert.metric))
            if found.empty:
                return None
            return {"finding": f"{len(found)} anomalous day(s) in {period.label or 'the view'}.",
                    "details": list(found["text"].head(ANOMALIES_LISTED))}
        value = fetch(kpis, checked.filters, period)[alert.metric]["current"]
        if not alerts.crossed(alert, value):
            return None
        shown = exact(alert.metric, value, setting("CURRENCY"))
        return {"finding": f"{METRICS[alert.metric].label} is {shown} "
                           f"({period.label or 'the view'}).", "details": [], "value": value}
