"""An import job: checking or importing a staged upload outside any request.

The web request that asks for a job checks the user's role and hands over a `JobRequest`
(signed, see `dashapp.jobs`); the job trusts no more than that: it loads the user again,
refuses one who may not (or no longer) import, and turns every failure into a report, since
a job has no error page to show.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from models import User
from services.errors import ServiceError
from services.imports.budget import JobBudget, within
from services.imports.demo_load import demo_job
from services.imports.mapping import ColumnMapping
from services.imports.pipeline import ImportRequest, check_file, import_file
from services.imports.reader import Limits
from services.imports.report import UNEXPECTED, ImportReport
from services.imports.uploads import load_upload
from services.users import scope_for

log = logging.getLogger(__name__)
CHECK = "check"
IMPORT = "import"
DEMO = "demo"  # load the demo data into an empty database (no upload; admins only)


@dataclass(frozen=True)
class JobRequest:
    """What a job is to do, for whom: check or import one staged upload with a mapping."""

    action: str  # CHECK or IMPORT
    user_id: int
    upload: str  # the staged upload's id (`services.imports.uploads`)
    mapping: dict[str, Any]  # `ColumnMapping.as_dict()`
    platform: str
    skip_invalid: bool
    ip: str | None = None

    def as_payload(self) -> dict[str, Any]:
        """The request as plain JSON values."""
        return {"action": self.action, "user": self.user_id, "upload": self.upload,
                "mapping": self.mapping, "platform": self.platform,
                "skip": self.skip_invalid, "ip": self.ip}

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> JobRequest:
        """Inverse of `as_payload`."""
        return cls(action=payload["action"], user_id=payload["user"],
                   upload=payload["upload"], mapping=payload["mapping"],
                   platform=payload["platform"], skip_invalid=payload["skip"],
                   ip=payload.get("ip"))


def run_import_job(session: Session, job: JobRequest, *, folder: Path, timezone: str,
                   limits: Limits, roles: Collection[str],
                   progress: Callable[[str, float], None],
                   on_loaded: Callable[[], object] | None = None,
                   budget: JobBudget | None = None) -> ImportReport:
    """Check or import the staged upload as the job's user, who must be active and have one
    of `roles`; the report of what happened (never an exception from the import itself).

    `on_loaded` runs after a successful import (e.g. to drop cached results). `budget`
    limits the job's time and memory; pass it only where the job has a process of its own.
    """
    # The job runs in a process forked from a web worker: the pooled connections it
    # inherited belong to that worker. Forget them (without closing them) and open our own.
    # get_bind() may also answer a Connection; a job's session is bound to the engine.
    cast(Engine, session.get_bind()).dispose(close=False)
    try:
        with within(budget):
            return _run(session, job, folder, timezone, limits, roles, progress, on_loaded)
    except ServiceError as error:
        return _unfinished(job, "rejected", str(error))
    except Exception:  # the job has no error page: say so in the report, log the rest
        log.exception("Import job failed")
        return _unfinished(job, "failed", UNEXPECTED)


def _run(session: Session, job: JobRequest, folder: Path, timezone: str, limits: Limits,
         roles: Collection[str], progress: Callable[[str, float], None],
         on_loaded: Callable[[], object] | None) -> ImportReport:
    """The job itself; its errors become the report in `run_import_job`."""
    user = session.get(User, job.user_id)
    if user is None or not user.active or user.role not in roles:
        raise ServiceError("Your account may not import files.")
    if job.action == DEMO:
        report = demo_job(session, user, timezone, job.ip)
        if on_loaded is not None:
            on_loaded()
        return report
    data, meta = load_upload(folder, job.upload, user.id)
    request = ImportRequest(
        data=data, filename=meta["filename"], mapping=ColumnMapping.from_dict(job.mapping),
        platform=job.platform, skip_invalid=job.skip_invalid, timezone=timezone,
        limits=limits)
    if job.action == CHECK:
        return check_file(session, scope_for(user), request, progress)
    report = import_file(session, scope_for(user), request, user.id, job.ip, progress)
    if report.status == "succeeded" and on_loaded is not None:
        on_loaded()
    return report


def _unfinished(job: JobRequest, status: str, error: str) -> ImportReport:
    demo = job.action == DEMO
    return ImportReport(kind=DEMO if demo else job.mapping["kind"],
                        filename="the demo data" if demo else "the file", status=status,
                        errors=[error])
