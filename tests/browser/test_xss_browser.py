"""Stored XSS: product names from an imported file are shown as text, never run."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from dash.testing.composite import DashComposite
from flask import Flask
from selenium.webdriver.common.by import By

from dashapp.extensions import db
from models import Order, OrderLine, Platform, Product
from services import rollups
from services.demo_data import DEFAULT_END, generate_demo_data
from services.users import create_user
from tests.browser.test_overview_browser import base_url, wait_until
from tests.conftest import ADMIN, PASSWORD, make_app, migrate

PAYLOADS = ('<img src=x onerror="window.__xss=1">',
            '<script>window.__xss=2</script>',
            '<a href="javascript:window.__xss=3">click</a>')


@pytest.fixture(scope="module")
def hostile_app(tmp_path_factory: pytest.TempPathFactory) -> Flask:
    """A small database whose best-selling products carry script in their names."""
    app = make_app(f"sqlite:///{Path(tmp_path_factory.mktemp('xss')) / 'xss.db'}")
    migrate(app)
    with app.app_context():
        generate_demo_data(db.session, lines=2_000, seed=3)
        create_user(db.session, ADMIN, PASSWORD, "admin")
        platform = db.session.query(Platform).filter_by(slug="online-store").one()
        day = DEFAULT_END
        for number, name in enumerate(PAYLOADS):
            product = Product(sku=f"XSS-{number}", name=name, category=name, active=True)
            order = Order(order_number=f"XSS-{number}", ordered_at=dt.datetime(2026, 10, 31, 12),
                          sale_date=day, sale_hour=12, platform_id=platform.id)
            db.session.add_all([product, order])
            db.session.flush()
            db.session.add(OrderLine(order_id=order.id, product_id=product.id, quantity=100,
                                     unit_price=999.0, sale_date=day, sale_hour=12,
                                     platform_id=platform.id))
        rollups.refresh(db.session, day, day)
        db.session.commit()
    return app


def test_hostile_product_names_are_text(dash_duo: DashComposite, hostile_app: Flask) -> None:
    dash_duo.start_server(hostile_app.extensions["dash"], navigate=False)
    dash_duo.driver.get(base_url(dash_duo) + "/login?next=/%3Frange%3D7d")
    dash_duo.wait_for_element("#email").send_keys(ADMIN)
    dash_duo.find_element("#password").send_keys(PASSWORD)
    dash_duo.find_element("#login-submit").click()
    page_text = wait_until(lambda: "XSS-0" in dash_duo.driver.find_element(
        By.TAG_NAME, "body").text and dash_duo.driver.find_element(By.TAG_NAME, "body").text,
        what="the hostile products in the top products chart")
    assert "<script>" in page_text or "onerror" in page_text  # shown literally
    dash_duo.find_element("#filter-product").click()
    dash_duo.driver.switch_to.active_element.send_keys("XSS")
    wait_until(lambda: len(dash_duo.driver.find_elements(
        By.CSS_SELECTOR, ".dash-dropdown-option")) == len(PAYLOADS), what="search results")
    for link in dash_duo.driver.find_elements(By.CSS_SELECTOR, "a[href^='javascript']"):
        link.click()
    assert dash_duo.driver.execute_script("return window.__xss === undefined")
