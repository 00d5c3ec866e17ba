"""Administration: users, platform access, API tokens, the audit log, system status and the
pipeline's stages.

Every function takes the acting user (`Actor`) and refuses anyone but an admin, so the rule
holds however the function is reached; every change is written to the audit log.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, cast

import pandas as pd
from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from models import (
    ROLES,
    ApiToken,
    AuditEvent,
    Base,
    ImportJob,
    Opportunity,
    StageChange,
    User,
    utcnow,
)
from models.pipeline import STAGE_LENGTH, PipelineStage
from services.audit import record
from services.errors import AccessDenied, InvalidInput, NotFound
from services.imports.entities import stage_key
from services.query import frame_of
from services.users import (
    MIN_PASSWORD_LENGTH,
    create_token,
    create_user,
    hash_password,
    platforms_by_slug,
)

AUDIT_PAGE_SIZE = 500


@dataclass(frozen=True)
class Actor:
    """Who is making an administrative request, and from where."""

    id: int
    role: str
    ip: str | None = None


def require_admin(actor: Actor) -> None:
    """Refuse (and log the attempt) unless the actor is an admin."""
    if actor.role != "admin":
        raise AccessDenied("Only administrators can do this.")


def _user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"No user with id {user_id}.")
    return user


def list_users(session: Session, actor: Actor) -> list[dict[str, Any]]:
    """Every user with role, platform access, state and last login (UTC, None: never), by
    e-mail."""
    require_admin(actor)
    users = session.scalars(select(User).order_by(User.email))
    return [{"id": u.id, "email": u.email, "name": u.name or "", "role": u.role,
             "platforms": ", ".join(sorted(p.slug for p in u.platforms)) or "all",
             "platform_slugs": sorted(p.slug for p in u.platforms), "active": u.active,
             "last_login": u.last_login_at} for u in users]


def add_user(session: Session, actor: Actor, email: str, password: str, role: str,
             platform_slugs: Iterable[str] = (), name: str | None = None) -> User:
    """Create a user (see `services.users.create_user` for the rules)."""
    require_admin(actor)
    user = create_user(session, email, password, role, platform_slugs, name or None)
    record(session, "user_created", actor.id, actor.ip, target=user.email, role=role,
           platforms=sorted(platform_slugs))
    return user


def _active_admins(session: Session) -> int:
    # A count() returns one row, so the scalar is never None.
    return cast(int, session.scalar(select(func.count()).select_from(User)
                                    .where(User.role == "admin", User.active.is_(True))))


def update_user(session: Session, actor: Actor, user_id: int, name: str | None, role: str,
                platform_slugs: Iterable[str], active: bool) -> User:
    """Change a user's name, role, platform access and active state."""
    require_admin(actor)
    user = _user(session, user_id)
    if role not in ROLES:
        raise InvalidInput(f"Unknown role “{role}”: use one of {', '.join(ROLES)}.")
    losing_admin = user.role == "admin" and user.active and (role != "admin" or not active)
    if losing_admin and _active_admins(session) <= 1:
        raise InvalidInput("This is the last active admin: make someone else admin first.")
    if user.id == actor.id and not active:
        raise InvalidInput("You cannot deactivate your own account.")
    platforms = platforms_by_slug(session, platform_slugs)
    before = {"role": user.role, "active": user.active,
              "platforms": sorted(p.slug for p in user.platforms)}
    user.name, user.role, user.active, user.platforms = name or None, role, active, platforms
    if before["platforms"] != sorted(p.slug for p in platforms) or not active:
        end_sessions(user)  # narrower access or deactivation applies at once
    record(session, "user_updated", actor.id, actor.ip, target=user.email, before=before,
           after={"role": role, "active": active, "platforms": sorted(p.slug for p in platforms)})
    session.flush()
    return user


def end_sessions(user: User, at: dt.datetime | None = None) -> None:
    """Invalidate every login session of `user` started before `at` (default: now)."""
    user.sessions_valid_after = at or utcnow()


def reset_password(session: Session, actor: Actor, user_id: int, password: str) -> None:
    """Set a new password and end the user's sessions."""
    require_admin(actor)
    user = _user(session, user_id)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"The password must have at least {MIN_PASSWORD_LENGTH} characters.")
    user.password_hash = hash_password(password)
    end_sessions(user)
    record(session, "password_reset", actor.id, actor.ip, target=user.email)


def list_tokens(session: Session, actor: Actor) -> list[dict[str, Any]]:
    """Every API token (never the token itself): owner, name, prefix, use (UTC times, None:
    never) and state."""
    require_admin(actor)
    rows = session.execute(select(ApiToken, User.email).join(User, User.id == ApiToken.user_id)
                           .order_by(ApiToken.created_at.desc()))
    return [{"id": token.id, "user": email, "name": token.name or "", "prefix": token.prefix,
             "created": token.created_at, "last_used": token.last_used_at,
             "state": "revoked" if token.revoked_at else "active"} for token, email in rows]


def issue_token(session: Session, actor: Actor, user_id: int, name: str | None) -> str:
    """A new token for a user, returned once."""
    require_admin(actor)
    user = _user(session, user_id)
    token = create_token(session, user.email, name or None)
    record(session, "token_created", actor.id, actor.ip, target=user.email, name=name)
    return token


def revoke_token(session: Session, actor: Actor, token_id: int) -> None:
    """Revoke a token; it stops working at once."""
    require_admin(actor)
    token = session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(f"No API token with id {token_id}.")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        record(session, "token_revoked", actor.id, actor.ip, token=token.prefix)


def audit_log(session: Session, actor: Actor, action: str | None = None,
              email: str | None = None, start: dt.date | None = None,
              end: dt.date | None = None, limit: int = AUDIT_PAGE_SIZE) -> pd.DataFrame:
    """Audit events, newest first, filtered by action, user and dates."""
    require_admin(actor)
    stmt = (select(AuditEvent.at, AuditEvent.action, User.email, AuditEvent.ip,
                   AuditEvent.detail)
            .outerjoin(User, User.id == AuditEvent.user_id)
            .order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(limit))
    if action:
        stmt = stmt.where(AuditEvent.action == action)
    if email:
        stmt = stmt.where(User.email == email)
    if start:
        stmt = stmt.where(AuditEvent.at >= dt.datetime.combine(start, dt.time.min))
    if end:
        stmt = stmt.where(AuditEvent.at < dt.datetime.combine(end + dt.timedelta(days=1),
                                                              dt.time.min))
    frame = frame_of(session.execute(stmt).all(),
                     ["at", "action", "user", "ip", "detail"])
    frame["user"] = frame["user"].fillna("")
    return frame


def audit_actions(session: Session, actor: Actor) -> list[str]:
    """The distinct actions present in the audit log."""
    require_admin(actor)
    return sorted(session.scalars(select(AuditEvent.action).distinct()))


def system_status(session: Session, actor: Actor) -> dict[str, Any]:
    """Database reachability and version, migration head, row counts, recent import jobs."""
    require_admin(actor)
    dialect = session.get_bind().dialect.name
    version = session.scalar(text("SELECT sqlite_version()" if dialect == "sqlite"
                                  else "SHOW server_version"))
    head = session.scalar(text("SELECT version_num FROM alembic_version"))
    counts = {table.name: session.scalar(select(func.count()).select_from(table))
              for table in Base.metadata.sorted_tables}
    jobs = session.execute(select(ImportJob.started_at, ImportJob.kind, ImportJob.filename,
                                  ImportJob.status, ImportJob.rows_loaded,
                                  ImportJob.rows_rejected)
                           .order_by(ImportJob.started_at.desc()).limit(10)).all()
    return {"database": f"{dialect} {version}", "migration": head, "row_counts": counts,
            "import_jobs": [dict(row._mapping) for row in jobs]}


# --- pipeline stages --------------------------------------------------------------------------

def list_stages(session: Session, actor: Actor) -> list[dict[str, Any]]:
    """The pipeline's stages in order: name, position, default probability, outcome, deals."""
    require_admin(actor)
    deals = dict(session.execute(select(Opportunity.stage, func.count())
                                 .group_by(Opportunity.stage)).all())
    rows = session.scalars(select(PipelineStage).order_by(PipelineStage.position,
                                                          PipelineStage.id))
    return [{"id": stage.id, "name": stage.name, "position": stage.position,
             "probability": stage.probability, "outcome": stage.outcome,
             "deals": int(deals.get(stage.name, 0))} for stage in rows]


def update_stage(session: Session, actor: Actor, stage_id: int, name: str, position: int,
                 probability: float | None) -> None:
    """Rename a stage (its deals and their history follow), move it to `position` (1 = first)
    and set its default probability (0–1, None: the historical win rate is used)."""
    require_admin(actor)
    stage = session.get(PipelineStage, stage_id)
    if stage is None:
        raise NotFound("There is no such stage.")
    name = name.strip()
    if not 0 < len(name) <= STAGE_LENGTH:
        raise InvalidInput(f"A stage name has 1 to {STAGE_LENGTH} characters.")
    others = session.scalars(select(PipelineStage.name).where(PipelineStage.id != stage_id))
    if any(stage_key(other) == stage_key(name) for other in others):
        raise InvalidInput(f"There is already a stage called “{name}”.")
    if probability is not None and not 0 <= probability <= 1:
        raise InvalidInput("The probability is between 0% and 100%.")
    if name != stage.name:
        for table in (Opportunity, StageChange):
            session.execute(update(table).where(table.stage == stage.name).values(stage=name))
    old = stage.name
    stage.name, stage.probability = name, probability
    ordered = [s for s in session.scalars(select(PipelineStage).order_by(
        PipelineStage.position, PipelineStage.id)) if s.id != stage_id]
    ordered.insert(min(max(position, 1), len(ordered) + 1) - 1, stage)
    for place, row in enumerate(ordered, 1):
        row.position = place
    session.flush()
    record(session, "stage_changed", actor.id, actor.ip, target=old, name=name,
           position=stage.position, probability=probability)
