"""Login, logout and the rule that every route except a few public ones needs a login.

Dash callback endpoints (/_dash-*) and the API (/api/*) answer 401 JSON with no data when
unauthenticated; pages redirect to the login form. The API also accepts
`Authorization: Bearer <token>`.
"""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import cast
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    g,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy.orm import joinedload
from werkzeug.wrappers import Response  # what redirect() returns; Flask's is a subclass

from dashapp.extensions import db, db_session, login_manager
from dashapp.permissions import can_administer, may_administer
from dashapp.security import clock, start_session_clock
from models import SavedView, User
from services.account_tokens import (
    INVALID_LINK,
    RESET_LIFETIME,
    ResetLimits,
    request_reset,
    set_password,
    token_user,
)
from services.admin import end_sessions
from services.audit import record
from services.digests import schedule_words, subscription_for_token, unsubscribe
from services.errors import InvalidInput, NotFound
from services.login_guard import attempt_refused, attempt_succeeded, begin_attempt
from services.mail import MailError
from services.scope import Scope
from services.users import MIN_PASSWORD_LENGTH, authenticate, scope_for, user_for_token

bp = Blueprint("auth", __name__)
log = logging.getLogger(__name__)

# Deliberately public: the login form, the health check and static files (CSS, fonts).
PUBLIC_ENDPOINTS = frozenset({"auth.login", "health.healthz", "static", "_dash_assets.static",
                              "/_favicon.ico", "auth.forgot_password", "auth.choose_password",
                              "auth.unsubscribe_digest", "auth.favicon"})
JSON_PREFIXES = ("/_dash-", "/_reload-hash", "/api/")
VIEW_AS_KEY = "view_as"


@dataclass(frozen=True)
class SessionUser:
    """What a request knows about its user; a plain snapshot, not a live ORM object."""

    id: int
    email: str
    name: str | None
    role: str
    platform_ids: frozenset[int] | None
    viewed_by: int | None = None  # the admin previewing the app as this user, if any
    is_authenticated: bool = True
    is_active: bool = True
    is_anonymous: bool = False

    def get_id(self) -> str:
        """Identifier flask-login keeps in the session cookie (the real user's)."""
        return str(self.viewed_by or self.id)

    @property
    def scope(self) -> Scope:
        """The data scope every service call of this user runs in."""
        return Scope(user_id=self.id, platform_ids=self.platform_ids)

    @classmethod
    def of(cls, user: User, viewed_by: int | None = None) -> SessionUser:
        """Snapshot of a user row."""
        return cls(user.id, user.email, user.name, user.role, scope_for(user).platform_ids,
                   viewed_by)


def _load_user(user_id: str) -> SessionUser | None:
    # Every request loads its user: the row and its platforms in one round trip, not two.
    user = (db.session.get(User, int(user_id), options=[joinedload(User.platforms)])
            if user_id.isdigit() else None)
    if user is None or not user.active or _session_was_ended(user):
        return None
    return _viewed_user(user) or SessionUser.of(user)


def _viewed_user(user: User) -> SessionUser | None:
    """An admin previewing the app as someone else sees exactly what that user sees."""
    target_id = session.get(VIEW_AS_KEY)
    if not may_administer(user.role) or not isinstance(target_id, int):
        return None
    target = db.session.get(User, target_id)
    if target is None or not target.active:
        session.pop(VIEW_AS_KEY, None)
        return None
    return SessionUser.of(target, viewed_by=user.id)


@bp.route("/favicon.ico")
def favicon() -> Response:
    """Pages Dash does not draw (error pages, the API reference) get the app's icon too."""
    return redirect("/_favicon.ico", code=301)


@bp.route("/view-as/start", methods=["POST"])
@login_required
def start_viewing_as() -> Response:
    """Preview the app as another user from the next request on (admins only)."""
    target = db.session.get(User, request.form.get("user_id", type=int) or 0)
    if not can_administer():  # admins only, and not from inside a preview
        record(db_session(), "access_denied", current_user.id, request.remote_addr,
               what="view as")
        db.session.commit()
        abort(403)
    if target is None or not target.active:
        flash("Choose an active user to preview as.", "warning")
        return redirect("/admin?range=30d&grain=day&compare=prev&tab=users")
    record(db_session(), "view_as_started", current_user.id, request.remote_addr,
           target=target.email)
    db.session.commit()
    session[VIEW_AS_KEY] = target.id
    return redirect("/")


@bp.route("/view-as/stop", methods=["POST"])
@login_required
def stop_viewing_as() -> Response:
    """Back to the admin's own view."""
    if session.pop(VIEW_AS_KEY, None) is not None:
        record(db_session(), "view_as_stopped", current_user.viewed_by, request.remote_addr,
               target=current_user.id)
        db.session.commit()
    return redirect("/admin?range=30d&grain=day&compare=prev&tab=users")


def _session_was_ended(user: User) -> bool:
    """A session cookie from before a logout, deactivation or password reset is void."""
    if user.sessions_valid_after is None:
        return False
    ended = user.sessions_valid_after.replace(tzinfo=dt.UTC).timestamp()
    return float(session.get("login_at", 0)) < ended


def authenticate_bearer_token() -> None:
    """before_request hook: an API call with a bearer token is that token's user, whatever
    session cookie comes along (and nobody with a wrong token).

    It sets the request's user before flask-login looks at the session, whose "strong"
    protection would otherwise discard a cookie without a login and refuse the token too.
    """
    header = request.headers.get("Authorization", "")
    if not request.path.startswith("/api/") or not header.startswith("Bearer "):
        return
    user = user_for_token(db_session(), header.removeprefix("Bearer ").strip())
    if user is not None:
        db.session.commit()  # records last_used_at
    g._login_user = SessionUser.of(user) if user else login_manager.anonymous_user()


def refuse_anonymous() -> Response:
    """401 JSON for callbacks and the API, a redirect to the login form for pages."""
    if request.path.startswith(JSON_PREFIXES):
        return _json_401()
    return redirect(url_for("auth.login", next=_current_relative_url()))


def _json_401() -> Response:
    response = jsonify(error="Authentication required: log in or send a valid API token.")
    response.status_code = 401
    return response


def _current_relative_url() -> str:
    query = request.query_string.decode()
    return request.path + (f"?{query}" if query else "")


def safe_next(target: str | None) -> str:
    """Only same-site relative paths are followed after login (no open redirect)."""
    if not target:
        return "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") \
            or "\\" in target:
        return "/"
    return target


def _now() -> dt.datetime:
    """The security clock as a naive UTC datetime (the convention of timestamp columns)."""
    return dt.datetime.fromtimestamp(clock(), dt.UTC).replace(tzinfo=None)


def require_login() -> Response | None:
    """before_request hook: refuse anything not deliberately public when logged out."""
    if request.endpoint in PUBLIC_ENDPOINTS or current_user.is_authenticated:
        return None
    return login_manager.unauthorized()


@bp.route("/login", methods=["GET", "POST"])
def login() -> Response | tuple[str, int]:
    """The login form; on success a fresh session and a redirect to `next`."""
    status = 200
    if request.method == "POST":
        email, ip = request.form.get("email", ""), request.remote_addr
        now = _now()
        limits = current_app.config["LOGIN_LIMITS"]
        # The attempt is counted (as a failure) before the password is checked, so parallel
        # attempts cannot get more checks than the limits allow (services/login_guard.py).
        # `ip` is the client's address as the trusted proxies report it (TRUSTED_PROXIES).
        attempt, allowed = begin_attempt(db_session(), email, ip, now, limits)
        if not allowed:
            minutes = int(limits.window.total_seconds() // 60)
            flash(f"Too many failed attempts: wait {minutes} minutes and try again.", "danger")
            attempt_refused(db_session(), attempt)
            db.session.commit()
            return render_template("login.html", next=request.args.get("next", "")), 429
        user = authenticate(db_session(), email, request.form.get("password", ""))
        if user is not None:
            attempt_succeeded(db_session(), attempt)
            record(db_session(), "login", user.id, ip, at=now)
            db.session.commit()
            session.clear()  # a new session at login: nothing carried over from before
            login_user(SessionUser.of(user))
            session.permanent = True
            start_session_clock()
            return redirect(safe_next(request.args.get("next")))
        db.session.rollback()  # the failure stays recorded: its reservation was committed
        flash("Unknown e-mail or wrong password.", "danger")
        status = 401
    return render_template("login.html", next=request.args.get("next", "")), status


@bp.route("/logout", methods=["POST"])
@login_required
def logout() -> Response:
    """End the session."""
    real_id = current_user.viewed_by or current_user.id
    record(db_session(), "logout", real_id, request.remote_addr)
    # Ends this session everywhere: a copy of the cookie is worthless from now on.
    # The user loader read this row for this request, so it is there.
    end_sessions(cast(User, db.session.get(User, real_id)), _now())
    db.session.commit()
    logout_user()
    session.clear()
    flash("You have been logged out.", "info")
    return redirect(url_for("auth.login"))


# The answer to every reset request: it must not tell whether the address has an account.
RESET_SENT = ("If that address has an account, a link to choose a new password is on its way "
              "(valid for one hour). Check your inbox.")


@bp.route("/forgot-password", methods=["GET", "POST"])
def forgot_password() -> Response | str:
    """Ask for a password-reset link; the same answer whether or not the address exists."""
    if request.method == "GET":
        return render_template("forgot_password.html", title="Forgot your password?")
    from dashapp.mailings import send_account_link

    now = _now()
    found = request_reset(db_session(), request.form.get("email", ""), request.remote_addr,
                          now, current_app.config.get("RESET_LIMITS", ResetLimits()))
    db.session.commit()  # the request is counted whether or not the mail goes out
    if found is not None:
        try:
            send_account_link(found[0], found[1], "reset", now + RESET_LIFETIME)
        except MailError:
            log.exception("password-reset e-mail to user %s not sent", found[0].id)
    flash(RESET_SENT, "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/password/<token>", methods=["GET", "POST"])
def choose_password(token: str) -> tuple[str, int]:
    """The one-time link of an invitation or a reset: choose the password, then log in."""
    now = _now()
    user = token_user(db_session(), token, now)
    context = {"title": "Choose your password", "token": token,
               "min_length": MIN_PASSWORD_LENGTH, "email": user.email if user else None}
    if user is None:
        flash(INVALID_LINK, "danger")
        return render_template("set_password.html", **context), 404
    if request.method == "GET":
        return render_template("set_password.html", **context), 200
    password = request.form.get("password", "")
    if password != request.form.get("confirm", ""):
        flash("The two passwords differ: type the same one twice.", "danger")
        return render_template("set_password.html", **context), 400
    try:
        set_password(db_session(), token, password, request.remote_addr, now)
        db.session.commit()
    except InvalidInput as error:
        db.session.rollback()
        flash(str(error), "danger")
        return render_template("set_password.html", **context), 400
    flash("Your password is set: log in with it.", "success")
    return render_template("login.html", next=""), 200


@bp.route("/digests/unsubscribe/<token>", methods=["GET", "POST"])
def unsubscribe_digest(token: str) -> tuple[str, int]:
    """The signed unsubscribe link of a digest: works without a login, names one digest."""
    context: dict[str, object] = {"title": "Unsubscribe", "token": token}
    try:
        row = subscription_for_token(db_session(), current_app.config["SECRET_KEY"], token)
    except NotFound as error:
        flash(str(error), "warning")
        return render_template("unsubscribe.html", **context), 404
    if request.method == "POST":
        unsubscribe(db_session(), row.id, ip=request.remote_addr)
        db.session.commit()
        flash("You will not receive this digest any more.", "success")
        return render_template("unsubscribe.html", **context), 200
    view, user = db.session.get(SavedView, row.view_id), db.session.get(User, row.user_id)
    context.update(view_name=view.name if view else "", email=user.email if user else "",
                   schedule=schedule_words(row))
    return render_template("unsubscribe.html", **context), 200


def register_token_auth(app: Flask) -> None:
    """Before every request: a bearer token for the API sets the request's user."""
    app.before_request(authenticate_bearer_token)


def register_login(app: Flask) -> None:
    """flask-login (its user loader and its answer to anonymous requests), the login routes,
    and before every request: the login-required rule."""
    login_manager.init_app(app)  # after every request: the remember-me cookie
    login_manager.session_protection = "strong"
    login_manager.user_loader(_load_user)
    login_manager.unauthorized_handler(refuse_anonymous)
    app.register_blueprint(bp)
    app.before_request(require_login)
