"""Import jobs as the web app runs them: the signed ticket a request hands to the job, the
manager of Dash's background callbacks (DiskcacheManager: one machine), and the app context a
job runs in.

The background process has no request: the in-request callback checks the user's role and
signs a ticket naming the user, the upload and the mapping; the job
(`services.imports.runner`) checks the user again.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import diskcache
from dash import DiskcacheManager
from flask import Flask

from dashapp.context import data_changed, setting
from dashapp.extensions import db, db_session
from dashapp.permissions import IMPORT_ROLES
from services import signing
from services.imports.budget import JobBudget
from services.imports.reader import import_limits
from services.imports.report import ImportReport
from services.imports.runner import JobRequest, run_import_job

TICKET_SALT = "pulseboard-import-ticket"
TICKET_MAX_AGE = 600  # seconds between the click and the job picking it up


def upload_folder(server: Flask) -> Path:
    """Where uploads wait between the wizard's steps (UPLOAD_FOLDER, default instance/)."""
    return Path(server.config.get("UPLOAD_FOLDER") or Path(server.instance_path) / "uploads")


def background_manager(server: Flask) -> DiskcacheManager:
    """The manager of the background callbacks (BACKGROUND_CACHE_DIR, default instance/)."""
    cache_dir = server.config.get("BACKGROUND_CACHE_DIR") or str(
        Path(server.instance_path) / "background-jobs")
    return DiskcacheManager(diskcache.Cache(cache_dir))


def sign_ticket(server: Flask, job: JobRequest) -> str:
    """The ticket for `job`, signed with the app's secret key."""
    # The time makes every ticket new, so the same file checked twice starts a second job.
    return signing.sign(server.config["SECRET_KEY"], TICKET_SALT,
                        {**job.as_payload(), "at": time.time()})


def read_ticket(server: Flask, ticket: str) -> JobRequest | None:
    """The job a ticket asks for; None for a forged ticket or one past TICKET_MAX_AGE."""
    payload = signing.read(server.config["SECRET_KEY"], TICKET_SALT, ticket, TICKET_MAX_AGE)
    return None if payload is None else JobRequest.from_payload(payload)


def import_budget(server: Flask) -> JobBudget:
    """The time and memory one import job may use (IMPORT_MAX_SECONDS, IMPORT_MAX_MEMORY_MB)."""
    return JobBudget(max_seconds=server.config["IMPORT_MAX_SECONDS"],
                     max_memory_mb=server.config["IMPORT_MAX_MEMORY_MB"])


def run_in_app(server: Flask, job: JobRequest,
               progress: Callable[[str, float], None]) -> ImportReport:
    """Run an import job in an app context of `server` (the job's process has no request)."""
    with server.app_context():
        try:
            return run_import_job(db_session(), job, folder=upload_folder(server),
                                  timezone=setting("TIMEZONE"),
                                  limits=import_limits(server.config), roles=IMPORT_ROLES,
                                  progress=progress, on_loaded=data_changed,
                                  budget=import_budget(server))
        finally:
            db.session.remove()
