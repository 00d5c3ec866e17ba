"""Import jobs as the web app runs them: the signed ticket a request hands to the job, the
manager of Dash's background callbacks, and the app context a job runs in.

The manager is Celery's (`CeleryManager`) when CELERY_BROKER_URL is set: jobs run on
`pulseboard worker` processes of any host and their progress and results live in the result
backend (Redis), so any web worker shows them. Without a broker, Dash's DiskcacheManager
runs them in processes of this machine (`make run`).

The background process has no request: the in-request callback checks the user's role and
signs a ticket naming the user, the upload and the mapping; the job
(`services.imports.runner`) checks the user again.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import diskcache
from celery import Celery
from dash import CeleryManager, DiskcacheManager
from dash.background_callback.managers import BaseBackgroundCallbackManager
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


def background_manager(server: Flask) -> BaseBackgroundCallbackManager:
    """The one manager of the app's background callbacks: Celery's with a broker, else a
    disk cache (BACKGROUND_CACHE_DIR, default instance/)."""
    manager = server.extensions.get("background_manager")
    if manager is None:
        celery = celery_app(server)
        if celery is not None:
            manager = CeleryManager(celery)
        else:
            cache_dir = server.config.get("BACKGROUND_CACHE_DIR") or str(
                Path(server.instance_path) / "background-jobs")
            manager = DiskcacheManager(diskcache.Cache(cache_dir))
        server.extensions["background_manager"] = manager
    return manager


def celery_app(server: Flask) -> Celery | None:
    """The app's Celery application (CELERY_BROKER_URL; results in CELERY_RESULT_BACKEND,
    default the broker); None without a broker."""
    broker = server.config.get("CELERY_BROKER_URL")
    if not broker:
        return None
    celery = server.extensions.get("celery")
    if celery is None:
        celery = Celery("pulseboard", broker=broker,
                        backend=server.config.get("CELERY_RESULT_BACKEND") or broker)
        celery.conf.update(
            # A job is taken once: one killed with its worker is not run again behind the
            # user's back (the import is marked failed and can be retried from the page).
            task_acks_late=False, worker_prefetch_multiplier=1, task_track_started=True,
            result_expires=24 * 3600, broker_connection_retry_on_startup=True,
            worker_hijack_root_logger=False)
        server.extensions["celery"] = celery
    return celery


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
