"""The page refresh benchmark and the load test run and report on tiny data (SQLite, gunicorn
on loopback, payloads recorded in headless Chromium), so they cannot rot. They assert that the
scripts run and report sensibly, never how fast anything is."""
from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks import load, pages
from benchmarks.common import Recording, prepare, require_loopback, save_recordings
from dashapp.panels import gated
from layouts import products
from tests.conftest import skip_or_fail

LINES = 2_000
# A page of each kind: the Overview (its health score scores a stored forecast model, trained
# before it is measured) and one with a drill-down.
SMOKE_PAGES = ("/", "/products")


@pytest.fixture(scope="module", autouse=True)
def _private_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Servers and apps started here share a results cache of their own."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PULSEBOARD_CACHE_DIR", str(tmp_path_factory.mktemp("bench-cache")))
        patch.delenv("REDIS_URL", raising=False)
        yield


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A small SQLite database with demo data and the benchmark user."""
    url = f"sqlite:///{tmp_path_factory.mktemp('bench-db') / 'bench.db'}"
    prepare(url, LINES)
    return url


@pytest.fixture(scope="module")
def page_run(database: str) -> tuple[pages.BackendResult, dict[str, Recording]]:
    """One case per smoke page, once, with the pages recorded in Chromium and one Overview
    render."""
    if shutil.which("chromedriver") is None or shutil.which("chromium") is None:
        skip_or_fail("the page benchmark records payloads in Debian's chromium")
    return pages.run_backend(database, None,
                             pages.page_cases(one_per_page=True, pages=SMOKE_PAGES), repeat=1,
                             load_seconds=0.0, render_ranges=pages.RENDER_RANGES[:1],
                             render_samples=1)


def test_every_page_has_cases_and_the_other_marketing_tabs_too() -> None:
    cases = pages.page_cases()
    assert {case.path for case in cases} == set(pages.PAGES)
    tabs = {dict(case.case.page).get("tab") for case in cases if case.path == "/marketing"}
    assert tabs == {None, *pages.MARKETING_TABS}


def test_page_benchmark_runs_one_case_per_page_and_reports(
        page_run: tuple[pages.BackendResult, dict[str, Recording]]) -> None:
    result, recordings = page_run
    drilled = f"/products?sku={pages.PRODUCT}"
    assert set(recordings) == {*SMOKE_PAGES, drilled}
    # Each view is recorded with what its browser sends: a product list sends no request
    # for the drill-down's panels, a drill-down none for the list's.
    for recorded, shown in (("/products", products.listed), (drilled, products.drilled)):
        requested = {name for follower in recordings[recorded].followers
                     for name in re.findall(r"([\w-]+)\.\w+", follower["output"])}
        for panel in gated(products.PANELS):
            assert (panel.note_id in requested) == (panel.when is shown), (recorded, panel.key)
    assert [case.case.title for case in result.cases] == [
        *(pages.PAGES[path] for path in SMOKE_PAGES), pages.DRILL_DOWN]
    for case in result.cases:
        assert case.errors == []
        assert len(case.cold) == len(case.cached) == 1 and len(case.cold[0].calls) > 2
        assert case.cold[0].server_ms > 0 and case.cached[0].server_ms > 0
        assert case.statements > 0 and case.sql_ms[0] > 0
    assert result.rss_mb["worker 1"] > 0
    assert 0 < result.render["last 30 days"][0] < 300
    text = pages.report(LINES, [result], repeat=1)
    assert "| Overview | last 30 days |" in text and "| Products drill-down |" in text
    assert "2,000 order lines" in text and "Targets:" in text


def test_load_script_runs_against_gunicorn_and_reports(
        database: str, page_run: tuple[pages.BackendResult, dict[str, Recording]],
        tmp_path: Path) -> None:
    recording = tmp_path / "recording.json"
    save_recordings(recording, page_run[1])
    args = load.parse_arguments([
        "--database-url", database, "--recording", str(recording), "--users", "2",
        "--duration", "3", "--think", "0.2", "0.5", "--ramp", "0.5",
        "--throughput-clients", "2", "--throughput-duration", "1", "--timeout", "30"])
    setup, results, rss = load.run(args)
    users, throughput = results
    assert users.requests > 0 and users.refreshes > 0 and users.per_second > 0
    assert throughput.requests > 0 and throughput.refreshes == 0
    assert users.errors == {} and throughput.errors == {}
    assert rss["worker 1"] > 0
    text = load.report(setup, results, rss)
    assert "| 2 users, think 0.2–0.5 s, 3 s |" in text and "requests/s" in text


@pytest.mark.parametrize("url", ["http://10.0.0.1:8000", "http://example.com",
                                 "http://192.168.1.5", "ftp://127.0.0.1"])
def test_load_script_refuses_anything_but_loopback(url: str) -> None:
    with pytest.raises(ValueError):
        require_loopback(url)
    with pytest.raises(SystemExit):
        load.parse_arguments(["--url", url])


def test_loopback_addresses_are_accepted() -> None:
    assert require_loopback("http://127.0.0.1:8000/") == "http://127.0.0.1:8000"
    assert require_loopback("http://localhost:5") == "http://localhost:5"
    assert require_loopback("http://[::1]:8000") == "http://[::1]:8000"
