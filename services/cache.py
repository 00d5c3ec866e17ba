"""A shared cache of service results, keyed by the database, the data version, the service,
its arguments (filters, dates, page choices) and the user's scope.

The scope is part of every key, so numbers computed for one platform limit are never served
to a user with another. The data version is bumped after every import or demo load; entries
of older versions are never read again and expire by themselves. Backends come from
cachelib: Redis (shared by every gunicorn worker and host), the filesystem (shared by the
workers of one machine) or none.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

from cachelib import BaseCache, FileSystemCache, NullCache, RedisCache

from services.scope import Scope

T = TypeVar("T")
DEFAULT_TTL = 600  # seconds; a safety net: data changes bump the version at once


def backend_from_settings(redis_url: str | None, directory: str | None,
                          ttl: int = DEFAULT_TTL) -> BaseCache:
    """Redis when a URL is given, else a cache directory, else no cache at all."""
    if redis_url:
        import redis  # only needed when Redis is configured

        return RedisCache(redis.Redis.from_url(redis_url, socket_timeout=2,
                                               socket_connect_timeout=2),
                          default_timeout=ttl, key_prefix="pulseboard:")
    if directory:
        return FileSystemCache(directory, threshold=5_000, default_timeout=ttl)
    return NullCache()


def backend_name(backend: BaseCache) -> str:
    """A short description of the backend for the system status."""
    return {RedisCache: "redis", FileSystemCache: "filesystem"}.get(type(backend), "none")


@dataclass
class ResultCache:
    """Service results for one database, shared through `backend`."""

    backend: BaseCache
    database: str  # the database URL; hashed into every key

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

    def invalidate(self) -> None:
        """Data changed: every cached result of this database is stale from now on."""
        # Never expires: a version falling back to an old number could revive old entries.
        self.backend.set(self._version_key(), self.data_version() + 1, timeout=0)

    def key(self, service: Callable[..., Any], scope: Scope, args: tuple[Any, ...],
            kwargs: dict[str, Any]) -> str:
        """The cache key of one service call in one scope."""
        # repr, not pickle: pickle's bytes depend on object identity (a date shared by two
        # fields is written once), so equal arguments could get different keys.
        arguments = repr((args, sorted(kwargs.items()))).encode()
        digest = hashlib.sha256(arguments).hexdigest()[:32]
        name = f"{service.__module__}.{service.__qualname__}"
        return (f"{self._namespace}:v{self.data_version()}:{name}:"
                f"{scope.cache_key()}:{digest}")

    def get_or_compute(self, service: Callable[..., T], scope: Scope, args: tuple[Any, ...],
                       kwargs: dict[str, Any], compute: Callable[[], T]) -> T:
        """The cached result of the call, computing and storing it on a miss."""
        if isinstance(self.backend, NullCache):
            return compute()
        key = self.key(service, scope, args, kwargs)
        found = self.backend.get(key)
        if found is not None:
            self._count("hits")
            return found
        self._count("misses")
        result = compute()
        self.backend.set(key, result)
        return result

    def _count(self, what: str) -> None:
        key = f"{self._namespace}:stats:{what}"
        if self.backend.inc(key) is None:
            self.backend.set(key, 1, timeout=0)

    def stats(self) -> dict[str, Any]:
        """Backend, hits, misses and hit rate since the counters started."""
        hits = int(self.backend.get(f"{self._namespace}:stats:hits") or 0)
        misses = int(self.backend.get(f"{self._namespace}:stats:misses") or 0)
        total = hits + misses
        return {"backend": backend_name(self.backend), "hits": hits, "misses": misses,
                "hit_rate": hits / total if total else None}
