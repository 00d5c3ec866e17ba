"""Models trained once, stored with their evaluation, scored by the pages.

A model's key names what it was trained on: its kind, the user's scope and every input the
fit depends on (the filters it obeys, the as-of date, horizons). A run is stored for that key
at the current data revision (bumped by every import, demo load or settings change), with
the fitted artefact and its hold-out evaluation. A page scores the stored run; training
happens in a background job (`dashapp.model_jobs`), never in a panel's request.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import logging
import pickle
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from models import DataRevision, ModelRun, utcnow
from services.cache import skip_store
from services.query import frame_of
from services.scope import Scope

log = logging.getLogger(__name__)
# A run still "running" after this long died with its process: it no longer blocks another.
RUNNING_STALE_AFTER = dt.timedelta(minutes=30)
HISTORY_COLUMNS = ["run_id", "kind", "label", "digest", "data_revision", "trained_at",
                   "seconds", "status", "metrics"]


@dataclass(frozen=True)
class ModelKey:
    """What one stored model is: its kind, a digest of its inputs, and those in words."""

    kind: str
    digest: str
    label: str


@dataclass(frozen=True)
class Trained:
    """A stored, successful training run."""

    run_id: int
    kind: str
    label: str
    artefact: Any
    metrics: dict[str, Any]
    trained_at: dt.datetime  # naive UTC
    seconds: float
    data_revision: int


def model_key(kind: str, scope: Scope, label: str, **inputs: object) -> ModelKey:
    """The key of the model of `kind` trained in `scope` on `inputs` (repr'd: dates,
    tuples and strings have stable reprs)."""
    described = repr((kind, scope.cache_key(), sorted(inputs.items())))
    return ModelKey(kind, hashlib.sha256(described.encode()).hexdigest(), label)


def data_revision(session: Session) -> int:
    """The current data revision (0 before the first change)."""
    return session.scalar(select(DataRevision.revision).where(DataRevision.id == 1)) or 0


def bump_data_revision(session: Session) -> int:
    """Record that the data changed; the caller commits. Returns the new revision."""
    changed = session.execute(update(DataRevision).where(DataRevision.id == 1).values(
        revision=DataRevision.revision + 1, changed_at=utcnow()))
    if not changed.rowcount:  # type: ignore[attr-defined]  # a CursorResult
        session.add(DataRevision(id=1, revision=1, changed_at=utcnow()))
        session.flush()
    return data_revision(session)


class _Loaded:
    """Unpickled artefacts by run, in this process, the least recently used dropped past
    `limit` pickled bytes: a done run never changes, and every panel of a model page looks
    its model up on every refresh (an unpickle of up to megabytes each time). Callers
    share the objects, so they read artefacts and never change them."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._items: OrderedDict[tuple[Any, ...], tuple[Any, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...]) -> tuple[bool, Any]:
        """(True, the artefact) when it is kept, else (False, None)."""
        with self._lock:
            if key not in self._items:
                return False, None
            self._items.move_to_end(key)
            return True, self._items[key][0]

    def put(self, key: tuple[Any, ...], artefact: Any, size: int) -> None:
        """Keep the artefact (of `size` pickled bytes) unless it alone is over the limit."""
        if size > self.limit:
            return
        with self._lock:
            if key in self._items:
                return
            self._items[key] = (artefact, size)
            self._bytes += size
            while self._bytes > self.limit:
                _key, (_artefact, dropped) = self._items.popitem(last=False)
                self._bytes -= dropped


LOADED = _Loaded(limit=64 * 2**20)


def stored(session: Session, key: ModelKey) -> Trained | None:
    """The latest successful run of `key` at the current data revision, if any."""
    # One statement of plain columns, not two and an ORM object: every panel of a model
    # page looks its model up on every refresh. The artefact itself is read only when this
    # process has not unpickled it yet.
    current = select(DataRevision.revision).where(DataRevision.id == 1).scalar_subquery()
    run = session.execute(
        select(ModelRun.id, ModelRun.kind, ModelRun.label, ModelRun.metrics,
               ModelRun.finished_at, ModelRun.started_at, ModelRun.seconds,
               ModelRun.data_revision, func.length(ModelRun.artefact).label("size"))
        .where(ModelRun.kind == key.kind, ModelRun.digest == key.digest,
               ModelRun.data_revision == func.coalesce(current, 0), ModelRun.status == "done")
        .order_by(ModelRun.id.desc()).limit(1)).first()
    if run is None or run.size is None:
        return None
    # The database and the run's finish: a test database made again reuses run ids.
    loaded = (str(session.connection().engine.url), run.id, run.finished_at, run.size)
    found, artefact = LOADED.get(loaded)
    if not found:
        try:
            artefact = pickle.loads(session.scalar(  # noqa: S301  # written by `train` only
                select(ModelRun.artefact).where(ModelRun.id == run.id)))
        except Exception:  # noqa: BLE001  # stored by other code (a model class since changed)
            log.warning("model run %s no longer loads; it will be trained again", run.id,
                        exc_info=True)
            return None
        LOADED.put(loaded, artefact, run.size)
    return Trained(run.id, run.kind, run.label, artefact, dict(run.metrics or {}),
                   run.finished_at or run.started_at, run.seconds or 0.0, run.data_revision)


def stored_or_pending(session: Session, key: ModelKey) -> tuple[Trained | None, str | None]:
    """The stored model of `key`; or None, the answer then kept out of every cache (it is
    "still training"), with the error of its last training if that failed."""
    trained = stored(session, key)
    if trained is not None:
        return trained, None
    skip_store()
    return None, last_failure(session, key)


def running_since(session: Session, key: ModelKey) -> dt.datetime | None:
    """When a run of `key` at the current revision started, if one is running now."""
    return session.scalar(
        select(ModelRun.started_at).where(
            ModelRun.kind == key.kind, ModelRun.digest == key.digest,
            ModelRun.data_revision == data_revision(session), ModelRun.status == "running",
            ModelRun.started_at > utcnow() - RUNNING_STALE_AFTER)
        .order_by(ModelRun.id.desc()).limit(1))


def last_failure(session: Session, key: ModelKey) -> str | None:
    """The error of the latest run of `key` at the current revision, when that run failed
    (a view does not train it again by itself: a Retrain click does)."""
    latest = session.execute(
        select(ModelRun.status, ModelRun.error).where(
            ModelRun.kind == key.kind, ModelRun.digest == key.digest,
            ModelRun.data_revision == data_revision(session))
        .order_by(ModelRun.id.desc()).limit(1)).first()
    return (latest.error or "unknown error") if latest and latest.status == "failed" else None


def train(session: Session, key: ModelKey,
          trainer: Callable[[], tuple[Any, dict[str, Any]]],
          user_id: int | None = None,
          keep: Callable[[int], None] | None = None) -> Trained:
    """Run `trainer` (which returns the fitted artefact and its JSON-able evaluation), store
    the run at the current data revision and commit. A failing trainer is recorded as a
    failed run and its error raised again. `keep(run_id)` stores what goes with the run (the
    customers' scores) in the same commit that marks it done, so no reader finds it without."""
    revision = data_revision(session)
    run = ModelRun(kind=key.kind, digest=key.digest, label=key.label[:200],
                   data_revision=revision, status="running", started_at=utcnow(),
                   started_by=user_id)
    session.add(run)
    session.commit()  # visible to other workers: the training is under way
    started = time.perf_counter()
    try:
        artefact, metrics = trainer()
        run.artefact = pickle.dumps(artefact, pickle.HIGHEST_PROTOCOL)
        run.metrics = _json_safe(metrics)
        run.status = "done"
        if keep is not None:
            keep(run.id)
    except Exception as error:
        session.rollback()
        run.status, run.error = "failed", f"{type(error).__name__}: {error}"[:2000]
        _finish(session, run, started)
        raise
    _finish(session, run, started)
    return Trained(run.id, run.kind, run.label, artefact, dict(run.metrics or {}),
                   run.finished_at or run.started_at, run.seconds or 0.0, revision)


def _finish(session: Session, run: ModelRun, started: float) -> None:
    run.seconds = round(time.perf_counter() - started, 3)
    run.finished_at = utcnow()
    session.add(run)
    session.commit()


def _json_safe(value: Any) -> Any:
    """`value` with numpy numbers, dates and tuples made JSON-able (the metrics column)."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, dt.date):
        return value.isoformat()
    if hasattr(value, "item"):  # a numpy scalar
        return value.item()
    return value


def history(session: Session, kind: str, digest: str | None = None,
            limit: int = 200) -> pd.DataFrame:
    """Every run of `kind` (of one key when `digest` is given), newest first, older data
    revisions included: the model's record over time."""
    stmt = (select(ModelRun.id, ModelRun.kind, ModelRun.label, ModelRun.digest,
                   ModelRun.data_revision, ModelRun.finished_at, ModelRun.seconds,
                   ModelRun.status, ModelRun.metrics)
            .where(ModelRun.kind == kind).order_by(ModelRun.id.desc()).limit(limit))
    if digest is not None:
        stmt = stmt.where(ModelRun.digest == digest)
    return frame_of(session.execute(stmt).all(), HISTORY_COLUMNS)


def describe(trained: Trained) -> dict[str, Any]:
    """What a panel and the API say of a stored model: when and how fast it was trained."""
    return {"run_id": trained.run_id, "kind": trained.kind, "label": trained.label,
            "trained_at": trained.trained_at.replace(microsecond=0).isoformat() + "Z",
            "seconds": round(trained.seconds, 2), "data_revision": trained.data_revision}
