"""A shared cache of service results, keyed by the database, the data version, the service,
its arguments (filters, dates, page choices) and the user's scope.

The scope is part of every key, so numbers computed for one platform limit are never served
to a user with another. The data version is bumped after every import or demo load; entries
of older versions are never read again and expire by themselves. Backends come from
cachelib: Redis (shared by every gunicorn worker and host), the filesystem (shared by the
workers of one machine) or none.
"""
from __future__ import annotations

import atexit
import contextlib
import contextvars
import hashlib
import logging
import os
import pickle
import struct
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from cachelib import BaseCache, FileSystemCache, NullCache, RedisCache

from services.cache_guard import GuardedCache, Outage
from services.scope import Scope
from services.tallies import Tally

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])
_CACHED = "__pulseboard_cached__"
DEFAULT_TTL = 600  # seconds; a safety net: data changes bump the version at once
# A result whose pickle is larger is returned but not stored (CACHE_MAX_ENTRY_BYTES).
DEFAULT_MAX_ENTRY_BYTES = 4 * 1024 * 1024
# The cache directory's bound in bytes (besides its 5,000 entries).
DEFAULT_DIRECTORY_BYTES = 512 * 1024 * 1024
log = logging.getLogger(__name__)
# Set by a service whose answer must not be kept (see `skip_store`).
_SKIP_STORE: contextvars.ContextVar[bool] = contextvars.ContextVar("skip_store", default=False)
# The cache computing the current result and the entry limit it was asked to keep, for the
# services it calls (see `reuse`).
_ACTIVE: contextvars.ContextVar[tuple[ResultCache, int] | None] = contextvars.ContextVar(
    "active_cache", default=None)


def skip_store() -> None:
    """Keep the answer being computed out of every cache around it: e.g. "the model is still
    training", which must not outlive the training (the panel redraws once it ends)."""
    _SKIP_STORE.set(True)


def _compute_unless_skipped(compute: Callable[[], T]) -> tuple[T, bool]:
    """Run `compute`; also say whether it asked not to be stored. The request stays marked,
    so an outer cache (a callback's drawing of this answer) does not keep it either."""
    token = _SKIP_STORE.set(False)
    try:
        result = compute()
        skipped = _SKIP_STORE.get()
    finally:
        _SKIP_STORE.reset(token)
    if skipped:
        _SKIP_STORE.set(True)
    return result, skipped


def cached(service: F) -> F:
    """Declare a read-only service whose result depends only on its arguments, the user's
    scope and the data: every call through `dashapp.context.fetch` is then cached.

    Only for reads of what imports and demo loads change (both bump the data version);
    import history, saved mappings and administration always read fresh.
    """
    setattr(service, _CACHED, True)
    return service


def is_cached(service: Callable[..., Any]) -> bool:
    """Whether `service` was declared `@cached`."""
    return bool(getattr(service, _CACHED, False))


def reuse(service: Callable[..., T], session: Any, scope: Scope, *args: Any,
          **kwargs: Any) -> T:
    """Call a `@cached` service from inside another service: through the cache computing the
    outer result when there is one (so a part several services share, say the pipeline's
    win rates, is computed once for all of them), else directly (scripts, tests)."""
    active = _ACTIVE.get()

    def compute() -> T:
        return service(session, scope, *args, **kwargs)

    if active is None or not is_cached(service):
        return compute()
    cache, limit = active  # the outer call's entry limit (the app's) holds for its parts
    return cache.get_or_compute(service, scope, args, kwargs, compute, limit)


class _OverLimit(Exception):
    """The pickle being written passed its byte limit."""


@dataclass
class _CountingSink:
    """A file for `pickle` that keeps nothing and stops the pickling past `limit` bytes."""

    limit: int
    written: int = 0

    def write(self, data: Any) -> int:
        # bytes, or a buffer object (pickle hands large arrays over as `PickleBuffer`s)
        size = memoryview(data).nbytes
        self.written += size
        if self.written > self.limit:
            raise _OverLimit
        return size


def pickles_within(result: Any, limit: int) -> bool:
    """Whether `result` pickles to at most `limit` bytes, found out by pickling at most that
    much: the whole pickle of an oversized result (the Customers page's 175,000 customers,
    30 MB) took 0.9 s only to learn it would not be stored."""
    try:
        pickle.Pickler(_CountingSink(limit), pickle.HIGHEST_PROTOCOL).dump(result)
    except _OverLimit:
        return False
    return True


class DirectoryCache(FileSystemCache):
    """cachelib's directory cache, pruned in bulk, never of its permanent entries, and
    bounded in bytes as well as in entries.

    Once over its threshold, cachelib's own pruning read every file to remove a single one,
    on every write: under load each write read thousands of files (the load test's p95 grew
    from 0.3 s to 15 s), and it removed the oldest entries first, which are the permanent
    ones (the data version among them). Here one pass removes what expired and then the
    entries closest to expiry until half the threshold, and half of `max_bytes`, is left;
    permanent entries stay. The bytes written are counted in a management file next to
    cachelib's entry count (as approximate across workers as that count: every pass sets
    both to what is really there).

    Both counts are kept in the process and added to the files at most once a second:
    cachelib read and replaced the count file on every write, and the byte count doubled
    that, three file replaces per stored result (a tenth of a cold Pipeline refresh). The
    bounds are checked against the files as last read plus this process's own writes since,
    so one process never overshoots; other workers' writes show within a second.
    """

    _bytes_file = "__pulseboard_cache_bytes"

    def __init__(self, cache_dir: str, threshold: int = 500,
                 max_bytes: int = DEFAULT_DIRECTORY_BYTES, **options: Any) -> None:
        self._max_bytes = max_bytes
        self._pending_entries = 0  # written by this process since the last flush
        self._pending_bytes = 0
        self._known: tuple[int, int] | None = None  # (entries, bytes) as the files said
        self._flushed_at = 0.0
        super().__init__(cache_dir, threshold=threshold, **options)
        # A worker that stops takes its last second of counts with it unless they are
        # written: an undercount would only grow, as no pass starts below the bounds.
        atexit.register(_flush_at_exit, weakref.ref(self))

    @property
    def max_bytes(self) -> int:
        """The directory's bound in bytes."""
        return self._max_bytes

    def _is_mgmt(self, name: str) -> bool:
        return super()._is_mgmt(name) or \
            name == os.path.basename(self._get_filename(self._bytes_file))

    @property
    def _byte_count(self) -> int:
        return int(self.get(self._bytes_file) or 0)

    def set(self, key: str, value: Any, timeout: Any = None,
            mgmt_element: bool = False) -> bool:
        replaced = 0 if mgmt_element else self._size_of(key)  # an overwrite adds the change
        stored = super().set(key, value, timeout, mgmt_element)
        if stored and not mgmt_element:
            self._pending_bytes += self._size_of(key) - replaced
            self._flush_counts(force=False)
        return stored

    def _size_of(self, key: str) -> int:
        """The bytes of `key`'s file (0 when there is none, or another worker removed it)."""
        try:
            return os.path.getsize(self._get_filename(key))
        except OSError:
            return 0

    def _update_count(self, delta: int | None = None, value: int | None = None) -> None:
        if delta is not None:  # entries added or removed: counted here until the next flush
            self._pending_entries += delta
        else:  # the true count, from a pass over the directory
            super()._update_count(value=value)

    def flush_at_exit(self) -> None:
        """Write this process's counts, if its directory is still there."""
        if (self._pending_entries or self._pending_bytes) and os.path.isdir(self._path):
            self._flush_counts(force=True)

    def _flush_counts(self, force: bool) -> None:
        """Add this process's counts to the files (once a second unless `force`) and read
        back what every worker's writes make them."""
        now = time.monotonic()
        if not force and self._known is not None and now - self._flushed_at < 1.0:
            return
        entries = self._file_count + self._pending_entries
        written = self._byte_count + self._pending_bytes
        if self._threshold and self._pending_entries:
            super()._update_count(value=entries)
        if self._max_bytes and self._pending_bytes:
            super().set(self._bytes_file, written, mgmt_element=True)
        self._pending_entries = self._pending_bytes = 0
        self._known, self._flushed_at = (entries, written), now

    def clear(self) -> bool:
        cleared = super().clear()
        super().set(self._bytes_file, 0, mgmt_element=True)
        self._pending_entries = self._pending_bytes = 0
        self._known, self._flushed_at = (0, 0), time.monotonic()
        return cleared

    def _totals(self) -> tuple[int, int]:
        """(entries, bytes): the files as last read plus this process's writes since."""
        if self._known is None:
            self._flush_counts(force=True)
        entries, written = self._known or (0, 0)
        return entries + self._pending_entries, written + self._pending_bytes

    def _over_threshold(self) -> bool:
        return bool(self._threshold) and self._totals()[0] > self._threshold

    def _over_bytes(self) -> bool:
        return bool(self._max_bytes) and self._totals()[1] > self._max_bytes

    def _prune(self) -> None:
        if not self._over_threshold() and not self._over_bytes():
            return
        now = time.time()
        expiring: list[tuple[int, int, str]] = []
        permanent, permanent_bytes = 0, 0
        for name in self._list_dir():
            try:
                with open(name, "rb") as stream:
                    expires = struct.unpack("I", stream.read(4))[0]
                    size = os.fstat(stream.fileno()).st_size
            except (OSError, struct.error):
                continue  # being written or removed by another worker
            if expires == 0:
                permanent += 1
                permanent_bytes += size
            else:
                expiring.append((expires, size, name))
        expiring.sort()
        doomed = [name for expires, _size, name in expiring if expires < now]
        alive = [(size, name) for expires, size, name in expiring if expires >= now]
        keep = max(self._threshold // 2 - permanent, 0) if self._threshold else len(alive)
        budget = self._max_bytes // 2 - permanent_bytes if self._max_bytes else None
        kept: list[tuple[int, str]] = []
        # The entries furthest from expiry are kept, within both halves of the bounds.
        for size, name in reversed(alive):
            if len(kept) < keep and (budget is None or size <= budget):
                kept.append((size, name))
                budget = None if budget is None else budget - size
            else:
                doomed.append(name)
        for name in doomed:
            with contextlib.suppress(FileNotFoundError):
                os.remove(name)
        entries = permanent + len(kept)
        written = permanent_bytes + sum(size for size, _name in kept)
        self._update_count(value=entries)
        super().set(self._bytes_file, written, mgmt_element=True)
        self._pending_entries = self._pending_bytes = 0
        self._known, self._flushed_at = (entries, written), time.monotonic()


def _flush_at_exit(cache: weakref.ref[DirectoryCache]) -> None:
    alive = cache()
    if alive is not None:
        alive.flush_at_exit()


def backend_from_settings(redis_url: str | None, directory: str | None,
                          ttl: int = DEFAULT_TTL,
                          directory_bytes: int = DEFAULT_DIRECTORY_BYTES) -> BaseCache:
    """Redis when a URL is given, else a cache directory, else no cache at all.

    Redis is bounded by its own `maxmemory` (see docs/deploy.md), the directory by 5,000
    entries and `directory_bytes`.
    """
    if redis_url:
        import redis  # only needed when Redis is configured

        # Guarded: a Redis that stops answering costs speed (pages computed uncached),
        # never an answer.
        return GuardedCache(RedisCache(redis.Redis.from_url(redis_url, socket_timeout=2,
                                                            socket_connect_timeout=2),
                                       default_timeout=ttl, key_prefix="pulseboard:"),
                            errors=(redis.exceptions.RedisError, OSError))
    if directory:
        return DirectoryCache(directory, threshold=5_000, max_bytes=directory_bytes,
                              default_timeout=ttl)
    return NullCache()


def backend_name(backend: BaseCache) -> str:
    """A short description of the backend for the system status."""
    if isinstance(backend, GuardedCache):
        return backend_name(backend.backend)
    return {RedisCache: "redis", DirectoryCache: "filesystem",
            FileSystemCache: "filesystem"}.get(type(backend), "none")


def source_fingerprint(roots: Sequence[Path]) -> str:
    """A digest of every Python source file under `roots` (paths and contents): the same on
    every worker and host running the same code, different after any change to it."""
    digest = hashlib.sha256()
    for root in roots:
        for path in sorted(root.rglob("*.py")):
            digest.update(str(path.relative_to(root.parent)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


@dataclass
class ResultCache:
    """Service results for one database, shared through `backend`."""

    backend: BaseCache
    database: str  # the database URL; hashed into every key
    max_entry_bytes: int = DEFAULT_MAX_ENTRY_BYTES  # larger results are not stored; 0: no limit
    # The code that computed the results (`source_fingerprint`): after a deploy that changes
    # what a service or a figure returns, no result of the old code is served.
    code_version: str = ""
    _tally: Tally = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._tally = Tally(self.backend)
        if isinstance(self.backend, GuardedCache):
            # A data change during the outage could not bump the version: results cached
            # before it would be served again once the backend returns.
            self.backend.on_recovery(self.invalidate)

    @property
    def outage(self) -> Outage | None:
        """Since when and why the backend does not answer, or None while it works."""
        return self.backend.outage if isinstance(self.backend, GuardedCache) else None

    @property
    def namespace(self) -> str:
        """A short hash naming the database in every key."""
        return self._namespace

    @property
    def _namespace(self) -> str:
        parts = urlsplit(self.database)
        # Credentials change nothing about the data: leave them out of the key.
        where = f"{parts.scheme}://{parts.hostname or ''}:{parts.port or ''}{parts.path}"
        return hashlib.sha256(where.encode()).hexdigest()[:12]

    def _version_key(self) -> str:
        return f"{self._namespace}:data-version"

    def data_version(self) -> int:
        """The current data version (0 until the first bump)."""
        return int(self.backend.get(self._version_key()) or 0)

    def invalidate(self) -> bool:
        """Data changed: every cached result of this database is stale from now on.

        False when the backend did not take the new version (it is down): results cached
        before the change may be served once it returns, unless the cache is cleared.
        """
        # Never expires: a version falling back to an old number could revive old entries.
        return bool(self.backend.set(self._version_key(), self.data_version() + 1, timeout=0))

    def key(self, service: Callable[..., Any], scope: Scope, args: tuple[Any, ...],
            kwargs: dict[str, Any]) -> str:
        """The cache key of one service call in one scope."""
        # repr, not pickle: pickle's bytes depend on object identity (a date shared by two
        # fields is written once), so equal arguments could get different keys.
        arguments = repr((args, sorted(kwargs.items()))).encode()
        digest = hashlib.sha256(arguments).hexdigest()[:32]
        name = f"{service.__module__}.{service.__qualname__}"
        # The data version is the database's, shared by every worker whatever its code (an
        # import seen by one is seen by all, mid-deploy too); the code version keeps results
        # of other code apart.
        return (f"{self._namespace}:v{self.data_version()}:{self.code_version}:{name}:"
                f"{scope.cache_key()}:{digest}")

    def get_or_compute(self, service: Callable[..., T], scope: Scope, args: tuple[Any, ...],
                       kwargs: dict[str, Any], compute: Callable[[], T],
                       max_bytes: int | None = None) -> T:
        """The cached result of the call, computing and storing it on a miss.

        A result whose pickle is over `max_bytes` (default `max_entry_bytes`; 0 for no
        limit) is returned but not stored: one oversized answer must not push out hundreds
        of ordinary ones, nor fill the disk or Redis.
        """
        if isinstance(self.backend, NullCache):
            return compute()
        key = self.key(service, scope, args, kwargs)
        found = self.backend.get(key)
        if found is not None:
            self._count("hits")
            return found
        self._count("misses")
        limit = self.max_entry_bytes if max_bytes is None else max_bytes
        active = _ACTIVE.set((self, limit))
        try:
            result, skipped = _compute_unless_skipped(compute)
        finally:
            _ACTIVE.reset(active)
        if skipped:
            return result
        if limit and not pickles_within(result, limit):
            log.debug("not cached: %s is over the %d-byte entry limit", key, limit)
            return result
        self.backend.set(key, result)
        return result

    def cached_result(self, service: Callable[..., Any], scope: Scope, args: tuple[Any, ...],
                      kwargs: dict[str, Any]) -> Any | None:
        """The stored result of the call, or None when it is not stored (nothing computed;
        a miss is not counted: whoever computes it next counts it)."""
        if isinstance(self.backend, NullCache):
            return None
        found = self.backend.get(self.key(service, scope, args, kwargs))
        if found is not None:
            self._count("hits")
        return found

    def _count(self, what: str) -> None:
        self._tally.add(f"{self._namespace}:stats:{what}")

    def stats(self) -> dict[str, Any]:
        """Backend, hits, misses and hit rate since the counters started."""
        hits = self._tally.read(f"{self._namespace}:stats:hits")
        misses = self._tally.read(f"{self._namespace}:stats:misses")
        total = hits + misses
        return {"backend": backend_name(self.backend), "hits": hits, "misses": misses,
                "hit_rate": hits / total if total else None, "outage": self.outage}
