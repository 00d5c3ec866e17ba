"""Login throttling, backed by the audit log so every gunicorn worker sees the same counts.

A failed login is recorded as a `login_failed` audit event with the e-mail tried and the
client address; too many recent failures for either refuse further attempts for a while,
whether or not the e-mail exists.
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import cast

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import AuditEvent
from services.audit import record
from services.users import normalise_email

FAILED = "login_failed"


@dataclass(frozen=True)
class LoginLimits:
    """How many failures are allowed per account and per address within a window."""

    per_account: int = 5
    per_address: int = 30
    window: dt.timedelta = dt.timedelta(minutes=15)


def _email_detail(email: str) -> str:
    return json.dumps({"email": normalise_email(email)}, sort_keys=True)


def record_failure(session: Session, email: str, ip: str | None, at: dt.datetime) -> None:
    """Remember a failed attempt for this e-mail and address."""
    record(session, FAILED, ip=ip, at=at, email=normalise_email(email))


def is_throttled(session: Session, email: str, ip: str | None, now: dt.datetime,
                 limits: LoginLimits = LoginLimits()) -> bool:
    """True when the account or the address has failed too often recently."""
    since = now - limits.window
    recent = select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == FAILED, AuditEvent.at > since, AuditEvent.at <= now)
    # A count() returns one row, so these scalars are never None.
    by_account = cast(int, session.scalar(recent.where(AuditEvent.detail == _email_detail(email))))
    if by_account >= limits.per_account:
        return True
    return bool(ip) and (cast(int, session.scalar(recent.where(AuditEvent.ip == ip)))
                         >= limits.per_address)
