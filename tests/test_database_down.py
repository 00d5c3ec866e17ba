"""Real outages: the app reaches PostgreSQL through a loopback TCP proxy that the test cuts
and restores, and gunicorn under load sees a PostgreSQL cluster of its own restarted.
/healthz answers 503 quickly, pages and the API say the database is down, and everything
works again when it is back — without restarting the app."""
from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa
from flask import Flask

from dashapp.errors import DATABASE_DOWN
from tests.conftest import ADMIN, PASSWORD, TestDatabase, login, make_app, seed_database
from tests.fixtures.servers import Gunicorn, PostgresServer, gunicorn


def _hang_up(connection: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already gone
        connection.shutdown(socket.SHUT_RDWR)
    connection.close()


class Proxy:
    """Forwards 127.0.0.1:<port> to PostgreSQL; `cut()` drops every connection."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.open: list[socket.socket] = []
        self.up = True
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.up:
                _hang_up(client)
                continue
            upstream = socket.create_connection(self.target)
            self.open += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                _hang_up(end)

    def cut(self) -> None:
        """Refuse new connections and break the open ones."""
        self.up = False
        for connection in self.open:
            _hang_up(connection)
        self.open.clear()

    def restore(self) -> None:
        """Accept connections again."""
        self.up = True

    def close(self) -> None:
        """Stop listening."""
        self.cut()
        self.listener.close()


@pytest.fixture
def proxied_app(postgresql_db: TestDatabase) -> Iterator[tuple[Flask, Proxy]]:
    """The app on the PostgreSQL test database, through the proxy."""
    url = sa.make_url(postgresql_db.url)
    proxy = Proxy((url.host or "127.0.0.1", url.port or 5432))
    app = make_app(url.set(host="127.0.0.1", port=proxy.port).render_as_string(
        hide_password=False))
    yield app, proxy
    proxy.close()


def test_outage_is_reported_and_recovered_from(proxied_app: tuple[Flask, Proxy]) -> None:
    app, proxy = proxied_app
    client = login(app.test_client())
    assert client.get("/api/v1/overview?range=7d").status_code == 200

    proxy.cut()
    started = time.perf_counter()
    health = app.test_client().get("/healthz")
    assert health.status_code == 503 and health.get_json()["database"] == "unreachable"
    assert time.perf_counter() - started < 5
    api = client.get("/api/v1/overview?range=7d")
    assert api.status_code == 503 and api.get_json()["error"] == DATABASE_DOWN
    page = client.get("/")
    assert page.status_code == 503
    assert "not reachable" in page.get_data(as_text=True)
    assert 'http-equiv="refresh"' in page.get_data(as_text=True)
    assert "Traceback" not in page.get_data(as_text=True)

    proxy.restore()
    assert app.test_client().get("/healthz").status_code == 200
    assert client.get("/api/v1/overview?range=7d").status_code == 200


def test_a_postgresql_restart_under_load_answers_503_then_recovers_within_10_s(
        tmp_path: Path) -> None:
    database = PostgresServer()
    database.start()
    try:
        seed_database(database.url, "restarted", lines=2_000).engine.dispose()
        with gunicorn({"DATABASE_URL": database.url, "PULSEBOARD_CACHE": "none"},
                      tmp_path / "gunicorn.log") as server:
            answers = _under_load(server, database)
    finally:
        database.remove()
    assert {status for _, status, _ in answers} <= {200, 503}  # never a 500, never dropped
    assert {error for _, status, error in answers if status == 503} == {DATABASE_DOWN}
    down = [at for at, status, _ in answers if status == 503]
    assert down, "no request reached the app while PostgreSQL was down"
    back = max(down)  # the last 503: every request after it was answered
    assert any(at > back for at, _, _ in answers)
    assert back - answers.restarted_at <= 10, f"recovered {back - answers.restarted_at:.1f} s " \
        "after PostgreSQL was back"


class Answers(list[tuple[float, int, str]]):
    """(when, status, error message) of every request, and when PostgreSQL came back."""

    restarted_at = 0.0


def _recovered(answers: Answers) -> bool:
    """Whether the last 20 answers, all after the restart, were all answered."""
    recent = answers[-20:]
    return len(recent) == 20 and recent[0][0] > answers.restarted_at \
        and all(status == 200 for _, status, _ in recent)


def _under_load(server: Gunicorn, database: PostgresServer) -> Answers:
    """Four clients asking the API without pause while PostgreSQL is stopped for two seconds
    (open sessions ended, as a restart does) and started again."""
    cookies = server.login(ADMIN, PASSWORD).cookies
    answers = Answers()
    stop = threading.Event()

    def keep_asking() -> None:
        with requests.Session() as browser:
            browser.cookies.update(cookies)
            while not stop.is_set():
                response = browser.get(f"{server.url}/api/v1/overview?range=30d", timeout=30)
                error = response.json().get("error", "") if response.status_code != 200 else ""
                answers.append((time.monotonic(), response.status_code, error))

    clients = [threading.Thread(target=keep_asking) for _ in range(4)]
    for client in clients:
        client.start()
    try:
        time.sleep(1)
        database.stop()
        time.sleep(2)
        database.start()
        answers.restarted_at = time.monotonic()
        while time.monotonic() - answers.restarted_at < 12 and not _recovered(answers):
            time.sleep(0.2)
    finally:
        stop.set()
        for client in clients:
            client.join(timeout=30)
    return answers
