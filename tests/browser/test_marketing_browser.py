"""Marketing in a browser: a click on a tab lands in the URL and shows that tab's panels
(the posts' panels hidden), the filters kept."""
from __future__ import annotations

import pytest
from dash.testing.composite import DashComposite
from flask import Flask
from selenium.webdriver.common.by import By

from tests.browser.test_overview_browser import query_of, wait_until
from tests.browser.test_sales_products_browser import open_link, settle
from tests.conftest import TestDatabase, make_app


@pytest.fixture(scope="module")
def browser_app(sqlite_db: TestDatabase) -> Flask:
    """A separate app object: dash_duo runs it in its own server thread."""
    return make_app(sqlite_db.url)


def test_a_tab_click_lands_in_the_url_and_shows_its_panels(dash_duo: DashComposite,
                                                           browser_app: Flask) -> None:
    open_link(dash_duo, browser_app, "/marketing?range=12m&window=5")
    wait_until(lambda: dash_duo.find_element("#marketing-summary").text, timeout=40,
               what="the posts summary")
    label = next(element for element in dash_duo.driver.find_elements(
        By.CSS_SELECTOR, "label.btn") if element.text == "Influencers")
    label.click()
    wait_until(lambda: query_of(dash_duo.driver).get("tab") == ["influencers"],
               what="the tab in the URL")
    assert query_of(dash_duo.driver)["window"] == ["5"]
    wait_until(lambda: dash_duo.driver.find_elements(By.CSS_SELECTOR, "#marketing-campaigns td"),
               what="the campaign table")
    wait_until(lambda: dash_duo.find_element("#marketing-campaigns").is_displayed()
               and not dash_duo.find_element("#marketing-tab-posts").is_displayed(),
               what="the influencers tab shown and the posts tab hidden")
    settle(dash_duo)
