"""One import from start to end: read, recognise, convert, check, then load in one
transaction (or, for a dry run, stop before loading)."""
from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from models import ImportJob, Product
from services.audit import record
from services.errors import AccessDenied, InvalidInput, ServiceError
from services.imports import access, bulk, convert, entities, jobs, sales
from services.imports.budget import OUT_OF_MEMORY
from services.imports.kinds import KINDS, Field
from services.imports.mapping import (
    FORMAT_LABELS,
    GIVEN_LABEL,
    UCI,
    ColumnMapping,
    Detection,
    detect,
    saved_mappings,
)
from services.imports.options import DEFAULT_PLATFORM
from services.imports.reader import Limits, RawTable, checksum, read_table
from services.imports.report import FAILED, REJECTED, SUCCEEDED, UNEXPECTED, ImportReport
from services.maintenance import refresh_statistics
from services.scope import Scope

Progress = sales.Progress
# Kinds whose file may lack a platform column: its rows go to the platform the user chose.
CHOSEN_PLATFORM_KINDS = ("sales", "posts")
PREVIEW_ROWS = 10
ANALYSE_AFTER_ROWS = 10_000  # refresh planner statistics after loads larger than this


def _no_progress(_step: str, _fraction: float) -> None:
    return None


@dataclass(frozen=True)
class ImportRequest:
    """A file and how to import it."""

    data: bytes
    filename: str
    mapping: ColumnMapping | None = None  # None: recognise the file by its header
    kind: str | None = None  # restricts recognition to one kind
    platform: str = DEFAULT_PLATFORM  # for sales or post rows that name no platform
    encoding: str = "auto"
    delimiter: str | None = None
    skip_invalid: bool = False  # load the valid rows and report the others
    timezone: str = "UTC"
    limits: Limits = field(default_factory=Limits)
    today: dt.date | None = None


@dataclass(frozen=True)
class Analysis:
    """What the first rows of a file say: how it was read, what it is, a preview."""

    filename: str
    read_as: str
    columns: tuple[str, ...]
    detection: Detection
    preview: pd.DataFrame  # the first rows, as text


def analyse(session: Session, scope: Scope, data: bytes, filename: str, kind: str | None = None,
            encoding: str = "auto", delimiter: str | None = None,
            limits: Limits | None = None) -> Analysis:
    """Recognise a file from its header and first rows (fast: the rest is not parsed)."""
    raw = read_table(data, filename, limits or Limits(), encoding, delimiter,
                     head=PREVIEW_ROWS)
    detection = detect(raw.columns, saved_mappings(session), kind)
    return Analysis(filename, raw.describe(), raw.columns, detection, raw.frame)


def check_file(session: Session, scope: Scope, request: ImportRequest,
               progress: Progress = _no_progress) -> ImportReport:
    """Everything an import does except writing: the report of what would happen."""
    try:
        report, _prepared = _prepare(session, scope, _blank_report(request), request, progress)
    finally:
        session.rollback()
    return report


def import_file(session: Session, scope: Scope, request: ImportRequest,
                user_id: int | None = None, ip: str | None = None,
                progress: Progress = _no_progress) -> ImportReport:
    """Import a file: all of it, or (with `skip_invalid`) its valid rows, or nothing.

    Commits twice: the job row as "running" first, then the data together with the job's
    outcome; a rejected or failed file changes no data and leaves a job saying why.
    """
    started = time.perf_counter()
    report = _blank_report(request)
    with jobs.running_job(session, report, user_id) as job:
        report = _import_as(job, session, scope, request, report, ip, progress)
        report.job_id, report.seconds = job.id, round(time.perf_counter() - started, 2)
        if report.status != SUCCEEDED:
            _finish_job(session, job, report, ip)
        elif report.rows_loaded > ANALYSE_AFTER_ROWS:
            refresh_statistics(session)
            session.commit()
    return report


def _import_as(job: ImportJob, session: Session, scope: Scope, request: ImportRequest,
               report: ImportReport, ip: str | None, progress: Progress) -> ImportReport:
    """Prepare and load the file as the running `job`; what went wrong becomes the report
    (the data rolled back), except an unexpected error, raised once the job says so."""
    try:
        report, prepared = _prepare(session, scope, report, request, progress)
        if report.status != REJECTED:
            _load(session, scope, request, report, prepared, job, ip, progress)
    except ServiceError as error:
        session.rollback()
        report.status, report.errors = REJECTED, [*report.errors, str(error)]
    except MemoryError:  # the job's memory budget (services.imports.budget), or the machine's
        session.rollback()
        report.status, report.errors = REJECTED, [*report.errors, OUT_OF_MEMORY]
    except SQLAlchemyError as error:
        session.rollback()
        report.status = FAILED
        report.errors.append("The database could not complete the import "
                             f"({_first_line(getattr(error, 'orig', error))}); nothing was "
                             "changed.")
    except Exception:
        session.rollback()
        report.status = FAILED
        report.errors.append(UNEXPECTED)
        _finish_job(session, job, report, ip)
        raise
    return report


def _first_line(error: Any) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else "unknown error"


def _blank_report(request: ImportRequest) -> ImportReport:
    kind = request.mapping.kind if request.mapping else (request.kind or "sales")
    return ImportReport(kind=kind, filename=request.filename, checksum=checksum(request.data),
                        size_bytes=len(request.data))


def _finish_job(session: Session, job: ImportJob, report: ImportReport,
                ip: str | None) -> None:
    _record(session, session.merge(job), report, ip)
    session.commit()


def _record(session: Session, job: ImportJob, report: ImportReport, ip: str | None) -> None:
    """The job's outcome and its audit event (the caller commits)."""
    jobs.record_outcome(job, report)
    record(session, "import", job.user_id, ip, job=job.id, file=report.filename,
           status=report.status, loaded=report.rows_loaded, rejected=report.rows_rejected)


def _prepare(session: Session, scope: Scope, report: ImportReport, request: ImportRequest,
             progress: Progress) -> tuple[ImportReport, Any]:
    """Read, map, convert and check; the report says what would be loaded."""
    progress("Reading the file", 0.02)
    try:
        raw = read_table(request.data, request.filename, request.limits, request.encoding,
                         request.delimiter)
        mapping = request.mapping or detect(raw.columns, saved_mappings(session),
                                            request.kind).mapping
        mapping.check(raw.columns)
    except InvalidInput as error:
        report.status, report.errors = REJECTED, [str(error)]
        return report, None
    _describe(report, raw, mapping, request)
    try:  # shared reference data: a limited user is refused before any row is queried
        access.check_kind(scope, mapping.kind)
    except AccessDenied as error:
        report.status, report.errors = REJECTED, [str(error)]
        return report, None
    progress("Checking every row", 0.1)
    problems = convert.Problems(raw.frame.index, raw.frame)
    values = _convert(raw, mapping, problems, request, report)
    prepared = _prepare_kind(session, scope, mapping, values, problems, request)
    _summarise(report, problems, prepared, request)
    report.platform_ids = access.platforms_of(session, mapping.kind, prepared)
    refused = access.refusals(session, scope, mapping.kind, prepared)
    if refused:  # all or nothing, whatever skip_invalid says; no figure of the rows is shown
        report.status = REJECTED
        report.errors.append(access.refusal_message(refused))
        report.rows_loaded, report.rows_excluded = 0, 0
        report.totals, report.excluded = {}, {}
        return report, None
    previous = jobs.previous_import(session, report.checksum, report.kind, report.platform)
    if previous is not None and access.visible_to(scope, previous):
        report.notes.append(
            f"This file was already imported on {previous.started_at:%d %b %Y %H:%M} UTC "
            f"(import #{previous.id}); importing it again replaces the same rows, so no total "
            "changes.")
    return report, prepared


def _describe(report: ImportReport, raw: RawTable, mapping: ColumnMapping,
              request: ImportRequest) -> None:
    report.kind = mapping.kind
    report.read_as = raw.describe()
    report.source = _source_label(mapping, request)
    report.source_format = mapping.source_format
    report.mapping = dict(mapping.columns)
    report.rows_read = raw.rows
    if mapping.kind in CHOSEN_PLATFORM_KINDS and "platform" not in mapping.columns:
        report.platform = _chosen_platform(request)


def _source_label(mapping: ColumnMapping, request: ImportRequest) -> str:
    """How the columns were found: recognised, a saved mapping, or the mapping given (a
    mapping file, the Data page's editor), which was then not "matched by name"."""
    if mapping.source_format == UCI or request.mapping is None:
        return FORMAT_LABELS[mapping.source_format]
    return f"saved mapping “{mapping.name}”" if mapping.name else GIVEN_LABEL


def _chosen_platform(request: ImportRequest) -> str:
    """The platform of rows that name none: the one chosen on the page or with --platform."""
    return request.platform.strip() or DEFAULT_PLATFORM


def _convert(raw: RawTable, mapping: ColumnMapping, problems: convert.Problems,
             request: ImportRequest, report: ImportReport) -> dict[str, pd.Series]:
    """Typed values of every mapped field (Series named after the file's column)."""
    kind = KINDS[mapping.kind]
    today = request.today or dt.date.today()
    values: dict[str, pd.Series] = {}
    for name, column in mapping.columns.items():
        field_ = kind.field(name)
        cells = raw.frame[column]
        values[name] = _convert_field(cells, field_, column, problems, mapping, request,
                                      today, report).rename(column)
    return values


def _convert_field(cells: pd.Series, field_: Field, column: str, problems: convert.Problems,
                   mapping: ColumnMapping, request: ImportRequest, today: dt.date,
                   report: ImportReport) -> pd.Series:
    function: Callable[..., pd.Series]  # the time converters take the order and zone too
    if field_.type in convert.TIME_TYPES:
        order, note = convert.date_order(cells, mapping.date_order)
        if note:
            report.notes.append(note)
        function = convert.timestamps if field_.type == "datetime" else convert.dates
        return convert.on_distinct(cells, function, problems, field_, column, order,
                                   request.timezone, today)
    function = convert.CONVERTERS.get(field_.type, convert.text)
    return convert.on_distinct(cells, function, problems, field_, column)


def _prepare_kind(session: Session, scope: Scope, mapping: ColumnMapping,
                  values: dict[str, pd.Series], problems: convert.Problems,
                  request: ImportRequest) -> Any:
    context: sales.SalesContext | entities.Context
    if mapping.kind == "sales":
        context = sales.SalesContext(mapping.source_format, _chosen_platform(request),
                                     request.timezone, _non_merchandise(session))
        return sales.prepare(values, problems, context, request.skip_invalid)
    if mapping.kind in CHOSEN_PLATFORM_KINDS and "platform" not in values:
        values = {**values, "platform": pd.Series(_chosen_platform(request),
                                                  index=problems.rows, dtype=object)}
    context = entities.Context(request.timezone, scope, dict(mapping.columns))
    prepared = entities.PREPARERS[mapping.kind](session, values, problems, context)
    prepared.frame = prepared.frame.loc[~problems.rejected]  # what skip_invalid leaves out
    return prepared


def _non_merchandise(session: Session) -> frozenset[str]:
    return frozenset(session.scalars(select(Product.sku)
                                     .where(Product.is_merchandise.is_(False))))


def _summarise(report: ImportReport, problems: convert.Problems, prepared: Any,
               request: ImportRequest) -> None:
    report.rows_rejected = problems.rejected_rows
    report.rows_loaded = report.rows_read - report.rows_rejected
    report.problems = problems.summary()
    report.issues = [issue.as_dict() for issue in problems.examples]
    report.notes += problems.notes
    if isinstance(prepared, sales.PreparedSales):
        report.totals = dict(prepared.totals)
        report.excluded = prepared.excluded
        report.rows_excluded = sum(prepared.excluded.values())
        if report.source_format == UCI:
            report.notes.append(
                "UCI rules applied: invoices starting with C are cancellations; negative "
                "zero-price lines without a customer on other invoices are stock adjustments "
                "(kept, not returns); postage, fee, manual, discount, sample, commission, "
                "bad-debt, test and gift-voucher codes are kept but left out of merchandise "
                "metrics.")
    else:
        report.totals = dict(prepared.totals)
        report.notes += prepared.notes
    if prepared.first_date is not None:
        report.first_date = prepared.first_date.isoformat()
        report.last_date = prepared.last_date.isoformat()
    if report.rows_rejected and not request.skip_invalid:
        report.status = REJECTED
        report.errors.append(
            f"{report.rows_rejected:,} of {report.rows_read:,} rows have problems (listed "
            "below), so nothing was loaded. Correct the file, or choose to skip those rows.")
        # Nothing is loaded: figures of the other rows would read as if they had been.
        report.rows_loaded, report.rows_excluded = 0, 0
        report.totals, report.excluded = {}, {}
    elif report.rows_loaded == 0:
        report.status = REJECTED
        report.errors.append("No row of the file can be loaded.")


def _load(session: Session, scope: Scope, request: ImportRequest, report: ImportReport,
          prepared: Any, job: ImportJob, ip: str | None, progress: Progress) -> None:
    """Write everything and the job's outcome in one transaction."""
    session.rollback()  # end the read transaction of the checks
    bulk.take_import_lock(session)
    job = session.merge(job)
    job.status = "loading"  # never committed: the data and the outcome commit together
    session.flush()  # the first write: on SQLite this takes the database's write lock
    progress("Loading", 0.35)

    def step(text: str, fraction: float) -> None:
        progress(text, 0.35 + 0.6 * fraction)

    if isinstance(prepared, sales.PreparedSales):
        report.totals.update(sales.load(session, prepared, scope, step, job.id))
    else:
        entities.load(session, prepared, scope, request.timezone, job.id)
    # Platforms created by the load now exist: the job's attribution is complete.
    report.platform_ids = access.platforms_of(session, report.kind, prepared)
    report.status = SUCCEEDED
    _record(session, job, report, ip)
    progress("Saving", 0.97)
    session.commit()

