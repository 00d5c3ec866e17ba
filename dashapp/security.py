"""Request hardening: request ids and logs, security headers, CSRF, session timeouts.

Dash callbacks are plain JSON POST endpoints; they are protected from cross-site requests by
requiring a JSON body and a same-origin `Origin`, while HTML forms carry a CSRF token.
"""
from __future__ import annotations

import logging
import re
import secrets
import time
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, g, jsonify, request, session
from flask_login import current_user, logout_user
from flask_wtf.csrf import CSRFProtect
from werkzeug.wrappers import Response as BaseResponse  # redirect()'s; Flask's subclasses it

csrf = CSRFProtect()
log = logging.getLogger("dashapp.requests")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
JSON_ENDPOINT_PREFIXES = ("/_dash-", "/api/")


def clock() -> float:
    """Seconds since the epoch; tests replace it to move time forward."""
    return time.time()


class RequestContextFilter(logging.Filter):
    """Adds the request id, user and client address to every log record."""

    def filter(self, record: logging.LogRecord) -> bool:  # noqa: A003 - logging API
        """Attach request fields (dashes outside a request)."""
        try:
            record.request_id = g.get("request_id", "-")
            # Only a user already loaded: logging must never query the database (it may
            # be the database that failed).
            user = g.get("_login_user")
            record.user = user.get_id() if user is not None and user.is_authenticated else "-"
            record.ip = request.remote_addr or "-"
        except RuntimeError:  # outside a request or application context
            record.request_id = record.user = record.ip = "-"
        return True


def configure_logging(app: Flask) -> None:
    """One structured line per record: time, level, logger, request id, user, address."""
    logger = logging.getLogger("dashapp")
    if any(getattr(handler, "_pulseboard", False) for handler in logger.handlers):
        return
    handler = logging.StreamHandler()
    handler._pulseboard = True  # type: ignore[attr-defined]  # our marker on a stdlib handler
    handler.addFilter(RequestContextFilter())
    handler.setFormatter(logging.Formatter(
        "%(asctime)s %(levelname)s %(name)s rid=%(request_id)s user=%(user)s ip=%(ip)s "
        "%(message)s"))
    logger.addHandler(handler)
    logger.setLevel(app.config.get("LOG_LEVEL", "INFO"))


def _assign_request_id() -> None:
    incoming = request.headers.get("X-Request-ID", "")
    g.request_id = incoming if _REQUEST_ID.match(incoming) else secrets.token_hex(8)
    g.started = time.perf_counter()


def content_security_policy(script_hashes: Sequence[str]) -> str:
    """A CSP that Dash works with: scripts only from us plus the renderer's inline hash."""
    return "; ".join([
        "default-src 'self'",
        "script-src 'self' " + " ".join(script_hashes),
        "style-src 'self' 'unsafe-inline'",  # Plotly and React set inline styles
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "object-src 'none'",
    ])


def _security_headers(policy: str, production: bool) -> Callable[[Response], Response]:
    def add_headers(response: Response) -> Response:
        # Pages, callbacks, the layout, the API and downloads carry user data: never stored
        # by browsers or proxies. Static files (fingerprinted by Dash) stay cacheable.
        if not request.path.startswith(CACHEABLE_PREFIXES):
            response.headers["Cache-Control"] = "no-store"
        response.headers.setdefault("Content-Security-Policy", policy)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
        response.headers["Cross-Origin-Opener-Policy"] = "same-origin"
        if production:
            response.headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
        response.headers["X-Request-ID"] = g.get("request_id", "")
        return response
    return add_headers


STATIC_PREFIXES = ("/assets/", "/_dash-component-suites/", "/_favicon.ico")
# Responses that may be cached: static files only (Flask's /static/ as well).
CACHEABLE_PREFIXES = (*STATIC_PREFIXES, "/static/")


def _log_request(response: Response) -> Response:
    elapsed = (time.perf_counter() - g.get("started", time.perf_counter())) * 1000
    log.info("%s %s %s %.0fms", request.method, request.path, response.status_code, elapsed)
    if not request.path.startswith(STATIC_PREFIXES):
        try:
            current_app.extensions["request_stats"].record(elapsed, response.status_code,
                                                           clock())
        except Exception:  # noqa: BLE001 - figures for the status page must never break a page
            log.warning("Could not record request statistics", exc_info=True)
    return response


def same_origin(url: str) -> bool:
    """Whether `url` (an Origin or Referer) is this site."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" == request.host_url.rstrip("/")


def refuse_cross_site_json() -> Response | None:
    """State-changing JSON calls (Dash callbacks) must come from our own pages."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return None
    if not request.path.startswith(JSON_ENDPOINT_PREFIXES):
        return None
    origin = request.headers.get("Origin") or request.headers.get("Referer")
    if not request.is_json or (origin and not same_origin(origin)):
        response = jsonify(error="Cross-site request refused.")
        response.status_code = 403
        return response
    return None


def enforce_session_timeouts(app: Flask) -> Callable[[], BaseResponse | None]:
    """End logins idle for longer than SESSION_IDLE_SECONDS or older than the lifetime."""
    def check() -> BaseResponse | None:
        if not current_user.is_authenticated or "_user_id" not in session:
            return None
        now = clock()
        idle_limit = app.config["SESSION_IDLE_SECONDS"]
        absolute_limit = app.config["PERMANENT_SESSION_LIFETIME"]
        absolute_limit = getattr(absolute_limit, "total_seconds", lambda: absolute_limit)()
        started = session.get("login_at", now)
        last_seen = session.get("last_seen", now)
        if now - last_seen > idle_limit or now - started > absolute_limit:
            logout_user()
            session.clear()
            from dashapp.auth import refuse_anonymous  # here: auth imports this module

            return refuse_anonymous()
        # Only write the cookie again when it matters, not on every callback.
        if now - last_seen > 60:
            session["last_seen"] = now
        return None
    return check


def start_session_clock() -> None:
    """Stamp a fresh login with its start time (called right after login_user)."""
    now = clock()
    session["login_at"] = now
    session["last_seen"] = now


def register_request_log(app: Flask) -> None:
    """Structured logging; before every request: its id and timer; after it: its log line and
    the request figures of the status page."""
    configure_logging(app)
    app.before_request(_assign_request_id)
    app.after_request(_log_request)


def register_cross_site_rule(app: Flask) -> None:
    """Before every request: JSON calls that change state must come from our own pages."""
    app.before_request(refuse_cross_site_json)


def register_session_timeouts(app: Flask) -> None:
    """Before every request: the idle and absolute timeouts of login sessions."""
    app.before_request(enforce_session_timeouts(app))


def register_csrf(app: Flask) -> None:
    """Before every request: the CSRF token of HTML forms (Dash's JSON endpoints are exempted
    once Dash is mounted, see `dashapp.factory.exempt_dash_from_form_csrf`)."""
    csrf.init_app(app)


def register_security_headers(app: Flask, script_hashes: Sequence[str]) -> None:
    """After every request: security headers, with a CSP allowing Dash's inline script, and
    `Cache-Control: no-store` on everything but static files."""
    policy = content_security_policy(script_hashes)
    app.after_request(_security_headers(policy, app.config["ENV"] == "production"))
