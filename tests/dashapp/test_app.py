"""App factory, configuration, health check, login and logout."""
from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from dashapp import create_app
from dashapp.config import DEV_SECRET_KEY, ConfigError
from dashapp.extensions import db
from tests.conftest import (
    ADMIN,
    PASSWORD,
    TestDatabase,
    csrf_token,
    login,
    make_app,
    post_login,
    postgres_url,
)

STRONG_SECRET = "8f1c2d3e4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a6978"


@pytest.mark.parametrize("secret", [None, "", DEV_SECRET_KEY, "changeme", "short-secret"])
def test_production_refuses_a_missing_or_default_secret(monkeypatch: pytest.MonkeyPatch,
                                                        secret: str | None) -> None:
    monkeypatch.setenv("PULSEBOARD_ENV", "production")
    if secret is None:
        monkeypatch.delenv("SECRET_KEY", raising=False)
    else:
        monkeypatch.setenv("SECRET_KEY", secret)
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})


def test_production_starts_with_a_strong_secret_and_secure_cookies(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PULSEBOARD_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", STRONG_SECRET)
    app = create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["SECRET_KEY"] == STRONG_SECRET
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True


def test_production_refuses_debug(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PULSEBOARD_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", STRONG_SECRET)
    monkeypatch.setenv("PULSEBOARD_DEBUG", "1")
    with pytest.raises(ConfigError, match="DEBUG"):
        create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"})


def test_unknown_time_zone_is_refused() -> None:
    with pytest.raises(ConfigError, match="Mars/Olympus"):
        create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "TIMEZONE": "Mars/Olympus"})


def test_a_sqlite_database_runs_in_wal_mode_so_readers_do_not_block_the_writer(
        tmp_path: Path) -> None:
    app = make_app(f"sqlite:///{tmp_path / 'wal.db'}")
    with app.app_context():
        assert db.session.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"
        db.session.rollback()
        db.engine.dispose()


@pytest.mark.parametrize("jit", [False, True])
def test_postgresql_sessions_run_without_jit_unless_asked(jit: bool) -> None:
    """JIT stays off in every pooled session, also after a rollback returned it to the pool
    (compiling the customer queries took longer than running them)."""
    app = make_app(postgres_url(), POSTGRES_JIT=jit)
    with app.app_context():
        for _ in range(2):
            with db.engine.connect() as connection:
                setting, server = connection.execute(sa.text(
                    "SELECT setting, reset_val FROM pg_settings WHERE name = 'jit'")).one()
                connection.rollback()
            # Asked for: the server's own setting (its configuration's, not a SET of ours).
            assert setting == (server if jit else "off")
        db.engine.dispose()


def test_two_apps_in_one_process_each_get_their_callbacks() -> None:
    first, second = (create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"}) for _ in range(2))
    counts = [len(app.extensions["dash"].callback_map) for app in (first, second)]
    assert counts[0] == counts[1] > 5


def test_services_and_models_never_import_flask_or_dash() -> None:
    code = (
        "import importlib, pkgutil, sys\n"
        "import services, models\n"
        "for package in (services, models):\n"
        "    for info in pkgutil.walk_packages(package.__path__, package.__name__ + '.'):\n"
        "        importlib.import_module(info.name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('flask', 'dash'))\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == ""


def test_healthz_reports_a_reachable_database(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_healthz_answers_503_quickly_when_the_database_is_down() -> None:
    # Port 9 (discard) on loopback: nothing listens, the connection is refused at once.
    app = make_app("postgresql+psycopg2://nobody:nothing@127.0.0.1:9/none")
    started = time.perf_counter()
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["database"] == "unreachable"
    assert time.perf_counter() - started < 5


def test_login_with_a_wrong_password_or_unknown_user_gives_the_same_message(
        client: FlaskClient) -> None:
    bodies = []
    for email, password in ((ADMIN, "wrong-password"), ("nobody@example.com", PASSWORD)):
        response = post_login(client, email, password)
        assert response.status_code == 401
        bodies.append(response.get_data(as_text=True))
    assert "Unknown e-mail or wrong password." in bodies[0]
    # Identical but for the CSRF token, which carries a timestamp.
    assert [re.sub(r'value="[^"]+"', "", body) for body in bodies[:1]] == \
        [re.sub(r'value="[^"]+"', "", body) for body in bodies[1:]]
    assert client.get("/_dash-layout").status_code == 401


def test_login_follows_only_local_next_urls(client: FlaskClient) -> None:
    for target, expected in (("/?range=7d", "/?range=7d"), ("https://evil.example/", "/"),
                             ("//evil.example/x", "/"), ("/\\evil.example", "/")):
        response = post_login(client, ADMIN, PASSWORD, query_string={"next": target})
        assert response.status_code == 302
        assert response.headers["Location"] == expected
        logout(client)


def logout(client: FlaskClient) -> TestResponse:
    """Press the logout button (a POST form with its CSRF token)."""
    return client.post("/logout", data={"csrf_token": csrf_token(client)})


def test_logout_ends_the_session(client: FlaskClient) -> None:
    login(client)
    assert client.get("/_dash-layout").status_code == 200
    assert logout(client).status_code == 302
    assert client.get("/_dash-layout").status_code == 401


def test_logout_needs_post(client: FlaskClient) -> None:
    login(client)
    assert client.get("/logout").status_code in (404, 405)
    assert client.get("/_dash-layout").status_code == 200


def test_passwords_are_stored_hashed(sqlite_db: TestDatabase) -> None:
    from sqlalchemy import select

    from models import User

    with sqlite_db.session() as session:
        stored = session.scalar(select(User.password_hash).where(User.email == ADMIN))
    assert PASSWORD not in stored and stored.startswith("scrypt:")
