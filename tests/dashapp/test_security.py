"""Hardening: headers, CSRF, login throttling, session timeouts and rotation, error pages."""
from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from dashapp import security
from dashapp.config import DEV_SECRET_KEY
from tests.conftest import (
    ADMIN,
    ANALYST,
    PASSWORD,
    TestDatabase,
    csrf_token,
    login,
    make_app,
    post_login,
)

DASH_PAYLOAD = {"output": "overview-trend.figure", "outputs": {"id": "overview-trend",
                "property": "figure"}, "inputs": [], "changedPropIds": [], "state": []}


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """Replace the security clock for the duration of a test."""
    fake = FakeClock()
    monkeypatch.setattr(security, "clock", fake)
    monkeypatch.setattr("dashapp.auth.clock", fake)
    return fake


def client_from(app: Flask, address: str) -> FlaskClient:
    """A test client whose requests come from `address` (set in the WSGI environ only)."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


@pytest.fixture
def fresh_address_client(app: Flask, request: pytest.FixtureRequest) -> Iterator[FlaskClient]:
    """A client from its own (documentation-range) address, so throttling stays local."""
    yield client_from(app, f"192.0.2.{abs(hash(request.node.name)) % 250 + 1}")


@pytest.mark.parametrize("path", ["/login", "/healthz", "/api/v1/overview", "/_dash-layout"])
def test_security_headers_on_pages_callbacks_and_api(client: FlaskClient, path: str) -> None:
    login(client)
    response = client.get(path)
    policy = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert "'unsafe-eval'" not in policy and "script-src 'self' 'sha256-" in policy
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert len(response.headers["X-Request-ID"]) >= 8
    assert "Strict-Transport-Security" not in response.headers  # only in production


def test_hsts_in_production(monkeypatch: pytest.MonkeyPatch, sqlite_db: TestDatabase) -> None:
    monkeypatch.setenv("PULSEBOARD_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "p" * 48)
    app = make_app(sqlite_db.url, ENV="production", SECRET_KEY="p" * 48)
    response = app.test_client().get("/healthz")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")
    assert app.config["SECRET_KEY"] != DEV_SECRET_KEY


def test_login_without_csrf_token_is_refused(client: FlaskClient) -> None:
    response = client.post("/login", data={"email": ADMIN, "password": PASSWORD})
    assert response.status_code == 400
    assert client.get("/_dash-layout").status_code == 401


def test_logout_without_csrf_token_does_not_log_out(client: FlaskClient) -> None:
    login(client)
    assert client.post("/logout").status_code == 400
    assert client.get("/_dash-layout").status_code == 200


@pytest.mark.parametrize("headers, body_kind", [
    ({"Origin": "https://evil.example"}, "json"),
    ({"Referer": "https://evil.example/page"}, "json"),
    ({}, "form"),
])
def test_cross_site_callback_requests_are_refused(client: FlaskClient, headers: dict[str, str],
                                                  body_kind: str) -> None:
    login(client)
    if body_kind == "json":
        response = client.post("/_dash-update-component", data=json.dumps(DASH_PAYLOAD),
                               content_type="application/json", headers=headers)
    else:
        response = client.post("/_dash-update-component", data={"x": "1"}, headers=headers)
    assert response.status_code == 403
    assert response.get_json() == {"error": "Cross-site request refused."}


def test_same_origin_callback_is_accepted(client: FlaskClient) -> None:
    login(client)
    response = client.post("/_dash-update-component", data=json.dumps(DASH_PAYLOAD),
                           content_type="application/json",
                           headers={"Origin": "http://localhost"})
    assert response.status_code != 403


def test_session_is_renewed_at_login(client: FlaskClient) -> None:
    pre_login_token = csrf_token(client)  # stored in the anonymous session
    login(client)
    with client.session_transaction() as state:
        assert "csrf_token" not in state or state["csrf_token"] != pre_login_token
        assert "login_at" in state


def test_idle_session_expires(client: FlaskClient, clock: FakeClock, app: Flask) -> None:
    login(client)
    clock.advance(app.config["SESSION_IDLE_SECONDS"] - 5)
    assert client.get("/_dash-layout").status_code == 200  # activity keeps it alive
    clock.advance(app.config["SESSION_IDLE_SECONDS"] - 5)
    assert client.get("/_dash-layout").status_code == 200
    clock.advance(app.config["SESSION_IDLE_SECONDS"] + 1)
    assert client.get("/_dash-layout").status_code == 401
    assert client.get("/").headers["Location"].startswith("/login")


def test_absolute_session_lifetime(client: FlaskClient, clock: FakeClock, app: Flask) -> None:
    login(client)
    step = app.config["SESSION_IDLE_SECONDS"] - 60
    for _ in range(int(app.config["PERMANENT_SESSION_LIFETIME"] // step)):
        clock.advance(step)
        assert client.get("/_dash-layout").status_code == 200
    clock.advance(step)
    assert client.get("/_dash-layout").status_code == 401


def test_login_is_throttled_per_account_then_released(fresh_address_client: FlaskClient,
                                                      clock: FakeClock, app: Flask) -> None:
    limits = app.config["LOGIN_LIMITS"]
    for _ in range(limits.per_account):
        assert post_login(fresh_address_client, ANALYST, "wrong-password").status_code == 401
    blocked = post_login(fresh_address_client, ANALYST, PASSWORD)
    assert blocked.status_code == 429
    assert "Too many failed attempts" in blocked.get_data(as_text=True)
    clock.advance(limits.window.total_seconds() + 1)
    assert post_login(fresh_address_client, ANALYST, PASSWORD).status_code == 302


def test_unknown_accounts_are_throttled_the_same_way(fresh_address_client: FlaskClient,
                                                     clock: FakeClock, app: Flask) -> None:
    limits = app.config["LOGIN_LIMITS"]
    for _ in range(limits.per_account):
        post_login(fresh_address_client, "ghost@example.com", "whatever-password")
    assert post_login(fresh_address_client, "ghost@example.com", "x").status_code == 429


def test_login_is_throttled_per_address(app: Flask, clock: FakeClock) -> None:
    limits = app.config["LOGIN_LIMITS"]
    client = client_from(app, "198.51.100.7")
    for attempt in range(limits.per_address):
        post_login(client, f"user{attempt}@example.com", "wrong-password")
    assert post_login(client, ADMIN, PASSWORD).status_code == 429
    other = client_from(app, "198.51.100.8")
    assert post_login(other, ADMIN, PASSWORD).status_code == 302


def test_errors_show_no_traceback_and_carry_the_request_id(app: Flask) -> None:
    client = app.test_client()
    login(client)
    response = client.get("/api/v1/overview?range=all",
                          headers={"X-Request-ID": "trace-me-12345"})
    assert response.headers["X-Request-ID"] == "trace-me-12345"
    bad = client.get("/api/v1/overview", headers={"X-Request-ID": "<script>"})
    assert bad.headers["X-Request-ID"] != "<script>"


def test_a_copy_of_the_session_cookie_is_void_after_logout(app: Flask) -> None:
    client = login(app.test_client())
    stolen = client.get_cookie("session").value
    assert client.post("/logout", data={"csrf_token": csrf_token(client)}).status_code == 302
    replay = app.test_client()
    replay.set_cookie("session", stolen)
    assert replay.get("/_dash-layout").status_code == 401


def test_deactivation_ends_the_session_on_the_next_request(app: Flask) -> None:
    from sqlalchemy import select

    from dashapp.extensions import db
    from models import User
    from services.users import create_user

    with app.app_context():
        create_user(db.session, "temp-analyst@example.com", PASSWORD, "analyst")
        db.session.commit()
    client = login(app.test_client(), "temp-analyst@example.com")
    assert client.get("/_dash-layout").status_code == 200
    with app.app_context():
        db.session.scalar(select(User).where(User.email == "temp-analyst@example.com")) \
            .active = False
        db.session.commit()
    assert client.get("/_dash-layout").status_code == 401


def test_logs_never_carry_passwords_tokens_or_cookies(app: Flask, sqlite_db: TestDatabase,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG")
    client = app.test_client()
    post_login(client, ADMIN, "a-wrong-secret-password")
    login(client)
    cookie = client.get_cookie("session").value
    client.get("/api/v1/overview?range=7d",
               headers={"Authorization": f"Bearer {sqlite_db.admin_token}"})
    text = caplog.text
    assert "POST /login" in text  # requests are logged…
    for secret in ("a-wrong-secret-password", PASSWORD, sqlite_db.admin_token, cookie):
        assert secret not in text  # …their secrets are not


def test_request_size_is_limited(sqlite_db: TestDatabase) -> None:
    app = make_app(sqlite_db.url, MAX_CONTENT_LENGTH=1024)
    client = app.test_client()
    response = client.post("/login", data={"email": "x" * 4096, "password": "y"})
    assert response.status_code == 413


def test_session_cookie_flags(client: FlaskClient, monkeypatch: pytest.MonkeyPatch,
                              sqlite_db: TestDatabase) -> None:
    response = post_login(client, ADMIN, PASSWORD)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    assert "remember_token=" not in " ".join(response.headers.getlist("Set-Cookie"))
    monkeypatch.setenv("PULSEBOARD_ENV", "production")
    production = make_app(sqlite_db.url, ENV="production", SECRET_KEY="s" * 48)
    secure = post_login(production.test_client(), ADMIN, PASSWORD)
    assert "Secure" in secure.headers["Set-Cookie"]


def test_access_denials_are_audited(app: Flask, sqlite_db: TestDatabase) -> None:
    from sqlalchemy import select

    from dashapp.extensions import db
    from models import AuditEvent

    analyst = login(app.test_client(), ANALYST)
    assert analyst.get("/admin").status_code == 403
    with app.app_context():
        event = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
        assert event.action == "access_denied" and "/admin" in event.detail


def test_request_hooks_run_in_the_order_the_factory_gives(app: Flask) -> None:
    # The order is part of the security rules (see dashapp.factory.create_app): ids first,
    # the token before the session is read, CSRF after the login rule, headers on every reply.
    def names(hooks: Iterable[Callable[..., object]]) -> list[str]:
        return [hook.__qualname__ for hook in hooks]

    assert names(app.before_request_funcs[None]) == [
        "_assign_request_id", "refuse_cross_site_json", "authenticate_bearer_token",
        "enforce_session_timeouts.<locals>.check", "require_login",
        "CSRFProtect.init_app.<locals>.csrf_protect", "Dash._setup_server",
        "refuse_unknown_paths"]
    # Flask runs these in reverse: headers first, the log line (with the final status) last.
    assert names(app.after_request_funcs[None]) == [
        "_log_request", "LoginManager._update_remember_cookie",
        "_security_headers.<locals>.add_headers"]
    assert set(app.before_request_funcs) == {None} == set(app.after_request_funcs)
