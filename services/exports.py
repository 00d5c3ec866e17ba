"""Exports: a DataFrame as CSV or XLSX with a header naming what it is, safe for spreadsheets.

The one export path of the product: every chart's data, the API's files and the full
dataset export go through `export_bytes`.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import pandas as pd

FORMATS = {"csv": "text/csv", "xlsx": "application/vnd.openxmlformats-officedocument."
           "spreadsheetml.sheet"}
# A cell starting with one of these is run as a formula by Excel, LibreOffice and Sheets.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class ExportHeader:
    """What an export contains: title, filters in words, resolved dates, view URL, time."""

    title: str
    filters: str
    dates: str
    url: str
    exported_at: dt.datetime

    def rows(self) -> list[tuple[str, str]]:
        """(label, value) pairs, in the order they are printed."""
        return [("Pulseboard export", self.title), ("Filters", self.filters),
                ("Dates", self.dates), ("View", self.url),
                ("Exported at", self.exported_at.strftime("%Y-%m-%d %H:%M:%S UTC"))]


def neutralise(value: object) -> object:
    """Text that a spreadsheet would run as a formula gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy with every text cell (and column name) neutralised; numbers untouched."""
    safe = frame.copy()
    for column in safe.columns:
        if safe[column].dtype == object or pd.api.types.is_string_dtype(safe[column]):
            safe[column] = safe[column].map(neutralise)
    safe.columns = [neutralise(str(column)) for column in safe.columns]
    return safe


def _csv_bytes(frame: pd.DataFrame, header: ExportHeader) -> bytes:
    buffer = io.StringIO()
    # CRLF (RFC 4180) also makes the writers quote any field holding a bare CR.
    writer = csv.writer(buffer, lineterminator="\r\n")
    for label, value in header.rows():
        writer.writerow([f"# {label}", neutralise(value)])
    writer.writerow([])
    # A BOM so Excel opens UTF-8 (accents, £, €) correctly.
    return ("\ufeff" + buffer.getvalue()).encode("utf-8") + _csv_rows(frame, column_names=True)


def _csv_rows(frame: pd.DataFrame, column_names: bool = False) -> bytes:
    return safe_frame(frame).to_csv(index=False, header=column_names,
                                     lineterminator="\r\n").encode("utf-8")


def export_chunks(frames: Iterable[pd.DataFrame], header: ExportHeader,
                  file_format: str) -> Iterator[bytes]:
    """A large export as pieces to stream: the same file `export_bytes` makes of all frames
    together, without holding the whole CSV in memory (XLSX is built whole)."""
    if file_format == "xlsx":
        yield export_bytes(pd.concat(list(frames), ignore_index=True), header, "xlsx")
        return
    first = True
    for frame in frames:
        yield export_bytes(frame, header, file_format) if first else _csv_rows(frame)
        first = False


def _xlsx_bytes(frame: pd.DataFrame, header: ExportHeader) -> bytes:
    buffer = io.BytesIO()
    about = pd.DataFrame(header.rows(), columns=["", "value"]).map(neutralise)
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        safe_frame(frame).to_excel(writer, sheet_name="Data", index=False)
        about.to_excel(writer, sheet_name="About", index=False)
    return buffer.getvalue()


def export_bytes(frame: pd.DataFrame, header: ExportHeader, file_format: str) -> bytes:
    """The file contents of `frame` in `file_format` ('csv' or 'xlsx')."""
    if file_format == "csv":
        return _csv_bytes(frame, header)
    if file_format == "xlsx":
        return _xlsx_bytes(frame, header)
    raise ValueError(f"Unknown export format {file_format!r}: use one of {', '.join(FORMATS)}")


def export_filename(key: str, start: dt.date, end: dt.date, file_format: str) -> str:
    """'overview-platforms_2026-10-02_2026-10-31.csv'."""
    return f"{key}_{start.isoformat()}_{end.isoformat()}.{file_format}"


def describe_filters(platforms: Sequence[str], products: Sequence[str],
                     categories: Sequence[str], grain: str, compare: str) -> str:
    """The filters in words for an export header."""
    parts = [f"platforms: {', '.join(platforms) or 'all'}",
             f"categories: {', '.join(categories) or 'all'}",
             f"products: {', '.join(products) or 'all'}",
             f"granularity: {grain}", f"comparison: {compare}"]
    return "; ".join(parts)
