"""Redis down: pages still answer (computed without the cache), Admin · System says so, and
the cache is used again, without results from before the outage, once Redis is back. Run
against a real redis-server that is stopped, frozen and restarted."""
from __future__ import annotations

import time
from itertools import count

from flask import Flask

from callbacks.admin import tab_content
from dashapp.filters import parse_query
from layouts.admin import PARAMS
from services.cache import ResultCache, backend_from_settings
from services.cache_guard import GuardedCache
from services.scope import Scope
from tests.conftest import ADMIN, TestDatabase, callback_request, make_app
from tests.dashapp.test_cache import revenue
from tests.fixtures.servers import RedisServer, redis_server_fixture  # noqa: F401 - by name

SHORT_RETRY = 0.2  # seconds; the app's default is 5


def _guard(cache: ResultCache) -> GuardedCache:
    assert isinstance(cache.backend, GuardedCache)
    cache.backend.retry_seconds = SHORT_RETRY
    return cache.backend


def test_a_frozen_redis_costs_the_cache_not_the_answer_nor_stale_results(
        redis_server: RedisServer) -> None:
    cache = ResultCache(backend_from_settings(redis_server.url, None), "sqlite:///outage.db")
    _guard(cache)
    answers = count()  # a new number on every computation: a cached answer repeats

    def ask() -> int:
        return cache.get_or_compute(str, Scope.everything(), ("question",), {},
                                    lambda: next(answers))

    before = ask()
    assert ask() == before  # served from Redis

    redis_server.pause()  # the host stops answering; what Redis holds survives
    assert not cache.invalidate()  # a data change it could not record (waits 2 s: timeout)
    during = ask()
    assert during != before  # computed again, never an error
    outage = cache.stats()["outage"]
    assert outage is not None and "Timeout" in outage.error
    started = time.monotonic()
    ask()
    # Within the retry interval Redis is not tried: no 2-second timeout per cache call.
    assert time.monotonic() - started < 1.0

    redis_server.resume()
    time.sleep(SHORT_RETRY * 2)
    after = ask()
    assert cache.outage is None
    # Redis still holds `before` under the old data version: the version was bumped when it
    # came back, since the data changed while it was away.
    assert after not in (before, during)
    assert ask() == after  # cached again


def test_pages_answer_while_redis_is_down_and_admin_is_warned(
        sqlite_db: TestDatabase, redis_server: RedisServer) -> None:
    uncached = revenue(make_app(sqlite_db.url, CACHE="none"), token=sqlite_db.admin_token)
    app = make_app(sqlite_db.url, REDIS_URL=redis_server.url)
    cache = app.extensions["result_cache"]
    _guard(cache)
    assert revenue(app, token=sqlite_db.admin_token) == uncached

    redis_server.stop()  # connections refused
    assert revenue(app, token=sqlite_db.admin_token) == uncached
    assert revenue(app, ADMIN) == uncached  # a logged-in page view too
    warning = str(_status_tab(app))
    assert "The results cache does not answer" in warning and "redis, not answering" in warning

    redis_server.start()
    time.sleep(SHORT_RETRY * 2)
    hits = cache.stats()["hits"]
    assert revenue(app, token=sqlite_db.admin_token) == uncached
    assert revenue(app, token=sqlite_db.admin_token) == uncached
    assert cache.stats()["hits"] > hits  # cached again
    assert "does not answer" not in str(_status_tab(app))


def test_a_cli_import_while_redis_is_down_says_the_cache_may_be_stale(
        sqlite_db: TestDatabase, redis_server: RedisServer) -> None:
    app = make_app(sqlite_db.url, REDIS_URL=redis_server.url)
    redis_server.stop()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["cache", "clear"])
    assert result.exit_code != 0 and "nothing was cleared" in result.output
    result = runner.invoke(args=["rollups", "rebuild"])
    assert result.exit_code == 0, result.output
    assert "pulseboard cache clear" in result.output  # the warning, on standard error


def _status_tab(app: Flask) -> object:
    with callback_request(app, ADMIN):
        return tab_content(parse_query("tab=status", PARAMS))
