"""Undo an import: remove exactly the orders (and their lines) one sales import wrote, in one
transaction, with the rollups of the days they covered rebuilt.

Every order records the import job that wrote it (`orders.import_job_id`). An import can be
undone only while all of its orders are still its own and it replaced nothing loaded before
it: removing rows that a later import rewrote, or whose earlier version this import deleted,
would not put the data back as it was, so such an undo is refused with the reason.
Who may: an admin, or the user who imported the file, within their platform limit.
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from models import ImportJob, Order, OrderLine, User, utcnow
from services import rollups
from services.admin import Actor
from services.audit import record
from services.errors import AccessDenied, InvalidInput
from services.imports import bulk
from services.imports.access import visible_to
from services.imports.jobs import import_history
from services.imports.kinds import KINDS
from services.imports.report import STATUS_LABELS, SUCCEEDED, UNDONE
from services.query import as_date
from services.scope import Scope
from services.users import scope_for

UNDO_KINDS = frozenset({"sales"})  # other kinds update rows in place and keep no old version


@dataclass(frozen=True)
class UndoResult:
    """What an undo removed."""

    job_id: int
    filename: str
    orders: int
    lines: int
    first_date: dt.date | None
    last_date: dt.date | None


def undo_import(session: Session, actor: Actor, job_id: int) -> UndoResult:
    """Remove the orders and lines import `job_id` wrote and rebuild the rollups of their
    days, as `actor`; refused (`InvalidInput`, `AccessDenied`) with the reason. The caller
    commits (`dashapp.context.perform`) and then bumps the data version."""
    bulk.take_import_lock(session)  # no import writes these orders while we remove them
    job = session.get(ImportJob, job_id)
    user = session.get(User, actor.id)
    _check_allowed(session, job, user, job_id)
    assert job is not None and user is not None  # _check_allowed refused otherwise
    _check_intact(session, job)
    orders = select(Order.id).where(Order.import_job_id == job.id)
    first, last = (as_date(day) if day is not None else None for day in session.execute(
        select(func.min(Order.sale_date), func.max(Order.sale_date))
        .where(Order.import_job_id == job.id)).one())
    lines = _deleted(session, delete(OrderLine).where(OrderLine.order_id.in_(orders)))
    removed = _deleted(session, delete(Order).where(Order.import_job_id == job.id))
    if first is not None and last is not None:
        rollups.refresh(session, first, last)
    job.status = UNDONE
    job.finished_at = utcnow()
    record(session, "import_undone", actor.id, actor.ip, job=job.id, file=job.filename,
           orders=removed, lines=lines, first=first, last=last)
    return UndoResult(job.id, job.filename, removed, lines, first, last)


def _deleted(session: Session, statement: Any) -> int:
    """Run a DELETE; how many rows it removed (a DELETE's result counts them)."""
    return int(session.execute(statement).rowcount)  # type: ignore[attr-defined]


def _check_allowed(session: Session, job: ImportJob | None, user: User | None,
                   job_id: int) -> None:
    """Refuse a user who may not undo this job (or may not see it)."""
    if user is None or not user.active or user.role not in ("admin", "analyst"):
        raise AccessDenied("Your account may not undo imports.")
    scope = scope_for(user)
    if job is None or not visible_to(scope, job):
        raise InvalidInput(f"There is no import #{job_id} in the history you can see.")
    if user.role != "admin" and job.user_id != user.id:
        raise AccessDenied("Only an administrator or the user who imported the file may "
                           "undo its import.")
    if scope.is_limited:
        platforms = set(session.scalars(select(Order.platform_id).distinct()
                                        .where(Order.import_job_id == job.id)))
        if not platforms <= set(scope.platform_ids or ()):
            raise AccessDenied(f"Import #{job.id} wrote sales of platforms you may not change.")


def refusal(session: Session, job: ImportJob) -> str | None:
    """Why the data of `job` cannot be removed as it was written; None when it can."""
    name = f"Import #{job.id} ({job.filename})"
    if job.kind not in UNDO_KINDS:
        label = KINDS[job.kind].label.lower() if job.kind in KINDS else "demo data"
        return (f"{name} loaded {label}; only sales imports can be undone, since the other "
                "kinds update rows in place and keep no earlier version.")
    if job.status == UNDONE:
        return f"{name} was already undone."
    if job.status != SUCCEEDED:
        return (f"{name} loaded nothing (it is {STATUS_LABELS.get(job.status, job.status)}): "
                "there is nothing to undo.")
    totals = _totals(job)
    replaced = int(totals.get("orders_replaced", 0))
    if replaced:
        return (f"{name} replaced {replaced:,} orders loaded before it; removing its orders "
                "would lose those too, so it cannot be undone. Import the right file again "
                "instead: it replaces the same orders.")
    written = int(totals.get("orders", 0))
    remaining = session.scalar(select(func.count()).select_from(Order)
                               .where(Order.import_job_id == job.id)) or 0
    if remaining < written:
        return (f"{written - remaining:,} of the {written:,} orders {name} wrote have since "
                "been replaced by a later import (or the import was made before Pulseboard "
                "recorded which import wrote an order), so it cannot be undone.")
    return None


def _check_intact(session: Session, job: ImportJob) -> None:
    why = refusal(session, job)
    if why:
        raise InvalidInput(why)


def _totals(job: ImportJob) -> dict[str, Any]:
    try:
        totals = json.loads(job.report or "{}").get("totals") or {}
    except (ValueError, AttributeError):
        return {}
    return totals if isinstance(totals, dict) else {}


def undoable_imports(session: Session, scope: Scope, user_id: int,
                     limit: int = 10) -> list[dict[str, Any]]:
    """The latest sales imports the user may undo now, newest first: id, file name, rows
    loaded and start time."""
    user = session.get(User, user_id)
    if user is None or not user.active:
        return []
    out: list[dict[str, Any]] = []
    for row in import_history(session, scope, limit=50):
        if len(out) >= limit:
            break
        job = session.get(ImportJob, row["id"])
        if job is None or (user.role != "admin" and job.user_id != user.id):
            continue
        if refusal(session, job) is None:
            out.append({"id": job.id, "filename": job.filename, "rows": job.rows_loaded,
                        "started_at": job.started_at})
    return out
