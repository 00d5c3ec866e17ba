"""Sales and Products in a browser: a shared Sales link reopens the same view (country, grain,
metric) and a country bar toggles it; a best seller drills down and the back link returns."""
from __future__ import annotations

import json
import time

import pytest
from dash.testing.composite import DashComposite
from flask import Flask
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement

from tests.browser.test_overview_browser import base_url, find, query_of, wait_until
from tests.conftest import ADMIN, PASSWORD, TestDatabase, make_app


def dom_id(**parts: str) -> str:
    """A pattern-matching Dash id as it appears in the DOM (JSON, sorted keys)."""
    return json.dumps(dict(sorted(parts.items())), separators=(",", ":"))


SALES_TREND = "sales-trend"
COUNTRIES = dom_id(chart="sales-countries", dim="country", type="xfilter")
METRIC = dom_id(name="metric", type="page-param")
COUNTRY = dom_id(name="country", type="page-param")
BEST_SELLERS = dom_id(chart="products-best-sellers", dim="sku", type="xfilter")


@pytest.fixture(scope="module")
def browser_app(sqlite_db: TestDatabase) -> Flask:
    """A separate app object: dash_duo runs it in its own server thread."""
    return make_app(sqlite_db.url)


def open_link(dash_duo: DashComposite, browser_app: Flask, link: str) -> None:
    """Open a shared link in a fresh session: the login form, then the link itself."""
    dash_duo.start_server(browser_app.extensions["dash"], navigate=False)
    dash_duo.driver.delete_all_cookies()
    dash_duo.driver.get(base_url(dash_duo) + "/login?next=" + link.replace("&", "%26"))
    dash_duo.wait_for_element("#email").send_keys(ADMIN)
    dash_duo.find_element("#password").send_keys(PASSWORD)
    dash_duo.find_element("#login-submit").click()


def bars(dash_duo: DashComposite, chart_id: str) -> list[WebElement]:
    """The bar shapes of a chart (empty until it is drawn)."""
    return find(dash_duo, chart_id).find_elements(By.CSS_SELECTOR, ".bars .point path")


def ticks(dash_duo: DashComposite, chart_id: str) -> list[str]:
    """The y-axis labels of a horizontal bar chart, top to bottom."""
    labels = find(dash_duo, chart_id).find_elements(By.CSS_SELECTOR, ".ytick text")
    return [label.text for label in labels][::-1]


def settle(dash_duo: DashComposite) -> None:
    """Wait until no callback is in flight, so the test does not end under a live request."""
    wait_until(lambda: not dash_duo.driver.find_elements(
        By.CSS_SELECTOR, "[data-dash-is-loading='true']"), what="callbacks to finish")
    time.sleep(0.5)


def click_top_bar(dash_duo: DashComposite, chart_id: str) -> None:
    """Click the first (topmost) bar of a horizontal bar chart."""
    top = min(bars(dash_duo, chart_id), key=lambda bar: bar.location["y"])
    ActionChains(dash_duo.driver).move_to_element(top).pause(0.3).click().perform()


def test_a_shared_sales_link_reopens_the_same_view(
        dash_duo: DashComposite, browser_app: Flask) -> None:
    open_link(dash_duo, browser_app,
              "/sales?range=90d&grain=week&compare=none&metric=orders&country=Germany")
    wait_until(lambda: len(find(dash_duo, SALES_TREND).find_elements(
        By.CSS_SELECTOR, ".bars .point")) >= 13, what="weekly trend bars")
    query = query_of(dash_duo.driver)
    assert (query["grain"], query["country"], query["metric"]) == \
        (["week"], ["Germany"], ["orders"])
    checked = dash_duo.driver.find_element(By.CSS_SELECTOR, "#filter-grain input:checked")
    assert checked.get_attribute("value") == "week"
    metric = find(dash_duo, METRIC).find_element(By.CSS_SELECTOR, "input:checked")
    assert metric.get_attribute("value") == "orders"
    assert "Germany" in find(dash_duo, COUNTRY).text
    banner = wait_until(lambda: dash_duo.find_element("#country-banner").text, what="banner")
    assert "Orders to Germany only" in banner
    selected = wait_until(lambda: dash_duo.driver.find_elements(
        By.CSS_SELECTOR, "#sales-country-table tr.table-active"), what="selected row")
    assert selected[0].text.startswith("Germany")

    # Germany is the chosen bar: clicking the largest country (not Germany) switches to it.
    wait_until(lambda: bars(dash_duo, COUNTRIES), what="country bars")
    top = ticks(dash_duo, COUNTRIES)[0]
    assert top != "Germany"
    click_top_bar(dash_duo, COUNTRIES)
    wait_until(lambda: query_of(dash_duo.driver).get("country") == [top], what="new country")
    wait_until(lambda: f"Orders to {top} only" in dash_duo.find_element("#country-banner").text,
               what="banner for the clicked country")
    assert query_of(dash_duo.driver)["grain"] == ["week"]
    settle(dash_duo)
    assert dash_duo.get_logs() == []


def test_a_best_seller_drills_down_and_the_back_link_returns(
        dash_duo: DashComposite, browser_app: Flask) -> None:
    open_link(dash_duo, browser_app, "/products?range=90d&compare=none&platform=online-store")
    wait_until(lambda: bars(dash_duo, BEST_SELLERS), what="best-seller bars")
    top = ticks(dash_duo, BEST_SELLERS)[0]
    sku = top.rsplit("(", 1)[1].rstrip(")")
    click_top_bar(dash_duo, BEST_SELLERS)
    wait_until(lambda: query_of(dash_duo.driver).get("sku") == [sku], what="sku in the URL")
    name = wait_until(lambda: dash_duo.find_element("#product-name").text, what="drill-down")
    assert top.startswith(name[:20].rstrip("…"))
    assert dash_duo.find_element("#products-drill").is_displayed()
    assert not dash_duo.find_element("#products-list").is_displayed()
    assert query_of(dash_duo.driver)["platform"] == ["online-store"]

    dash_duo.find_element("#product-back").click()
    wait_until(lambda: "sku" not in query_of(dash_duo.driver), what="back to all products")
    wait_until(lambda: dash_duo.find_element("#products-list").is_displayed(), what="list")
    assert query_of(dash_duo.driver)["platform"] == ["online-store"]
    assert not dash_duo.find_element("#products-drill").is_displayed()

    dash_duo.driver.back()  # the browser's back button returns to the product
    wait_until(lambda: query_of(dash_duo.driver).get("sku") == [sku], what="back to the drill")
    wait_until(lambda: dash_duo.find_element("#products-drill").is_displayed(), what="drill")
    settle(dash_duo)
    assert dash_duo.get_logs() == []
