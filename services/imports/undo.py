"""Undo an import, in one transaction, audited.

A sales import: remove exactly the orders (and their lines) it wrote, put back the orders it
replaced as they were, and rebuild the rollups of every day either touched. Every order
records the import job that wrote it (`orders.import_job_id`), and an import keeps the orders
and lines it replaced (`services.imports.replaced`). It can be undone only while all of its
orders are still its own: removing rows that a later import rewrote would not put the data
back as it was, so such an undo is refused with the reason (undo the later import first).

Every other kind (`KEPT_KINDS`) updates shared rows in place and keeps, for each row it
touched, the row's values before and after (`services.imports.changes`). Its undo puts the
earlier values back and deletes the rows it added, but only while every row still holds the
import's values and nothing else points at a row it added: otherwise putting old values
back would also undo a later import, an edit by hand or a workflow's change, and the undo is
refused naming what changed. Imports made before changes were kept, and the demo data, stay
refused. Who may: an admin, or the user who imported the file, within their platform limit.
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from models import REPLACED_ORDERS, ImportJob, Order, OrderLine, User, utcnow
from services import rollups
from services.admin import Actor
from services.audit import record
from services.errors import AccessDenied, InvalidInput
from services.imports import bulk, changes, replaced
from services.imports.access import visible_to
from services.imports.jobs import import_history
from services.imports.kinds import KINDS
from services.imports.report import STATUS_LABELS, SUCCEEDED, UNDONE
from services.query import as_date
from services.scope import Scope
from services.users import scope_for

# The kinds whose imports keep the rows they change (`services.imports.changes`), landed and
# tested one at a time; every loader keeps its changes, a kind is offered once it is here.
KEPT_KINDS = frozenset({"products", "customers", "posts", "influencers", "tracking", "funnel",
                        "payouts", "pipeline", "sales_team"})
UNDO_KINDS = frozenset({"sales", *KEPT_KINDS})
# What each other kind changes in place: why an import of it made before Pulseboard kept its
# changes is not undone. Those rows are shared (every
# sale, page and later edit by hand or workflow reads and changes them); without the earlier
# version, putting back old values would also undo later edits.
IN_PLACE = {
    "products": "updates the shared product catalogue in place (names, categories, costs "
                "and prices every sale and later edit uses)",
    "customers": "updates customers' details in place",
    "influencers": "updates influencer profiles in place",
    "posts": "updates posts and their engagement counts in place",
    "tracking": "replaces the campaign tracking of its days",
    "payouts": "replaces payouts, which the payout workflow may since have approved or paid",
    "funnel": "replaces the funnel counts of its days",
    "pipeline": "updates opportunities in place and adds accounts, reps and stages",
    "sales_team": "updates sales reps and their teams in place",
}


@dataclass(frozen=True)
class UndoResult:
    """What an undo removed and put back."""

    job_id: int
    filename: str
    orders: int
    lines: int
    first_date: dt.date | None  # of every day whose figures were rebuilt
    last_date: dt.date | None
    restored_orders: int = 0  # the orders (and lines) the import had replaced, back again
    restored_lines: int = 0
    kind: str = "sales"
    rows_put_back: int = 0  # other kinds: rows given their earlier values (or re-added)
    rows_removed: int = 0  # other kinds: rows the import had added, deleted


def undo_import(session: Session, actor: Actor, job_id: int) -> UndoResult:
    """Remove the orders and lines import `job_id` wrote, put back those it replaced and
    rebuild the rollups of all their days, as `actor`; refused (`InvalidInput`,
    `AccessDenied`) with the reason. The caller commits (`dashapp.context.perform`) and then
    bumps the data version."""
    bulk.take_import_lock(session)  # no import writes these orders while we remove them
    job = session.get(ImportJob, job_id)
    user = session.get(User, actor.id)
    _check_allowed(session, job, user, job_id)
    assert job is not None and user is not None  # _check_allowed refused otherwise
    _check_intact(session, job)
    if job.kind in KEPT_KINDS:
        return _undo_kept(session, actor, job)
    orders = select(Order.id).where(Order.import_job_id == job.id)
    first, last = _days(session, job)
    lines = _deleted(session, delete(OrderLine).where(OrderLine.order_id.in_(orders)))
    removed = _deleted(session, delete(Order).where(Order.import_job_id == job.id))
    restored_orders, restored_lines = replaced.restore(session, job.id)
    if first is not None and last is not None:
        rollups.refresh(session, first, last)
    job.status = UNDONE
    job.finished_at = utcnow()
    record(session, "import_undone", actor.id, actor.ip, job=job.id, file=job.filename,
           orders=removed, lines=lines, restored_orders=restored_orders,
           restored_lines=restored_lines, first=first, last=last)
    return UndoResult(job.id, job.filename, removed, lines, first, last, restored_orders,
                      restored_lines)


def _undo_kept(session: Session, actor: Actor, job: ImportJob) -> UndoResult:
    """Undo an import of a kind that keeps its changes (already checked: nothing changed
    them since); rebuild every rollup if products moved in or out of the sales figures."""
    non_merchandise = rollups.non_merchandise_ids(session)
    done = changes.restore(session, job.id)
    if rollups.non_merchandise_ids(session) != non_merchandise:
        rollups.refresh(session)
    job.status = UNDONE
    job.finished_at = utcnow()
    record(session, "import_undone", actor.id, actor.ip, job=job.id, file=job.filename,
           kind=job.kind, put_back=done.put_back, removed=done.removed)
    return UndoResult(job.id, job.filename, 0, 0, None, None, kind=job.kind,
                      rows_put_back=done.put_back, rows_removed=done.removed)


def _days(session: Session, job: ImportJob) -> tuple[dt.date | None, dt.date | None]:
    """The first and last sale date of the orders `job` wrote and of those it replaced: the
    days whose figures its undo changes."""
    own = session.execute(select(func.min(Order.sale_date), func.max(Order.sale_date))
                          .where(Order.import_job_id == job.id)).one()
    days = [as_date(day) for day in (*own, *(replaced.kept_days(session, job.id) or ()))
            if day is not None]
    return (min(days), max(days)) if days else (None, None)


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
        platforms |= set(session.scalars(select(REPLACED_ORDERS.c.platform_id).distinct()
                                         .where(REPLACED_ORDERS.c.job_id == job.id)))
        if not platforms <= set(scope.platform_ids or ()):
            raise AccessDenied(f"Import #{job.id} wrote sales of platforms you may not change.")


def refusal(session: Session, job: ImportJob) -> str | None:
    """Why the data of `job` cannot be put back as it was before it; None when it can."""
    name = f"Import #{job.id} ({job.filename})"
    if job.kind not in UNDO_KINDS:  # the demo load: every import of a file can be undone
        return (f"{name} loaded the demo data, which loads as a whole into an empty "
                "database only, so it cannot be undone.")
    if job.status == UNDONE:
        return f"{name} was already undone."
    if job.status != SUCCEEDED:
        return (f"{name} loaded nothing (it is {STATUS_LABELS.get(job.status, job.status)}): "
                "there is nothing to undo.")
    if job.kind in KEPT_KINDS:
        return _kept_refusal(session, job, name)
    totals = _totals(job)
    replaced_orders = int(totals.get("orders_replaced", 0))
    if replaced.kept_orders(session, job.id) < replaced_orders:
        return (f"{name} replaced {replaced_orders:,} orders loaded before it, and was made "
                "before Pulseboard kept replaced orders, so they cannot be put back. Import "
                "the right file again instead: it replaces the same orders.")
    written = int(totals.get("orders", 0))
    remaining = session.scalar(select(func.count()).select_from(Order)
                               .where(Order.import_job_id == job.id)) or 0
    if remaining < written:
        return (f"{written - remaining:,} of the {written:,} orders {name} wrote have since "
                "been replaced by a later import (or the import was made before Pulseboard "
                "recorded which import wrote an order), so it cannot be undone: undo the "
                "later import first.")
    return None


def _kept_refusal(session: Session, job: ImportJob, name: str) -> str | None:
    """Why an import of a kind that keeps its changes cannot be undone now (None: it can)."""
    if not changes.has_kept(session, job.id):
        return (f"{name} is {_a(KINDS[job.kind].label.lower())} import made before Pulseboard "
                f"kept what such imports change (it {IN_PLACE[job.kind]}), so it cannot be "
                "undone. Import a corrected file instead.")
    found = changes.conflicts(session, job.id)
    if not found:
        return None
    return (f"{name} cannot be undone: "
            + "; ".join(changes.blocking(conflict) for conflict in found) + ".")


def _a(noun: str) -> str:
    """'a sales team' or 'an influencer payouts'."""
    return f"{'an' if noun[:1] in 'aeiou' else 'a'} {noun}"


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


def _own_loaded_jobs(session: Session, scope: Scope, user_id: int) -> list[ImportJob]:
    """The latest imports of the history that loaded data and that the user might undo
    (an admin any, others their own), newest first."""
    user = session.get(User, user_id)
    if user is None or not user.active:
        return []
    order = [row["id"] for row in import_history(session, scope, limit=50)]
    found = {job.id: job for job in  # one query, not one per row of the history
             session.scalars(select(ImportJob).where(ImportJob.id.in_(order)))} if order else {}
    jobs = (found.get(job_id) for job_id in order)
    return [job for job in jobs if job is not None and job.status == SUCCEEDED
            and (user.role == "admin" or job.user_id == user.id)]


@dataclass(frozen=True)
class UndoChoices:
    """The latest imports the user may undo now (id, file name, rows loaded, start time) and
    those they would undo but may not (id, file name, why), newest first."""

    offered: list[dict[str, Any]]
    refused: list[dict[str, Any]]


def undo_choices(session: Session, scope: Scope, user_id: int, offered: int = 10,
                 refused: int = 5) -> UndoChoices:
    """Both lists of the Data page's undo, from one look at each import (each look weighs
    every row the import kept)."""
    choices = UndoChoices([], [])
    for job in _own_loaded_jobs(session, scope, user_id):
        if len(choices.offered) >= offered and len(choices.refused) >= refused:
            break
        why = refusal(session, job)
        if why is None and len(choices.offered) < offered:
            choices.offered.append({"id": job.id, "filename": job.filename,
                                    "rows": job.rows_loaded, "started_at": job.started_at})
        elif why and len(choices.refused) < refused:
            choices.refused.append({"id": job.id, "filename": job.filename, "why": why})
    return choices


def undoable_imports(session: Session, scope: Scope, user_id: int,
                     limit: int = 10) -> list[dict[str, Any]]:
    """The latest imports the user may undo now, newest first: id, file name, rows loaded
    and start time."""
    return undo_choices(session, scope, user_id, offered=limit, refused=0).offered


def refused_imports(session: Session, scope: Scope, user_id: int,
                    limit: int = 5) -> list[dict[str, Any]]:
    """The latest imports the user would undo but may not, newest first: id, file name and
    why, for the Data page to say."""
    return undo_choices(session, scope, user_id, offered=0, refused=limit).refused
