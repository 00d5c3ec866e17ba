"""What users see when something fails: a clear message and a request id, never a traceback.

Pages get a small HTML page, callbacks and the API get JSON, and a database outage is a 503
that says so (the page retries by itself, the engine reconnects when the server is back).
"""
from __future__ import annotations

import logging
from typing import Any

from dash import set_props
from flask import Flask, current_app, g, jsonify, request
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from dashapp.auth import JSON_PREFIXES
from dashapp.extensions import db
from layouts.shell import ERROR_ALERT
from services.errors import ServiceError

log = logging.getLogger(__name__)
DATABASE_DOWN = ("The database is not reachable right now. Pulseboard reconnects by itself: "
                 "try again in a moment.")
UNEXPECTED = "Something went wrong on our side. The error has been logged."
# Marks a background job given up by its manager (`dashapp.jobs`): Dash hands the handler a
# BackgroundCallbackError whose text carries the reason after it.
JOB_LOST = "pulseboard job lost: "


def job_lost_answer(reason: str) -> dict[str, Any]:
    """The result a background callback manager returns for a job that will never answer:
    Dash passes it to the error handler, whose banner then says why."""
    return {"background_callback_error": {"msg": JOB_LOST + reason, "tb": ""}}


def job_lost_reason(error: Exception) -> str | None:
    """Why a background job was given up, when `error` says it was (else None)."""
    text = str(error)
    return text.split(JOB_LOST, 1)[1].strip() if JOB_LOST in text else None


def _request_id() -> str:
    return g.get("request_id", "")


def _respond(message: str, status: int, retry: bool = False) -> Any:
    if request.path.startswith(JSON_PREFIXES):
        return jsonify(error=message, request_id=_request_id()), status
    # Rendered without Flask's context processors: flask-login's would load the user from
    # the database, which may be the thing that failed.
    page = current_app.jinja_env.get_template("error.html").render(
        message=message, status=status, request_id=_request_id(), retry=retry)
    return page, status


def _safe_rollback() -> None:
    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001 - the connection may be the very thing that failed
        db.session.remove()


def register_error_handlers(app: Flask) -> None:
    """Error responses for every route."""

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Any:
        return _respond(error.description or error.name, error.code or 500)

    @app.errorhandler(OperationalError)
    def database_down(_error: OperationalError) -> Any:
        log.warning("Database unreachable on %s", request.path)
        _safe_rollback()
        return _respond(DATABASE_DOWN, 503, retry=True)

    @app.errorhandler(Exception)
    def unexpected_error(_error: Exception) -> Any:
        log.exception("Unhandled error on %s", request.path)
        _safe_rollback()
        return _respond(UNEXPECTED, 500)


def on_callback_error(error: Exception) -> None:
    """Dash's global callback error handler: log, and tell the user in the error banner."""
    _safe_rollback()
    lost = job_lost_reason(error)
    if lost is not None:
        log.warning("Background job lost: %s", lost)
        message = lost
    elif isinstance(error, OperationalError):
        log.warning("Database unreachable in a callback")
        message = DATABASE_DOWN
    elif isinstance(error, ServiceError):
        message = str(error)
    else:
        log.exception("Callback failed", exc_info=error)
        message = f"{UNEXPECTED} (request id {_request_id()})"
    set_props(ERROR_ALERT, {"children": message, "is_open": True})
