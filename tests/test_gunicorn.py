"""`gunicorn -w 2 wsgi:app` in production mode against PostgreSQL, as docs/deploy.md says."""
from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from services.users import create_user
from tests.conftest import ADMIN, PASSWORD, TestDatabase
from tests.fixtures.servers import free_port

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def gunicorn_url(postgresql_db: TestDatabase,
                 tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Two gunicorn workers serving the app on the PostgreSQL test database."""
    port = free_port()
    log_path = tmp_path_factory.mktemp("gunicorn") / "gunicorn.log"
    log = log_path.open("wb")
    env = {**os.environ, "DATABASE_URL": postgresql_db.url, "PULSEBOARD_ENV": "production",
           "SECRET_KEY": secrets.token_urlsafe(48), "SESSION_COOKIE_SECURE": "0"}
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", "2", "--no-control-socket",
         "-b", f"127.0.0.1:{port}", "wsgi:app"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(url + "/healthz", timeout=2).status_code == 200:
                    break
            except requests.RequestException:  # refused, or accepted while workers boot
                time.sleep(0.3)
        else:
            server.kill()
            pytest.fail("gunicorn did not start:\n" + log_path.read_text()[-3000:])
        yield url
    finally:
        server.terminate()
        server.wait(timeout=20)
        log.close()


def test_gunicorn_serves_logins_pages_and_api_across_workers(gunicorn_url: str) -> None:
    assert requests.get(gunicorn_url + "/healthz", timeout=5).json() == \
        {"status": "ok", "database": "ok"}
    assert requests.get(gunicorn_url + "/api/v1/overview", timeout=5).status_code == 401
    browser = requests.Session()
    form = browser.get(gunicorn_url + "/login", timeout=10).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    login = browser.post(gunicorn_url + "/login", allow_redirects=False, timeout=10,
                         data={"email": ADMIN, "password": PASSWORD, "csrf_token": token})
    assert login.status_code == 302
    revenues = set()
    for _ in range(12):  # enough requests to land on both workers
        response = browser.get(gunicorn_url + "/api/v1/overview?range=all&compare=none",
                               timeout=30)
        assert response.status_code == 200
        revenues.add(round(response.json()["kpis"]["net_revenue"]["current"], 2))
    assert len(revenues) == 1 and revenues.pop() > 0
    assert browser.get(gunicorn_url + "/_dash-layout", timeout=10).status_code == 200
    page = browser.get(gunicorn_url + "/", timeout=10)
    assert page.status_code == 200 and "_dash-config" in page.text


def _login_attempt(url: str, email: str, password: str) -> int:
    """One login through a new connection (so attempts spread over the workers)."""
    with requests.Session() as browser:
        form = browser.get(url + "/login", timeout=10).text
        token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
        return browser.post(url + "/login", allow_redirects=False, timeout=10,
                            data={"email": email, "password": password,
                                  "csrf_token": token}).status_code


def test_login_throttling_holds_across_workers(gunicorn_url: str,
                                               postgresql_db: TestDatabase) -> None:
    email = f"throttle-{uuid.uuid4().hex[:8]}@example.com"
    with postgresql_db.session() as session:
        create_user(session, email, PASSWORD, "viewer")
        session.commit()
    statuses = [_login_attempt(gunicorn_url, email, "wrong-password") for _ in range(5)]
    assert statuses == [401] * 5
    # Whichever worker answers now, it sees the five failures recorded by both.
    assert [_login_attempt(gunicorn_url, email, PASSWORD) for _ in range(3)] == [429] * 3


def test_gunicorn_without_pulseboard_env_refuses_the_development_key(
        tmp_path: Path) -> None:
    from dashapp.config import DEV_SECRET_KEY

    env = {key: value for key, value in os.environ.items()
           if key not in {"PULSEBOARD_ENV", "SECRET_KEY"}}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'unused.db'}", SECRET_KEY=DEV_SECRET_KEY)
    result = subprocess.run(
        [sys.executable, "-m", "gunicorn", "-w", "1", "--no-control-socket",
         "-b", f"127.0.0.1:{free_port()}", "wsgi:app"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "SECRET_KEY is a known default" in result.stderr
