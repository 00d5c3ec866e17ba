"""Model training and PDFs run on a Celery worker as imports do: a real redis-server, a real
`pulseboard worker` process, and the page's own background callbacks called over HTTP as the
renderer calls them. The worker stores the model where the web app finds it, and draws the
PDF with the real renderer (headless Chromium)."""
from __future__ import annotations

import base64
import re
import sqlite3
import subprocess
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask

from dashapp import jobs
from dashapp.extensions import db
from dashapp.model_jobs import TrainingRequest, sign_request, untrained
from dashapp.pdf import PdfJob, sign_job
from dashapp.views import checked_view
from layouts import pdf_menu
from layouts.model_status import MODEL_TRAINED, TRAIN_DONE, TRAIN_REQUEST
from layouts.pages import page_for
from models import User
from services.forecasting import KIND
from tests.conftest import ADMIN, PASSWORD, TestDatabase, callback_request, login, make_app
from tests.fixtures.background import BackgroundCallback
from tests.fixtures.servers import Worker, redis_url_fixture  # noqa: F401 - by name

SECRET = "test-secret-" + "x" * 32
FORECAST_QUERY = "range=all&grain=month"


@pytest.fixture
def own_copy(sqlite_db: TestDatabase, tmp_path: Path) -> str:
    """A copy of the SQLite test database (the models trained here stay in it)."""
    path = tmp_path / "copy.db"
    with sqlite3.connect(sqlite_db.url.removeprefix("sqlite:///")) as source, \
            sqlite3.connect(path) as target:
        source.backup(target)
    return f"sqlite:///{path}"


def _needs_training(app: Flask) -> list[str]:
    page = page_for("/forecasts")
    assert page is not None
    with callback_request(app, ADMIN):
        view, period = checked_view(FORECAST_QUERY, page.params)
        return untrained(page, view, period)


def test_model_training_and_a_pdf_run_on_a_celery_worker(
        own_copy: str, redis_url: str, tmp_path: Path) -> None:
    app = make_app(own_copy, SECRET_KEY=SECRET, CELERY_BROKER_URL=redis_url)
    client = login(app.test_client(), ADMIN, PASSWORD)
    with app.app_context():
        admin_id = db.session.scalars(sa.select(User.id).where(User.email == ADMIN)).one()
    assert _needs_training(app) == [KIND]
    worker = Worker({"PULSEBOARD_ENV": "development", "DATABASE_URL": own_copy,
                     "SECRET_KEY": SECRET, "CELERY_BROKER_URL": redis_url,
                     "PULSEBOARD_CACHE_DIR": str(tmp_path / "worker-cache")},
                    tmp_path / "worker.log")
    try:
        celery = jobs.celery_app(app)
        assert celery is not None
        worker.wait_ready(celery)
        train = BackgroundCallback(app, client, f"{TRAIN_DONE}.data", TRAIN_REQUEST)
        trained = train.run(sign_request(app, TrainingRequest(
            admin_id, "/forecasts", FORECAST_QUERY, (KIND,))), timeout=120)
        make_pdf = BackgroundCallback(app, client, f"{pdf_menu.DOWNLOAD}.data",
                                      pdf_menu.TICKET)
        made = make_pdf.run(sign_job(app, PdfJob(admin_id, "/?range=90d&grain=week",
                                                 base_url="http://localhost/")), timeout=120)
    finally:
        worker.stop()

    # The page is told the model is trained, and the web app now finds it stored.
    assert trained["sideUpdate"][MODEL_TRAINED]["data"]["trained"] == [KIND], trained
    assert _needs_training(app) == []
    # The PDF is the Overview of that view, drawn on the worker.
    download = made["response"][pdf_menu.DOWNLOAD]["data"]
    assert download["filename"].endswith(".pdf")
    document = base64.b64decode(download["content"])
    assert document.startswith(b"%PDF")
    (tmp_path / "view.pdf").write_bytes(document)
    text = subprocess.run(["pdftotext", str(tmp_path / "view.pdf"), "-"], check=True,
                          capture_output=True, text=True).stdout
    assert "Overview" in text and "Last 90 days" in text, text[:500]
    log = (tmp_path / "worker.log").read_text()
    names = re.findall(r"Task (\S+)\[[^\]]+\] succeeded", log)
    assert len(names) == 2, log[-3000:]  # both jobs ran on the worker, and finished
