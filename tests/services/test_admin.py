"""Administration services: admin-only, audited, and safe against locking everyone out."""
from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import AuditEvent, User
from services import admin
from services.errors import AccessDenied, InvalidInput
from services.users import authenticate, user_for_token
from tests.conftest import ADMIN, ANALYST, PASSWORD


def actor(session: Session, email: str) -> admin.Actor:
    """The Actor for an existing user."""
    user = session.scalar(select(User).where(User.email == email))
    return admin.Actor(user.id, user.role, "203.0.113.5")


def last_event(session: Session) -> AuditEvent:
    """The newest audit event."""
    return session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()


@pytest.mark.parametrize("call", [
    lambda s, a: admin.list_users(s, a),
    lambda s, a: admin.list_tokens(s, a),
    lambda s, a: admin.audit_log(s, a),
    lambda s, a: admin.system_status(s, a),
    lambda s, a: admin.add_user(s, a, "new@example.com", "a-long-password", "viewer"),
    lambda s, a: admin.reset_password(s, a, a.id, "another-password"),
    lambda s, a: admin.issue_token(s, a, a.id, "sneaky"),
])
def test_non_admins_are_refused_everything(session: Session,
                                           call: Callable[[Session, admin.Actor], object]) -> None:
    with pytest.raises(AccessDenied):
        call(session, actor(session, ANALYST))


def test_user_lifecycle_is_audited(session: Session) -> None:
    boss = actor(session, ADMIN)
    user = admin.add_user(session, boss, "agency@example.com", "a-long-password", "analyst",
                          ["instagram"], "Agency")
    assert last_event(session).action == "user_created"
    admin.update_user(session, boss, user.id, "Agency Ltd", "viewer", ["instagram", "tiktok"],
                      True)
    event = last_event(session)
    assert event.action == "user_updated" and event.ip == "203.0.113.5"
    assert '"tiktok"' in event.detail and '"role": "viewer"' in event.detail
    listed = {row["email"]: row for row in admin.list_users(session, boss)}
    assert listed["agency@example.com"]["platforms"] == "instagram, tiktok"
    admin.reset_password(session, boss, user.id, "brand-new-password")
    assert authenticate(session, "agency@example.com", "brand-new-password") is not None
    assert user.sessions_valid_after is not None


def test_the_last_admin_cannot_be_demoted_or_deactivated(session: Session) -> None:
    boss = actor(session, ADMIN)
    for others in session.scalars(select(User).where(User.role == "admin",
                                                     User.email != ADMIN)):
        others.role = "analyst"
    session.flush()
    with pytest.raises(InvalidInput, match="last active admin"):
        admin.update_user(session, boss, boss.id, None, "analyst", [], True)


def test_admins_cannot_deactivate_themselves(session: Session) -> None:
    boss = actor(session, ADMIN)
    admin.add_user(session, boss, "second-admin@example.com", "a-long-password", "admin")
    with pytest.raises(InvalidInput, match="your own account"):
        admin.update_user(session, boss, boss.id, None, "admin", [], False)


def test_bad_values_are_refused_without_changes(session: Session) -> None:
    boss = actor(session, ADMIN)
    target = actor(session, ANALYST)
    with pytest.raises(InvalidInput, match="Unknown role"):
        admin.update_user(session, boss, target.id, None, "owner", [], True)
    with pytest.raises(InvalidInput, match="Unknown platform"):
        admin.update_user(session, boss, target.id, None, "viewer", ["myspace"], True)
    with pytest.raises(InvalidInput, match="at least"):
        admin.reset_password(session, boss, target.id, "short")
    assert authenticate(session, ANALYST, PASSWORD) is not None
    assert session.get(User, target.id).role == "analyst"


def test_tokens_are_listed_without_secrets_and_revocation_is_immediate(session: Session) -> None:
    boss = actor(session, ADMIN)
    token = admin.issue_token(session, boss, actor(session, ANALYST).id, "reports")
    assert user_for_token(session, token).email == ANALYST
    rows = admin.list_tokens(session, boss)
    mine = next(row for row in rows if row["name"] == "reports")
    assert token not in str(rows) and token.startswith(mine["prefix"])
    admin.revoke_token(session, boss, mine["id"])
    assert user_for_token(session, token) is None
    assert last_event(session).action == "token_revoked"


def test_audit_log_filters(session: Session) -> None:
    boss = actor(session, ADMIN)
    admin.add_user(session, boss, "filtered@example.com", "a-long-password", "viewer")
    created = admin.audit_log(session, boss, action="user_created")
    assert set(created["action"]) == {"user_created"}
    assert (created["user"] == ADMIN).all()
    assert "user_created" in admin.audit_actions(session, boss)


def test_system_status_reports_database_migration_and_counts(session: Session) -> None:
    status = admin.system_status(session, actor(session, ADMIN))
    assert status["database"].split()[0] in ("sqlite", "postgresql")
    assert len(status["migration"]) >= 12
    assert status["row_counts"]["order_lines"] > 0 and status["row_counts"]["users"] >= 3
