"""Users, passwords and API tokens. Passwords are hashed with scrypt; tokens are stored as
SHA-256 digests (a 256-bit random token needs no slow hash) and shown once."""
from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from models import ROLES, ApiToken, Platform, User, utcnow
from services.errors import InvalidInput, NotFound
from services.platforms import slugify
from services.scope import Scope

MIN_PASSWORD_LENGTH = 8
TOKEN_PREFIX = "pb_"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Checked against when the e-mail is unknown, so both failures take the same time.
_DUMMY_HASH = generate_password_hash("not-a-real-password", method="scrypt")


def hash_password(password: str) -> str:
    """A salted scrypt hash of a password."""
    return generate_password_hash(password, method="scrypt")


def normalise_email(email: str) -> str:
    """Lower-cased, trimmed e-mail address."""
    return email.strip().lower()


def create_user(session: Session, email: str, password: str, role: str = "viewer",
                platform_slugs: Iterable[str] = (), name: str | None = None) -> User:
    """A new user; raises InvalidInput with a clear message for any bad value."""
    email = normalise_email(email)
    if not _EMAIL.match(email):
        raise InvalidInput(f"“{email}” is not a valid e-mail address.")
    if role not in ROLES:
        raise InvalidInput(f"Unknown role “{role}”: use one of {', '.join(ROLES)}.")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"The password must have at least {MIN_PASSWORD_LENGTH} characters.")
    if session.scalar(select(User.id).where(func.lower(User.email) == email)) is not None:
        raise InvalidInput(f"A user with the e-mail {email} already exists.")
    user = User(email=email, name=name, role=role, password_hash=hash_password(password),
                platforms=platforms_by_slug(session, platform_slugs))
    session.add(user)
    session.flush()
    return user


def platforms_by_slug(session: Session, slugs: Iterable[str]) -> list[Platform]:
    """Platforms for the given slugs (or names); raises InvalidInput naming any unknown one."""
    wanted = {slugify(value) for value in slugs}
    if not wanted:
        return []
    found = list(session.scalars(select(Platform).where(Platform.slug.in_(sorted(wanted)))))
    missing = wanted - {platform.slug for platform in found}
    if missing:
        raise InvalidInput(f"Unknown platform(s): {', '.join(sorted(missing))}.")
    return found


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The active user with these credentials, or None (same work for every failure)."""
    user = session.scalar(select(User).where(func.lower(User.email) == normalise_email(email)))
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not check_password_hash(user.password_hash, password) or not user.active:
        return None
    user.last_login_at = utcnow()
    return user


def scope_for(user: User) -> Scope:
    """The data scope of a user: their allowed platforms, or everything when none are set."""
    ids = frozenset(platform.id for platform in user.platforms)
    return Scope(user_id=user.id, platform_ids=ids or None)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, email: str, name: str | None = None) -> str:
    """A new API token for the user; the plain token is returned once and never stored."""
    user = session.scalar(select(User).where(func.lower(User.email) == normalise_email(email)))
    if user is None:
        raise NotFound(f"No user with the e-mail {normalise_email(email)}.")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, name=name, token_hash=_digest(token),
                         prefix=token[:10]))
    session.flush()
    return token


def user_for_token(session: Session, token: str) -> User | None:
    """The active user owning a valid, unrevoked token (and record its use)."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(token),
                                                ApiToken.revoked_at.is_(None)))
    if row is None:
        return None
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        return None
    row.last_used_at = utcnow()
    return user
