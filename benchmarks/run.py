"""Overview refresh benchmark: demo data of a given size into SQLite (and PostgreSQL when
BENCH_DATABASE_URL is set), then the server time of GET /api/v1/overview — which runs every
Overview service a filter change runs — for several ranges and filters.

    python -m benchmarks.run [--lines 200000] [--repeat 7]

Medians are reported: these machines are shared and noisy.
"""
from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from benchmarks.common import login_client, machine, prepare, reset_postgres
from dashapp import create_app

CASES = (
    ("last 30 days", "range=30d"),
    ("last 12 months", "range=12m"),
    ("all time", "range=all"),
    ("all time, one platform", "range=all&platform=online-store"),
    ("last 12 months, category + product", "range=12m&category=Footwear&product=FTW-0001"),
    ("all time, weekly, vs last year", "range=all&grain=week&compare=yoy"),
)
# prepare, reset_postgres and machine live in benchmarks.common (shared with the page and
# load benchmarks); they stay importable from here for the import benchmark and the tests.
__all__ = ["CASES", "machine", "prepare", "report", "reset_postgres", "time_cases"]


def time_cases(url: str, repeat: int) -> list[tuple[str, float, float]]:
    """(case, median ms, max ms) of the Overview API for each case."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "ENV": "test"})
    client = app.test_client()
    login_client(client)
    results = []
    for name, query in CASES:
        client.get(f"/api/v1/overview?{query}")  # warm the connection pool and plans
        samples = []
        for _ in range(repeat):
            started = time.perf_counter()
            response = client.get(f"/api/v1/overview?{query}")
            samples.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.get_data(as_text=True)[:200]
        results.append((name, statistics.median(samples), max(samples)))
    return results


def report(lines: int, results: dict[str, tuple[float, list]], repeat: int) -> str:
    """Markdown for docs/performance.md."""
    out = ["## Overview refresh", "",
           "Measured by `make bench` (`python -m benchmarks.run`). Server time of "
           "`GET /api/v1/overview`, which runs every Overview service a filter change runs "
           "(KPIs with comparison, trend with rolling averages, by platform, by category, top "
           f"products), median of {repeat} runs after one warm-up, no cache.", "",
           f"- Machine: {machine()}",
           f"- Data: demo data, {lines:,} order lines (two years)", ""]
    for backend, (load_seconds, rows) in results.items():
        out += [f"### {backend}", "", f"Demo data load: {load_seconds:.1f} s", "",
                "| view | median ms | max ms |", "|---|---:|---:|"]
        out += [f"| {name} | {median:.0f} | {worst:.0f} |" for name, median, worst in rows]
        out.append("")
    return "\n".join(out)


def main() -> None:
    """Run the benchmark and print (and optionally write) the report."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    results: dict[str, tuple[float, list]] = {}
    with tempfile.TemporaryDirectory() as folder:
        sqlite_url = f"sqlite:///{Path(folder) / 'bench.db'}"
        results["SQLite"] = (prepare(sqlite_url, args.lines), time_cases(sqlite_url, args.repeat))
    postgres_url = os.environ.get("BENCH_DATABASE_URL")
    if postgres_url:
        reset_postgres(postgres_url)
        results["PostgreSQL"] = (prepare(postgres_url, args.lines),
                                 time_cases(postgres_url, args.repeat))
    else:
        print("BENCH_DATABASE_URL not set: PostgreSQL skipped.")
    text = report(args.lines, results, args.repeat)
    print(text)  # paste into docs/performance.md (other sections there come from other runs)


if __name__ == "__main__":
    main()
