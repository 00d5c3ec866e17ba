"""Marketing in a browser: a click on a tab lands in the URL and shows that tab's panels (the
others hidden), the filters kept; a click on a campaign's ROI bar opens its drill-down (that
test starts off the posts tab, so no recommendation model is trained under it). A posts file
imported through the Data wizard's job is on the timeline in tests/callbacks/test_posts_import.py
(the upload control itself is a browser's: tests/browser/test_data_browser.py)."""
from __future__ import annotations

import pytest
from dash.testing.composite import DashComposite
from flask import Flask
from selenium.webdriver.common.by import By

from tests.browser.test_overview_browser import query_of, wait_until
from tests.browser.test_sales_products_browser import (
    bars,
    click_top_bar,
    dom_id,
    open_link,
    settle,
)
from tests.conftest import TestDatabase, make_app

CAMPAIGN_ROI = dom_id(chart="marketing-campaign-roi", dim="campaign", type="xfilter")


@pytest.fixture(scope="module")
def browser_app(sqlite_db: TestDatabase) -> Flask:
    """A separate app object: dash_duo runs it in its own server thread."""
    return make_app(sqlite_db.url)


def test_a_tab_click_and_a_campaign_click_land_in_the_url(dash_duo: DashComposite,
                                                         browser_app: Flask) -> None:
    open_link(dash_duo, browser_app, "/marketing?range=all&window=5&tab=payouts")
    wait_until(lambda: dash_duo.driver.find_elements(By.CSS_SELECTOR, "#marketing-payouts td"),
               timeout=40, what="the payouts table")
    label = next(element for element in dash_duo.driver.find_elements(
        By.CSS_SELECTOR, "label.btn") if element.text == "Influencers")
    label.click()
    wait_until(lambda: query_of(dash_duo.driver).get("tab") == ["influencers"],
               what="the tab in the URL")
    assert query_of(dash_duo.driver)["window"] == ["5"]
    wait_until(lambda: dash_duo.find_element("#marketing-campaigns").is_displayed()
               and not dash_duo.find_element("#marketing-tab-payouts").is_displayed(),
               what="the influencers tab shown and the payouts tab hidden")
    wait_until(lambda: bars(dash_duo, CAMPAIGN_ROI), timeout=30,
               what="the campaign ROI bars")
    click_top_bar(dash_duo, CAMPAIGN_ROI)
    wait_until(lambda: query_of(dash_duo.driver).get("campaign"), what="the campaign in the URL")
    wait_until(lambda: dash_duo.find_element("#marketing-campaign-name").is_displayed(),
               timeout=30, what="the campaign's drill-down")
    settle(dash_duo)
