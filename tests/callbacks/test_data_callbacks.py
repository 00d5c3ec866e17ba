"""Data page callbacks as plain functions: the background job runs only on a signed ticket,
as the ticket's user, and only for roles that may import. Callbacks never run transactions or
app contexts themselves."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from dash.exceptions import PreventUpdate
from flask import Flask

from callbacks.data import decode_upload, run_job
from dashapp.extensions import db
from dashapp.jobs import sign_ticket, upload_folder
from services.errors import NotFound, ServiceError
from services.imports.runner import JobRequest
from services.imports.uploads import load_upload, save_upload
from services.users import create_user
from tests.conftest import PASSWORD, make_app
from tests.fixtures.imports import (  # noqa: F401 - the fixtures are used by name
    UCI_SLICE,
    Fresh,
    fresh_sqlite_fixture,
    sqlite_template_fixture,
    uci_frame,
)

MAPPING = {"kind": "sales", "columns": {
    "order_number": "InvoiceNo", "sku": "StockCode", "product_name": "Description",
    "quantity": "Quantity", "ordered_at": "InvoiceDate", "unit_price": "UnitPrice",
    "customer_id": "CustomerID", "country": "Country"}, "source_format": "uci",
    "date_order": "auto"}
ROOT = Path(__file__).resolve().parents[2]
# What only `dashapp.context` (transactions) and `dashapp.jobs` (app contexts) may do.
NOT_IN_CALLBACKS = re.compile(r"\.commit\(|\.rollback\(|app_context\(")
# Modules still to be switched to dashapp.context.perform (strict xfail: once a module is
# clean its test passes unexpectedly and fails the run; then remove its entry here).
PENDING: dict[str, str] = {}


@pytest.fixture
def server(fresh_sqlite: Fresh, tmp_path: Path) -> Flask:
    """An app on an empty database with an analyst (id 1) and a viewer (id 2)."""
    app = make_app(fresh_sqlite.url, UPLOAD_FOLDER=str(tmp_path / "uploads"),
                   BACKGROUND_CACHE_DIR=str(tmp_path / "jobs"))
    with app.app_context():
        create_user(db.session, "analyst@example.com", PASSWORD, "analyst")
        create_user(db.session, "viewer@example.com", PASSWORD, "viewer")
        db.session.commit()
    return app


def ticket(server: Flask, user: int, action: str, upload: str) -> str:
    """A ticket as the in-request callback signs it."""
    return sign_ticket(server, JobRequest(action=action, user_id=user, upload=upload,
                                          mapping=MAPPING, platform="Online Store",
                                          skip_invalid=False, ip="127.0.0.1"))


def test_the_job_checks_then_imports_as_the_ticket_user(server: Flask,
                                                       fresh_sqlite: Fresh) -> None:
    upload = save_upload(upload_folder(server), UCI_SLICE.read_bytes(), UCI_SLICE.name, 1)
    steps: list[Any] = []
    checked, was_check = run_job(server, ticket(server, 1, "check", upload), steps.append)
    assert was_check and checked["status"] == "checked" and checked["errors"] == []
    assert fresh_sqlite.scalar("SELECT COUNT(*) FROM order_lines") == 0
    loaded, was_check = run_job(server, ticket(server, 1, "import", upload), steps.append)
    assert not was_check and loaded["status"] == "succeeded"
    assert loaded["rows_loaded"] == len(uci_frame())
    assert fresh_sqlite.scalar("SELECT user_id FROM import_jobs") == 1
    assert steps and all(0 <= value <= 100 for value, _text in steps)


def test_a_forged_or_stale_ticket_runs_nothing(server: Flask) -> None:
    with pytest.raises(PreventUpdate):
        run_job(server, "forged.ticket.value", print)
    other = make_app("sqlite://", SECRET_KEY="another-secret-" + "y" * 32)
    with pytest.raises(PreventUpdate):
        run_job(server, ticket(other, 1, "import", "0" * 32), print)


def test_a_ticket_past_its_lifetime_runs_nothing(server: Flask,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    upload = save_upload(upload_folder(server), UCI_SLICE.read_bytes(), UCI_SLICE.name, 1)
    old = ticket(server, 1, "check", upload)
    monkeypatch.setattr("dashapp.jobs.TICKET_MAX_AGE", -1)  # every ticket is now too old
    with pytest.raises(PreventUpdate):
        run_job(server, old, print)


def test_a_viewer_cannot_import_even_with_a_valid_ticket(server: Flask,
                                                         fresh_sqlite: Fresh) -> None:
    upload = save_upload(upload_folder(server), UCI_SLICE.read_bytes(), UCI_SLICE.name, 2)
    report, _ = run_job(server, ticket(server, 2, "import", upload), print)
    assert report["status"] == "rejected"
    assert "may not import" in report["errors"][0]
    assert fresh_sqlite.scalar("SELECT COUNT(*) FROM order_lines") == 0


def test_an_upload_belongs_to_its_uploader(server: Flask) -> None:
    folder = upload_folder(server)
    upload = save_upload(folder, b"a,b\n1,2\n", "../../etc/passwd", 1)
    data, meta = load_upload(folder, upload, 1)
    assert data == b"a,b\n1,2\n" and meta["filename"] == "passwd"
    for user, upload_id in ((2, upload), (1, "../" + upload[3:]), (1, "0" * 32)):
        with pytest.raises(NotFound):
            load_upload(folder, upload_id, user)


def test_a_damaged_upload_gets_a_message() -> None:
    assert decode_upload("data:text/csv;base64,YSxiCjEsMgo=") == b"a,b\n1,2\n"
    with pytest.raises(ServiceError, match="damaged"):
        decode_upload("data:text/csv;base64,not base64!")


def callback_modules() -> list[Any]:
    """Every module of callbacks/, as test parameters."""
    return [pytest.param(path, id=str(path.relative_to(ROOT)), marks=[pytest.mark.xfail(
        strict=True, reason=PENDING[path.name])] if path.name in PENDING else [])
        for path in sorted((ROOT / "callbacks").glob("**/*.py"))]


@pytest.mark.parametrize("path", callback_modules())
def test_callbacks_leave_transactions_and_app_contexts_to_dashapp(path: Path) -> None:
    # Writes go through dashapp.context.perform, jobs through dashapp.jobs.run_in_app.
    found = [f"{number}: {line.strip()}"
             for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if NOT_IN_CALLBACKS.search(line)]
    assert found == []


def test_the_callback_rule_catches_a_commit() -> None:
    # The same pattern on lines that break the rule: the check above can fail.
    for line in ("db.session.commit()", "session.rollback()", "with server.app_context():"):
        assert NOT_IN_CALLBACKS.search(line)
    assert not NOT_IN_CALLBACKS.search("perform(save_mapping, name, mapping, user_id)")
