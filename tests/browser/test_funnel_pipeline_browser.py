"""Funnel and Pipeline in a browser: a platform bar click filters the funnel and lands in the
URL; a stage click on the pipeline funnel filters the open-deals table and lands in the URL."""
from __future__ import annotations

import pytest
from dash.testing.composite import DashComposite
from flask import Flask
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement

from tests.browser.test_overview_browser import find, query_of, wait_until
from tests.browser.test_sales_products_browser import dom_id, open_link, settle
from tests.conftest import TestDatabase, make_app

PLATFORMS = dom_id(chart="funnel-platforms", dim="platform", type="xfilter")
STAGES = dom_id(chart="pipeline-stage-funnel", dim="stage", type="xfilter")
SLOW = 60  # seconds a first draw may take on a busy machine (a few on an idle one)


@pytest.fixture(scope="module")
def browser_app(sqlite_db: TestDatabase) -> Flask:
    """A separate app object: dash_duo runs it in its own server thread."""
    return make_app(sqlite_db.url)


def points(dash_duo: DashComposite, chart_id: str) -> list[WebElement]:
    """The bar (or funnel step) shapes of a chart, empty until it is drawn."""
    return find(dash_duo, chart_id).find_elements(By.CSS_SELECTOR, ".point path")


def click(dash_duo: DashComposite, shape: WebElement) -> None:
    """Click a chart's shape as a user would."""
    ActionChains(dash_duo.driver).move_to_element(shape).pause(0.3).click().perform()


def cell_texts(dash_duo: DashComposite, table: str, column: str) -> list[str]:
    """The texts of one column of an AG Grid's rendered rows."""
    cells = dash_duo.driver.find_elements(
        By.CSS_SELECTOR, f"#{table} .ag-center-cols-container [col-id='{column}']")
    return [cell.text for cell in cells]


def test_a_platform_bar_filters_the_funnel(dash_duo: DashComposite,
                                           browser_app: Flask) -> None:
    open_link(dash_duo, browser_app, "/funnel?range=90d&grain=week&compare=none")
    wait_until(lambda: points(dash_duo, PLATFORMS), timeout=SLOW, what="platform bars")
    sessions = wait_until(lambda: dash_duo.find_element("#funnel-steps-table td.text-end").text,
                          what="the step table")
    legend = [item.text for item in find(dash_duo, PLATFORMS).find_elements(
        By.CSS_SELECTOR, ".legendtext")]
    assert any("·" in name for name in legend)  # each platform's overall conversion
    click(dash_duo, points(dash_duo, PLATFORMS)[0])
    chosen = wait_until(lambda: query_of(dash_duo.driver).get("platform"),
                        what="a platform in the URL")
    assert len(chosen) == 1 and query_of(dash_duo.driver)["grain"] == ["week"]
    wait_until(lambda: dash_duo.find_element("#funnel-steps-table td.text-end").text != sessions,
               what="the funnel of one platform")
    wait_until(lambda: len(find(dash_duo, PLATFORMS).find_elements(
        By.CSS_SELECTOR, ".legendtext")) == 1, what="one platform's bars")
    settle(dash_duo)
    assert dash_duo.get_logs() == []


def test_a_stage_click_filters_the_open_deals(dash_duo: DashComposite,
                                              browser_app: Flask) -> None:
    open_link(dash_duo, browser_app, "/pipeline?range=12m&compare=none")
    wait_until(lambda: len(points(dash_duo, STAGES)) == 5, timeout=SLOW, what="the stage funnel")
    wait_until(lambda: len(set(cell_texts(dash_duo, "pipeline-open", "stage"))) > 1,
               what="open deals of several stages")
    proposal = points(dash_duo, STAGES)[2]  # lead, qualified, proposal, negotiation, won
    click(dash_duo, proposal)
    wait_until(lambda: query_of(dash_duo.driver).get("stage") == ["proposal"],
               what="the stage in the URL")
    wait_until(lambda: set(cell_texts(dash_duo, "pipeline-open", "stage")) == {"proposal"},
               what="only proposal deals")
    note = dash_duo.find_element("#pipeline-open-note").text
    assert "stage proposal" in note
    settle(dash_duo)
    assert dash_duo.get_logs() == []
