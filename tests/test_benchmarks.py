"""The benchmark runs and reports (a few seconds on tiny data), so `make bench` cannot rot."""
from __future__ import annotations

from pathlib import Path

from benchmarks import run


def test_overview_benchmark_runs_and_reports(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'bench.db'}"
    load_seconds = run.prepare(url, 2_000)
    rows = run.time_cases(url, repeat=1)
    assert [name for name, _, _ in rows] == [name for name, _ in run.CASES]
    assert all(median > 0 and worst >= median for _, median, worst in rows)
    report = run.report(2_000, {"SQLite": (load_seconds, rows)}, repeat=1)
    assert "| all time |" in report and "2,000 order lines" in report
