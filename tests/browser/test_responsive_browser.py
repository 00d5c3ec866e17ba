"""Every page on a phone and a laptop, as only a browser shows it: the document is never wider
than the window, no chart is left with Plotly's default empty axes, and on a phone the menu
collapses and the filters open as a drawer from a one-line summary."""
from __future__ import annotations

import contextlib
import operator

import pytest
from dash.testing.composite import DashComposite
from flask import Flask

from layouts.pages import PAGES
from tests.browser.test_overview_browser import base_url, find, log_in, wait_until
from tests.conftest import TestDatabase, make_app

SIZES = ((390, 844), (1280, 900))
# True once nothing is loading and every chart has been drawn by its callback (data, or an
# empty-state figure with its axes hidden): never Plotly's default axes.
SETTLED = """
  if (document.querySelector('[data-dash-is-loading="true"]')) return false;
  const plots = [...document.querySelectorAll('.js-plotly-plot')];
  return plots.every(p => p.data && (p.data.length > 0 ||
                                     (p.layout.xaxis && p.layout.xaxis.visible === false)));
"""
# The charts drawn, at this moment, with Plotly's default axes (tick labels on screen and no
# data): a chart waiting for its first answer, or a sparkline whose axes the CSS must hide.
DEFAULT_AXES = """
  return [...document.querySelectorAll('.js-plotly-plot')]
    .filter(p => !(p.data && p.data.length) && [...p.querySelectorAll('.xtick text, .ytick text')]
                   .some(t => t.getClientRects().length && t.textContent))
    .map(p => (p.closest('[id]') || p).id);
"""
WIDTH = "return [document.documentElement.scrollWidth, document.documentElement.clientWidth]"


@pytest.fixture(scope="module")
def browser_app(sqlite_db: TestDatabase) -> Flask:
    """A separate app object: dash_duo runs it in its own server thread."""
    return make_app(sqlite_db.url)


def test_every_page_fits_a_phone_and_a_laptop(dash_duo: DashComposite,
                                              browser_app: Flask) -> None:
    dash_duo.start_server(browser_app.extensions["dash"], navigate=False)
    log_in(dash_duo, "/", overview=False)
    driver = dash_duo.driver
    too_wide, default_axes = [], []

    def settled() -> bool:
        """Whether the page has settled; on the way, any chart with default axes is noted
        (while loading, too: the blank loading figure hides them)."""
        shown = driver.execute_script(DEFAULT_AXES)
        width = driver.execute_script("return window.innerWidth")
        default_axes.extend(f"{driver.current_url} at {width} px: {plot}" for plot in shown)
        return bool(driver.execute_script(SETTLED))

    def fits(page: str, width: int, height: int) -> None:
        """In a window of this size, the document is no wider than the window (charts are
        given a moment to follow a resize)."""
        driver.set_window_size(width, height)
        # The window has taken its new width (a phone's window is narrower than a laptop's
        # before the resize too: "at most" would not wait).
        wait_until(lambda: abs(driver.execute_script(WIDTH)[1] - width) <= 20,
                   what=f"{width} px window")
        with contextlib.suppress(AssertionError):
            wait_until(lambda: operator.le(*driver.execute_script(WIDTH)), timeout=3)
        document, window = driver.execute_script(WIDTH)
        if document > window:
            too_wide.append(f"{page} at {width} px: {document} px wide")

    # Each page is loaded once, on the phone, then looked at again in a laptop's window: the
    # layout is the stylesheet's (media queries) and Plotly's (responsive), not the server's.
    (phone, laptop) = SIZES
    for page in PAGES:
        driver.set_window_size(*phone)
        driver.get(base_url(dash_duo) + page.path)
        wait_until(settled, timeout=30, what=f"{page.path} at {phone[0]} px to settle")
        fits(page.path, *phone)
        fits(page.path, *laptop)
        wait_until(settled, timeout=30, what=f"{page.path} at {laptop[0]} px to settle")
    assert not too_wide, too_wide
    assert not default_axes, sorted(set(default_axes))
    assert dash_duo.get_logs() == []


def test_on_a_phone_the_menu_collapses_and_the_filters_are_a_drawer(
        dash_duo: DashComposite, browser_app: Flask) -> None:
    dash_duo.start_server(browser_app.extensions["dash"], navigate=False)
    dash_duo.driver.set_window_size(390, 844)
    log_in(dash_duo, "/?range=90d&platform=amazon&compare=yoy", overview=False)
    summary = wait_until(lambda: find(dash_duo, "filter-summary").text, what="summary")
    assert summary == "Last 90 days · 1 platform · vs same period last year"
    assert not find(dash_duo, "filter-drawer").is_displayed()
    assert not find(dash_duo, "nav-links").is_displayed()

    find(dash_duo, "filter-open").click()
    wait_until(lambda: find(dash_duo, "filter-drawer").is_displayed(), what="drawer")
    find(dash_duo, "filter-done").click()
    wait_until(lambda: not find(dash_duo, "filter-drawer").is_displayed(), what="closed")

    find(dash_duo, "nav-toggle").click()
    link = wait_until(lambda: next(a for a in find(dash_duo, "nav-links").find_elements(
        "css selector", "a") if a.is_displayed() and a.text == "Sales"), what="menu")
    link.click()
    wait_until(lambda: "/sales?" in dash_duo.driver.current_url, what="the Sales page")
    # Going to a page closes the menu, and the link kept the filters.
    wait_until(lambda: not find(dash_duo, "nav-links").is_displayed(), what="menu closed")
    assert "platform=amazon" in dash_duo.driver.current_url
    # Let the page finish: a request still running when the server stops fails the teardown.
    wait_until(lambda: dash_duo.driver.execute_script(SETTLED), timeout=30, what="Sales")
