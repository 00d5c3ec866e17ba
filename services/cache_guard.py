"""A cache backend that may fail (Redis on another host) wrapped so that its outage costs
speed, never an answer.

While the backend does not answer, every read misses and every write is dropped: pages are
computed from the database as if the cache were off. After a failure the backend is not tried
again for `retry_seconds`, so a Redis host that stopped answering costs one connect timeout
per worker and interval, not one per cache call. The first call that works again after an
outage runs the `on_recovery` callbacks: the result cache bumps its data version there,
because an import made during the outage could not clear what was cached before it.
"""
from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cachelib import BaseCache

log = logging.getLogger(__name__)
RETRY_SECONDS = 5.0
PROBE_KEY = "guard:probe"  # read, never written: any answer means the backend is back


@dataclass(frozen=True)
class Outage:
    """The backend has not answered since `since` (UTC), with this error."""

    since: dt.datetime
    error: str


class GuardedCache(BaseCache):
    """`backend`, with the errors in `errors` turned into misses and dropped writes."""

    def __init__(self, backend: BaseCache, errors: tuple[type[BaseException], ...],
                 retry_seconds: float = RETRY_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.backend = backend
        self._errors = errors
        self.retry_seconds = retry_seconds  # public: tests shorten it
        self._clock = clock
        self._lock = threading.Lock()
        self._outage: Outage | None = None
        self._retry_at = 0.0
        self._on_recovery: list[Callable[[], object]] = []

    @property
    def outage(self) -> Outage | None:
        """The current outage as this process last saw it, or None while the backend works."""
        return self._outage

    def on_recovery(self, callback: Callable[[], object]) -> None:
        """Run `callback` when the backend answers again after an outage."""
        self._on_recovery.append(callback)

    def _call(self, fallback: Any, operation: str, *args: Any, **kwargs: Any) -> Any:
        if self._outage is not None and not self._answers_again():
            return fallback
        try:
            return getattr(self.backend, operation)(*args, **kwargs)
        except self._errors as error:
            self._failed(error)
            return fallback

    def _answers_again(self) -> bool:
        """Whether the backend is back, tried at most once per retry interval. The recovery
        callbacks run before the call that found it back: a read must not see what they
        are about to replace (the data version)."""
        if self._clock() < self._retry_at:
            return False
        try:
            self.backend.has(PROBE_KEY)
        except self._errors as error:
            self._failed(error)
            return False
        self._recovered()
        return True

    def _failed(self, error: BaseException) -> None:
        with self._lock:
            if self._outage is None:
                log.warning("the cache backend does not answer (%s); computing without it",
                            error)
                self._outage = Outage(dt.datetime.now(dt.UTC), str(error) or
                                      type(error).__name__)
            self._retry_at = self._clock() + self.retry_seconds

    def _recovered(self) -> None:
        with self._lock:
            if self._outage is None:
                return  # another thread saw it first
            log.warning("the cache backend answers again (down since %s)", self._outage.since)
            self._outage = None
        for callback in self._on_recovery:
            callback()

    def get(self, key: str) -> Any:
        """The value, or None when missing or the backend is down."""
        return self._call(None, "get", key)

    def get_many(self, *keys: str) -> list[Any]:
        """The values (None for each when the backend is down)."""
        return self._call([None] * len(keys), "get_many", *keys)

    def has(self, key: str) -> bool:
        """Whether the key is stored (False when the backend is down)."""
        return bool(self._call(False, "has", key))

    def set(self, key: str, value: Any, timeout: int | dt.timedelta | None = None) -> bool:
        """Store the value; False when the backend is down."""
        return bool(self._call(False, "set", key, value, timeout=timeout))

    def add(self, key: str, value: Any, timeout: int | dt.timedelta | None = None) -> bool:
        """Store the value unless the key exists; False when the backend is down."""
        return bool(self._call(False, "add", key, value, timeout=timeout))

    def set_many(self, mapping: dict[str, Any],
                 timeout: int | dt.timedelta | None = None) -> list[Any]:
        """Store the values; no key is stored when the backend is down."""
        return self._call([], "set_many", mapping, timeout=timeout)

    def delete(self, key: str) -> bool:
        """Delete the key; False when the backend is down."""
        return bool(self._call(False, "delete", key))

    def delete_many(self, *keys: str) -> list[Any]:
        """Delete the keys; none is deleted when the backend is down."""
        return self._call([], "delete_many", *keys)

    def clear(self) -> bool:
        """Empty the cache; False when the backend is down."""
        return bool(self._call(False, "clear"))

    def inc(self, key: str, delta: int = 1) -> int | None:
        """Add `delta` to the number stored; None when the backend is down."""
        return self._call(None, "inc", key, delta=delta)
