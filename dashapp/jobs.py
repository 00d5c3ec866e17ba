"""Import jobs as the web app runs them: the signed ticket a request hands to the job, the
manager of Dash's background callbacks, and the app context a job runs in.

The manager is Celery's (`CeleryManager`) when CELERY_BROKER_URL is set: jobs run on
`pulseboard worker` processes of any host and their progress and results live in the result
backend (Redis), so any web worker shows them. Without a broker, Dash's DiskcacheManager
runs them in processes of this machine (`make run`).

Either manager is watched (`WatchedCeleryManager`, `WatchedDiskcacheManager`): a job that
will never answer (its worker or process died, or no worker took it in time) ends the
browser's wait with a message saying why, where Dash alone would poll for ever.

The background process has no request: the in-request callback checks the user's role and
signs a ticket naming the user, the upload and the mapping; the job
(`services.imports.runner`) checks the user again.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import diskcache
from celery import Celery
from dash import CeleryManager, DiskcacheManager
from dash.background_callback.managers import BaseBackgroundCallbackManager
from flask import Flask

from dashapp.context import data_changed, setting
from dashapp.errors import job_lost_answer
from dashapp.extensions import db, db_session
from dashapp.permissions import IMPORT_ROLES
from services import signing
from services.imports.budget import JobBudget
from services.imports.reader import import_limits
from services.imports.report import ImportReport
from services.imports.runner import JobRequest, run_import_job

TICKET_SALT = "pulseboard-import-ticket"
TICKET_MAX_AGE = 600  # seconds between the click and the job picking it up
WATCH_INTERVAL = 5.0  # seconds between two looks at whether a job's worker is alive
PING_TIMEOUT = 2.0  # seconds a worker has to answer
HANDLE_SEPARATOR = "@"  # between a job handle's task id and the time it was queued
NO_WORKER = ("No background worker took this job within {seconds} s: none is running. It "
             "was cancelled and changed nothing. Start one with `pulseboard worker` (or ask "
             "your administrator), then try again.")
WORKERS_BUSY = ("Every background worker was busy for {seconds} s, so this job was "
                "cancelled; it changed nothing. Try again in a moment.")
WORKER_GONE = ("The job stopped before it finished: {what}. It changed nothing (an import "
               "is all or nothing and shows as failed in the history); try again.")


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
            manager = WatchedCeleryManager(celery, server.config["JOB_QUEUE_SECONDS"])
        else:
            cache_dir = server.config.get("BACKGROUND_CACHE_DIR") or str(
                Path(server.instance_path) / "background-jobs")
            manager = WatchedDiskcacheManager(diskcache.Cache(cache_dir))
        server.extensions["background_manager"] = manager
    return manager


class WatchedDiskcacheManager(DiskcacheManager):
    """Dash's one-machine manager, which notices a job whose process died."""

    def get_result(self, key: str, job: Any) -> Any:
        """The job's result; a lost-job answer when its process ended without one."""
        result = super().get_result(key, job)
        if result is not self.UNDEFINED or not job or self.job_running(job):
            return result
        # Read again: the process may have written its result and ended in between.
        result = super().get_result(key, job)
        if result is self.UNDEFINED:
            return job_lost_answer(WORKER_GONE.format(what="the process running it ended"))
        return result


class WatchedCeleryManager(CeleryManager):
    """Celery's manager, which notices a job no worker will ever finish.

    A queued job expires after `queue_seconds` (so a worker started later never runs it
    behind the user's back), and a started one is given up when its worker (the task's
    STARTED state names it, `celery@…`) twice in a row does not answer or does not list
    it as running; a worker whose pool process died has marked the task failed itself.
    Looks are at most every WATCH_INTERVAL per job and process: the browser polls every
    second.
    """

    def __init__(self, celery: Celery, queue_seconds: int) -> None:
        super().__init__(celery)
        self.queue_seconds = queue_seconds
        self._looked: dict[str, tuple[float, int]] = {}  # job: (last look, misses)
        self._lock = threading.Lock()

    def call_job_fn(self, key: str, job_fn: Any, args: Any, context: Any) -> str:
        """Queue the job with an expiry; its handle is the task id and the time queued
        (Dash signs the handle it gives the browser, so neither can be forged)."""
        task = job_fn.apply_async((key, self._make_progress_key(key), args, context),
                                  expires=self.queue_seconds)
        return f"{task.task_id}{HANDLE_SEPARATOR}{time.time():.3f}"

    def get_task(self, job: Any) -> Any:
        """The Celery result of a job handle."""
        return self.handle.AsyncResult(_task_id(job)) if job else None

    def terminate_job(self, job: Any) -> None:
        """Stop the job's task (if a worker runs it)."""
        if job:
            self.handle.control.terminate(_task_id(job))

    def get_result(self, key: str, job: Any) -> Any:
        """The job's result; a lost-job answer when no worker will ever deliver one."""
        result = super().get_result(key, job)
        if result is not self.UNDEFINED or not job:
            return result
        reason = self._lost(str(job))
        if reason is None:
            return result
        # Read again: the job may have ended while we looked.
        result = super().get_result(key, job)
        if result is self.UNDEFINED:
            self.handle.control.revoke(_task_id(job))
            return job_lost_answer(reason)
        return result

    def _lost(self, job: str) -> str | None:
        """Why the job will never answer, or None while it may still."""
        now = time.time()
        with self._lock:
            looked, missed = self._looked.get(job, (0.0, 0))
            if now - looked < WATCH_INTERVAL:
                return None
            self._forget_old(now)
            self._looked[job] = (now, missed)
        task = self.get_task(job)
        status = task.status
        if status == "STARTED":
            info = task.info if isinstance(task.info, dict) else {}
            host = info.get("hostname")
            missed = 0 if host is None or self._runs(host, _task_id(job)) else missed + 1
            with self._lock:
                self._looked[job] = (now, missed)
            # Twice in a row: one miss may be a worker too busy to answer for a moment.
            return WORKER_GONE.format(
                what=f"its worker ({host}) no longer runs it (stopped, killed or restarted)"
            ) if missed >= 2 else None
        if status == "FAILURE":  # a pool process killed: its worker said so
            return WORKER_GONE.format(what=f"its worker process was lost ({task.result})")
        if status in ("PENDING", "REVOKED"):  # waiting, or expired when a worker took it
            queued = float(job.partition(HANDLE_SEPARATOR)[2] or now)
            if now - queued > self.queue_seconds:
                reason = WORKERS_BUSY if self._any_worker_answers() else NO_WORKER
                return reason.format(seconds=self.queue_seconds)
        return None

    def _any_worker_answers(self) -> bool:
        """Whether any worker answers a ping."""
        return bool(self.handle.control.ping(timeout=PING_TIMEOUT))

    def _runs(self, host: str, task_id: str) -> bool:
        """Whether the worker `host` answers and lists the task as running: a worker
        restarted under the same name answers, but does not run it."""
        inspect = self.handle.control.inspect(destination=[host], timeout=PING_TIMEOUT,
                                              limit=1)
        running = (inspect.active() or {}).get(host) or []
        return any(task.get("id") == task_id for task in running)

    def _forget_old(self, now: float) -> None:
        """Drop the looks at jobs nobody has asked about for an hour."""
        for job in [job for job, (looked, _) in self._looked.items() if now - looked > 3600]:
            del self._looked[job]


def _task_id(job: Any) -> str:
    return str(job).partition(HANDLE_SEPARATOR)[0]


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
