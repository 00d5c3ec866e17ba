"""A posts file as the Data wizard takes it: recognised as posts from its header, checked, then
imported by the wizard's own job, and on the Marketing page's timeline afterwards (the page's
API, which the timeline panel is declared with). The upload control itself is exercised in a
browser by tests/browser/test_data_browser.py."""
from __future__ import annotations

import base64
import datetime as dt
import sqlite3
from pathlib import Path

import sqlalchemy as sa
from flask import Flask

from callbacks.data import run_job, stage_upload
from dashapp.extensions import db
from dashapp.jobs import sign_ticket
from services.imports.runner import CHECK, IMPORT, JobRequest
from services.users import create_user
from tests.conftest import PASSWORD, TestDatabase, callback_request, login, make_app

EMAIL = "posts-importer@example.com"


def _copy_of_demo(sqlite_db: TestDatabase, folder: Path) -> str:
    """The demo database copied with SQLite's backup (a file copy may miss what its
    write-ahead log still holds), so the import changes no other test's data."""
    target = folder / "demo.db"
    with sqlite3.connect(sa.make_url(sqlite_db.url).database or "") as source, \
            sqlite3.connect(target) as copy:
        source.backup(copy)
    return f"sqlite:///{target}"


def _app(url: str, folder: Path) -> Flask:
    app = make_app(url, UPLOAD_FOLDER=str(folder / "uploads"),
                   BACKGROUND_CACHE_DIR=str(folder / "jobs"))
    with app.app_context():
        create_user(db.session, EMAIL, PASSWORD, "analyst")
        db.session.commit()
    return app


def _run(app: Flask, user_id: int, action: str, state: dict[str, object]) -> dict[str, object]:
    """The wizard's background job for the staged upload, as its Check/Import click signs it."""
    request = JobRequest(action=action, user_id=user_id, upload=str(state["upload"]),
                         mapping=dict(state["mapping"]),  # type: ignore[call-overload]
                         platform="Online Store", skip_invalid=False, ip="127.0.0.1")
    report, _was_check = run_job(app, sign_ticket(app, request), lambda _step: None)
    return report


def test_an_imported_posts_file_is_on_the_marketing_timeline(sqlite_db: TestDatabase,
                                                            tmp_path: Path) -> None:
    url = _copy_of_demo(sqlite_db, tmp_path)
    app = _app(url, tmp_path)
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        last = dt.date.fromisoformat(str(connection.scalar(
            sa.text("SELECT MAX(sale_date) FROM order_lines")))[:10])
        sku = connection.scalar(sa.text("SELECT sku FROM products ORDER BY id LIMIT 1"))
    posted = last - dt.timedelta(days=10)
    text = ("Post ID,Platform,Post type,Posted at,Caption,Product SKU,Likes,Comments\n"
            f"wizard-1,Instagram,reel,{posted} 19:30,Imported by the wizard,{sku},140,9\n")
    contents = "data:text/csv;base64," + base64.b64encode(text.encode()).decode()

    with callback_request(app, EMAIL) as user:
        state = stage_upload(app, contents, "posts.csv", None)
    assert state["mapping"]["kind"] == "posts" and "posts" in str(state["description"]).lower()
    checked = _run(app, user.id, CHECK, state)
    assert checked["status"] == "checked" and checked["errors"] == []
    loaded = _run(app, user.id, IMPORT, state)
    assert loaded["status"] == "succeeded" and loaded["rows_loaded"] == 1

    with engine.connect() as connection:
        post_id = connection.scalar(
            sa.text("SELECT id FROM media_posts WHERE external_id = 'wizard-1'"))
    engine.dispose()
    client = login(app.test_client(), EMAIL)
    answer = client.get("/api/v1/marketing?range=30d&tab=posts")
    assert answer.status_code == 200, answer.get_data(as_text=True)[:300]
    posts = answer.get_json()["posts"]
    mine = [post for post in posts if post["post_id"] == post_id]
    assert len(mine) == 1 and mine[0]["post_date"].startswith(str(posted))
