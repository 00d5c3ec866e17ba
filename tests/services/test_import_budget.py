"""A background import job stops at its time or memory budget with a message, and nothing of
the file is imported even when the budget runs out after every row was written.

Each job runs in a forked child process, as Dash's background manager runs it: the budget
lowers the process's memory limit, which must not touch the test runner itself.
"""
from __future__ import annotations

import multiprocessing
import resource
import signal
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from pathlib import Path

import pytest

from services.imports.budget import OUT_OF_MEMORY, JobBudget, within
from services.imports.mapping import detect
from services.imports.reader import Limits
from services.imports.runner import IMPORT, JobRequest, run_import_job
from services.imports.uploads import save_upload
from services.users import create_user
from tests.fixtures.imports import (  # noqa: F401 - the fixtures are used by name
    TIMEZONE,
    Fresh,
    fresh_sqlite_fixture,
    sqlite_template_fixture,
)
from tests.services.test_import_limits import HEADER

LINES = 200


def sales_file() -> bytes:
    """A valid sales file of LINES lines."""
    rows = [",".join(HEADER)] + [f"A{n},2026-03-{1 + n % 28:02d},SKU-{n % 7},{1 + n % 3},9.50"
                                 for n in range(LINES)]
    return ("\n".join(rows) + "\n").encode()


# Both run out at "Saving": every line is written in the job's transaction, nothing committed.
def sleep_past_the_limit(step: str, _fraction: float) -> None:
    if step == "Saving":
        time.sleep(1.5)


def allocate_far_past_the_limit(step: str, _fraction: float) -> None:
    if step == "Saving":
        bytearray(1024 * 1024 * 1024)


def staged_job(fresh: Fresh, folder: Path) -> JobRequest:
    """An analyst and their staged sales file: the job the wizard would start."""
    with fresh.session() as session:
        user_id = create_user(session, "analyst@example.com", "a-long-password", "analyst").id
        session.commit()
    upload = save_upload(folder, sales_file(), "sales.csv", user_id)
    return JobRequest(action=IMPORT, user_id=user_id, upload=upload,
                      mapping=detect(HEADER).mapping.as_dict(), platform="Online Store",
                      skip_invalid=False)


def run_in_child(fresh: Fresh, folder: Path, job: JobRequest, budget: JobBudget,
                 progress: Callable[[str, float], None]) -> tuple[str, str]:
    """Run the job in a forked process, as the background manager does: (status, report)."""

    def child(pipe: Connection) -> None:
        with fresh.session() as session:
            report = run_import_job(session, job, folder=folder, timezone=TIMEZONE,
                                    limits=Limits(), roles={"analyst"}, progress=progress,
                                    budget=budget)
        pipe.send((report.status, report.to_text()))

    fork = multiprocessing.get_context("fork")
    receiver, sender = fork.Pipe(duplex=False)
    process = fork.Process(target=child, args=(sender,))
    process.start()
    process.join(60)
    assert process.exitcode == 0
    return receiver.recv()


def test_a_job_past_its_time_stops_and_imports_nothing(fresh_sqlite: Fresh,
                                                       tmp_path: Path) -> None:
    job = staged_job(fresh_sqlite, tmp_path)
    before = fresh_sqlite.checksum()
    status, text = run_in_child(fresh_sqlite, tmp_path, job,
                                JobBudget(max_seconds=1, max_memory_mb=0), sleep_past_the_limit)
    assert status == "rejected"
    assert "stopped after 1 second" in text and "nothing was imported" in text
    assert "PULSEBOARD_IMPORT_MAX_SECONDS" in text
    assert fresh_sqlite.scalar("SELECT COUNT(*) FROM order_lines") == 0
    assert fresh_sqlite.checksum() == before


def test_a_job_past_its_memory_stops_and_imports_nothing(fresh_sqlite: Fresh,
                                                         tmp_path: Path) -> None:
    job = staged_job(fresh_sqlite, tmp_path)
    before = fresh_sqlite.checksum()
    status, text = run_in_child(fresh_sqlite, tmp_path, job,
                                JobBudget(max_seconds=0, max_memory_mb=256),
                                allocate_far_past_the_limit)
    assert status == "rejected" and OUT_OF_MEMORY in text
    assert fresh_sqlite.scalar("SELECT COUNT(*) FROM order_lines") == 0
    assert fresh_sqlite.checksum() == before
    # The job's outcome is recorded, so the import history says why.
    assert fresh_sqlite.scalar("SELECT status FROM import_jobs") == "rejected"


def test_the_same_job_within_its_budget_imports_every_line(fresh_sqlite: Fresh,
                                                           tmp_path: Path) -> None:
    job = staged_job(fresh_sqlite, tmp_path)
    status, text = run_in_child(fresh_sqlite, tmp_path, job, JobBudget(), lambda *_: None)
    assert status == "succeeded", text
    assert fresh_sqlite.scalar("SELECT COUNT(*) FROM order_lines") == LINES


def test_the_budget_leaves_the_process_as_it_found_it() -> None:
    limit_before = resource.getrlimit(resource.RLIMIT_AS)
    with within(JobBudget(max_seconds=5, max_memory_mb=512)):
        assert resource.getrlimit(resource.RLIMIT_AS)[0] != limit_before[0]
    assert resource.getrlimit(resource.RLIMIT_AS) == limit_before
    assert signal.alarm(0) == 0  # no alarm is left pending


@pytest.mark.parametrize("budget", [None, JobBudget(max_seconds=0, max_memory_mb=0)])
def test_no_budget_limits_nothing(budget: JobBudget | None) -> None:
    limit_before = resource.getrlimit(resource.RLIMIT_AS)
    with within(budget):
        assert resource.getrlimit(resource.RLIMIT_AS) == limit_before
