"""Login throttling, backed by the audit log so every gunicorn worker sees the same counts.

A failed login is recorded as a `login_failed` audit event with the e-mail tried and the
client address. Attempts are refused for a while, whether or not the e-mail exists, after
too many recent failures:

- for this account from this address (`per_account`, 5): one client cannot guess on, but it
  cannot lock the account for everybody else either;
- from this address, whatever the accounts (`per_address`, 30);
- for this account from every address together (`per_account_all_addresses`, 100): a much
  softer limit against a guessing attack spread over many addresses.

The count and the password check are atomic enough for parallel attempts: `begin_attempt`
records the attempt as a failure (committed) *before* the password is checked, then counts
every recent failure including its own, so that of any number of parallel attempts at most
the limit get a password check. A successful attempt then takes its reservation back
(`attempt_succeeded`); a refused one is relabelled `login_throttled` (`attempt_refused`),
so that retrying while locked out does not extend the lockout.
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import cast

from sqlalchemy import Select, delete, func, select, update
from sqlalchemy.orm import Session

from models import AuditEvent
from services.audit import record
from services.users import normalise_email

FAILED = "login_failed"
THROTTLED = "login_throttled"


@dataclass(frozen=True)
class LoginLimits:
    """How many failures are allowed within a window: per account from one address, per
    address, and per account from all addresses together."""

    per_account: int = 5
    per_address: int = 30
    window: dt.timedelta = dt.timedelta(minutes=15)
    per_account_all_addresses: int = 100


def _email_detail(email: str) -> str:
    return json.dumps({"email": normalise_email(email)}, sort_keys=True)


def record_failure(session: Session, email: str, ip: str | None, at: dt.datetime) -> int:
    """Remember a failed attempt for this e-mail and address; the event's id."""
    return record(session, FAILED, ip=ip, at=at, email=normalise_email(email)).id


def _over_limits(session: Session, email: str, ip: str | None, now: dt.datetime,
                 limits: LoginLimits, allowed_extra: int) -> bool:
    """Whether recent failures exceed a limit by more than `allowed_extra` (1 when the
    caller's own reservation is among them)."""
    # Failures within the window before `now`, and those stamped a little later: parallel
    # attempts (other workers, other hosts) read their clocks at slightly different times,
    # and each must count all the others.
    recent = select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == FAILED, AuditEvent.at > now - limits.window,
        AuditEvent.at < now + limits.window)
    by_account = recent.where(AuditEvent.detail == _email_detail(email))
    address = AuditEvent.ip == ip if ip else AuditEvent.ip.is_(None)

    def count(query: Select[int]) -> int:
        # A count() returns one row, so the scalar is never None.
        return cast(int, session.scalar(query))

    return (count(by_account.where(address)) >= limits.per_account + allowed_extra
            or (bool(ip) and count(recent.where(address)) >= limits.per_address + allowed_extra)
            or count(by_account) >= limits.per_account_all_addresses + allowed_extra)


def is_throttled(session: Session, email: str, ip: str | None, now: dt.datetime,
                 limits: LoginLimits = LoginLimits()) -> bool:
    """True when the next attempt for this account from this address would be refused."""
    return _over_limits(session, email, ip, now, limits, allowed_extra=0)


def begin_attempt(session: Session, email: str, ip: str | None, now: dt.datetime,
                  limits: LoginLimits = LoginLimits()) -> tuple[int, bool]:
    """Reserve a login attempt before its password is checked: (its event id, whether it may
    go on). The reservation is committed first, so that parallel attempts see each other."""
    attempt = record_failure(session, email, ip, now)
    session.commit()
    return attempt, not _over_limits(session, email, ip, now, limits, allowed_extra=1)


def attempt_refused(session: Session, attempt: int) -> None:
    """A throttled attempt: audited as `login_throttled`, no longer counted as a failure."""
    session.execute(update(AuditEvent).where(AuditEvent.id == attempt).values(action=THROTTLED))


def attempt_succeeded(session: Session, attempt: int) -> None:
    """The password was right: the reserved failure is taken back."""
    session.execute(delete(AuditEvent).where(AuditEvent.id == attempt))
