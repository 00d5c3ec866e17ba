"""Import jobs: the history of every import, and the rule that a job whose process died is
shown as failed.

A job row is committed as "running" in its own transaction before any data is touched; the
data and the job's final status are then committed together. A process killed in between
leaves the data untouched (its transaction never commits) and the job "running": such a job
is failed. Whether its process is gone is told
- on PostgreSQL, from any host: the running process holds an advisory lock named after the
  job on a connection of its own, taken before the job row is committed; PostgreSQL drops it
  when that process dies (its connections close), so a running job whose lock nobody holds is
  dead (a Celery worker on another host, killed mid-import, included);
- on SQLite (one machine): from the host and pid the job row records.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import socket
from collections.abc import Iterator
from typing import Any, cast

import psutil
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from models import ImportJob, User, utcnow
from services.imports.access import visible_to
from services.imports.report import FAILED, RUNNING, STATUS_LABELS, ImportReport
from services.scope import Scope

# A job still "running" after this long is failed even if its process cannot be checked
# (another host); no import of an allowed file takes anywhere near this long.
STALE_AFTER = dt.timedelta(hours=2)
# The first key of every job's advisory lock (the second is the job id): "PB" + 1, so no
# other user of advisory locks on the database is likely to take the same pair.
LIVENESS_LOCK_CLASS = 0x5042_0001
DIED = "The import stopped before it finished (its process ended); nothing from it was loaded."


def worker_name() -> str:
    """'host:pid' of this process."""
    return f"{socket.gethostname()}:{os.getpid()}"


def is_stale(session: Session, job: ImportJob, now: dt.datetime | None = None) -> bool:
    """True for a running job whose process is gone (or that has run implausibly long)."""
    if job.status != RUNNING:
        return False
    if _has_locks(session):
        return not _lock_held(session, job.id)
    now = now or utcnow()
    if job.started_at and now - job.started_at > STALE_AFTER:
        return True
    host, _, pid = (job.worker or "").rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    return not _alive(int(pid))


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _has_locks(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _lock_held(session: Session, job_id: int) -> bool:
    """Whether some session of this database holds the job's liveness lock."""
    return bool(session.scalar(text(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
        " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        " AND classid = :lock_class AND objid = :job AND objsubid = 2"),
        {"lock_class": LIVENESS_LOCK_CLASS, "job": job_id}))


@contextlib.contextmanager
def running_job(session: Session, report: ImportReport,
                user_id: int | None) -> Iterator[ImportJob]:
    """Record a running job and commit it, so it is visible whatever happens next; on
    PostgreSQL its liveness lock is held until the block ends."""
    fail_stale_jobs(session)
    job = ImportJob(kind=report.kind, filename=report.filename[:255], checksum=report.checksum,
                    size_bytes=report.size_bytes, platform=report.platform, status=RUNNING,
                    user_id=user_id, worker=worker_name())
    session.add(job)
    session.flush()
    with _liveness_lock(session, job.id):
        session.commit()  # after the lock: a checker never sees this job running unlocked
        yield job


@contextlib.contextmanager
def _liveness_lock(session: Session, job_id: int) -> Iterator[None]:
    if not _has_locks(session):
        yield
        return
    # A connection of its own: the session's connections change with its transactions, and
    # a session-level lock lives as long as the connection that took it.
    with cast(Engine, session.get_bind()).connect() as beacon:
        lock = {"lock_class": LIVENESS_LOCK_CLASS, "job": job_id}
        beacon.execute(text("SELECT pg_advisory_lock(:lock_class, :job)"), lock)
        beacon.commit()
        try:
            yield
        finally:
            try:
                beacon.execute(text("SELECT pg_advisory_unlock(:lock_class, :job)"), lock)
                beacon.commit()
            except SQLAlchemyError:  # the database went away: so did the lock
                beacon.invalidate()


def record_outcome(job: ImportJob, report: ImportReport) -> None:
    """Copy the report's outcome onto the job (the caller commits)."""
    job.status, job.kind, job.platform = report.status, report.kind, report.platform
    job.source_format = report.source_format or None
    job.rows_read, job.rows_loaded = report.rows_read, report.rows_loaded
    job.rows_rejected, job.rows_excluded = report.rows_rejected, report.rows_excluded
    problems = report.errors + [f"{p['column']}: {p['problem']} ({p['rows']} rows)"
                                for p in report.problems]
    job.errors = json.dumps(problems) if problems else None
    job.report = report.to_json()
    job.finished_at = utcnow()


DEMO_KIND = "demo"


def record_demo_load(session: Session, summary: Any, seed: int,
                     user_id: int | None = None) -> ImportJob:
    """Record a demo data load as a finished job, so the import history shows what loaded
    the data (`summary`: the `DemoSummary`; the caller commits with the data)."""
    now = utcnow()
    job = ImportJob(kind=DEMO_KIND, source_format=DEMO_KIND, filename=f"demo data (seed {seed})",
                    status="succeeded", rows_read=summary.order_lines,
                    rows_loaded=summary.order_lines, user_id=user_id, worker=worker_name(),
                    started_at=now, finished_at=now,
                    report=json.dumps({"summary": str(summary)}))
    session.add(job)
    session.flush()
    return job


def fail_stale_jobs(session: Session) -> int:
    """Mark running jobs whose process died as failed (committed by the caller)."""
    failed = 0
    for job in session.scalars(select(ImportJob).where(ImportJob.status == RUNNING)):
        if is_stale(session, job):
            job.status, job.finished_at = FAILED, utcnow()
            job.errors = json.dumps([DIED])
            failed += 1
    return failed


def previous_import(session: Session, checksum: str, kind: str,
                    platform: str | None) -> ImportJob | None:
    """The last successful import of the same file (same checksum, kind and platform)."""
    return session.scalar(
        select(ImportJob).where(ImportJob.checksum == checksum, ImportJob.kind == kind,
                                ImportJob.platform.is_(None) if platform is None
                                else ImportJob.platform == platform,
                                ImportJob.status == "succeeded")
        .order_by(ImportJob.id.desc()).limit(1))


HISTORY_SCAN = 2_000  # jobs looked through for a limited user's history


def import_history(session: Session, scope: Scope | None = None,
                   limit: int = 25) -> list[dict[str, Any]]:
    """The latest imports the user may see, newest first, with a running job whose process
    died shown as failed. A user limited to some platforms sees only the imports of their
    platforms' data (`access.visible_to`); others see every import."""
    scope = scope or Scope.everything()
    stmt = (select(ImportJob, User.email).outerjoin(User, User.id == ImportJob.user_id)
            .order_by(ImportJob.id.desc())
            .limit(HISTORY_SCAN if scope.is_limited else limit))
    rows: list[dict[str, Any]] = []
    for job, email in session.execute(stmt):
        if len(rows) >= limit:
            break
        if not visible_to(scope, job):
            continue
        stale = is_stale(session, job)
        status = FAILED if stale else job.status
        errors = [DIED] if stale else json.loads(job.errors or "[]")
        rows.append({
            "id": job.id, "started_at": job.started_at, "finished_at": job.finished_at,
            "user": email or "command line", "filename": job.filename, "kind": job.kind,
            "platform": job.platform, "status": status,
            "status_label": STATUS_LABELS.get(status, status), "rows_read": job.rows_read,
            "rows_loaded": job.rows_loaded, "rows_rejected": job.rows_rejected,
            "rows_excluded": job.rows_excluded, "checksum": job.checksum or "",
            "errors": errors})
    return rows

