"""Exports: a DataFrame as CSV or XLSX that opens cleanly and is safe for spreadsheets.

The one export path of the product: every chart's data, the API's files and the full
dataset export go through `export_bytes`. A CSV is one row of readable column names, then
the data (a plain `pandas.read_csv` or a spreadsheet opens it as it is); what the file holds
— the view's URL, filters, dates and the export time — is in the file name, the XLSX's
"About" sheet and, for downloads served by Flask, the `X-Pulseboard-View` header. Money is
rounded to the cent it is stored in; an XLSX has number formats, a frozen header row and
column widths.

A missing value is an empty cell, which a plain `read_csv` reads as NaN. Text is written as
it is, even a name pandas takes for missing by default ("NA", "None", "null", "N/A"):
changing it (quoting does not stop pandas, a mark would) would make it wrong in Excel and in
every other reader, so a pandas user who has such names reads with `keep_default_na=False`.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import pandas as pd
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from services.metrics import METRICS

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
    currency: str = ""  # ISO code of every money amount

    def rows(self) -> list[tuple[str, str]]:
        """(label, value) pairs, in the order the About sheet lists them."""
        rows = [("Pulseboard export", self.title), ("Filters", self.filters),
                ("Dates", self.dates), ("View", self.url),
                ("Exported at", self.exported_at.strftime("%Y-%m-%d %H:%M:%S UTC"))]
        return rows + ([("Currency", self.currency)] if self.currency else [])


# Column names as a reader wants them: exact names first, then the metric registry's labels,
# then the words of the name (`column_label`).
COLUMN_LABELS = {
    "bucket": "Period", "compare_bucket": "Comparison period", "yoy_bucket": "Year-earlier period",
    "compare_value": "Value (comparison)", "previous_value": "Value of the previous period",
    "yoy_value": "Value a year earlier", "pop_growth": "Growth vs the previous period",
    "yoy_growth": "Growth vs a year earlier", "complete": "Whole period in range",
    "share": "Share", "slug": "Platform key", "kind": "Channel",
}
WORDS = {"sku": "SKU", "aov": "AOV", "id": "ID", "roi": "ROI", "roas": "ROAS", "clv": "CLV",
         "rfm": "RFM", "kpi": "KPI", "url": "URL", "utc": "UTC", "pct": "%", "qty": "quantity"}
PREFIXES = (("compare_", " (comparison)"), ("previous_", " (previous period)"),
            ("yoy_", " (a year earlier)"))
# Words that make a column a share (shown as a percentage) or an amount of money.
RATIO_WORDS = ("share", "margin", "rate", "growth", "conversion", "attainment", "probability",
               "pct", "coverage", "retention")
MONEY_WORDS = ("revenue", "sales", "profit", "cost", "price", "amount", "spend", "payout",
               "clv", "returns", "aov", "_value", "pipeline", "quota")
XLSX_FORMATS = {"ratio": "0.0%", "count": "#,##0", "date": "yyyy-mm-dd"}


def column_label(name: object) -> str:
    """'compare_net_revenue' → 'Net revenue (comparison)', 'rolling_7' → '7-day average'."""
    text = str(name)
    if text in COLUMN_LABELS:
        return COLUMN_LABELS[text]
    if text in METRICS:
        return METRICS[text].label
    if text.startswith("rolling_") and text[8:].isdigit():
        return f"{text[8:]}-day average"
    for prefix, suffix in PREFIXES:
        base = text.removeprefix(prefix)
        if base != text and base in METRICS:
            return METRICS[base].label + suffix
    label = " ".join(WORDS.get(word, word) for word in text.split("_") if word)
    return label[:1].upper() + label[1:] if label else text


def column_unit(name: object) -> str | None:
    """money, ratio or count for a column of numbers, from the metric registry or its name."""
    text = str(name)
    for prefix, _suffix in PREFIXES:
        text = text.removeprefix(prefix)
    if text in METRICS:
        return METRICS[text].unit
    if any(word in text for word in RATIO_WORDS):
        return "ratio"
    if any(word in text for word in MONEY_WORDS):
        return "money"
    return None


def readable_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The table as it is exported: readable column names, money rounded to the cent."""
    out = frame.copy()
    for column in out.columns:
        if column_unit(column) == "money" and pd.api.types.is_float_dtype(out[column]):
            out[column] = out[column].round(2)
    out.columns = [column_label(column) for column in frame.columns]
    return out


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


def _csv_bytes(frame: pd.DataFrame) -> bytes:
    # A BOM so Excel opens UTF-8 (accents, £, €) correctly; pandas reads past it.
    return "\ufeff".encode("utf-8") + _csv_rows(frame, column_names=True)


def _csv_rows(frame: pd.DataFrame, column_names: bool = False) -> bytes:
    # CRLF (RFC 4180) also makes the writer quote any field holding a bare CR.
    return safe_frame(readable_frame(frame)).to_csv(
        index=False, header=column_names, lineterminator="\r\n",
        quoting=csv.QUOTE_MINIMAL).encode("utf-8")


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
        safe_frame(readable_frame(frame)).to_excel(writer, sheet_name="Data", index=False)
        about.to_excel(writer, sheet_name="About", index=False)
        _format_sheet(writer.sheets["Data"], frame, header.currency)
        _format_sheet(writer.sheets["About"], about, "")
    return buffer.getvalue()


def _format_sheet(sheet: Worksheet, frame: pd.DataFrame, currency: str) -> None:
    """Number formats by unit, a frozen header row and columns as wide as their text."""
    sheet.freeze_panes = "A2"
    money = f'"{currency} "#,##0.00' if currency else "#,##0.00"
    for index, column in enumerate(frame.columns, start=1):
        values = frame[column]
        unit = "date" if _holds_dates(values) else column_unit(column)
        number_format = money if unit == "money" else XLSX_FORMATS.get(unit or "")
        letter = get_column_letter(index)
        if number_format and (unit == "date" or pd.api.types.is_numeric_dtype(values)):
            for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
                cell.number_format = number_format
        longest = max([len(column_label(column))] +
                      [len(str(value)) for value in values.head(500)], default=8)
        sheet.column_dimensions[letter].width = min(max(longest + 2, 8), 60)


def _holds_dates(values: pd.Series) -> bool:
    if pd.api.types.is_datetime64_any_dtype(values):
        return True
    sample = values.dropna().head(20)
    return len(sample) > 0 and all(isinstance(value, dt.date) for value in sample)


def export_bytes(frame: pd.DataFrame, header: ExportHeader, file_format: str) -> bytes:
    """The file contents of `frame` in `file_format` ('csv' or 'xlsx')."""
    if file_format == "csv":
        return _csv_bytes(frame)
    if file_format == "xlsx":
        return _xlsx_bytes(frame, header)
    raise ValueError(f"Unknown export format {file_format!r}: use one of {', '.join(FORMATS)}")


def export_filename(key: str, start: dt.date, end: dt.date, file_format: str,
                    narrowed_to: Sequence[str] = ()) -> str:
    """'overview-platforms_2026-10-02_2026-10-31_amazon.csv': the page and panel, the dates
    and the first of the platforms, categories or products it is narrowed to."""
    names = [_file_word(name) for name in narrowed_to[:2] if _file_word(name)]
    if len(narrowed_to) > 2:
        names.append(f"and-{len(narrowed_to) - 2}-more")
    return "_".join([key, start.isoformat(), end.isoformat(), *names]) + f".{file_format}"


def _file_word(text: str) -> str:
    """Text as a safe part of a file name: letters, digits and dashes only."""
    word = "".join(c if c.isalnum() else "-" for c in text.lower()).strip("-")
    return "-".join(part for part in word.split("-") if part)[:30]


def view_header_value(url: str) -> str:
    """The view's URL as an HTTP header value (ASCII, no line breaks)."""
    return url.encode("ascii", "backslashreplace").decode("ascii").replace("\r", "") \
        .replace("\n", "")

def describe_filters(platforms: Sequence[str], products: Sequence[str],
                     categories: Sequence[str], grain: str, compare: str) -> str:
    """The filters in words for an export header."""
    parts = [f"platforms: {', '.join(platforms) or 'all'}",
             f"categories: {', '.join(categories) or 'all'}",
             f"products: {', '.join(products) or 'all'}",
             f"granularity: {grain}", f"comparison: {compare}"]
    return "; ".join(parts)
