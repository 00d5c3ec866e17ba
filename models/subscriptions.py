"""E-mail from the app: digests of saved views, alerts on them, the record of every delivery,
and the one-time tokens of invitation and password-reset links."""
from __future__ import annotations

import datetime as dt
from typing import Optional

from sqlalchemy import Boolean, Date, DateTime, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.accounts import utcnow
from models.base import Base

FREQUENCIES = ("daily", "weekly", "monthly")
ALERT_KINDS = ("above", "below", "anomaly")
TOKEN_PURPOSES = ("invite", "reset")
DELIVERY_KINDS = ("digest", "alert")


class Subscription(Base):
    """A user receives a saved view by e-mail, daily, weekly or monthly at a local time."""

    __tablename__ = "subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    view_id: Mapped[str] = mapped_column(ForeignKey("saved_views.id", ondelete="CASCADE"),
                                         index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_by: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id",
                                                                 ondelete="SET NULL"))
    frequency: Mapped[str] = mapped_column(String(10))
    weekday: Mapped[Optional[int]] = mapped_column(Integer)  # 0 = Monday, weekly only
    day_of_month: Mapped[Optional[int]] = mapped_column(Integer)  # 1-28, monthly only
    send_hour: Mapped[int] = mapped_column(Integer)  # local time of the business
    send_minute: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # UTC; a sender may claim a due row until claimed_until (one sender per row at a time).
    next_due_at: Mapped[dt.datetime] = mapped_column(DateTime, index=True)
    claimed_until: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    failures: Mapped[int] = mapped_column(Integer, default=0)  # in a row, since the last send
    last_error: Mapped[Optional[str]] = mapped_column(Text)
    last_sent_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Alert(Base):
    """"Tell me when": a KPI of a saved view above or below a threshold, or an anomalous day,
    e-mailed to its user at most once per (business) day."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(primary_key=True)
    view_id: Mapped[str] = mapped_column(ForeignKey("saved_views.id", ondelete="CASCADE"),
                                         index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    metric: Mapped[str] = mapped_column(String(40))
    threshold: Mapped[Optional[float]] = mapped_column(Float)  # above/below only
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    last_fired_on: Mapped[Optional[dt.date]] = mapped_column(Date)  # business-local date
    claimed_until: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[Optional[str]] = mapped_column(Text)
    retry_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)  # after a failed send
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Delivery(Base):
    """One attempt to send a digest or an alert: sent or failed, and why."""

    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))
    subscription_id: Mapped[Optional[int]] = mapped_column(
        ForeignKey("subscriptions.id", ondelete="CASCADE"), index=True)
    alert_id: Mapped[Optional[int]] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"),
                                                    index=True)
    recipient: Mapped[str] = mapped_column(String(255))
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)
    ok: Mapped[bool] = mapped_column(Boolean)
    error: Mapped[Optional[str]] = mapped_column(Text)


class AccountToken(Base):
    """A one-time link to set a password (an invitation or a reset); only its SHA-256 digest
    is stored."""

    __tablename__ = "account_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(10))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime)
    used_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
