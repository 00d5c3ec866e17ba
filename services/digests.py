"""Digests: a saved view e-mailed to a user daily, weekly (on a weekday) or monthly (on a day
of the month) at a local time of the business's time zone.

A user subscribes themselves to a view they may open; an admin may subscribe anyone who may
open it. The schedule is kept as the next due moment in UTC (`next_due_at`); a sender claims
a due row (`services.deliveries.claim`), sends, and writes the delivery with the next due
moment in one transaction. The unsubscribe link is signed with the app's secret, so it works
without a login and names only its own subscription.
"""
from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import FREQUENCIES, Subscription, User
from services import signing
from services.admin import Actor, require_admin
from services.audit import record
from services.deliveries import (
    MAX_FAILURES,
    claim,
    record_delivery,
    retry_delay,
    rows_of,
    unclaimed,
)
from services.errors import InvalidInput, NotFound
from services.saved_views import view_url
from services.scope import Scope

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
LAST_DAY_OF_MONTH = 28  # every month has it
_UNSUBSCRIBE_SALT = "digest-unsubscribe"


def next_due(row: Subscription, after: dt.datetime, timezone: str) -> dt.datetime:
    """The first moment of the row's schedule strictly after `after` (naive UTC both)."""
    zone = zoneinfo.ZoneInfo(timezone)
    first = after.replace(tzinfo=dt.UTC).astimezone(zone).date()
    for offset in range(0, 64):  # a month and a day always holds the next one
        day = first + dt.timedelta(days=offset)
        if row.frequency == "weekly" and day.weekday() != row.weekday:
            continue
        if row.frequency == "monthly" and day.day != row.day_of_month:
            continue
        local = dt.datetime.combine(day, dt.time(row.send_hour, row.send_minute), zone)
        due = local.astimezone(dt.UTC).replace(tzinfo=None)
        if due > after:
            return due
    raise InvalidInput("This schedule has no next date.")  # unreachable for valid rows


def schedule_words(row: Subscription) -> str:
    """'every Monday at 08:00', 'daily at 07:30', 'monthly on day 1 at 09:00'."""
    at = f"at {row.send_hour:02d}:{row.send_minute:02d}"
    if row.frequency == "weekly":
        return f"every {WEEKDAYS[row.weekday or 0]} {at}"
    if row.frequency == "monthly":
        return f"monthly on day {row.day_of_month} {at}"
    return f"daily {at}"


def _checked_schedule(frequency: str, hour: int, minute: int, weekday: int | None,
                      day_of_month: int | None) -> tuple[int | None, int | None]:
    """The weekday and day of month the frequency uses (None for the other), or InvalidInput."""
    if frequency not in FREQUENCIES:
        raise InvalidInput(f"Send a digest {', '.join(FREQUENCIES)}.")
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise InvalidInput("Choose a time of day from 00:00 to 23:59.")
    if frequency == "weekly" and weekday not in range(7):
        raise InvalidInput("Choose the weekday of a weekly digest.")
    if frequency == "monthly" and day_of_month not in range(1, LAST_DAY_OF_MONTH + 1):
        raise InvalidInput(f"Choose a day of the month from 1 to {LAST_DAY_OF_MONTH}.")
    return (weekday if frequency == "weekly" else None,
            day_of_month if frequency == "monthly" else None)


def may_receive(session: Session, user: User, view_id: str) -> None:
    """NotFound unless `user` may open the view (their own rule, not the sender's)."""
    view_url(session, Scope(user_id=user.id), user.role, view_id)


def recipient_for(session: Session, actor: Actor, view_id: str,
                  user_id: int | None) -> User:
    """Who a new digest or alert goes to: the actor, or (admins only) another user; both
    must be able to open the view."""
    me = session.get(User, actor.id)
    if me is None:
        raise NotFound("There is no such user.")
    may_receive(session, me, view_id)
    if user_id is None or user_id == actor.id:
        return me
    require_admin(actor)
    other = session.get(User, user_id)
    if other is None or not other.active:
        raise InvalidInput("Choose an active user.")
    try:
        may_receive(session, other, view_id)
    except NotFound as error:
        raise InvalidInput(f"{other.email} cannot open this view: share it with them "
                           "first.") from error
    return other


def subscribe(session: Session, actor: Actor, view_id: str, frequency: str, hour: int,
              minute: int = 0, weekday: int | None = None, day_of_month: int | None = None,
              user_id: int | None = None, timezone: str = "UTC",
              now: dt.datetime | None = None) -> Subscription:
    """A digest of the view for the actor (or, for an admin, for `user_id`)."""
    weekday, day_of_month = _checked_schedule(frequency, hour, minute, weekday, day_of_month)
    user = recipient_for(session, actor, view_id, user_id)
    row = Subscription(view_id=view_id, user_id=user.id, created_by=actor.id,
                       frequency=frequency, weekday=weekday, day_of_month=day_of_month,
                       send_hour=hour, send_minute=minute, active=True, failures=0)
    row.next_due_at = next_due(row, now or dt.datetime.now(dt.UTC).replace(tzinfo=None),
                               timezone)
    session.add(row)
    session.flush()
    record(session, "digest_subscribed", actor.id, actor.ip, subscription=row.id,
           view=view_id, recipient=user.email, schedule=schedule_words(row))
    return row


def unsubscribe(session: Session, subscription_id: int, actor: Actor | None = None,
                ip: str | None = None) -> None:
    """End a digest: by its recipient or an admin (`actor`), or through the signed link."""
    row = session.get(Subscription, subscription_id)
    if row is None or (actor is not None and actor.id != row.user_id
                       and actor.role != "admin"):
        raise NotFound("There is no such digest.")
    user = session.get(User, row.user_id)
    record(session, "digest_unsubscribed", actor.id if actor else row.user_id,
           actor.ip if actor else ip, subscription=row.id, view=row.view_id,
           recipient=user.email if user else None, by_link=actor is None)
    session.delete(row)
    session.flush()


def subscriptions_of(session: Session, actor: Actor) -> list[dict[str, Any]]:
    """The digests the actor receives (an admin: every digest), by view name."""
    return [{"id": row.id, "view": name, "view_id": row.view_id, "recipient": email,
             "schedule": schedule_words(row), "next_due_at": row.next_due_at,
             "failures": row.failures, "last_error": row.last_error}
            for row, name, email in rows_of(session, actor, Subscription)]


def _still_due(now: dt.datetime) -> tuple[Any, ...]:
    return (Subscription.active.is_(True), Subscription.next_due_at <= now)


def due_ids(session: Session, now: dt.datetime) -> list[int]:
    """The digests due at `now` that no sender holds, oldest due first."""
    return list(session.scalars(select(Subscription.id).where(
        *_still_due(now), unclaimed(Subscription, now)).order_by(Subscription.next_due_at)))


def claim_digest(session: Session, subscription_id: int, now: dt.datetime) -> bool:
    """Take a due digest for this sender (see `services.deliveries.claim`)."""
    return claim(session, Subscription, subscription_id, now, *_still_due(now))


def finish(session: Session, row: Subscription, recipient: str, now: dt.datetime,
           timezone: str, error: str | None = None) -> None:
    """Record a send (or its failure) and the next due moment, in the caller's transaction:
    the next regular time after a success, a backoff after a failure, the next regular time
    again after `MAX_FAILURES` failures in a row."""
    record_delivery(session, row, recipient, now, error)
    if error is None:
        row.last_sent_at = now
    if error is None or row.failures >= MAX_FAILURES:
        row.next_due_at = next_due(row, now, timezone)
    else:
        row.next_due_at = now + retry_delay(row.failures)
    session.flush()


def unsubscribe_token(secret: str, row: Subscription) -> str:
    """The signed token of a digest's unsubscribe link (names its row, user and view, so an
    id reused after a deletion is not the same digest)."""
    return signing.sign(secret, _UNSUBSCRIBE_SALT, [row.id, row.user_id, row.view_id],
                        timed=False)


def subscription_for_token(session: Session, secret: str, token: str) -> Subscription:
    """The digest an unsubscribe link names; NotFound for a bad or stale link."""
    try:
        row_id, user_id, view_id = signing.read(secret, _UNSUBSCRIBE_SALT, token)
    except (ValueError, TypeError) as error:  # None, or not three values
        raise NotFound("This unsubscribe link is not valid.") from error
    row = session.get(Subscription, row_id) if isinstance(row_id, int) else None
    if row is None or row.user_id != user_id or row.view_id != view_id:
        raise NotFound("This digest no longer exists: nothing to unsubscribe from.")
    return row
