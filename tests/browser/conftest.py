"""Browser tests: dash_duo in headless Chromium against the app on the SQLite test database."""
from __future__ import annotations

import shutil

import pytest
from selenium.webdriver.chrome.options import Options

from tests.conftest import skip_or_fail

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
