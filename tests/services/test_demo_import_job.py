"""A demo data load is recorded as an import job, so the import history shows what loaded
the data (on SQLite and PostgreSQL)."""
from __future__ import annotations

from types import SimpleNamespace

from sqlalchemy.orm import Session

from services.imports.jobs import DEMO_KIND, import_history, record_demo_load
from services.scope import Scope


def test_a_demo_load_is_listed_in_the_import_history(session: Session) -> None:
    summary = SimpleNamespace(order_lines=1_234)
    job = record_demo_load(session, summary, seed=7)
    newest = import_history(session)[0]
    assert newest["id"] == job.id and newest["kind"] == DEMO_KIND
    assert newest["filename"] == "demo data (seed 7)" and newest["status"] == "succeeded"
    assert (newest["rows_read"], newest["rows_loaded"]) == (1_234, 1_234)
    assert newest["user"] == "command line" and newest["errors"] == []
    # It spans every platform: a platform-limited user's history does not list it.
    limited = Scope(user_id=None, platform_ids=frozenset({1}))
    assert job.id not in [row["id"] for row in import_history(session, limited)]
