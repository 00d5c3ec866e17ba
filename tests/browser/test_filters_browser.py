"""What only a browser shows of the filter chips and a live view: a click on a chip's × lands
in the URL and changes the page, and `refresh=` arms the timer that re-runs the view."""
from __future__ import annotations

import pytest
from dash.testing.composite import DashComposite
from flask import Flask
from selenium.webdriver.common.by import By

from tests.browser.test_overview_browser import (
    log_in,
    platform_labels,
    query_of,
    wait_until,
)
from tests.conftest import TestDatabase, make_app

# The refresh timer's props as the Dash renderer holds them (a dcc.Interval draws nothing).
TIMER_PROPS = """
  const state = window.store.getState();
  let node = state.layout;
  for (const key of state.paths.strs["refresh-timer"]) node = node[key];
  return [node.props.interval, node.props.disabled];
"""


SLOW = 60  # seconds a redraw may take on a busy machine (it takes 1-2 s on an idle one)


@pytest.fixture(scope="module")
def browser_app(sqlite_db: TestDatabase) -> Flask:
    """A separate app object: dash_duo runs it in its own server thread."""
    return make_app(sqlite_db.url)


def chip_labels(dash_duo: DashComposite) -> list[str]:
    """The labels of the chips shown."""
    return [chip.text for chip in dash_duo.driver.find_elements(
        By.CSS_SELECTOR, "#filter-chips .chip-label")]


def test_a_chip_click_removes_its_filter_and_a_live_view_has_its_timer(
        dash_duo: DashComposite, browser_app: Flask) -> None:
    dash_duo.start_server(browser_app.extensions["dash"], navigate=False)
    log_in(dash_duo, "/?range=90d&platform=amazon&platform=instagram&refresh=1m",
           overview=False)
    wait_until(lambda: sorted(platform_labels(dash_duo)) == ["Amazon", "Instagram"],
               timeout=SLOW, what="two platform bars")
    assert chip_labels(dash_duo)[:2] == ["Amazon", "Instagram"]
    assert "refreshing every minute" in chip_labels(dash_duo)
    assert dash_duo.driver.execute_script(TIMER_PROPS) == [60_000, False]
    assert "refreshing every minute" in dash_duo.find_element("#data-status").text

    dash_duo.driver.find_element(
        By.CSS_SELECTOR, "#filter-chips .chip-platform .chip-remove[title='Remove Amazon']").click()
    wait_until(lambda: query_of(dash_duo.driver).get("platform") == ["instagram"], what="URL")
    wait_until(lambda: platform_labels(dash_duo) == ["Instagram"], timeout=SLOW,
               what="one platform bar")
    wait_until(lambda: "Amazon" not in chip_labels(dash_duo), what="the chip gone")
    assert query_of(dash_duo.driver)["refresh"] == ["1m"]

    # The refresh chip stops the timer, and the URL says so.
    dash_duo.driver.find_element(By.CSS_SELECTOR,
                                 "#filter-chips .chip-refresh .chip-remove").click()
    wait_until(lambda: "refresh" not in query_of(dash_duo.driver), what="refresh off in URL")
    wait_until(lambda: dash_duo.driver.execute_script(TIMER_PROPS)[1] is True, what="timer off")
    assert dash_duo.get_logs() == []
