"""A real outage: the app reaches PostgreSQL through a loopback TCP proxy that the test cuts
and restores. /healthz answers 503 quickly, pages and callbacks say the database is down,
and everything works again when it is back — without a restart."""
from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from flask import Flask

from dashapp.errors import DATABASE_DOWN
from tests.conftest import TestDatabase, login, make_app


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
