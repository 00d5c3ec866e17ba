"""A background job that will never answer ends the browser's wait with a message, where Dash
alone polls for ever (Celery) or stops without a word (one machine): a job no worker takes, a
Celery worker killed mid-import (the import is all or nothing, shown as failed, and can be
run again) and the one-machine job process killed.

The browser's side is Dash's protocol, spoken here over HTTP as the renderer does: the first
request queues the job and answers its (signed) handles, each poll after it answers "still
running" until the job has an answer. Real Redis, real `pulseboard worker` processes and a
real import on SQLite.
"""
from __future__ import annotations

import json
import re
import signal
import time
from pathlib import Path
from typing import Any

import pandas as pd
import psutil
from dash.exceptions import BackgroundCallbackError
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from dashapp import jobs
from dashapp.errors import job_lost_answer, job_lost_reason
from dashapp.extensions import db
from layouts import data as ids
from layouts.shell import ERROR_ALERT
from models.accounts import User
from services.imports.jobs import import_history
from services.imports.mapping import propose
from services.imports.runner import IMPORT, JobRequest
from services.imports.uploads import save_upload
from tests.conftest import PASSWORD, login
from tests.fixtures.imports import (  # noqa: F401 - the fixtures are used by name
    IMPORTER,
    Fresh,
    big_sales_file,
    fresh_sqlite_fixture,
    make_data_app,
    sqlite_template_fixture,
    writing,
)
from tests.fixtures.servers import Worker, redis_url_fixture  # noqa: F401 - by name

EMAIL = IMPORTER
ROWS = 50_000
QUEUE_SECONDS = 3


def _worker(app: Flask, fresh: Fresh, redis_url: str, tmp_path: Path) -> Worker:
    """A `pulseboard worker` on the app's database and broker, answering pings."""
    worker = Worker({"PULSEBOARD_ENV": "development", "DATABASE_URL": fresh.url,
                     "SECRET_KEY": app.config["SECRET_KEY"], "CELERY_BROKER_URL": redis_url,
                     "PULSEBOARD_UPLOAD_FOLDER": app.config["UPLOAD_FOLDER"],
                     "PULSEBOARD_CACHE_DIR": str(tmp_path / "worker-cache")},
                    tmp_path / "worker.log")
    celery = jobs.celery_app(app)
    assert celery is not None
    worker.wait_ready(celery)
    return worker


def _ticket(app: Flask, path: Path) -> str:
    """A signed import ticket for `path`, staged as the wizard stages an upload."""
    with app.app_context():
        user_id = db.session.scalars(select(User.id).where(User.email == EMAIL)).one()
        upload = save_upload(Path(app.config["UPLOAD_FOLDER"]), path.read_bytes(), path.name,
                             user_id)
    columns = list(pd.read_csv(path, nrows=1).columns)
    job = JobRequest(action=IMPORT, user_id=user_id, upload=upload,
                     mapping=propose("sales", columns).as_dict(), platform="Online Store",
                     skip_invalid=False)
    return jobs.sign_ticket(app, job)


class ImportCallback:
    """The Data page's background import callback, called as the renderer calls it."""

    def __init__(self, app: Flask, client: FlaskClient) -> None:
        self.client = client
        self.output = next(key for key in app.extensions["dash"].callback_map
                           if f"{ids.LAST_REPORT}.data" in key)
        page = client.get("/data").get_data(as_text=True)
        found = re.search(r'"end_id":\s*"([^"]+)"', page)
        assert found, "the page carries no end_id for background handles"
        self.end_id = found.group(1)

    def _post(self, ticket: str, **handles: str) -> Any:
        outputs = []
        for part in self.output.strip(".").split("..."):
            component, _, prop = part.partition(".")
            outputs.append({"id": component, "property": prop})
        payload = {"output": self.output, "outputs": outputs,
                   "inputs": [{"id": ids.TICKET, "property": "data", "value": ticket}],
                   "changedPropIds": [f"{ids.TICKET}.data"], "state": []}
        response = self.client.post("/_dash-update-component",
                                    query_string={"endId": self.end_id, **handles},
                                    data=json.dumps(payload), content_type="application/json")
        assert response.status_code in (200, 204), response.get_data(as_text=True)[:500]
        return response.get_json(silent=True) or {}

    def start(self, ticket: str) -> dict[str, str]:
        """Queue the job; its signed handles."""
        answer = self._post(ticket)
        assert {"cacheKey", "job"} <= set(answer), answer
        return {"cacheKey": answer["cacheKey"], "job": answer["job"]}

    def wait(self, ticket: str, handles: dict[str, str], timeout: float) -> tuple[Any, float]:
        """Poll once a second, as the renderer does, until the job answers; the answer and
        the seconds it took."""
        started = time.monotonic()
        while time.monotonic() - started < timeout:
            answer = self._post(ticket, **handles)
            if "response" in answer or "sideUpdate" in answer:
                return answer, time.monotonic() - started
            time.sleep(1)
        raise AssertionError(f"still waiting after {timeout:.0f} s")


def _told(answer: Any) -> str:
    """What the wizard says where its report goes, after a job was given up; the history
    is read again (the report store changed) and nothing is in the app's banner."""
    assert ERROR_ALERT not in answer.get("sideUpdate", {}), answer
    assert answer["response"][ids.LAST_REPORT]["data"]["status"] == "failed", answer
    return str(answer["response"][ids.RESULT]["children"]["props"]["children"])


def test_a_job_no_worker_takes_or_whose_worker_is_killed_ends_the_wait_and_can_be_retried(
        fresh_sqlite: Fresh, tmp_path: Path, redis_url: str) -> None:
    app = make_data_app(fresh_sqlite, tmp_path, CELERY_BROKER_URL=redis_url,
               JOB_QUEUE_SECONDS=QUEUE_SECONDS)
    client = login(app.test_client(), EMAIL, PASSWORD)
    callback = ImportCallback(app, client)
    small, big = tmp_path / "small.csv", tmp_path / "big.csv"
    big_sales_file(small, 1_000)
    big_sales_file(big, ROWS)

    # No worker is running: the wait ends with the reason once the job has expired.
    answer, waited = callback.wait(ticket := _ticket(app, small), callback.start(ticket), 30)
    assert f"No background worker took this job within {QUEUE_SECONDS} s" in _told(answer)
    assert waited < QUEUE_SECONDS + jobs.WATCH_INTERVAL + jobs.PING_TIMEOUT + 3, waited

    # A worker started now skips that expired job, takes the big import, and is killed
    # (the whole worker: its task stays STARTED in Redis for ever).
    worker = _worker(app, fresh_sqlite, redis_url, tmp_path)
    try:
        handles = callback.start(ticket := _ticket(app, big))
        deadline = time.monotonic() + 90
        while not writing(fresh_sqlite):
            assert time.monotonic() < deadline, "the worker never started writing"
            time.sleep(0.01)
    finally:
        worker.stop(signal.SIGKILL)
    # Restarted at once on the same host, under the same name: it answers, but does not
    # run the job any more.
    worker = _worker(app, fresh_sqlite, redis_url, tmp_path)
    try:
        answer, waited = callback.wait(ticket, handles, timeout=60)
        assert "no longer runs it" in _told(answer), answer
        assert "changed nothing" in _told(answer)
        # Two misses, WATCH_INTERVAL apart, each waiting at most PING_TIMEOUT.
        assert waited <= 2 * (jobs.WATCH_INTERVAL + jobs.PING_TIMEOUT) + 5, waited
        assert fresh_sqlite.scalar("SELECT COUNT(*) FROM order_lines") == 0
        with fresh_sqlite.session() as session:
            history = import_history(session)
        # The small file's expired job never ran; the killed import is failed, not running.
        assert [(row["filename"], row["status"]) for row in history] == [("big.csv", "failed")]

        # Run again: every row is imported.
        answer, _ = callback.wait(ticket := _ticket(app, big), callback.start(ticket), 120)
    finally:
        worker.stop()
    report = answer["response"][ids.LAST_REPORT]["data"]
    assert report["status"] == "succeeded", report
    assert fresh_sqlite.scalar("SELECT COUNT(*) FROM order_lines") == ROWS
    # The expired job was discarded when the first worker received it.
    assert "Discarding revoked task" in (tmp_path / "worker.log").read_text()


def test_on_one_machine_a_killed_job_process_ends_the_wait_with_the_reason(
        fresh_sqlite: Fresh, tmp_path: Path) -> None:
    app = make_data_app(fresh_sqlite, tmp_path)
    client = login(app.test_client(), EMAIL, PASSWORD)
    callback = ImportCallback(app, client)
    big = tmp_path / "big.csv"
    big_sales_file(big, ROWS)
    ticket = _ticket(app, big)
    started = time.time()
    handles = callback.start(ticket)
    deadline = time.monotonic() + 90
    while not writing(fresh_sqlite):
        assert time.monotonic() < deadline, "the job never started writing"
        time.sleep(0.01)
    # The test client serves in this process, so the job's process is the child it forked.
    (job,) = [child for child in psutil.Process().children()
              if child.create_time() >= started - 1]
    job.kill()
    job.wait(10)
    answer, waited = callback.wait(ticket, handles, timeout=30)
    assert "the process running it ended" in _told(answer), answer
    assert waited < 5
    assert fresh_sqlite.scalar("SELECT COUNT(*) FROM order_lines") == 0
    with fresh_sqlite.session() as session:
        assert import_history(session)[0]["status"] == "failed"


def test_a_lost_jobs_reason_survives_dashs_background_error() -> None:
    """Other background callbacks (models, PDFs) tell it in the app's banner from this."""
    answer = job_lost_answer("the worker went")["background_callback_error"]
    # What Dash raises from the answer, as in dash._callback.
    error = BackgroundCallbackError("An error occurred inside a background callback: "
                                    f"{answer['msg']}\n{answer['tb']}")
    assert job_lost_reason(error) == "the worker went"
    assert job_lost_reason(RuntimeError("anything else")) is None
