"""Marketing in a browser: a click on a tab lands in the URL and shows that tab's panels (the
others hidden), the filters kept; a click on a campaign's ROI bar opens its drill-down (that
test starts off the posts tab, so no recommendation model is trained under it). A posts file
uploaded and imported through the Data wizard is on the timeline of the Marketing page."""
from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa
from dash.testing.composite import DashComposite
from flask import Flask
from selenium.webdriver.common.by import By

from tests.browser.test_data_browser import click, make_data_app, open_data_page, text_of
from tests.browser.test_overview_browser import base_url, query_of, wait_until
from tests.browser.test_sales_products_browser import (
    bars,
    click_top_bar,
    dom_id,
    open_link,
    settle,
)
from tests.conftest import TestDatabase, make_app
from tests.fixtures.imports import Fresh

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


# The post ids of the markers the timeline's figure holds (Plotly's own data, as drawn).
MARKER_KEYS_JS = """
const graph = document.querySelector('#marketing-timeline .js-plotly-plot');
return graph && graph.data ? graph.data.flatMap(t => (t.customdata || []).map(String)) : [];
"""


def test_an_imported_posts_file_is_on_the_timeline(dash_duo: DashComposite,
                                                   sqlite_db: TestDatabase,
                                                   tmp_path: Path) -> None:
    # A copy of the demo database, so the import changes no other test's data (SQLite's
    # backup: the file alone may lack what its write-ahead log still holds).
    with sqlite3.connect(sa.make_url(sqlite_db.url).database or "") as source, \
            sqlite3.connect(tmp_path / "demo.db") as copy:
        source.backup(copy)
    fresh = Fresh("sqlite", f"sqlite:///{tmp_path / 'demo.db'}",
                  sa.create_engine(f"sqlite:///{tmp_path / 'demo.db'}"))
    last = dt.date.fromisoformat(str(fresh.scalar("SELECT MAX(sale_date) FROM order_lines")))
    sku = fresh.scalar("SELECT sku FROM products ORDER BY id LIMIT 1")
    posts = tmp_path / "posts.csv"
    posts.write_text("Post ID,Platform,Post type,Posted at,Caption,Product SKU,Likes,Comments\n"
                     f"h2-browser-1,Instagram,reel,{last - dt.timedelta(days=10)} 19:30,"
                     f"Imported in the browser,{sku},140,9\n")
    app = make_data_app(fresh, tmp_path)
    open_data_page(dash_duo, app)
    dash_duo.driver.find_element(By.CSS_SELECTOR, "#data-upload input[type=file]").send_keys(
        str(posts))
    wait_until(lambda: "Media posts" in text_of(dash_duo, "data-recognised"),
               what="the file recognised as posts")
    wait_until(lambda: dash_duo.find_element("#data-check").is_enabled(), what="check button")
    click(dash_duo, "data-check")
    wait_until(lambda: "is ready" in text_of(dash_duo, "data-report-alert"), timeout=60,
               what="check report")
    wait_until(lambda: dash_duo.find_element("#data-import").is_enabled(), what="import button")
    click(dash_duo, "data-import")
    wait_until(lambda: "Loaded 1 of 1 rows" in text_of(dash_duo, "data-report-alert"),
               timeout=60, what="import report")
    post_id = str(fresh.scalar("SELECT id FROM media_posts WHERE external_id = 'h2-browser-1'"))
    dash_duo.driver.get(base_url(dash_duo) + "/marketing?range=30d")
    wait_until(lambda: post_id in dash_duo.driver.execute_script(MARKER_KEYS_JS), timeout=90,
               what=f"the imported post's marker #{post_id} on the timeline")
    settle(dash_duo)
    fresh.engine.dispose()
