"""Forecasts in a browser: a shared link trains the view's model in the background and then
draws the forecast with its backtest verdict and when it was trained, and the Orders toggle
lands in the URL and redraws the forecast of orders (trained in turn)."""
from __future__ import annotations

from dash.testing.composite import DashComposite
from flask import Flask
from selenium.webdriver.common.by import By

from tests.browser.test_overview_browser import find, query_of, wait_until
from tests.browser.test_sales_products_browser import browser_app as browser_app  # noqa: F401
from tests.browser.test_sales_products_browser import dom_id, open_link, settle

METRIC = dom_id(name="metric", type="page-param")
FIT = 120  # seconds: the background job fits the model and its six backtests


def legend(dash_duo: DashComposite) -> list[str]:
    """The forecast chart's legend entries."""
    return [item.text for item in find(dash_duo, "forecast-chart").find_elements(
        By.CSS_SELECTOR, ".legendtext")]


def test_the_metric_toggle_lands_in_the_url_and_redraws_the_forecast(
        dash_duo: DashComposite, browser_app: Flask) -> None:  # noqa: F811
    open_link(dash_duo, browser_app, "/forecasts?range=90d&compare=none&h=30")
    wait_until(lambda: "backtested mean MAPE" in dash_duo.find_element(
        "#forecast-chart-lead").text, timeout=FIT, what="the trained model's verdict")
    assert "Trained" in find(dash_duo, "forecast-summary").text
    wait_until(lambda: "Actual net revenue" in legend(dash_duo), timeout=FIT, what="chart")
    assert query_of(dash_duo.driver)["h"] == ["30"]

    label = find(dash_duo, METRIC).find_element(By.XPATH, ".//label[text()='Orders']")
    label.click()
    wait_until(lambda: query_of(dash_duo.driver).get("metric") == ["orders"], what="URL")
    wait_until(lambda: "Actual orders" in legend(dash_duo), timeout=FIT, what="orders chart")
    assert query_of(dash_duo.driver)["h"] == ["30"]
    settle(dash_duo)
    assert dash_duo.get_logs() == []
