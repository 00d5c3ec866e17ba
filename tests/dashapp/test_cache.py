"""The shared results cache: scope isolation, hits across app instances (workers), and
invalidation by a real import — on the filesystem backend and on a real Redis server."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from services.cache import DirectoryCache
from tests.conftest import LIMITED, LIMITED_PLATFORM, TestDatabase, login, make_app
from tests.fixtures.servers import redis_url_fixture  # noqa: F401 - used by name

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "online_retail_slice.csv.gz"


@pytest.fixture(params=["filesystem", "redis"])
def cache_config(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    """App settings for each cache backend."""
    if request.param == "redis":
        return {"REDIS_URL": request.getfixturevalue("redis_url")}
    return {"CACHE_DIR": str(tmp_path / "cache")}


def revenue(app: Flask, email: str | None = None, token: str | None = None,
            query: str = "range=all&compare=none") -> float:
    """Net revenue the API reports for a user (session login) or a token."""
    if token:
        response = app.test_client().get(f"/api/v1/overview?{query}",
                                         headers={"Authorization": f"Bearer {token}"})
    else:
        response = login(app.test_client(), email).get(f"/api/v1/overview?{query}")
    assert response.status_code == 200
    return response.get_json()["kpis"]["net_revenue"]["current"]


def test_scopes_never_share_cached_numbers(sqlite_db: TestDatabase,
                                           cache_config: dict[str, str]) -> None:
    app = make_app(sqlite_db.url, **cache_config)
    everything = revenue(app, token=sqlite_db.admin_token)
    limited = revenue(app, token=sqlite_db.limited_token)
    assert limited < everything
    # Same again, served from the cache, still per scope.
    assert revenue(app, token=sqlite_db.admin_token) == everything
    assert revenue(app, token=sqlite_db.limited_token) == limited
    assert revenue(app, LIMITED) == limited
    only_instagram = revenue(app, token=sqlite_db.admin_token,
                             query=f"range=all&compare=none&platform={LIMITED_PLATFORM}")
    assert only_instagram == limited
    stats = app.extensions["result_cache"].stats()
    assert stats["hits"] > 0 and stats["misses"] > 0


def test_two_workers_share_the_cache(sqlite_db: TestDatabase,
                                     cache_config: dict[str, str]) -> None:
    first, second = (make_app(sqlite_db.url, **cache_config) for _ in range(2))
    revenue(first, token=sqlite_db.admin_token, query="range=90d&compare=yoy")
    cache = second.extensions["result_cache"]
    hits_before = cache.stats()["hits"]
    revenue(second, token=sqlite_db.admin_token, query="range=90d&compare=yoy")
    assert cache.stats()["hits"] > hits_before


def test_an_import_invalidates_cached_numbers(tmp_path: Path,
                                              cache_config: dict[str, str]) -> None:
    from tests.conftest import ADMIN, PASSWORD, migrate

    app = make_app(f"sqlite:///{tmp_path / 'fresh.db'}", **cache_config)
    migrate(app)
    runner = app.test_cli_runner()
    assert runner.invoke(args=["demo-data", "--lines", "2000"]).exit_code == 0
    runner.invoke(args=["users", "create", ADMIN, "--role", "admin"], input=PASSWORD + "\n")
    before = revenue(app, ADMIN, query="from=2010-12-01&to=2011-12-31&compare=none")
    assert before == 0.0  # the demo data is from 2024-2026: nothing yet in 2011
    result = runner.invoke(args=["import", str(FIXTURE), "--platform", "Online Store"])
    assert result.exit_code == 0, result.output
    after = revenue(app, ADMIN, query="from=2010-12-01&to=2011-12-31&compare=none")
    assert after > 0  # not the cached zero


def test_equal_arguments_give_equal_keys_whatever_their_identity() -> None:
    import datetime as dt

    from services import overview
    from services.cache import ResultCache, backend_from_settings
    from services.filters import Filters, resolve_period
    from services.scope import Scope

    cache = ResultCache(backend_from_settings(None, None), "sqlite:///x.db")
    day = dt.date(2026, 1, 31)
    shared = resolve_period(Filters(range="custom", start=day, end=day), day, day)
    separate = resolve_period(Filters(range="custom", start=dt.date(2026, 1, 31),
                                      end=dt.date(2026, 1, 31)), dt.date(2026, 1, 31),
                              dt.date(2026, 1, 31))
    keys = {cache.key(overview.kpis, Scope(), (Filters(), period), {})
            for period in (shared, separate)}
    assert len(keys) == 1
    other_scope = cache.key(overview.kpis, Scope(platform_ids=frozenset({1})),
                            (Filters(), shared), {})
    assert other_scope not in keys


def test_a_full_cache_directory_is_pruned_in_bulk_and_keeps_the_data_version(
        tmp_path: Path) -> None:
    from services.cache import ResultCache, backend_from_settings
    from services.scope import Scope

    backend = backend_from_settings(None, str(tmp_path), ttl=600)
    backend._threshold = 40  # small, to fill it quickly
    scans = 0
    list_dir = backend._list_dir

    def counted() -> Iterator[str]:
        nonlocal scans
        scans += 1
        return list_dir()

    backend._list_dir = counted
    cache = ResultCache(backend, "sqlite:///pruned.db")
    cache.invalidate()
    cache.invalidate()
    for n in range(200):
        assert cache.get_or_compute(str, Scope.everything(), (n,), {}, lambda n=n: str(n)) \
            == str(n)
        # Never much over the threshold (+ 3: one entry before the next pass and the
        # two management files, the entry count and the byte count).
        assert len(list(tmp_path.iterdir())) <= 40 + 3
    # Each scan frees about half the directory: a handful of scans for 200 writes, where
    # removing one entry per scan would scan on every write once full.
    assert 0 < scans <= 200 // (40 // 2) + 1
    assert cache.data_version() == 2  # the permanent version entry survived every pruning
    assert cache.get_or_compute(str, Scope.everything(), (199,), {}, lambda: "lost") == "199"


def test_an_oversized_result_is_returned_but_not_stored(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    from services.cache import ResultCache, backend_from_settings
    from services.scope import Scope

    cache = ResultCache(backend_from_settings(None, str(tmp_path)), "sqlite:///big.db",
                        max_entry_bytes=10_000)
    calls = []

    def compute(size: int) -> bytes:
        calls.append(size)
        return b"x" * size

    everyone = Scope.everything()
    with caplog.at_level(logging.DEBUG, logger="services.cache"):
        for _ in range(2):
            assert cache.get_or_compute(bytes, everyone, (50_000,), {},
                                        lambda: compute(50_000)) == b"x" * 50_000
    assert calls == [50_000, 50_000]  # computed each time: never stored
    assert "over the 10000-byte entry limit" in caplog.text
    for _ in range(2):
        assert cache.get_or_compute(bytes, everyone, (100,), {}, lambda: compute(100)) \
            == b"x" * 100
    assert calls == [50_000, 50_000, 100]  # a small one is stored and read back
    # The per-call limit (the app's CACHE_MAX_ENTRY_BYTES) overrides the default.
    cache.get_or_compute(bytes, everyone, (20_000,), {}, lambda: compute(20_000),
                         max_bytes=100_000)
    cache.get_or_compute(bytes, everyone, (20_000,), {}, lambda: compute(20_000),
                         max_bytes=100_000)
    assert calls[3:] == [20_000]


def test_an_oversized_result_is_measured_only_up_to_the_limit() -> None:
    import pickle

    import numpy as np
    import pandas as pd

    from services.cache import pickles_within

    pickled_after = []

    class Tail:
        def __reduce__(self) -> tuple[type[list[Any]], tuple[()]]:
            pickled_after.append(True)
            return (list, ())

    # (pickle writes in frames of 64 KiB: the limit is checked at each)
    assert not pickles_within([b"x" * 200_000, Tail()], 10_000)
    assert pickled_after == []  # stopped at the bytes before it: the rest is never pickled
    assert pickles_within([b"x" * 5_000, Tail()], 10_000) and pickled_after == [True]
    assert pickles_within(b"x" * 10_000, 10_100) and not pickles_within(b"x" * 10_000, 10_000)
    # Large arrays and frames, whose buffers pickle writes as they are.
    frame = pd.DataFrame({"value": np.arange(200_000, dtype=float)})
    exact = len(pickle.dumps(frame, pickle.HIGHEST_PROTOCOL))
    assert pickles_within(frame, exact) and not pickles_within(frame, exact - 1)
    assert not pickles_within(np.zeros(100_000), 10_000)


def test_the_app_takes_its_entry_limit_from_the_settings(sqlite_db: TestDatabase,
                                                        tmp_path: Path) -> None:
    app = make_app(sqlite_db.url, CACHE_DIR=str(tmp_path / "cache"), CACHE_MAX_ENTRY_BYTES=1)
    revenue(app, token=sqlite_db.admin_token)
    stats = app.extensions["result_cache"].stats()
    revenue(app, token=sqlite_db.admin_token)
    # Nothing fits in one byte: the second request misses as often as the first.
    assert app.extensions["result_cache"].stats()["hits"] == stats["hits"]


def test_the_cache_directory_stays_under_its_byte_bound(tmp_path: Path) -> None:
    from services.cache import ResultCache, backend_from_settings
    from services.scope import Scope

    bound = 200_000
    backend = backend_from_settings(None, str(tmp_path), ttl=600, directory_bytes=bound)
    cache = ResultCache(backend, "sqlite:///bytes.db")
    cache.invalidate()
    for n in range(300):  # 300 entries of 5 kB: far under 5,000 entries, 7x the bytes
        value = f"{n:05d}" * 1_000
        assert cache.get_or_compute(str, Scope.everything(), (n,), {}, lambda v=value: v) \
            == value
        on_disk = sum(path.stat().st_size for path in tmp_path.iterdir())
        assert on_disk <= bound + 10_000  # at most one entry over before the next pass
    assert cache.data_version() == 1  # the permanent version entry survived
    assert cache.get_or_compute(str, Scope.everything(), (299,), {}, lambda: "lost") \
        == "00299" * 1_000


def test_the_app_takes_the_directory_bound_from_the_settings(sqlite_db: TestDatabase,
                                                            tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    monkeypatch.setenv("PULSEBOARD_CACHE_DIR_MAX_MB", "3")
    app = make_app(sqlite_db.url, CACHE_DIR=str(tmp_path / "cache"))
    backend = app.extensions["result_cache"].backend
    assert isinstance(backend, DirectoryCache) and backend.max_bytes == 3 * 1024 * 1024


def test_results_of_other_code_are_never_served(tmp_path: Path) -> None:
    from services.cache import ResultCache, backend_from_settings, source_fingerprint
    from services.scope import Scope

    code = tmp_path / "services"
    code.mkdir()
    (code / "sales.py").write_text("def revenue():\n    return 1\n")
    before = source_fingerprint([code])
    backend = backend_from_settings(None, str(tmp_path / "cache"))
    old = ResultCache(backend, "sqlite:///deploy.db", code_version=before)
    assert old.get_or_compute(str, Scope.everything(), (1,), {}, lambda: "old") == "old"
    (code / "sales.py").write_text("def revenue():\n    return 2\n")  # the deploy
    after = source_fingerprint([code])
    assert after != before and source_fingerprint([code]) == after
    new = ResultCache(backend, "sqlite:///deploy.db", code_version=after)
    assert new.get_or_compute(str, Scope.everything(), (1,), {}, lambda: "new") == "new"
    # The same code on another worker shares the entries.
    again = ResultCache(backend, "sqlite:///deploy.db", code_version=after)
    assert again.get_or_compute(str, Scope.everything(), (1,), {}, lambda: "recomputed") \
        == "new"


def test_a_data_change_reaches_workers_running_other_code(tmp_path: Path) -> None:
    from services.cache import ResultCache, backend_from_settings
    from services.scope import Scope

    backend = backend_from_settings(None, str(tmp_path / "cache"))
    old = ResultCache(backend, "sqlite:///rolling.db", code_version="old")
    new = ResultCache(backend, "sqlite:///rolling.db", code_version="new")
    assert new.get_or_compute(str, Scope.everything(), (1,), {}, lambda: "before") == "before"
    old.invalidate()  # an import on a worker still running the old code, mid-deploy
    assert new.get_or_compute(str, Scope.everything(), (1,), {}, lambda: "after") == "after"


def test_a_part_two_services_share_is_computed_once_per_scope(tmp_path: Path) -> None:
    from services.cache import ResultCache, backend_from_settings, cached, reuse
    from services.scope import Scope

    computed: list[Scope] = []

    @cached
    def win_rates(session: object, scope: Scope) -> dict[str, float]:
        computed.append(scope)
        return {"lead": 0.25}

    def kpis(session: object, scope: Scope) -> float:
        return reuse(win_rates, session, scope)["lead"] * 4

    def funnel(session: object, scope: Scope) -> float:
        return reuse(win_rates, session, scope)["lead"] * 8

    cache = ResultCache(backend_from_settings(None, str(tmp_path)), "sqlite:///shared.db")
    everyone, limited = Scope.everything(), Scope(user_id=2, platform_ids=frozenset({1}))
    for outer, expected in ((kpis, 1.0), (funnel, 2.0)):
        for scope in (everyone, limited):
            assert cache.get_or_compute(outer, scope, (), {},
                                        lambda o=outer, s=scope: o(None, s)) == expected
    # Once per scope through the cache; a limited user never gets the other scope's part.
    assert computed == [everyone, limited]
    assert kpis(None, everyone) == 1.0 and len(computed) == 3  # no cache around: direct


def test_two_workers_counts_add_up_in_the_directory(tmp_path: Path) -> None:
    from services.cache import backend_from_settings

    first, second = (backend_from_settings(None, str(tmp_path), ttl=600) for _ in range(2))
    for n in range(10):
        first.set(f"a{n}", "x" * 100)
    for n in range(5):
        second.set(f"b{n}", "y" * 100)
    first.set("a0", "x" * 100)  # an overwrite is not a new entry
    for backend in (first, second):
        backend._flush_counts(force=True)
    entries = [path for path in tmp_path.iterdir() if not backend._is_mgmt(path.name)]
    assert len(entries) == 15 and first._file_count == 15
    assert first._byte_count == sum(path.stat().st_size for path in entries)


def test_a_stopping_worker_writes_the_counts_it_held_back(tmp_path: Path) -> None:
    from services.cache import backend_from_settings

    worker = backend_from_settings(None, str(tmp_path), ttl=600)
    for n in range(3):  # written within a second: counted in the process only
        worker.set(f"k{n}", "x" * 100)
    assert worker._file_count == 0  # the count file, as another worker reads it
    worker.flush_at_exit()  # what the exit hook runs
    assert worker._file_count == 3
