"""`gunicorn -w 2 wsgi:app` in production mode against PostgreSQL, as docs/deploy.md says."""
from __future__ import annotations

import datetime as dt
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from services.users import create_user
from tests.conftest import ADMIN, PASSWORD, TestDatabase
from tests.fixtures.servers import ROOT, Gunicorn, free_port, gunicorn


@pytest.fixture(scope="module", name="server")
def server_fixture(postgresql_db: TestDatabase,
                   tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gunicorn]:
    """Two gunicorn workers serving the app on the PostgreSQL test database."""
    log = tmp_path_factory.mktemp("gunicorn") / "gunicorn.log"
    with gunicorn({"DATABASE_URL": postgresql_db.url}, log) as running:
        yield running


def test_gunicorn_serves_logins_pages_and_api_across_workers(server: Gunicorn) -> None:
    gunicorn_url = server.url
    assert requests.get(gunicorn_url + "/healthz", timeout=5).json() == \
        {"status": "ok", "database": "ok"}
    assert requests.get(gunicorn_url + "/api/v1/overview", timeout=5).status_code == 401
    browser = server.login(ADMIN, PASSWORD)
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


def test_login_throttling_holds_across_workers(server: Gunicorn,
                                               postgresql_db: TestDatabase) -> None:
    gunicorn_url = server.url
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


def test_a_worker_killed_mid_request_costs_at_most_that_request(server: Gunicorn) -> None:
    cookies = server.login(ADMIN, PASSWORD).cookies
    outcomes: list[int | str] = []
    stop = threading.Event()

    def keep_asking(offset: int) -> None:
        """Requests one after another, each for other days (a cache miss: real work)."""
        with requests.Session() as browser:
            browser.cookies.update(cookies)
            day = offset
            while not stop.is_set():
                day += 4
                start = dt.date(2024, 1, 1) + dt.timedelta(days=day % 600)
                query = f"from={start}&to={start + dt.timedelta(days=90)}&compare=yoy"
                try:
                    outcomes.append(browser.get(f"{server.url}/api/v1/overview?{query}",
                                                timeout=30).status_code)
                except requests.RequestException as error:
                    outcomes.append(type(error).__name__)

    clients = [threading.Thread(target=keep_asking, args=(n,)) for n in range(4)]
    for client in clients:
        client.start()
    time.sleep(1.5)  # four clients on two workers: both are busy with a request
    victim = server.workers()[0]
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and (victim in server.workers()
                                           or len(server.workers()) < 2):
        time.sleep(0.1)
    replaced_at = len(outcomes)
    time.sleep(1.5)  # the replacement serves too
    stop.set()
    for client in clients:
        client.join(timeout=30)
    assert victim not in server.workers() and len(server.workers()) == 2
    failed = [outcome for outcome in outcomes if outcome != 200]
    assert len(failed) <= 1, failed  # only the request the killed worker was serving
    assert len(outcomes) - replaced_at > 4  # and requests kept being answered after
