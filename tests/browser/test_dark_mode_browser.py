"""Dark mode as only a browser shows it: the page and a chart's plot area turn dark and back,
without a new request for the chart, and the choice is the user's (it survives a cleared
browser)."""
from __future__ import annotations

import re
import time

import pytest
from dash.testing.composite import DashComposite
from flask import Flask
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import Select

from tests.browser.test_overview_browser import base_url, wait_until
from tests.conftest import ANALYST, PASSWORD, TestDatabase, make_app

PAGE = "/sales?range=30d&grain=day&compare=none"


@pytest.fixture(scope="module")
def browser_app(sqlite_db: TestDatabase) -> Flask:
    """A separate app object: dash_duo runs it in its own server thread."""
    return make_app(sqlite_db.url)


def luminance(css_colour: str) -> float:
    """WCAG relative luminance of a computed 'rgb(…)'/'rgba(…)' colour."""
    red, green, blue = (int(part) / 255 for part in re.findall(r"\d+", css_colour)[:3])

    def linear(channel: float) -> float:
        return channel / 12.92 if channel <= 0.03928 else ((channel + 0.055) / 1.055) ** 2.4
    return 0.2126 * linear(red) + 0.7152 * linear(green) + 0.0722 * linear(blue)


def backgrounds(dash_duo: DashComposite) -> tuple[str, str]:
    """The computed background of the page and of the first chart's plot area."""
    return dash_duo.driver.execute_script("""
        const plot = document.querySelector('.js-plotly-plot .main-svg .bg');
        return [getComputedStyle(document.body).backgroundColor,
                plot ? getComputedStyle(plot).fill : ''];""")


def shades(dash_duo: DashComposite) -> tuple[float, float] | None:
    page, plot = backgrounds(dash_duo)
    return (luminance(page), luminance(plot)) if page and plot else None


def settled_requests(driver: WebDriver, quiet_seconds: float = 1.5) -> int:
    """The number of resources the page has loaded, once no callback request has been made
    for `quiet_seconds` (the page's own late callbacks must not count against the switch)."""
    count = "return performance.getEntriesByType('resource').length"
    seen, since = driver.execute_script(count), time.monotonic()
    while time.monotonic() - since < quiet_seconds:
        time.sleep(0.25)
        now = driver.execute_script(count)
        if now != seen:
            seen, since = now, time.monotonic()
    return int(seen)


def choose(dash_duo: DashComposite, theme: str) -> None:
    Select(dash_duo.find_element("#theme-choice")).select_by_value(theme)


def test_the_theme_switch_darkens_the_page_and_its_charts(dash_duo: DashComposite,
                                                          browser_app: Flask) -> None:
    dash_duo.start_server(browser_app.extensions["dash"], navigate=False)
    driver = dash_duo.driver
    driver.get(base_url(dash_duo) + "/login?next=" + PAGE.replace("&", "%26"))
    dash_duo.wait_for_element("#email").send_keys(ANALYST)
    dash_duo.find_element("#password").send_keys(PASSWORD)
    dash_duo.find_element("#login-submit").click()
    wait_until(lambda: driver.find_elements(By.CSS_SELECTOR, ".js-plotly-plot .main-svg .bg"),
               30, "a chart")
    choose(dash_duo, "light")
    page, plot = wait_until(lambda: shades(dash_duo), what="light backgrounds")
    assert page > 0.8 and plot > 0.8
    requests = settled_requests(driver)

    choose(dash_duo, "dark")
    dark = wait_until(lambda: (s := shades(dash_duo)) and s[0] < 0.05 and s[1] < 0.05 and s,
                      what="dark page and plot area")
    assert driver.find_element(By.TAG_NAME, "html").get_attribute("data-bs-theme") == "dark"
    # Recoloured in the browser: no callback asked for the chart again (only the choice's save).
    callbacks = driver.execute_script("""
        return performance.getEntriesByType('resource').slice(arguments[0])
            .filter(entry => entry.name.includes('_dash-update-component')).length""",
                                      requests)
    assert callbacks <= 1, dark

    # The choice is the user's: a browser that forgot it gets it back from the server.
    driver.execute_script("localStorage.clear()")
    driver.refresh()
    wait_until(lambda: driver.find_elements(By.CSS_SELECTOR, ".js-plotly-plot .main-svg .bg"),
               30, "the chart after a reload")
    wait_until(lambda: (s := shades(dash_duo)) and s[1] < 0.05, what="dark after a reload")

    choose(dash_duo, "light")
    wait_until(lambda: (s := shades(dash_duo)) and s[0] > 0.8 and s[1] > 0.8,
               what="light again")
    choose(dash_duo, "system")  # headless Chromium prefers light
    wait_until(lambda: (s := shades(dash_duo)) and s[0] > 0.8, what="the system's light")
