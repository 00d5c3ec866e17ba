"""What digests and alerts share: claiming a row so that one sender (of any number of
workers and hosts running `pulseboard digests send-due` at once) handles it, the backoff
after a failed send, and the record of every delivery, shown on Admin · System.

A claim is one conditional UPDATE (`claimed_until` empty or past), checked by its row count
and committed before the slow work (the PDF, the SMTP exchange): two senders that race for
a row both run the UPDATE, the database serialises them, and only one sees a row changed.
A sender that dies mid-send leaves a claim that expires after `CLAIM_SECONDS`, so the row is
tried again, and the release writes the outcome and the next due time in one transaction.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.orm import Session

from models import Alert, Delivery, SavedView, Subscription, User
from services.admin import Actor, require_admin

CLAIM_SECONDS = 15 * 60  # longer than a PDF and an SMTP exchange ever take
FIRST_RETRY = dt.timedelta(minutes=5)
LAST_RETRY = dt.timedelta(hours=6)
MAX_FAILURES = 6  # 5 min, 10, 20, 40, 80, 160: then the next regular time
FAILURES_SHOWN = 50
Claimable = type[Subscription] | type[Alert]


def unclaimed(model: Claimable, now: dt.datetime) -> ColumnElement[bool]:
    """The condition of a row no sender holds."""
    return or_(model.claimed_until.is_(None), model.claimed_until < now)


def claim(session: Session, model: Claimable, row_id: int, now: dt.datetime,
          *still_due: ColumnElement[bool]) -> bool:
    """Take the row for this sender if no other holds it and it is still due; True when
    taken. The caller commits at once, so that other senders see the claim."""
    result = session.execute(
        update(model).where(model.id == row_id, unclaimed(model, now), *still_due)
        .values(claimed_until=now + dt.timedelta(seconds=CLAIM_SECONDS))
        .execution_options(synchronize_session=False))
    return bool(getattr(result, "rowcount", 0) == 1)


def retry_delay(failures: int) -> dt.timedelta:
    """How long to wait after the `failures`-th failure in a row: doubling, capped."""
    return min(FIRST_RETRY * 2 ** max(failures - 1, 0), LAST_RETRY)


def record_delivery(session: Session, row: Subscription | Alert, recipient: str,
                    now: dt.datetime, error: str | None) -> None:
    """Write one delivery's outcome and release the row's claim (the caller commits)."""
    if isinstance(row, Subscription):
        delivery = Delivery(kind="digest", subscription_id=row.id)
    else:
        delivery = Delivery(kind="alert", alert_id=row.id)
    delivery.recipient, delivery.at, delivery.ok, delivery.error = (recipient, now,
                                                                    error is None, error)
    session.add(delivery)
    row.claimed_until = None
    row.failures = 0 if error is None else row.failures + 1
    row.last_error = error
    session.flush()


def failed_deliveries(session: Session, actor: Actor,
                      limit: int = FAILURES_SHOWN) -> list[dict[str, Any]]:
    """The latest failed deliveries, newest first (admins only): when, what, to whom, why,
    and how many times in a row its digest or alert has failed by now (0: sent since)."""
    require_admin(actor)
    rows: list[dict[str, Any]] = []
    query = (select(Delivery, Subscription.failures, Alert.failures)
             .outerjoin(Subscription, Subscription.id == Delivery.subscription_id)
             .outerjoin(Alert, Alert.id == Delivery.alert_id)
             .where(Delivery.ok.is_(False)).order_by(Delivery.at.desc(), Delivery.id.desc())
             .limit(limit))
    for delivery, digest_failures, alert_failures in session.execute(query):
        rows.append({"at": delivery.at, "kind": delivery.kind, "recipient": delivery.recipient,
                     "error": delivery.error,
                     "failing": int(digest_failures or alert_failures or 0)})
    return rows


def rows_of(session: Session, actor: Actor,
            model: Claimable) -> list[tuple[Any, str, str]]:
    """The digests or alerts the actor receives (an admin: all of them), each with its view's
    name and its recipient's e-mail, by view name."""
    query = (select(model, SavedView.name, User.email)
             .join(SavedView, SavedView.id == model.view_id)
             .join(User, User.id == model.user_id))
    if actor.role != "admin":
        query = query.where(model.user_id == actor.id)
    return [(row, name, email) for row, name, email
            in session.execute(query.order_by(SavedView.name, model.id))]


def recipient(session: Session, user_id: int) -> User | None:
    """The active user a row is sent to (None: deleted or deactivated, nothing is sent)."""
    user = session.get(User, user_id)
    return user if user is not None and user.active else None
