"""The payout workflow on SQLite and PostgreSQL: who may move a payout where, the platform
limit, the paid date and the audit record (each test's session is rolled back)."""
from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from models import AuditEvent, Payout
from services import payouts
from services.admin import Actor
from services.errors import AccessDenied, InvalidInput, NotFound
from services.scope import Scope
from tests.conftest import LIMITED_PLATFORM

TODAY = dt.date(2026, 12, 1)
ADMIN, ANALYST, VIEWER = Actor(1, "admin"), Actor(2, "analyst"), Actor(3, "viewer")
EVERYTHING = Scope()
PLATFORM_OF = sa.text("""
    SELECT p.id, p.status, COALESCE(c.platform_id, i.platform_id) AS platform_id, f.slug
    FROM payouts AS p JOIN influencers AS i ON i.id = p.influencer_id
    LEFT JOIN campaigns AS c ON c.id = p.campaign_id
    JOIN platforms AS f ON f.id = COALESCE(c.platform_id, i.platform_id) ORDER BY p.id""")


def _payout(session: Session, status: str) -> Payout:
    """A payout of the demo data, set to `status` in this (rolled back) session."""
    payout = session.scalars(sa.select(Payout).order_by(Payout.id)).first()
    assert payout is not None
    payout.status = status
    session.flush()
    return payout


def test_admins_approve_and_mark_paid_and_each_change_is_audited(session: Session) -> None:
    payout = _payout(session, "pending")
    payouts.change_status(session, ADMIN, EVERYTHING, payout.id, "approved", TODAY)
    change = payouts.change_status(session, ADMIN, EVERYTHING, payout.id, "paid", TODAY)
    assert change == {"payout_id": payout.id, "old": "approved", "new": "paid", "paid_on": TODAY}
    assert session.get(Payout, payout.id).paid_on == TODAY
    events = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "payout_status")
                             .order_by(AuditEvent.id)).all()[-2:]
    assert [(json.loads(e.detail)["old"], json.loads(e.detail)["new"]) for e in events] == [
        ("pending", "approved"), ("approved", "paid")]
    assert {e.user_id for e in events} == {ADMIN.id}
    assert json.loads(events[-1].detail)["payout"] == payout.id


@pytest.mark.parametrize(("actor", "status", "to"), [
    (ANALYST, "pending", "approved"), (ANALYST, "approved", "paid"),
    (ANALYST, "approved", "cancelled"), (VIEWER, "pending", "cancelled"),
    (VIEWER, "cancelled", "pending")])
def test_analysts_and_viewers_are_refused_what_only_admins_do(session: Session, actor: Actor,
                                                               status: str, to: str) -> None:
    payout = _payout(session, status)
    with pytest.raises(AccessDenied):
        payouts.change_status(session, actor, EVERYTHING, payout.id, to, TODAY)
    assert session.get(Payout, payout.id).status == status


def test_analysts_withdraw_and_submit_again(session: Session) -> None:
    payout = _payout(session, "pending")
    payouts.change_status(session, ANALYST, EVERYTHING, payout.id, "cancelled", TODAY)
    payouts.change_status(session, ANALYST, EVERYTHING, payout.id, "pending", TODAY)
    assert session.get(Payout, payout.id).status == "pending"
    assert payouts.allowed("analyst", "pending") == ("cancelled",)
    assert payouts.allowed("admin", "pending") == ("approved", "cancelled")
    assert payouts.allowed("viewer", "approved") == ()
    with pytest.raises(InvalidInput):  # no way back from paid
        payouts.change_status(session, ADMIN, EVERYTHING, payout.id, "paid", TODAY)


def test_a_limited_user_acts_only_on_their_platforms_payouts(session: Session) -> None:
    rows = session.execute(PLATFORM_OF).all()
    mine = [row for row in rows if row.slug == LIMITED_PLATFORM]
    other = [row for row in rows if row.slug != LIMITED_PLATFORM]
    assert mine and other
    limited = Scope(platform_ids=frozenset({int(mine[0].platform_id)}))
    for row in (mine[0], other[0]):
        session.get(Payout, row.id).status = "cancelled"
    session.flush()
    payouts.change_status(session, ANALYST, limited, mine[0].id, "pending", TODAY)
    with pytest.raises(NotFound):
        payouts.change_status(session, ANALYST, limited, other[0].id, "pending", TODAY)
    assert session.get(Payout, other[0].id).status == "cancelled"
