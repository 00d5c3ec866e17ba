"""The import wizard in a browser: upload the UCI slice, see it recognised, check it, import it
(a background job with progress) and read the report and the history."""
from __future__ import annotations

from pathlib import Path

import pytest
from dash import CeleryManager
from dash.testing.composite import DashComposite
from flask import Flask
from selenium.webdriver.common.by import By

from dashapp import jobs
from tests.browser.test_overview_browser import base_url, wait_until
from tests.conftest import PASSWORD
from tests.fixtures.imports import (  # noqa: F401 - the fixtures are used by name
    IMPORTER,
    UCI_SLICE,
    Fresh,
    fresh_sqlite_fixture,
    make_data_app,
    sqlite_template_fixture,
    uci_frame,
)
from tests.fixtures.servers import Worker, redis_url_fixture  # noqa: F401 - by name

EMAIL = IMPORTER


@pytest.fixture
def data_app(fresh_sqlite: Fresh, tmp_path: Path) -> Flask:
    """The app of the wizard test, in London time."""
    return make_data_app(fresh_sqlite, tmp_path, TIMEZONE="Europe/London")


def open_data_page(dash_duo: DashComposite, app: Flask) -> None:
    """Serve the app, log in as the analyst and wait for the Data page."""
    dash_duo.start_server(app.extensions["dash"], navigate=False)
    dash_duo.driver.get(base_url(dash_duo) + "/login?next=/data")
    dash_duo.wait_for_element("#email").send_keys(EMAIL)
    dash_duo.find_element("#password").send_keys(PASSWORD)
    dash_duo.find_element("#login-submit").click()
    dash_duo.wait_for_element("#data-upload")


def click(dash_duo: DashComposite, dom_id: str) -> None:
    """Click by script: the wizard is long and a real click may land on what scrolled over."""
    dash_duo.driver.execute_script(f"document.getElementById('{dom_id}').click()")


def text_of(dash_duo: DashComposite, dom_id: str) -> str:
    """The text of an element, or '' while it is not there."""
    found = dash_duo.driver.find_elements(By.ID, dom_id)
    return found[0].text if found else ""


def test_upload_check_and_import_through_the_wizard(dash_duo: DashComposite, data_app: Flask,
                                                    fresh_sqlite: Fresh) -> None:
    check_and_import_the_slice(dash_duo, data_app, fresh_sqlite)


def test_the_wizard_runs_its_jobs_on_a_celery_worker(dash_duo: DashComposite,
                                                     fresh_sqlite: Fresh, tmp_path: Path,
                                                     redis_url: str) -> None:
    """With a broker, the check and the import run on a `pulseboard worker` process (a
    second host would do the same): the web app only queues them and reads their progress
    and results from Redis."""
    app = make_data_app(fresh_sqlite, tmp_path, CELERY_BROKER_URL=redis_url,
                        TIMEZONE="Europe/London")
    celery = jobs.celery_app(app)
    assert celery is not None
    assert isinstance(jobs.background_manager(app), CeleryManager)
    worker = Worker({"PULSEBOARD_ENV": "development", "DATABASE_URL": fresh_sqlite.url,
                     "SECRET_KEY": app.config["SECRET_KEY"], "CELERY_BROKER_URL": redis_url,
                     "PULSEBOARD_UPLOAD_FOLDER": app.config["UPLOAD_FOLDER"],
                     "PULSEBOARD_TIMEZONE": "Europe/London", "PULSEBOARD_CURRENCY": "GBP",
                     "PULSEBOARD_CACHE_DIR": str(tmp_path / "worker-cache")},
                    tmp_path / "worker.log")
    try:
        worker.wait_ready(celery)
        check_and_import_the_slice(dash_duo, app, fresh_sqlite)
    finally:
        worker.stop()
    log = (tmp_path / "worker.log").read_text()
    # The check and the import each ran as a task of the worker.
    assert log.count("succeeded in") == 2, log[-3000:]


def check_and_import_the_slice(dash_duo: DashComposite, app: Flask, fresh_sqlite: Fresh) -> None:
    """Upload the UCI slice, check it, import it, and read the report and the history."""
    open_data_page(dash_duo, app)
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


def test_a_file_over_the_upload_limit_is_refused_with_a_message(
        dash_duo: DashComposite, fresh_sqlite: Fresh, tmp_path: Path) -> None:
    """dcc.Upload's own limit drops such a file silently; ours says why and sends nothing."""
    uploads = tmp_path / "uploads"
    app = make_data_app(fresh_sqlite, tmp_path,
                        MAX_CONTENT_LENGTH=256 * 1024)  # an upload may have 128 KiB
    large = tmp_path / "large.csv"
    large.write_text("InvoiceNo,StockCode\n" + "536365,85123A\n" * 20_000)  # 280 KB
    open_data_page(dash_duo, app)

    upload = dash_duo.driver.find_element(By.CSS_SELECTOR, "#data-upload input[type=file]")
    upload.send_keys(str(large))
    wait_until(lambda: "it was not uploaded" in text_of(dash_duo, "data-upload-refused"),
               what="refusal message")
    message = text_of(dash_duo, "data-upload-refused")
    assert "large.csv is 0.3 MB, more than the 0.1 MB" in message
    assert text_of(dash_duo, "data-analysis") == ""
    assert not uploads.exists() or not any(uploads.iterdir())  # nothing reached the server

    small = tmp_path / "small.csv"
    uci_frame().head(200).to_csv(small, index=False)
    upload.send_keys(str(small))  # a file within the limit goes through as before
    wait_until(lambda: "UCI Online Retail" in text_of(dash_duo, "data-recognised"),
               what="recognised format")
    assert text_of(dash_duo, "data-upload-refused") == ""
    assert [path.name for path in uploads.rglob("*") if path.is_file()]  # staged this time
