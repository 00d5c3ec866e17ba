"""The import wizard in a browser: upload the UCI slice, see it recognised, check it, import it
(a background job with progress) and read the report and the history."""
from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from selenium.webdriver.common.by import By

from dashapp.extensions import db
from services.users import create_user
from tests.browser.test_overview_browser import base_url, wait_until
from tests.conftest import PASSWORD, make_app
from tests.fixtures.imports import (  # noqa: F401 - the fixtures are used by name
    UCI_SLICE,
    Fresh,
    fresh_sqlite_fixture,
    sqlite_template_fixture,
    uci_frame,
)

EMAIL = "importer@example.com"


@pytest.fixture
def data_app(fresh_sqlite: Fresh, tmp_path: Path) -> Flask:
    """An app on an empty database with one analyst; uploads and jobs in a temp folder."""
    app = make_app(fresh_sqlite.url, UPLOAD_FOLDER=str(tmp_path / "uploads"),
                   BACKGROUND_CACHE_DIR=str(tmp_path / "jobs"), TIMEZONE="Europe/London")
    with app.app_context():
        create_user(db.session, EMAIL, PASSWORD, "analyst")
        db.session.commit()
        db.engine.dispose()
    return app


def click(dash_duo, dom_id: str) -> None:  # type: ignore[no-untyped-def]
    """Click by script: the wizard is long and a real click may land on what scrolled over."""
    dash_duo.driver.execute_script(f"document.getElementById('{dom_id}').click()")


def text_of(dash_duo, dom_id: str) -> str:  # type: ignore[no-untyped-def]
    """The text of an element, or '' while it is not there."""
    found = dash_duo.driver.find_elements(By.ID, dom_id)
    return found[0].text if found else ""


def test_upload_check_and_import_through_the_wizard(dash_duo, data_app: Flask,  # type: ignore[no-untyped-def]
                                                    fresh_sqlite: Fresh) -> None:
    dash_duo.start_server(data_app.extensions["dash"], navigate=False)
    dash_duo.driver.get(base_url(dash_duo) + "/login?next=/data")
    dash_duo.wait_for_element("#email").send_keys(EMAIL)
    dash_duo.find_element("#password").send_keys(PASSWORD)
    dash_duo.find_element("#login-submit").click()
    dash_duo.wait_for_element("#data-upload")
    wait_until(lambda: "No file has been imported yet" in text_of(dash_duo, "data-history"),
               what="empty history")

    upload = dash_duo.driver.find_element(By.CSS_SELECTOR, "#data-upload input[type=file]")
    upload.send_keys(str(UCI_SLICE))
    wait_until(lambda: "UCI Online Retail" in text_of(dash_duo, "data-recognised"),
               what="recognised format")
    assert "InvoiceNo" in text_of(dash_duo, "data-preview-table")

    wait_until(lambda: dash_duo.find_element("#data-check").is_enabled(), what="check button")
    click(dash_duo, "data-check")
    wait_until(lambda: "is ready" in text_of(dash_duo, "data-report-alert"), timeout=60,
               what="check report")
    assert fresh_sqlite.scalar("SELECT COUNT(*) FROM order_lines") == 0

    wait_until(lambda: dash_duo.find_element("#data-import").is_enabled(), what="import button")
    click(dash_duo, "data-import")
    lines = len(uci_frame())
    wait_until(lambda: f"Loaded {lines:,} of {lines:,} rows" in
               text_of(dash_duo, "data-report-alert"), timeout=60, what="import report")
    figures = text_of(dash_duo, "data-report-figures")
    assert "Excluded from merchandise metrics" in figures and "AMAZONFEE 9" in figures
    wait_until(lambda: "online_retail_slice.csv.gz" in text_of(dash_duo, "data-history"),
               what="history row")
    assert fresh_sqlite.scalar("SELECT COUNT(*) FROM order_lines") == lines
    assert fresh_sqlite.scalar("SELECT u.email FROM import_jobs j JOIN users u "
                               "ON u.id = j.user_id") == EMAIL
