"""Shared fixtures: migrated SQLite and PostgreSQL databases with demo data, apps, clients.

PostgreSQL and browser tests skip with a printed reason on a machine that lacks them; with
CI=true a skip is a failure (see `pytest_sessionfinish`).
"""
from __future__ import annotations

import contextlib
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from flask_login import login_user
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from benchmarks.common import reset_postgres
from dashapp import create_app
from dashapp.auth import SessionUser
from dashapp.extensions import db
from models import User
from services.demo_data import generate_demo_data
from services.maintenance import refresh_statistics
from services.users import create_token, create_user

IN_CI = os.environ.get("CI", "").lower() == "true"
# One results cache per test session: never one left over from an earlier run.
CACHE_DIR = tempfile.mkdtemp(prefix="pulseboard-test-cache-")
DEMO_LINES = 30_000
DEMO_SEED = 7
PASSWORD = "correct-horse-battery"
ADMIN = "admin@example.com"
ANALYST = "analyst@example.com"
LIMITED = "instagram-only@example.com"
LIMITED_PLATFORM = "instagram"


def skip_or_fail(reason: str) -> None:
    """Skip on a developer machine; fail in CI, where every test must really run."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true: this test must run)", pytrace=False)
    pytest.skip(reason)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """With CI=true, any skipped test turns the run red."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if IN_CI and skipped and exitstatus == 0:
        reporter.write_line(f"CI=true: {skipped} test(s) skipped; skips count as failures.",
                            red=True)
        session.exitstatus = 1


def postgres_url() -> str:
    """The PostgreSQL test database URL (this xdist worker's own), or a skip/fail with the
    reason."""
    url = os.environ.get("TEST_DATABASE_URL", "")
    if not url:
        skip_or_fail("PostgreSQL tests need TEST_DATABASE_URL")
    try:
        with sa.create_engine(url, connect_args={"connect_timeout": 3}).connect():
            pass
        return _worker_database(url)
    except sa.exc.OperationalError as error:
        skip_or_fail(f"PostgreSQL at TEST_DATABASE_URL is not reachable: {error.orig}")
    return url


# Under `pytest -n` every worker resets and seeds the test database, so each gets its own:
# TEST_DATABASE_URL's name with the worker's id appended, created on first use.
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
_worker_databases: set[str] = set()


def _worker_database(url: str) -> str:
    if not XDIST_WORKER:
        return url
    base = sa.make_url(url)
    name = f"{base.database}_{XDIST_WORKER}"
    if name not in _worker_databases:
        admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            exists = connection.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :name"),
                                        {"name": name}).scalar()
            if not exists:
                connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        _worker_databases.add(name)
    return base.set(database=name).render_as_string(hide_password=False)


def migrate(app: Flask) -> None:
    """Bring the app's database to the newest migration, as `pulseboard db upgrade` does."""
    from flask_migrate import upgrade

    with app.app_context():
        upgrade(revision="heads")  # one head in a release; "heads" while branches merge


def make_app(url: str, **overrides: object) -> Flask:
    """An app in test mode on the given database."""
    config = {"SQLALCHEMY_DATABASE_URI": url, "ENV": "test", "TESTING": True,
              "SECRET_KEY": "test-secret-" + "x" * 32, "CURRENCY": "GBP",
              "CACHE_DIR": CACHE_DIR}
    config.update(overrides)
    return create_app(config)


@dataclass
class TestDatabase:
    """A migrated database holding demo data and the test users."""

    __test__ = False  # not a test class
    name: str
    url: str
    engine: sa.Engine
    admin_token: str
    limited_token: str

    def session(self) -> Session:
        """A new ORM session on this database."""
        return Session(self.engine)


def seed_database(url: str, name: str, lines: int = DEMO_LINES) -> TestDatabase:
    """Migrate the database at `url` and load the demo data, test users and tokens."""
    app = make_app(url)
    migrate(app)
    with app.app_context():
        generate_demo_data(db.session, lines=lines, seed=DEMO_SEED)
        create_user(db.session, ADMIN, PASSWORD, "admin")
        create_user(db.session, ANALYST, PASSWORD, "analyst")
        create_user(db.session, LIMITED, PASSWORD, "analyst", [LIMITED_PLATFORM])
        admin_token = create_token(db.session, ADMIN, "tests")
        limited_token = create_token(db.session, LIMITED, "tests")
        db.session.commit()
        refresh_statistics(db.session)
        db.session.commit()
        db.engine.dispose()
    return TestDatabase(name, url, sa.create_engine(url), admin_token, limited_token)


_seeded: dict[str, TestDatabase] = {}


@pytest.fixture(scope="session")
def sqlite_db(tmp_path_factory: pytest.TempPathFactory) -> TestDatabase:
    """The SQLite test database (a file, so the app and the tests share it)."""
    if "sqlite" not in _seeded:
        path = Path(tmp_path_factory.mktemp("sqlite")) / "pulseboard.db"
        _seeded["sqlite"] = seed_database(f"sqlite:///{path}", "sqlite")
    return _seeded["sqlite"]


@pytest.fixture(scope="session")
def postgresql_db() -> TestDatabase:
    """The PostgreSQL test database (reset, migrated and seeded once per session)."""
    if "postgresql" not in _seeded:
        url = postgres_url()
        reset_postgres(url)
        _seeded["postgresql"] = seed_database(url, "postgresql")
    return _seeded["postgresql"]


@pytest.fixture(scope="session",
                params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest) -> TestDatabase:
    """Each test using this runs on SQLite and on PostgreSQL."""
    return request.getfixturevalue(f"{request.param}_db")


@pytest.fixture
def session(database: TestDatabase) -> Iterator[Session]:
    """An ORM session on the parametrised database, rolled back after the test."""
    with database.session() as orm_session:
        yield orm_session
        orm_session.rollback()


@pytest.fixture(scope="session")
def app(sqlite_db: TestDatabase) -> Flask:
    """The app on the SQLite test database."""
    return make_app(sqlite_db.url)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A fresh (logged-out) test client."""
    return app.test_client()


_CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(client: FlaskClient, path: str = "/login") -> str:
    """The CSRF token of the form at `path`, as a browser would read it."""
    match = _CSRF_FIELD.search(client.get(path).get_data(as_text=True))
    assert match, f"no CSRF token in {path}"
    return match.group(1)


def post_login(client: FlaskClient, email: str, password: str,
               **kwargs: object) -> TestResponse:
    """Submit the login form with its CSRF token; returns the response."""
    data = {"email": email, "password": password, "csrf_token": csrf_token(client)}
    return client.post("/login", data=data, **kwargs)


def login(client: FlaskClient, email: str = ADMIN, password: str = PASSWORD) -> FlaskClient:
    """Log `client` in through the real login form."""
    response = post_login(client, email, password)
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    return client


@contextlib.contextmanager
def callback_request(app: Flask, email: str) -> Iterator[SessionUser]:
    """A Dash callback's request context with the user `email` logged in."""
    with app.test_request_context("/_dash-update-component", method="POST"):
        user = SessionUser.of(db.session.scalar(sa.select(User).where(User.email == email)))
        login_user(user)
        yield user


def view_inputs(path: str, store: object) -> list[dict[str, object]]:
    """The inputs and states a panel callback of the page at `path` is posted with (Dash reads
    them as one list): the view, and on a page that scores models the store their training
    job sets and the view store (callbacks/panels.py)."""
    from layouts.pages import page_for

    inputs: list[dict[str, object]] = [{"id": "view-state", "property": "data", "value": store}]
    page = page_for(path)
    if page is not None and page.models:
        inputs += [{"id": "model-trained", "property": "data", "value": None},
                   {"id": "view-state", "property": "data", "value": store}]
    return inputs
