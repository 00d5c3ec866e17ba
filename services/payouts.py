"""The payout workflow: pending → approved → paid, or cancelled.

Analysts propose: they put a cancelled payout back to pending (submit it again) and withdraw a
pending one; admins also approve a pending payout, mark an approved one paid (dated the
business day it was paid) and cancel an approved one. Viewers change nothing. A user limited
to some platforms acts only on the payouts of their platforms' campaigns (the influencer's
platform for a payout without a campaign). Every change is audited with the old and new
status; a refusal raises `AccessDenied`, which `dashapp.context.perform` audits.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import Campaign, Influencer, Payout
from services.admin import Actor
from services.audit import record
from services.errors import AccessDenied, InvalidInput, NotFound
from services.query import scope_condition
from services.scope import Scope

ANALYSTS = frozenset({"analyst", "admin"})
ADMINS = frozenset({"admin"})
# (from, to) → the roles that may make the change.
TRANSITIONS: dict[tuple[str, str], frozenset[str]] = {
    ("pending", "approved"): ADMINS,
    ("approved", "paid"): ADMINS,
    ("pending", "cancelled"): ANALYSTS,
    ("approved", "cancelled"): ADMINS,
    ("cancelled", "pending"): ANALYSTS,
}
ACTIONS = {"approved": "Approve", "paid": "Mark paid", "cancelled": "Cancel",
           "pending": "Submit again"}
RULE = ("Workflow: analysts submit (a cancelled payout back to pending) and withdraw pending "
        "ones; admins approve pending payouts, mark approved ones paid and cancel them.")


def allowed(role: str, status: str) -> tuple[str, ...]:
    """The statuses a user of `role` may move a payout of `status` to, in workflow order."""
    return tuple(to for (frm, to), roles in TRANSITIONS.items()
                 if frm == status and role in roles)


def _payout_in_scope(session: Session, scope: Scope, payout_id: int) -> Payout:
    platform = func.coalesce(Campaign.platform_id, Influencer.platform_id)
    payout = session.scalars(
        select(Payout).join(Influencer, Influencer.id == Payout.influencer_id)
        .outerjoin(Campaign, Campaign.id == Payout.campaign_id)
        .where(Payout.id == payout_id, scope_condition(scope, platform))
        .with_for_update(of=Payout)).first()
    if payout is None:  # another platform's payout is as unknown as a missing one
        raise NotFound(f"No payout #{payout_id} that you may change.")
    return payout


def change_status(session: Session, actor: Actor, scope: Scope, payout_id: int, to: str,
                  today: dt.date) -> dict[str, object]:
    """Move one payout to status `to` if the actor's role and scope allow it, audited.

    `today` is the business day a payout marked paid is dated. Returns the change:
    payout_id, old, new, paid_on.
    """
    payout = _payout_in_scope(session, scope, payout_id)
    old = payout.status
    roles = TRANSITIONS.get((old, to))
    if roles is None:
        raise InvalidInput(f"Payout #{payout_id} is {old}: it cannot become {to}.")
    if actor.role not in roles:
        raise AccessDenied(f"Only {' or '.join(sorted(r + 's' for r in roles))} can move a "
                           f"{old} payout to {to}.")
    payout.status = to
    payout.paid_on = today if to == "paid" else None
    record(session, "payout_status", actor.id, actor.ip, payout=payout_id, old=old, new=to,
           amount=float(payout.amount), paid_on=payout.paid_on)
    return {"payout_id": payout_id, "old": old, "new": to, "paid_on": payout.paid_on}
