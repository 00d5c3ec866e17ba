"""What only a browser shows: login, URL state, deep links, back/forward, cross-filtering."""
from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from dash.testing.composite import DashComposite
from flask import Flask
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement

from tests.conftest import ADMIN, PASSWORD, TestDatabase, make_app

PLATFORM_CHART = json.dumps({"chart": "overview-platforms", "dim": "platform", "type": "xfilter"},
                            separators=(",", ":"))
NET_REVENUE = json.dumps({"metric": "net_revenue", "type": "kpi-value"}, separators=(",", ":"))


@pytest.fixture(scope="module")
def browser_app(sqlite_db: TestDatabase) -> Flask:
    """A separate app object: dash_duo runs it in its own server thread."""
    return make_app(sqlite_db.url)


# The Overview's first view also trains its forecast in a background process: on a loaded
# two-core machine its panels can take longer than a user would wait, never forever.
def wait_until(condition: Callable[[], Any], timeout: float = 60, what: str = "") -> Any:
    """Poll `condition` until it returns something truthy."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = condition()
            if value:
                return value
        except Exception as error:  # the DOM is being re-rendered under us
            last_error = error
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what or condition}: {last_error}")


def find(dash_duo: DashComposite, dom_id: str) -> WebElement:
    """Element by a pattern-matching Dash id (JSON with quotes, which CSS selectors choke on)."""
    return dash_duo.driver.find_element(By.XPATH, f"//*[@id='{dom_id}']")


def scroll_to_centre(dash_duo: DashComposite, element: WebElement) -> None:
    """Scroll `element` to the middle of the window at once.

    Bootstrap turns on smooth scrolling, so a plain scrollIntoView is still moving when the
    next click lands and the click hits whatever passes under the pointer.
    """
    dash_duo.driver.execute_script(
        "arguments[0].scrollIntoView({block: 'center', behavior: 'instant'})", element)


def base_url(dash_duo: DashComposite) -> str:
    """The test server's address (server_url is only set when dash_duo navigates itself)."""
    return dash_duo.server.url.rstrip("/")


def query_of(driver: WebDriver) -> dict[str, list[str]]:
    """The current URL's query string, parsed."""
    return parse_qs(urlsplit(driver.current_url).query)


def log_in(dash_duo: DashComposite, next_path: str = "/", overview: bool = True) -> None:
    """Log in through the form (and wait for the Overview figures when landing there)."""
    dash_duo.driver.get(base_url(dash_duo) + "/login?next=" + next_path.replace("&", "%26"))
    dash_duo.wait_for_element("#email").send_keys(ADMIN)
    dash_duo.find_element("#password").send_keys(PASSWORD)
    dash_duo.find_element("#login-submit").click()
    if overview:
        wait_for_figures(dash_duo)


def kpi_text(dash_duo: DashComposite) -> str:
    """The net revenue card's value."""
    return find(dash_duo, NET_REVENUE).text


def wait_for_figures(dash_duo: DashComposite) -> None:
    """Wait until the KPI cards and the platform chart have been drawn."""
    wait_until(lambda: kpi_text(dash_duo) not in ("", "…"), what="KPI values")
    wait_until(lambda: find(dash_duo, PLATFORM_CHART).find_elements(
        By.CSS_SELECTOR, ".bars .point"), what="platform bars")


def platform_labels(dash_duo: DashComposite) -> list[str]:
    """The y-axis labels of the platform chart, top to bottom."""
    chart = find(dash_duo, PLATFORM_CHART)
    return [tick.text for tick in chart.find_elements(By.CSS_SELECTOR, ".ytick text")][::-1]


def dropdown_labels(dash_duo: DashComposite, dom_id: str) -> list[str]:
    """Labels of the values selected in a Dash 4 multi dropdown (some are visually clipped)."""
    items = dash_duo.driver.find_elements(By.CSS_SELECTOR, f"#{dom_id} .dash-dropdown-value-item")
    return [item.get_attribute("textContent").strip() for item in items]


def nav_query(dash_duo: DashComposite, path: str) -> dict[str, list[str]]:
    """The query of the menu's link to `path`."""
    link = find(dash_duo, json.dumps({"path": path, "type": "nav-link"}, separators=(",", ":")))
    return parse_qs(urlsplit(link.get_attribute("href")).query)


def choose_platform(dash_duo: DashComposite, name: str) -> None:
    """Open the platform dropdown and pick `name`."""
    dash_duo.find_element("#filter-platform").click()
    option = wait_until(lambda: [o for o in dash_duo.driver.find_elements(
        By.CSS_SELECTOR, ".dash-dropdown-option") if o.text.strip() == name], what=name)[0]
    option.click()
    dash_duo.driver.find_element(By.TAG_NAME, "body").click()  # close the menu


def test_login_renders_the_overview_without_console_errors(
        dash_duo: DashComposite, browser_app: Flask) -> None:
    dash_duo.start_server(browser_app.extensions["dash"], navigate=False)
    dash_duo.driver.get(base_url(dash_duo) + "/")
    assert "/login" in dash_duo.driver.current_url  # logged out: the form, not the app
    log_in(dash_duo)
    assert query_of(dash_duo.driver)["range"] == ["30d"]
    assert "Last 30 days of data" in dash_duo.find_element("#period-label").text
    assert len(platform_labels(dash_duo)) >= 3
    # The health card (issue 16): its score out of 100, drawn by its own callback.
    wait_until(lambda: "of 100" in find(dash_duo, "overview-health").text, what="health score")
    assert dash_duo.get_logs() == []


def test_platform_filter_updates_url_and_figures_and_back_restores(
        dash_duo: DashComposite, browser_app: Flask) -> None:
    dash_duo.start_server(browser_app.extensions["dash"], navigate=False)
    log_in(dash_duo, "/?range=90d&compare=prev")
    before_revenue = kpi_text(dash_duo)
    choose_platform(dash_duo, "Instagram")
    wait_until(lambda: query_of(dash_duo.driver).get("platform") == ["instagram"], what="URL")
    wait_until(lambda: kpi_text(dash_duo) != before_revenue, what="new KPI value")
    wait_until(lambda: platform_labels(dash_duo) == ["Instagram"], what="one platform bar")
    # The menu's links keep the filters (the browser writes them from the store).
    wait_until(lambda: nav_query(dash_duo, "/products") == {
        "range": ["90d"], "platform": ["instagram"], "grain": ["day"], "compare": ["prev"]},
        what="the Products link with the filters")

    dash_duo.driver.back()
    wait_until(lambda: "platform" not in query_of(dash_duo.driver), what="URL after back")
    wait_until(lambda: kpi_text(dash_duo) == before_revenue, what="KPI after back")
    wait_until(lambda: len(platform_labels(dash_duo)) > 1, what="all platforms after back")
    assert dropdown_labels(dash_duo, "filter-platform") == []
    assert dash_duo.get_logs() == []


def test_deep_link_in_a_fresh_session_restores_controls_and_figures(
        dash_duo: DashComposite, browser_app: Flask) -> None:
    link = ("/?from=2026-01-01&to=2026-03-31&platform=amazon&platform=online-store"
            "&grain=week&compare=yoy&roll=30")
    dash_duo.start_server(browser_app.extensions["dash"], navigate=False)
    dash_duo.driver.delete_all_cookies()
    log_in(dash_duo, link)
    query = query_of(dash_duo.driver)
    assert query["platform"] == ["amazon", "online-store"]
    assert (query["from"], query["to"], query["grain"], query["roll"]) == \
        (["2026-01-01"], ["2026-03-31"], ["week"], ["30"])
    label = dash_duo.find_element("#period-label").text
    # Year over year by week: 52 weeks earlier, so the weekdays line up.
    assert label == "1 Jan – 31 Mar 2026 vs 2 Jan – 1 Apr 2025"
    assert dropdown_labels(dash_duo, "filter-platform") == ["Amazon", "Online Store"]
    assert sorted(platform_labels(dash_duo)) == ["Amazon", "Online Store"]
    checked = dash_duo.driver.find_element(By.CSS_SELECTOR, "#filter-grain input:checked")
    assert checked.get_attribute("value") == "week"
    assert dash_duo.driver.find_element(By.ID, "filter-dates").get_attribute("value") \
        == "1 Jan 2026"
    assert dash_duo.get_logs() == []


def test_invalid_link_parameters_show_a_notice(dash_duo: DashComposite, browser_app: Flask) -> None:
    dash_duo.start_server(browser_app.extensions["dash"], navigate=False)
    log_in(dash_duo, "/?range=fortnight&platform=atlantis&grain=week")
    notice = wait_until(lambda: dash_duo.find_element("#notice-alert").text, what="notice")
    assert "fortnight" in notice and "atlantis" in notice
    query = query_of(dash_duo.driver)
    assert query["range"] == ["30d"] and query["grain"] == ["week"]
    assert "platform" not in query


def test_clicking_a_platform_bar_filters_by_it(dash_duo: DashComposite, browser_app: Flask) -> None:
    dash_duo.start_server(browser_app.extensions["dash"], navigate=False)
    log_in(dash_duo, "/?range=12m&compare=none")
    top = platform_labels(dash_duo)[0]
    chart = find(dash_duo, PLATFORM_CHART)
    bars = chart.find_elements(By.CSS_SELECTOR, ".bars .point path")
    top_bar = min(bars, key=lambda bar: bar.location["y"])  # the largest bar is drawn on top
    ActionChains(dash_duo.driver).move_to_element(top_bar).pause(0.3).click().perform()
    wait_until(lambda: query_of(dash_duo.driver).get("platform"), what="platform in URL")
    slug = query_of(dash_duo.driver)["platform"]
    wait_until(lambda: platform_labels(dash_duo) == [top], what="chart filtered to the bar")
    assert top.lower().replace(" ", "-") == slug[0]
    assert dropdown_labels(dash_duo, "filter-platform") == [top]
