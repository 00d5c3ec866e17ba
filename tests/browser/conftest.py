"""Browser tests: dash_duo in headless Chromium against the app on the SQLite test database."""
from __future__ import annotations

import contextlib
import os
import shutil
import threading
import time
from collections.abc import Iterator

import pytest
from dash.testing.application_runners import BaseDashRunner
from selenium.webdriver.chrome.options import Options

from tests.conftest import skip_or_fail

# dash_duo serves each test on the next port from 58050; two suites on one machine (two
# checkouts) pick their own range with PULSEBOARD_TEST_PORT_BASE so they never share one.
# Each xdist worker ("gw0", "gw1", …) takes the next thousand.
_WORKER = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
BaseDashRunner._next_port = (int(os.environ.get("PULSEBOARD_TEST_PORT_BASE", "58050"))
                             + 1000 * _WORKER)

# Without these, Chromium keeps trying to reach Google's services on a closed network.
QUIET_FLAGS = ("--no-first-run", "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--disable-quic", "--disable-extensions", "--disable-gpu",
               "--window-size=1400,1000")


def pytest_setup_options() -> Options:
    """dash[testing] hook: extra Chromium flags (it must return one Options object)."""
    options = Options()
    for flag in QUIET_FLAGS:
        options.add_argument(flag)
    return options


@pytest.fixture(autouse=True)
def _needs_chromium(request: pytest.FixtureRequest) -> None:
    if shutil.which("chromedriver") is None or shutil.which("chromium") is None:
        skip_or_fail("browser tests need Debian's chromium and chromium-driver")
    if not request.config.getoption("headless", default=False):
        skip_or_fail("browser tests run headless only: pass --headless (make test does)")


REQUEST_THREAD = "process_request_thread"  # werkzeug's name for a thread serving a request


@pytest.fixture(autouse=True)
def _server_idle_before_it_stops(request: pytest.FixtureRequest) -> Iterator[None]:
    """Let the test server finish what the page asked for before dash_duo stops it.

    A page may still be computing when a test ends (a forecast fit, a model panel); a
    request thread cut off by the server's shutdown fails the test's teardown. The browser
    leaves the page first, so nothing new is asked, then the open requests run out.
    """
    if "dash_duo" not in request.fixturenames:
        yield
        return
    dash_duo = request.getfixturevalue("dash_duo")  # set up first, so torn down after this
    yield
    with contextlib.suppress(Exception):
        dash_duo.driver.get("about:blank")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and any(
            REQUEST_THREAD in thread.name and thread.is_alive()
            for thread in threading.enumerate()):
        time.sleep(0.2)
