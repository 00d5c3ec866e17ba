"""Hardening: headers, CSRF, login throttling, session timeouts and rotation, error pages."""
from __future__ import annotations

import itertools
import json
import random
import re
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from flask import Flask
from flask.testing import FlaskClient

from dashapp import auth, security
from dashapp.config import DEV_SECRET_KEY
from models import utcnow
from services import login_guard
from services.login_guard import LoginLimits, is_throttled
from services.users import create_user
from tests.conftest import (
    ADMIN,
    ANALYST,
    PASSWORD,
    TestDatabase,
    csrf_token,
    login,
    make_app,
    post_login,
    view_inputs,
)

# A key production accepts (a repeated letter no longer is one).
STRONG_SECRET = "Xq3vT9bLm2PzR7wK4nHs8dJf6gYc1aE5uV0oIiBtWxZeQ"
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
    monkeypatch.setenv("SECRET_KEY", STRONG_SECRET)
    app = make_app(sqlite_db.url, ENV="production", SECRET_KEY=STRONG_SECRET)
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
    production = make_app(sqlite_db.url, ENV="production", SECRET_KEY=STRONG_SECRET)
    secure = post_login(production.test_client(), ADMIN, PASSWORD)
    assert "Secure" in secure.headers["Set-Cookie"]


def test_requests_that_change_nothing_send_no_session_cookie(client: FlaskClient,
                                                            clock: FakeClock) -> None:
    """A response carrying the cookie it was sent with can overwrite a newer one (a callback
    in flight while "view as" stops): only a change to the session writes the cookie."""
    login(client)
    quiet = client.get("/api/v1/overview?range=7d")
    assert quiet.status_code == 200 and "Set-Cookie" not in quiet.headers
    clock.advance(120)  # past the minute after which the idle clock is written again
    stamped = client.get("/api/v1/overview?range=7d")
    assert "session=" in stamped.headers.get("Set-Cookie", "")


def test_the_favicon_is_public_wherever_a_browser_looks_for_it(app: Flask) -> None:
    anonymous = app.test_client()
    response = anonymous.get("/favicon.ico")
    assert response.status_code == 301 and response.location.endswith("/_favicon.ico")
    icon = anonymous.get(response.location)
    assert icon.status_code == 200 and icon.data


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


# --- Cache-Control: nothing with user data is stored; static files stay cacheable ---------

@pytest.mark.parametrize("method, path", [
    ("GET", "/"),  # a page (HTML)
    ("GET", "/sales?range=30d"),
    ("GET", "/login"),
    ("GET", "/api/v1/overview?range=all&compare=none"),
    ("GET", "/_dash-layout"),
    ("GET", "/_dash-dependencies"),
    ("POST", "/_dash-update-component"),
    ("GET", "/data/export.csv?range=30d"),
])
def test_responses_with_user_data_are_not_stored(client: FlaskClient, method: str,
                                                 path: str) -> None:
    login(client)
    if method == "POST":
        response = client.post(path, data=json.dumps(TREND_CALLBACK),
                               content_type="application/json",
                               headers={"Origin": "http://localhost"})
    else:
        response = client.get(path)
    assert response.status_code in (200, 204), response.get_data(as_text=True)[:300]
    assert response.headers.get("Cache-Control") == "no-store"


TREND_CALLBACK = {
    "output": "..overview-trend.figure...overview-trend-note.children..",
    "outputs": [{"id": "overview-trend", "property": "figure"},
                {"id": "overview-trend-note", "property": "children"}],
    "inputs": view_inputs("/", None), "changedPropIds": ["view-state.data"], "state": []}


def test_anonymous_refusals_are_not_stored(app: Flask) -> None:
    response = app.test_client().get("/api/v1/overview")
    assert response.status_code == 401
    assert response.headers["Cache-Control"] == "no-store"


def _static_paths(client: FlaskClient) -> list[str]:
    page = client.get("/").get_data(as_text=True)
    suites = re.findall(r'src="(/_dash-component-suites/[^"]+)"', page)
    assert suites, page[:500]
    return ["/assets/pulseboard.css", suites[0]]


def test_static_assets_stay_cacheable(client: FlaskClient) -> None:
    login(client)
    for path in _static_paths(client):
        with client.get(path) as response:
            assert response.status_code == 200, path
            assert "no-store" not in response.headers.get("Cache-Control", ""), path


# --- No software versions in the page's _dash-config --------------------------------------

def test_dash_config_carries_no_versions(client: FlaskClient) -> None:
    login(client)
    page = client.get("/").get_data(as_text=True)
    found = re.search(r'<script id="_dash-config" type="application/json">(.*?)</script>',
                      page, re.S)
    assert found, page[:500]
    config = json.loads(found.group(1))
    assert "url_base_pathname" in config  # still the config the renderer needs
    for key in ("python_version", "dash_version", "plotly_version", "ddk_version"):
        assert key not in config
    assert sys.version.split()[0] not in found.group(1)


# --- Login lockout per (account, address), with a softer limit per account ----------------

def _new_user(database: TestDatabase) -> str:
    email = f"lockout-{uuid.uuid4().hex[:10]}@example.com"
    with database.session() as session:
        create_user(session, email, PASSWORD, "viewer")
        session.commit()
    return email


def _address() -> str:
    """A documentation-range address no other test uses."""
    number = next(_ADDRESSES)
    return f"203.0.{number // 250}.{number % 250 + 1}"


_ADDRESSES = itertools.count(random.randrange(0, 40_000))


def test_a_locked_out_address_does_not_lock_the_account_for_others(
        app: Flask, clock: FakeClock, sqlite_db: TestDatabase) -> None:
    email = _new_user(sqlite_db)
    attacker = client_from(app, _address())
    limits = app.config["LOGIN_LIMITS"]
    for _ in range(limits.per_account):
        assert post_login(attacker, email, "wrong-password").status_code == 401
    assert post_login(attacker, email, PASSWORD).status_code == 429  # this address: locked
    owner = client_from(app, _address())
    assert post_login(owner, email, PASSWORD).status_code == 302  # the owner is not
    # Retrying while locked out neither checks the password nor extends the lockout.
    clock.advance(limits.window.total_seconds() / 2)
    assert post_login(attacker, email, PASSWORD).status_code == 429
    clock.advance(limits.window.total_seconds() / 2 + 1)
    assert post_login(attacker, email, PASSWORD).status_code == 302


def test_failures_from_many_addresses_lock_the_account_for_everyone(
        clock: FakeClock, sqlite_db: TestDatabase) -> None:
    limits = LoginLimits(per_account=2, per_address=30, per_account_all_addresses=6)
    app = make_app(sqlite_db.url, LOGIN_LIMITS=limits)
    email = _new_user(sqlite_db)
    for _ in range(limits.per_account_all_addresses // limits.per_account):
        client = client_from(app, _address())
        for _ in range(limits.per_account):
            assert post_login(client, email, "wrong-password").status_code == 401
    assert post_login(client_from(app, _address()), email, PASSWORD).status_code == 429
    clock.advance(limits.window.total_seconds() + 1)
    assert post_login(client_from(app, _address()), email, PASSWORD).status_code == 302


def test_parallel_wrong_attempts_get_no_more_password_checks_than_the_limit(
        database: TestDatabase, monkeypatch: pytest.MonkeyPatch) -> None:
    app = make_app(database.url)
    limit = app.config["LOGIN_LIMITS"].per_account
    email = _new_user(database)
    checks: list[str] = []
    real_authenticate = auth.authenticate

    def slow_authenticate(*args: object, **kwargs: object) -> object:
        checks.append("checked")
        time.sleep(0.2)  # a password hash takes time: the window parallel attempts race in
        return real_authenticate(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(auth, "authenticate", slow_authenticate)
    address = _address()
    clients = [client_from(app, address) for _ in range(16)]
    tokens = [csrf_token(client) for client in clients]
    start = threading.Barrier(len(clients))

    def attempt(index: int) -> int:
        start.wait()
        return clients[index].post("/login", data={
            "email": email, "password": "wrong-password", "csrf_token": tokens[index]},
        ).status_code

    with ThreadPoolExecutor(len(clients)) as pool:
        statuses = list(pool.map(attempt, range(len(clients))))
    assert len(checks) <= limit, statuses
    assert statuses.count(401) == len(checks) and statuses.count(429) == 16 - len(checks)


def test_parallel_attempts_against_the_guard(database: TestDatabase) -> None:
    limits = LoginLimits(per_account=5)
    email, now = f"guard-{uuid.uuid4().hex[:10]}@example.com", utcnow()
    address = _address()
    start = threading.Barrier(16)

    def attempt(_: int) -> bool:
        with database.session() as session:
            start.wait()
            return login_guard.begin_attempt(session, email, address, now, limits)[1]

    with ThreadPoolExecutor(16) as pool:
        allowed = list(pool.map(attempt, range(16)))
    # Never more than the limit get through. Fewer may (none, when all 16 reservations are
    # committed before the first count): the guard refuses rather than guess the order.
    assert allowed.count(True) <= limits.per_account
    with database.session() as session:
        assert is_throttled(session, email, address, now, limits)


# --- TRUSTED_PROXIES: the client address behind reverse proxies --------------------------

def test_forwarded_addresses_are_ignored_without_trusted_proxies(
        app: Flask, sqlite_db: TestDatabase) -> None:
    assert app.config["TRUSTED_PROXIES"] == 0
    email = _new_user(sqlite_db)
    proxy = _address()
    limit = app.config["LOGIN_LIMITS"].per_account
    for index in range(limit):  # a forged header does not get an attacker a fresh address
        client = client_from(app, proxy)
        client.environ_base["HTTP_X_FORWARDED_FOR"] = f"198.18.0.{index + 1}"
        post_login(client, email, "wrong-password")
    assert post_login(client_from(app, proxy), email, PASSWORD).status_code == 429


def test_trusted_proxies_give_the_limits_the_client_address(
        monkeypatch: pytest.MonkeyPatch, sqlite_db: TestDatabase) -> None:
    monkeypatch.setenv("TRUSTED_PROXIES", "1")
    app = make_app(sqlite_db.url)
    assert app.config["TRUSTED_PROXIES"] == 1
    email = _new_user(sqlite_db)
    proxy = _address()

    def via_proxy(client_address: str) -> FlaskClient:
        client = client_from(app, proxy)
        client.environ_base["HTTP_X_FORWARDED_FOR"] = client_address
        return client

    attacker, owner = _address(), _address()
    for _ in range(app.config["LOGIN_LIMITS"].per_account):
        post_login(via_proxy(attacker), email, "wrong-password")
    assert post_login(via_proxy(attacker), email, PASSWORD).status_code == 429
    assert post_login(via_proxy(owner), email, PASSWORD).status_code == 302
