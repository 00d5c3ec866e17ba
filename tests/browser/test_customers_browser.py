"""Customers in a browser: clicking an RFM segment and then a cohort cell lands in the URL and
lists that segment's customers and that cohort month by month; the order-country picker (the
Sales page's, its options filled on this page too) puts the country in the URL."""
from __future__ import annotations

from dash.testing.composite import DashComposite
from flask import Flask
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement

from dashapp.extensions import db
from dashapp.filters import parse_query
from layouts import customers as page
from layouts.panels import effective
from services import model_store
from services.sales import resolve
from services.scope import Scope
from tests.browser.test_overview_browser import find, query_of, scroll_to_centre, wait_until
from tests.browser.test_sales_products_browser import (  # noqa: F401 - the fixture
    browser_app,
    dom_id,
    open_link,
    settle,
)

COUNTRY = dom_id(name="country", type="page-param")
SEGMENTS = dom_id(chart="customers-rfm", dim="segment", type="xfilter")
COHORTS = dom_id(chart="customers-cohorts", dim="acquired", type="xfilter")


def _train_models(app: Flask, query: str) -> None:
    """The view's models stored before the page opens: no training job runs under the test
    (this test is about clicks; the job's own tests are in tests/dashapp)."""
    with app.app_context():
        view = parse_query(query, page.PARAMS)
        period = resolve(db.session, Scope(), view.filters)
        for job in page.MODELS:
            panel = next(panel for panel in page.PANELS if panel.key == job.panel)
            filters, dates = effective(panel, view, period)
            if model_store.stored(db.session, job.key(Scope(), filters, dates)) is None:
                job.train(db.session, Scope(), filters, dates)


def _champions(dash_duo: DashComposite) -> WebElement:
    # Looked up again on every try: the treemap may be drawn again meanwhile.
    tiles = find(dash_duo, SEGMENTS).find_elements(By.CSS_SELECTOR, "g.slice")
    return next(tile for tile in tiles if tile.text.startswith("Champions"))


def _click_instantly(dash_duo: DashComposite, element: WebElement) -> bool:
    """Scroll without Bootstrap's smooth animation, then click: a click computed mid-scroll
    lands above the window ("not clickable at point (180, -1211)" in CI)."""
    scroll_to_centre(dash_duo, element)
    element.click()
    return True


def test_clicking_a_segment_and_a_cohort_cell_lands_in_the_url(
        dash_duo: DashComposite, browser_app: Flask) -> None:  # noqa: F811 - the fixture
    _train_models(browser_app, "range=12m&compare=none")
    open_link(dash_duo, browser_app, "/customers?range=12m&compare=none")
    champions = wait_until(lambda: _champions(dash_duo), timeout=60, what="the Champions tile")
    ActionChains(dash_duo.driver).move_to_element(champions).pause(0.3).click().perform()
    wait_until(lambda: query_of(dash_duo.driver).get("segment") == ["Champions"],
               what="segment=Champions in the URL")
    wait_until(lambda: "customers in Champions" in dash_duo.find_element(
        "#customers-segment-members-note").text, what="the segment's customers")
    # The first cohort's first month: the top-left cell of the heatmap.
    wait_until(lambda: find(dash_duo, COHORTS).find_elements(By.CSS_SELECTOR, ".hm image"),
               timeout=60, what="the cohort heatmap")
    area = find(dash_duo, COHORTS).find_element(By.CSS_SELECTOR, ".nsewdrag")
    scroll_to_centre(dash_duo, area)
    # Selenium 4.2 counts the offset from the element's top-left corner.
    ActionChains(dash_duo.driver).move_to_element_with_offset(area, 12, 12).pause(0.3) \
        .click().perform()
    wait_until(lambda: query_of(dash_duo.driver).get("acquired"), what="acquired= in the URL")
    query = query_of(dash_duo.driver)
    assert query["segment"] == ["Champions"] and query["acquired"][0].endswith("-01")
    wait_until(lambda: dash_duo.find_element("#customers-cohort-detail-note").text
               .startswith("Cohort of"), what="the cohort's detail")
    wait_until(lambda: _click_instantly(dash_duo, find(dash_duo, COUNTRY)),
               what="the country picker")
    germany = wait_until(lambda: next(option for option in dash_duo.driver.find_elements(
        By.CSS_SELECTOR, ".dash-dropdown-option") if option.text.strip() == "Germany"),
        what="Germany among the picker's options")
    germany.click()
    wait_until(lambda: query_of(dash_duo.driver).get("country") == ["Germany"],
               what="country=Germany in the URL")
    settle(dash_duo)
