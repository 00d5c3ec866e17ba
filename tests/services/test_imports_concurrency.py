"""Imports at the same time, and an import whose process is killed half-way."""
from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import sqlalchemy as sa

from services.imports.jobs import import_history
from tests.conftest import skip_or_fail
from tests.fixtures.imports import (  # noqa: F401 - the fixtures are used by name
    TIMEZONE,
    Fresh,
    big_sales_file,
    fresh_fixture,
    imports_postgres_url_fixture,
    sqlite_template_fixture,
    uci_bytes,
    uci_frame,
    writing,
)

ROOT = Path(__file__).resolve().parents[2]


def _split_slice() -> tuple[bytes, bytes]:
    """Two files of the UCI slice that share 60 invoices."""
    frame = pd.read_csv(io.BytesIO(uci_bytes()), dtype=str, keep_default_na=False)
    invoices = list(dict.fromkeys(frame["InvoiceNo"]))
    first = frame[frame["InvoiceNo"].isin(invoices[:120])]
    second = frame[frame["InvoiceNo"].isin(invoices[60:])]
    return first.to_csv(index=False).encode(), second.to_csv(index=False).encode()


def test_two_imports_at_once_neither_duplicate_nor_lose_rows(fresh: Fresh) -> None:
    files = _split_slice()
    start = threading.Barrier(len(files))
    reports = []

    def run(data: bytes) -> None:
        start.wait()
        reports.append(fresh.run(data, "part.csv"))

    threads = [threading.Thread(target=run, args=(data,)) for data in files]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert [r.status for r in reports] == ["succeeded", "succeeded"], \
        [r.to_text() for r in reports]
    assert sorted(r.totals["orders_replaced"] for r in reports) == [0, 60]
    expected = uci_frame()
    with fresh.engine.connect() as connection:
        lines, quantity, orders = connection.execute(sa.text(
            "SELECT COUNT(*), SUM(quantity), COUNT(DISTINCT order_id) FROM order_lines")).one()
        products = connection.execute(sa.text("SELECT COUNT(*) FROM products")).scalar()
    assert (lines, int(quantity)) == (len(expected), int(expected["Quantity"].sum()))
    assert orders == expected["InvoiceNo"].nunique()
    assert products == expected["StockCode"].nunique()


OTHER_HOST = "another-host"


def _on_another_host(fresh: Fresh) -> list[str]:
    """On PostgreSQL, the command prefix that runs a process under another host name (a UTS
    namespace of its own), as a Celery worker on another machine; on SQLite (one machine
    by nature) none."""
    if fresh.name == "sqlite":
        return []
    if subprocess.run(["unshare", "--uts", "true"], capture_output=True).returncode != 0:
        skip_or_fail("running a process under another host name needs `unshare --uts` (root)")
    return ["unshare", "--uts", "sh", "-c", f'hostname {OTHER_HOST} && exec "$@"', "sh"]


def _latest_import(fresh: Fresh) -> dict[str, object]:
    with fresh.session() as session:
        return import_history(session)[0]


def test_a_killed_import_is_shown_as_failed_and_changed_nothing(fresh: Fresh,
                                                                tmp_path: Path) -> None:
    fresh.run(uci_bytes(), "retail.csv")
    before = fresh.checksum()
    big = tmp_path / "big.csv"
    big_sales_file(big)
    env = {**os.environ, "DATABASE_URL": fresh.url, "PULSEBOARD_TIMEZONE": TIMEZONE}
    command = Path(sys.executable).with_name("pulseboard")
    process = subprocess.Popen([*_on_another_host(fresh), str(command), "import", str(big)],
                               cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 90
        while not writing(fresh):
            assert process.poll() is None, "the import ended before it was caught writing"
            assert time.monotonic() < deadline, "the import never started writing"
            time.sleep(0.01)
        if fresh.name != "sqlite":
            # On PostgreSQL it runs as on another host (a Celery worker there): its pid
            # tells nothing here; its lock says it is alive.
            assert _latest_import(fresh)["status"] == "running"
            assert fresh.scalar("SELECT worker FROM import_jobs WHERE filename = 'big.csv'"
                                ).startswith(f"{OTHER_HOST}:")
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    # PostgreSQL ends the dead process's sessions, and drops its lock, a moment later.
    deadline = time.monotonic() + 10
    while (latest := _latest_import(fresh))["status"] == "running" \
            and time.monotonic() < deadline:
        time.sleep(0.05)
    assert latest["filename"] == "big.csv"
    assert latest["status"] == "failed"
    assert "stopped before it finished" in latest["errors"][0]
    assert fresh.checksum() == before
    # The next import records the dead job as failed for good, and works.
    assert fresh.run(uci_bytes(), "retail.csv").status == "succeeded"
    assert fresh.scalar("SELECT status FROM import_jobs WHERE filename = 'big.csv'") == "failed"

