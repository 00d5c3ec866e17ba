"""One-time links to set a password: an admin's invitation of a new user (valid 72 hours) and
a password reset a user asks for on the login page (valid 1 hour).

The token is 256 random bits shown once, in the e-mailed link; only its SHA-256 digest is
stored (like API tokens). It is used up by one conditional UPDATE checked by its row count,
so two submissions of the same link cannot both set a password. A new link of the same kind
voids the older ones, and setting the password ends the user's other sessions.

Reset requests are counted in the audit log (`password_reset_requested`, with the address
asked for and the client's IP), like failed logins (`services.login_guard`), so every worker
sees the same counts; the answer to the browser is the same whether the address exists,
is throttled or not.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import cast

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from models import AccountToken, AuditEvent, User, utcnow
from services.admin import Actor, add_user, end_sessions
from services.audit import record
from services.errors import InvalidInput
from services.users import MIN_PASSWORD_LENGTH, hash_password, normalise_email

INVITE_LIFETIME = dt.timedelta(hours=72)
RESET_LIFETIME = dt.timedelta(hours=1)
LIFETIMES = {"invite": INVITE_LIFETIME, "reset": RESET_LIFETIME}
RESET_REQUESTED = "password_reset_requested"
INVALID_LINK = "This link is not valid: it has expired or was already used. Ask for a new one."


@dataclass(frozen=True)
class ResetLimits:
    """How many reset e-mails may be asked for within a window, per address and per IP."""

    per_address: int = 3
    per_ip: int = 10
    window: dt.timedelta = dt.timedelta(hours=1)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(session: Session, user: User, purpose: str, now: dt.datetime) -> str:
    """A new one-time token for `user` (the older unused ones of its kind are voided)."""
    session.execute(update(AccountToken).where(
        AccountToken.user_id == user.id, AccountToken.purpose == purpose,
        AccountToken.used_at.is_(None)).values(expires_at=now)
        .execution_options(synchronize_session=False))
    token = secrets.token_urlsafe(32)
    session.add(AccountToken(user_id=user.id, purpose=purpose, token_hash=_digest(token),
                             created_at=now, expires_at=now + LIFETIMES[purpose]))
    session.flush()
    return token


def invite_user(session: Session, actor: Actor, email: str, role: str,
                platform_slugs: Iterable[str] = (), name: str | None = None,
                now: dt.datetime | None = None) -> tuple[User, str]:
    """A new user (admins only) who sets their own password through the returned token."""
    now = now or utcnow()
    # Nobody knows this password: the account opens only through the link.
    user = add_user(session, actor, email, secrets.token_urlsafe(32), role, platform_slugs,
                    name)
    token = issue_token(session, user, "invite", now)
    record(session, "user_invited", actor.id, actor.ip, target=user.email,
           expires=(now + INVITE_LIFETIME).isoformat(timespec="minutes"))
    return user, token


def _requests_since(session: Session, since: dt.datetime, **match: str) -> int:
    query = select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == RESET_REQUESTED, AuditEvent.at > since)
    if "ip" in match:
        query = query.where(AuditEvent.ip == match["ip"])
    if "email" in match:
        query = query.where(AuditEvent.detail == json.dumps({"email": match["email"]}))
    return cast(int, session.scalar(query))


def request_reset(session: Session, email: str, ip: str | None, now: dt.datetime,
                  limits: ResetLimits = ResetLimits()) -> tuple[User, str] | None:
    """The user and a reset token to e-mail, or None (unknown or inactive address, or too
    many requests for this address or from this IP). Every request is audited."""
    email = normalise_email(email)
    since = now - limits.window
    throttled = (_requests_since(session, since, email=email) >= limits.per_address
                 or (bool(ip) and _requests_since(session, since, ip=ip or "")
                     >= limits.per_ip))
    record(session, RESET_REQUESTED if not throttled else "password_reset_throttled",
           ip=ip, at=now, email=email)
    user = session.scalar(select(User).where(func.lower(User.email) == email))
    if throttled or user is None or not user.active:
        return None
    return user, issue_token(session, user, "reset", now)


def token_user(session: Session, token: str, now: dt.datetime) -> User | None:
    """The user of a valid (unused, unexpired) token, or None; uses nothing up."""
    row = session.scalar(select(AccountToken).where(
        AccountToken.token_hash == _digest(token), AccountToken.used_at.is_(None),
        AccountToken.expires_at > now))
    return session.get(User, row.user_id) if row is not None else None


def set_password(session: Session, token: str, password: str, ip: str | None,
                 now: dt.datetime) -> User:
    """Use the token up and give its user the password (InvalidInput for a bad token or
    password); the user's other sessions end."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"The password must have at least {MIN_PASSWORD_LENGTH} characters.")
    row = session.scalar(select(AccountToken).where(AccountToken.token_hash == _digest(token)))
    used = session.execute(update(AccountToken).where(
        AccountToken.token_hash == _digest(token), AccountToken.used_at.is_(None),
        AccountToken.expires_at > now).values(used_at=now)
        .execution_options(synchronize_session=False))
    user = session.get(User, row.user_id) if row is not None else None
    if row is None or user is None or getattr(used, "rowcount", 0) != 1 or not user.active:
        raise InvalidInput(INVALID_LINK)
    user.password_hash = hash_password(password)
    end_sessions(user, now)
    record(session, "invite_accepted" if row.purpose == "invite" else "password_reset",
           user.id, ip, at=now, target=user.email)
    session.flush()
    return user

