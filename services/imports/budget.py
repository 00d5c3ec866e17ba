"""The time and memory an import job may use, enforced in the job's own process.

Reading limits (`services.imports.reader.Limits`) refuse files of a hostile *shape*; a file
of an allowed shape can still take long or much memory to check and load (a wide file of a
million rows, a slow database). A job runs in a process of its own (Dash's background
manager starts one per job), so the budget is enforced there: wall time by SIGALRM, memory
by the process's address-space limit (RLIMIT_AS), both restored when the job ends so a
reused worker process is left as it was. Either way the job stops with a message and its
transaction is rolled back: nothing is imported.
"""
from __future__ import annotations

import logging
import os
import resource
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType

from services.errors import ServiceError

log = logging.getLogger(__name__)
DEFAULT_MAX_SECONDS = 30 * 60
DEFAULT_MAX_MEMORY_MB = 2048
OUT_OF_MEMORY = ("The job needed more memory than an import may use "
                 "(PULSEBOARD_IMPORT_MAX_MEMORY_MB); nothing was imported. Split the file into "
                 "smaller ones, or ask an administrator to raise the limit.")


class OverBudget(ServiceError):
    """The job used up its time or memory; the message says which, and that nothing changed."""


@dataclass(frozen=True)
class JobBudget:
    """At most `max_seconds` of wall time and `max_memory_mb` more memory than the process
    held when the job started; 0 turns a limit off."""

    max_seconds: int = DEFAULT_MAX_SECONDS
    max_memory_mb: int = DEFAULT_MAX_MEMORY_MB

    def time_message(self) -> str:
        """Why a job that ran out of time stopped."""
        return (f"The job stopped after {_duration(self.max_seconds)}, the longest an import "
                "may run (PULSEBOARD_IMPORT_MAX_SECONDS); nothing was imported. Split the "
                "file into smaller ones, or ask an administrator to raise the limit.")



def _duration(seconds: int) -> str:
    if seconds % 60 == 0 and seconds >= 60:
        minutes = seconds // 60
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    return f"{seconds} second{'s' if seconds != 1 else ''}"


@contextmanager
def within(budget: JobBudget | None) -> Iterator[None]:
    """Run the block within `budget` (None: no limits); a MemoryError inside it becomes
    `OverBudget`."""
    if budget is None:
        yield
        return
    with _time_limit(budget), _memory_limit(budget):
        try:
            yield
        except MemoryError as error:
            raise OverBudget(OUT_OF_MEMORY) from error


@contextmanager
def _time_limit(budget: JobBudget) -> Iterator[None]:
    if budget.max_seconds <= 0:
        yield
        return
    if threading.current_thread() is not threading.main_thread():
        # Signals reach only the main thread; a job run in a thread keeps its other limits.
        log.warning("Import job runs outside the main thread: no time limit is enforced")
        yield
        return

    def stop(_signum: int, _frame: FrameType | None) -> None:
        raise OverBudget(budget.time_message())

    previous = signal.signal(signal.SIGALRM, stop)
    signal.alarm(budget.max_seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@contextmanager
def _memory_limit(budget: JobBudget) -> Iterator[None]:
    in_use = _address_space_bytes()
    if budget.max_memory_mb <= 0 or in_use is None:
        yield
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = in_use + budget.max_memory_mb * 1024 * 1024
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def _address_space_bytes() -> int | None:
    """The process's current virtual size (Linux); None where it cannot be read."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None
