"""The benchmark runs and reports (a few seconds on tiny data), so `make bench` cannot rot."""
from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import run


def test_overview_benchmark_runs_and_reports(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'bench.db'}"
    load_seconds = run.prepare(url, 2_000)
    rows = run.time_cases(url, repeat=1)
    assert [name for name, _, _ in rows] == [name for name, _ in run.CASES]
    assert all(median > 0 and worst >= median for _, median, worst in rows)
    report = run.report(2_000, {"SQLite": (load_seconds, rows)}, repeat=1)
    assert "| all time |" in report and "2,000 order lines" in report


def test_import_benchmark_times_each_step_and_reports(tmp_path: Path) -> None:
    """On the UCI slice: the steps of a first import cover its whole time, and the report
    names every step and the targets."""
    from benchmarks import imports
    from tests.fixtures.imports import uci_bytes

    database = tmp_path / "imports.db"
    first, again, _report, steps = imports.time_import(
        f"sqlite:///{database}", uci_bytes(), "online_retail.csv",
        lambda: database.unlink(missing_ok=True))
    assert {"Writing order lines", "Updating the pre-aggregated sales"} <= set(steps)
    assert sum(steps.values()) == pytest.approx(first, rel=1e-6)
    assert again > 0
    timed = imports.median_of(1, lambda: (first, again, _report, steps))
    section = imports.report_section(1_000, {"SQLite": timed, "PostgreSQL": timed}, 0.5, 1.0, 1)
    assert "| Writing order lines |" in section and "at most 5×" in section
    assert "with the indexes the pages read them by, takes 2.0× it" in section
    assert "SQLite takes" in section and "at most 8 s" in section
