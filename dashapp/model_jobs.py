"""Training the models a view needs, in a background job, as the user who asked.

A request finds the page's models (`Page.models`) that the view needs and that are neither
stored at the current data revision nor being trained, and signs a ticket naming the user,
the view and those models. The background job (its own process, no request) reads the
ticket, opens a request context as that user, so every service runs in their scope exactly
as the page's panels do, and trains and stores each model.
"""
from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from flask import Flask
from flask_login import login_user

from dashapp.auth import SessionUser
from dashapp.context import current_scope, result_cache
from dashapp.extensions import db, db_session
from dashapp.filters import View
from dashapp.permissions import may_retrain
from dashapp.views import view_from_store
from layouts.model_status import ModelJob
from layouts.pages import Page, page_for
from layouts.panels import effective
from models import User
from services import model_store, signing
from services.filters import Filters, Period
from services.model_store import ModelKey

TICKET_SALT = "pulseboard-model-ticket"
TICKET_MAX_AGE = 600  # seconds between the request and the job picking it up
# The web process; a background job forked from it must not share its database connections.
_WEB_PROCESS = os.getpid()
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainingRequest:
    """Train these models of this view for this user (again, when `force`)."""

    user_id: int
    path: str
    query: str
    kinds: tuple[str, ...]
    force: bool = False


def job_inputs(page: Page, job: ModelJob, view: View,
               period: Period) -> tuple[Filters, Period, list[str]] | None:
    """The filters, dates and page choices the model's panel calls its source with; None
    when the view does not show that panel (another tab)."""
    panel = next(panel for panel in page.panels if panel.key == job.panel)
    if not panel.shown(view):
        return None
    filters, dates = effective(panel, view, period)
    return filters, dates, [view.page[name] for name in panel.source.choices]


def _key(job: ModelJob, inputs: tuple[Filters, Period, list[str]]) -> ModelKey:
    filters, dates, choices = inputs
    return job.key(current_scope(), filters, dates, *choices)


def untrained(page: Page, view: View, period: Period) -> list[str]:
    """The kinds of the page's models this view needs that are not stored, not being
    trained now and did not just fail (in the current user's scope)."""
    missing = []
    session = db_session()
    try:
        for job in page.models:
            inputs = job_inputs(page, job, view, period)
            if inputs is None:
                continue
            key = _key(job, inputs)
            if model_store.stored(session, key) is None and \
                    model_store.running_since(session, key) is None and \
                    model_store.last_failure(session, key) is None:
                missing.append(job.kind)
    finally:
        db.session.rollback()  # read-only
    return missing


def sign_request(server: Flask, request: TrainingRequest) -> str:
    """The ticket for `request`, signed with the app's secret key."""
    # The time makes every ticket new: the same view asked twice is a new job.
    return signing.sign(server.config["SECRET_KEY"], TICKET_SALT,
                        {**asdict(request), "at": time.time()})


def read_request(server: Flask, ticket: str) -> TrainingRequest | None:
    """The request a ticket holds; None for a forged or stale ticket."""
    payload = signing.read(server.config["SECRET_KEY"], TICKET_SALT, ticket, TICKET_MAX_AGE)
    if payload is None:
        return None
    return TrainingRequest(int(payload["user_id"]), str(payload["path"]),
                           str(payload["query"]), tuple(payload["kinds"]),
                           bool(payload["force"]))


def run_request(server: Flask, request: TrainingRequest, page: Page | None = None) -> list[str]:
    """Train the request's models as its user; the kinds trained. Runs in the job's own
    process: it opens a request context of its own, logged in as the ticket's user (checked
    again here: deactivated since, or no longer allowed to retrain, trains nothing). `page`
    defaults to the registry's page at the request's path."""
    # An app context of its own: its own database session, so a caller in this process (a
    # PDF, a digest) keeps its session and objects; and the login stays inside it.
    with server.app_context(), server.test_request_context(request.path):
        if os.getpid() != _WEB_PROCESS:
            # Connections inherited from the web process must not be shared with it.
            db.engine.dispose(close=False)
        try:
            user = db_session().get(User, request.user_id)
            if user is None or not user.active or \
                    (request.force and not may_retrain(user.role)):
                return []
            login_user(SessionUser.of(user))
            return _train_all(page or page_for(request.path), request)
        finally:
            db.session.remove()


def _train_all(page: Page | None, request: TrainingRequest) -> list[str]:
    parsed = view_from_store({"query": request.query}, page.params if page else ())
    if page is None or parsed is None:
        return []
    view, period = parsed
    trained = []
    for job in _jobs(page, request.kinds):
        inputs = job_inputs(page, job, view, period)
        if inputs is None:
            continue
        if not request.force and model_store.stored(db_session(), _key(job, inputs)):
            continue  # trained meanwhile by another worker
        filters, dates, choices = inputs
        try:
            job.train(db_session(), current_scope(), filters, dates, *choices)
        except Exception:  # noqa: BLE001  # recorded as a failed run; the others still train
            log.exception("training the %s model failed", job.kind)
            db.session.rollback()
            continue
        trained.append(job.kind)
    if request.force and trained:
        # The scored results of the model trained before are cached under the same data
        # revision: forget them (the revision itself stays, or the new model would be stale).
        result_cache().invalidate()
    return trained


def _jobs(page: Page, kinds: Sequence[str]) -> list[ModelJob]:
    return [job for job in page.models if job.kind in kinds]


def train_for_view(server: Flask, user_id: int, path_and_query: str) -> list[str]:
    """Train now, in this process, every model the view needs that is not stored yet: for
    what cannot wait for a page to redraw (a PDF, a digest's attachment). The kinds trained."""
    path, _, query = path_and_query.partition("?")
    page = page_for(path)
    if page is None or not page.models:
        return []
    kinds = tuple(job.kind for job in page.models)
    return run_request(server, TrainingRequest(user_id, path, query, kinds), page)
