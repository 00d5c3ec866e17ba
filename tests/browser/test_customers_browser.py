"""Customers in a browser: clicking an RFM segment and then a cohort cell lands in the URL and
lists that segment's customers and that cohort month by month."""
from __future__ import annotations

from dash.testing.composite import DashComposite
from flask import Flask
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By

from tests.browser.test_overview_browser import find, query_of, wait_until
from tests.browser.test_sales_products_browser import (  # noqa: F401 - the fixture
    browser_app,
    dom_id,
    open_link,
    settle,
)

SEGMENTS = dom_id(chart="customers-rfm", dim="segment", type="xfilter")
COHORTS = dom_id(chart="customers-cohorts", dim="acquired", type="xfilter")


def test_clicking_a_segment_and_a_cohort_cell_lands_in_the_url(
        dash_duo: DashComposite, browser_app: Flask) -> None:  # noqa: F811 - the fixture
    open_link(dash_duo, browser_app, "/customers?range=12m&compare=none")
    tiles = wait_until(lambda: find(dash_duo, SEGMENTS).find_elements(
        By.CSS_SELECTOR, "g.slice"), timeout=40, what="the RFM tiles")
    champions = wait_until(lambda: next(tile for tile in tiles
                                        if tile.text.startswith("Champions")),
                           what="the Champions tile")
    ActionChains(dash_duo.driver).move_to_element(champions).pause(0.3).click().perform()
    wait_until(lambda: query_of(dash_duo.driver).get("segment") == ["Champions"],
               what="segment=Champions in the URL")
    wait_until(lambda: "customers in Champions" in dash_duo.find_element(
        "#customers-segment-members-note").text, what="the segment's customers")
    # The first cohort's first month: the top-left cell of the heatmap.
    wait_until(lambda: find(dash_duo, COHORTS).find_elements(By.CSS_SELECTOR, ".hm image"),
               timeout=40, what="the cohort heatmap")
    area = find(dash_duo, COHORTS).find_element(By.CSS_SELECTOR, ".nsewdrag")
    dash_duo.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", area)
    # Selenium 4.2 counts the offset from the element's top-left corner.
    ActionChains(dash_duo.driver).move_to_element_with_offset(area, 12, 12).pause(0.3) \
        .click().perform()
    wait_until(lambda: query_of(dash_duo.driver).get("acquired"), what="acquired= in the URL")
    query = query_of(dash_duo.driver)
    assert query["segment"] == ["Champions"] and query["acquired"][0].endswith("-01")
    wait_until(lambda: dash_duo.find_element("#customers-cohort-detail-note").text
               .startswith("Cohort of"), what="the cohort's detail")
    settle(dash_duo)
