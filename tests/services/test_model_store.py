"""The model store on SQLite and PostgreSQL: a run is stored with its evaluation and found
again only at the data revision it was trained on, failures are recorded, every run stays in
the history; and an answer marked `skip_store` is kept by no cache around it."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from models import ModelRun
from services import model_store
from services.cache import ResultCache, backend_from_settings, skip_store
from services.scope import Scope

ALL = Scope(user_id=1, platform_ids=None)
LIMITED = Scope(user_id=2, platform_ids=frozenset({3}))


def _kind(request: pytest.FixtureRequest) -> str:
    """A kind of this test's own (the databases are shared by the session)."""
    return f"test-{request.node.name}"[:40]


def test_keys_differ_by_scope_and_inputs() -> None:
    first = dt.date(2026, 1, 31)
    key = model_store.model_key("churn", ALL, "Churn", end=first, platforms=())
    assert key == model_store.model_key("churn", ALL, "Churn", platforms=(), end=first)
    assert key.digest != model_store.model_key("churn", LIMITED, "Churn", end=first,
                                               platforms=()).digest
    assert key.digest != model_store.model_key("churn", ALL, "Churn", end=first,
                                               platforms=("amazon",)).digest
    assert key.digest != model_store.model_key("clv", ALL, "Churn", end=first,
                                               platforms=()).digest


def test_a_run_is_stored_and_found_at_its_revision_only(
        session: Session, request: pytest.FixtureRequest) -> None:
    key = model_store.model_key(_kind(request), ALL, "A test model", end=dt.date(2026, 1, 1))
    assert model_store.stored(session, key) is None
    weights = np.arange(5.0)
    trained = model_store.train(session, key, lambda: (weights, {"mae": np.float64(1.5),
                                                                 "on": dt.date(2026, 1, 1)}))
    found = model_store.stored(session, key)
    assert found is not None and found.run_id == trained.run_id
    assert np.array_equal(found.artefact, weights)
    assert found.metrics == {"mae": 1.5, "on": "2026-01-01"}  # JSON-able in the column
    assert found.seconds >= 0 and model_store.describe(found)["trained_at"].endswith("Z")
    # Another scope's model is another model.
    assert model_store.stored(session, model_store.model_key(
        _kind(request), LIMITED, "A test model", end=dt.date(2026, 1, 1))) is None

    before = model_store.data_revision(session)
    assert model_store.bump_data_revision(session) == before + 1
    session.commit()
    assert model_store.stored(session, key) is None  # the data changed: train again
    model_store.train(session, key, lambda: (weights * 2, {"mae": 1.0}))
    history = model_store.history(session, key.kind, key.digest)
    assert list(history["data_revision"]) == [before + 1, before]  # newest first, both kept
    assert list(history["status"]) == ["done", "done"]
    assert [m["mae"] for m in history["metrics"]] == [1.0, 1.5]


def reads_artefact(sql: str) -> bool:
    """Whether a statement reads a run's pickled artefact (not only its length)."""
    return sql.lstrip().startswith("SELECT model_runs.artefact")


def test_an_artefact_is_read_and_unpickled_once_per_process(
        session: Session, request: pytest.FixtureRequest) -> None:
    key = model_store.model_key(_kind(request), ALL, "A test model", end=dt.date(2026, 2, 1))
    model_store.train(session, key, lambda: (np.arange(4.0), {}))
    seen: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        seen.append(statement)

    sa.event.listen(session.get_bind(), "before_cursor_execute", record)
    try:
        first = model_store.stored(session, key)
        reads_after_first = sum(map(reads_artefact, seen))
        again = model_store.stored(session, key)
    finally:
        sa.event.remove(session.get_bind(), "before_cursor_execute", record)
    assert first is not None and again is not None
    assert np.array_equal(again.artefact, np.arange(4.0)) and again.artefact is first.artefact
    # The first lookup reads the bytes; the second reads only the run's row.
    assert reads_after_first == 1 and sum(map(reads_artefact, seen)) == 1
    # A new run of the key (the data changed) is another artefact, read afresh.
    model_store.bump_data_revision(session)
    session.commit()
    model_store.train(session, key, lambda: (np.arange(3.0), {}))
    newer = model_store.stored(session, key)
    assert newer is not None and np.array_equal(newer.artefact, np.arange(3.0))


def test_the_kept_artefacts_stay_under_their_byte_limit() -> None:
    loaded = model_store._Loaded(limit=100)
    loaded.put(("a",), "A", 60)
    loaded.put(("b",), "B", 30)
    assert loaded.get(("a",)) == (True, "A")  # now the most recently used
    loaded.put(("c",), "C", 30)  # 120 bytes: the least recently used ("b") goes
    assert loaded.get(("b",)) == (False, None)
    assert loaded.get(("a",)) == (True, "A") and loaded.get(("c",)) == (True, "C")
    loaded.put(("d",), "D", 101)  # alone over the limit: never kept
    assert loaded.get(("d",)) == (False, None)


def test_a_failed_training_is_recorded_and_raised(
        session: Session, request: pytest.FixtureRequest) -> None:
    key = model_store.model_key(_kind(request), ALL, "A failing model")

    def broken() -> tuple[object, dict[str, object]]:
        raise ValueError("too few customers")

    with pytest.raises(ValueError, match="too few customers"):
        model_store.train(session, key, broken)
    assert model_store.stored(session, key) is None
    assert model_store.last_failure(session, key) == "ValueError: too few customers"
    assert model_store.running_since(session, key) is None
    run = session.scalars(sa.select(ModelRun).where(ModelRun.digest == key.digest)).one()
    assert run.status == "failed" and run.finished_at is not None


def test_a_run_left_running_is_seen_until_it_is_stale(
        session: Session, request: pytest.FixtureRequest) -> None:
    key = model_store.model_key(_kind(request), ALL, "A model being trained")
    session.add(ModelRun(kind=key.kind, digest=key.digest, label=key.label,
                         data_revision=model_store.data_revision(session), status="running"))
    session.commit()
    assert model_store.running_since(session, key) is not None
    session.execute(sa.update(ModelRun).where(ModelRun.digest == key.digest).values(
        started_at=dt.datetime(2000, 1, 1)))
    session.commit()
    assert model_store.running_since(session, key) is None  # its process died long ago


def test_an_answer_marked_skip_store_is_kept_by_no_cache(tmp_path: Path) -> None:
    cache = ResultCache(backend_from_settings(None, str(tmp_path)), "sqlite:///x.db")
    calls: list[str] = []

    def pending() -> str:
        calls.append("pending")
        skip_store()
        return "still training"

    def ready() -> str:
        calls.append("ready")
        return "scores"

    def drawn(service: object, inner: object) -> str:
        # A callback's drawing of a service answer, itself cached (as `cached_output` is).
        return cache.get_or_compute(drawn, ALL, (service,), {}, lambda: "drawn: " + str(
            cache.get_or_compute(service, ALL, (), {}, inner)))  # type: ignore[arg-type]

    assert drawn(pending, pending) == "drawn: still training"
    assert drawn(pending, pending) == "drawn: still training"
    assert calls == ["pending", "pending"]  # neither the answer nor its drawing was kept
    assert drawn(ready, ready) == drawn(ready, ready) == "drawn: scores"
    assert calls == ["pending", "pending", "ready"]  # kept once it is a real answer
