"""Load the demo data into an empty database: the one code path of `pulseboard demo-data`
and of the Data page's "Load the demo data" job (`services.imports.runner`, action DEMO).

The load is recorded as a finished import job (`jobs.record_demo_load`) and committed with
the data, then the planner's statistics are refreshed. A database that has sales (or any row
the demo data writes) is refused with the reason, and nothing is changed.
"""
from __future__ import annotations

import time

from sqlalchemy.orm import Session

from models import User
from services.audit import record
from services.demo_data import DEFAULT_LINES, DemoSummary, generate_demo_data
from services.errors import AccessDenied
from services.imports.jobs import DEMO_KIND, record_demo_load
from services.imports.report import SUCCEEDED, ImportReport
from services.maintenance import refresh_statistics

DEMO_SEED = 42  # the CLI's default, so the page loads the same data as the command


def load_demo(session: Session, timezone: str, lines: int = DEFAULT_LINES,
              seed: int = DEMO_SEED, user_id: int | None = None,
              ip: str | None = None) -> DemoSummary:
    """Generate the demo data, record the load and commit; refused (`InvalidInput`, nothing
    changed) unless the database is empty."""
    try:
        summary = generate_demo_data(session, lines=lines, seed=seed, timezone=timezone)
        job = record_demo_load(session, summary, seed, user_id)
        if user_id is not None:  # the command line is an administrator's: not audited
            record(session, "demo_data_loaded", user_id, ip, job=job.id,
                   lines=summary.order_lines)
        session.commit()
    except Exception:
        session.rollback()  # a refusal or a failure half-way leaves nothing behind
        raise
    refresh_statistics(session)
    session.commit()
    return summary


def demo_job(session: Session, user: User, timezone: str, ip: str | None = None,
             lines: int = DEFAULT_LINES) -> ImportReport:
    """The Data page's demo load, as an admin: the report the page shows."""
    if user.role != "admin":
        raise AccessDenied("Only an administrator may load the demo data.")
    started = time.perf_counter()
    summary = load_demo(session, timezone, lines, user_id=user.id, ip=ip)
    return ImportReport(kind=DEMO_KIND, filename=f"demo data (seed {DEMO_SEED})",
                        status=SUCCEEDED, rows_read=summary.order_lines,
                        rows_loaded=summary.order_lines, notes=[f"Loaded: {summary}."],
                        seconds=round(time.perf_counter() - started, 2))
