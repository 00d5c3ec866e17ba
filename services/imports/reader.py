"""Reading an uploaded file into a table of text cells: CSV (any common delimiter, UTF-8 with
or without BOM, UTF-16, Windows-1252/Latin-1, gzip-compressed) or XLSX.

Every cell stays text here (empty cells are ''); `convert` decides what a cell means, so that
a bad value can be reported with the text the user actually wrote.
"""
from __future__ import annotations

import codecs
import csv
import datetime as dt
import gzip
import hashlib
import io
import itertools
import re
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast
from xml.etree.ElementTree import ParseError

import pandas as pd
from openpyxl.reader.excel import ExcelReader
from openpyxl.styles.stylesheet import apply_stylesheet
from openpyxl.worksheet._read_only import ReadOnlyWorksheet

from services.errors import InvalidInput
from services.imports.options import DELIMITER_NAMES as DELIMITER_NAMES
from services.imports.options import DELIMITERS as DELIMITERS
from services.imports.options import ENCODINGS as ENCODINGS

DEFAULT_MAX_BYTES = 200 * 1024 * 1024
DEFAULT_MAX_ROWS = 2_000_000
# Limits on the shape of a file, so that no upload can hold a worker for minutes or fill its
# memory while being read (docs/imports.md, "Limits of one file").
DEFAULT_MAX_COLUMNS = 1_000
DEFAULT_MAX_LINE_CHARS = 1_000_000
DEFAULT_MAX_XLSX_PART_BYTES = 100 * 1024 * 1024
DEFAULT_MAX_SHEET_BYTES = 1024 * 1024 * 1024
DEFAULT_MAX_COMPRESSION_RATIO = 300  # deflate packs at most ~1,030:1; real sheets 5-50:1
RATIO_CHECKED_FROM_BYTES = 1024 * 1024  # small parts (styles, a tiny sheet) may pack tighter
SNIFF_BYTES = 64 * 1024
# Signatures of files people rename to .csv by mistake.
SIGNATURES = ((b"%PDF", "a PDF document"), (b"\x89PNG", "a PNG image"), (b"\xff\xd8\xff",
              "a JPEG image"), (b"GIF8", "a GIF image"), (b"\xd0\xcf\x11\xe0",
              "an old Excel (.xls) or Word file: save it as .xlsx or .csv"),
              (b"Rar!", "a RAR archive"), (b"7z\xbc\xaf", "a 7-Zip archive"))


@dataclass(frozen=True)
class Limits:
    """The limits of reading one file, the same for the preview and the full import (the
    background job): its size, rows and columns; for a CSV the length of one line; for a
    workbook how large its parts unpack (ZipInfo.file_size, which zipfile also enforces
    while unpacking) and how many times their stored size."""

    max_bytes: int = DEFAULT_MAX_BYTES
    max_rows: int = DEFAULT_MAX_ROWS
    max_columns: int = DEFAULT_MAX_COLUMNS
    max_line_chars: int = DEFAULT_MAX_LINE_CHARS  # CSV, one physical line
    max_xlsx_part_bytes: int = DEFAULT_MAX_XLSX_PART_BYTES  # shared strings, styles, ...
    max_sheet_bytes: int = DEFAULT_MAX_SHEET_BYTES  # a worksheet (streamed, not held)
    max_compression_ratio: float = DEFAULT_MAX_COMPRESSION_RATIO


ReadLimits = Limits  # the name the import limits go by in docs/imports.md


@dataclass(frozen=True)
class RawTable:
    """A file's header and cells as text, with how it was read."""

    columns: tuple[str, ...]
    frame: pd.DataFrame  # str columns named as the header, '' when empty; index = row number
    file_type: str  # csv or xlsx
    encoding: str | None
    delimiter: str | None

    @property
    def rows(self) -> int:
        """Number of data rows (the header not counted)."""
        return len(self.frame)

    def describe(self) -> str:
        """'CSV, UTF-8, semicolon-separated' / 'Excel workbook (first sheet)'."""
        if self.file_type == "xlsx":
            return "Excel workbook (first sheet)"
        return (f"CSV, {self.encoding}, {DELIMITER_NAMES.get(self.delimiter or ',', 'comma')}"
                "-separated")


def import_limits(config: Mapping[str, Any]) -> Limits:
    """The limits an app's configuration sets: MAX_CONTENT_LENGTH (the upload size) and
    IMPORT_MAX_ROWS."""
    return Limits(max_bytes=int(config.get("MAX_CONTENT_LENGTH") or DEFAULT_MAX_BYTES),
                  max_rows=int(config.get("IMPORT_MAX_ROWS") or DEFAULT_MAX_ROWS))


def checksum(data: bytes) -> str:
    """SHA-256 of the file as uploaded: the same file twice has the same checksum."""
    return hashlib.sha256(data).hexdigest()


def read_table(data: bytes, filename: str, limits: Limits = Limits(), encoding: str = "auto",
               delimiter: str | None = None, head: int | None = None) -> RawTable:
    """The file's table; `head` reads only its first rows (for detection and the preview).

    Raises InvalidInput with a message a user can act on for anything unreadable.
    """
    _check_size(len(data), limits)
    if not data.strip():
        raise InvalidInput("The file is empty.")
    data = _gunzip(data, limits)
    if data.startswith(b"PK\x03\x04"):
        return _read_xlsx(data, limits, head)
    _refuse_binary(data, filename)
    text = decode(data, encoding)
    _check_line_lengths(text, limits)
    return _read_csv(text, limits, delimiter, head, _encoding_name(data, encoding))


def _check_size(size: int, limits: Limits) -> None:
    if size > limits.max_bytes:
        raise InvalidInput(f"The file is {_megabytes(size)}; the limit is "
                           f"{_megabytes(limits.max_bytes)}. Split it into smaller files.")


def _megabytes(size: int) -> str:
    return f"{size / 1024 / 1024:,.1f} MB"


def _gunzip(data: bytes, limits: Limits) -> bytes:
    if not data.startswith(b"\x1f\x8b"):
        return data
    # Decompress in steps so a small file that inflates to gigabytes is stopped early.
    output = io.BytesIO()
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
            while chunk := stream.read(1024 * 1024):
                output.write(chunk)
                _check_size(output.tell(), limits)
    except (OSError, EOFError, zlib.error) as error:
        raise InvalidInput("The file looks gzip-compressed but cannot be decompressed.") \
            from error
    return output.getvalue()


def _refuse_binary(data: bytes, filename: str) -> None:
    head = data[:SNIFF_BYTES]
    for signature, what in SIGNATURES:
        if head.startswith(signature):
            raise InvalidInput(f"“{filename}” is not a CSV or Excel file: it is {what}.")
    if b"\x00" in head and not head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise InvalidInput(f"“{filename}” is not a text (CSV) file: it contains binary data. "
                           "Save it as CSV (UTF-8) or XLSX.")


def decode(data: bytes, encoding: str = "auto") -> str:
    """The text of a CSV file in `encoding`, or found out: UTF-8 (BOM or not), UTF-16 with a
    BOM, else Windows-1252 (Latin-1 for the five bytes cp1252 leaves undefined)."""
    if encoding not in ENCODINGS:
        raise InvalidInput(f"Unknown encoding “{encoding}”: use one of {', '.join(ENCODINGS)}.")
    if encoding != "auto":
        return _decode_as(data, encoding)
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _decode_as(data, "utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        if _has_utf8_sequences(data):
            line = data[:error.start].count(b"\n") + 1
            raise InvalidInput(
                "The file mixes text encodings: it has UTF-8 characters, but line "
                f"{line} has a byte (0x{data[error.start]:02X}) that is not UTF-8. "
                "Open it in a spreadsheet and save it again as CSV UTF-8.") from error
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _decode_as(data: bytes, encoding: str) -> str:
    codec = {"utf-8": "utf-8-sig"}.get(encoding, encoding)
    try:
        return data.decode(codec)
    except UnicodeDecodeError as error:
        line = data[:error.start].count(b"\n") + 1
        raise InvalidInput(f"The file is not valid {encoding.upper()}: line {line} has a byte "
                           f"(0x{data[error.start]:02X}) that {encoding.upper()} does not "
                           "allow. Choose another encoding, or save the file as CSV UTF-8."
                           ) from error


_UTF8_MULTIBYTE = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|"
                             rb"[\xf0-\xf4][\x80-\xbf]{3}")


def _has_utf8_sequences(data: bytes) -> bool:
    """True when most non-ASCII bytes form UTF-8 characters: UTF-8 text with a few foreign
    bytes, not Windows-1252 text (which rarely forms a valid UTF-8 sequence by chance)."""
    sample = data[:4 * 1024 * 1024]
    sequences = _UTF8_MULTIBYTE.findall(sample)
    in_sequences = sum(len(sequence) for sequence in sequences)
    stray = sum(byte >= 0x80 for byte in sample) - in_sequences
    return len(sequences) > 0 and len(sequences) >= stray


def _encoding_name(data: bytes, encoding: str) -> str:
    if encoding != "auto":
        return encoding.upper()
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "UTF-16"
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return "Windows-1252"
    return "UTF-8 with BOM" if data.startswith(codecs.BOM_UTF8) else "UTF-8"


def sniff_delimiter(text: str) -> str:
    """The delimiter that splits the first lines into the same number (> 1) of columns."""
    lines = [line for line in text[:SNIFF_BYTES].splitlines()[:50] if line.strip()]
    if len(lines) > 1 and not text[:SNIFF_BYTES].endswith(("\n", "\r")):
        lines = lines[:-1]  # the last sampled line may be cut in half
    best, best_score = ",", (0, 0)
    for candidate in DELIMITERS:
        try:
            widths = [len(row) for row in csv.reader(lines, delimiter=candidate)]
        except csv.Error:
            continue
        if not widths or widths[0] < 2:
            continue
        # Prefer the delimiter whose rows agree with the header most often, then the widest.
        score = (sum(width == widths[0] for width in widths), widths[0])
        if score > best_score:
            best, best_score = candidate, score
    if best_score == (0, 0):
        first = lines[0][:60] if lines else ""
        raise InvalidInput(f"Found a single column (“{first}…”): the values are not separated "
                           "by a comma, semicolon, tab or pipe.")
    return best


def _read_csv(text: str, limits: Limits, delimiter: str | None, head: int | None,
              encoding: str) -> RawTable:
    if delimiter is not None and delimiter not in DELIMITERS:
        raise InvalidInput("The delimiter must be one of: comma, semicolon, tab, pipe.")
    delimiter = delimiter or sniff_delimiter(text)
    _check_header_width(text, delimiter, limits)
    try:
        frame = pd.read_csv(io.StringIO(text), sep=delimiter, dtype=str, keep_default_na=False,
                            na_filter=False, header=None, nrows=None if head is None
                            else head + 1, skip_blank_lines=True, engine="c")
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as error:
        raise InvalidInput(f"The file is not a well-formed CSV: {_parser_message(error)}") \
            from error
    return _table(frame, "csv", encoding, delimiter, limits, head)


def _check_line_lengths(text: str, limits: Limits) -> None:
    """Refuse a line longer than the limit before pandas tokenises it. The text stays as it
    is (no copy, no list of lines): each step jumps to the last line break within one line's
    length, so a file takes a few steps per limit's worth of characters, in C."""
    newline = "\n" if "\n" in text else "\r"  # old Mac files end lines with CR only
    window = limits.max_line_chars + 2  # the line, a CR before the LF, the LF
    start = 0
    while len(text) - start >= window:
        end = text.rfind(newline, start, start + window)
        if end < 0:
            line = text.count(newline, 0, start) + 1
            raise InvalidInput(
                f"Line {line:,} is longer than {limits.max_line_chars:,} characters, the "
                "limit for one line: a CSV file has one row per line, so this is not a CSV "
                "file (or a value is far too long). Save the data as CSV (one row per line) "
                "or XLSX.")
        start = end + 1


def _check_header_width(text: str, delimiter: str, limits: Limits) -> None:
    """Refuse a header wider than the column limit (a wider row is then a parser error)."""
    first = re.search(r"[^\r\n]*\S[^\r\n]*", text)  # the first line that is not blank
    if first is None:
        return
    try:
        width = len(next(csv.reader([first.group()], delimiter=delimiter), []))
    except csv.Error:
        width = first.group().count(delimiter) + 1
    if width > limits.max_columns:
        raise InvalidInput(_too_wide("The header row", width, limits))


def _too_wide(what: str, width: int, limits: Limits) -> str:
    return (f"{what} has {width:,} columns; the limit is {limits.max_columns:,}. Remove the "
            "columns the import does not need (or check the delimiter), then upload it again.")


def _parser_message(error: Exception) -> str:
    message = str(error).strip().splitlines()[-1] if str(error).strip() else "unreadable"
    return re.sub(r"^Error tokenizing data\. C error: ", "", message)


def _read_xlsx(data: bytes, limits: Limits, head: int | None) -> RawTable:
    """The first sheet's cells, streamed: a preview parses its first rows only. Formulas are
    read as formulas (not their last computed value) so that a formula cell is reported
    instead of silently becoming empty or stale."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            _check_xlsx_parts(archive, limits)
        sheet, archive = _first_sheet(data)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, ParseError) as error:
        raise InvalidInput("The file is not a readable Excel workbook (.xlsx).") from error
    try:
        cells = _sheet_cells(sheet, limits, head)
    except (ValueError, KeyError, ParseError) as error:
        raise InvalidInput("The file is not a readable Excel workbook (.xlsx): its first sheet "
                           "is damaged.") from error
    finally:
        archive.close()
    width = max((len(row) for row in cells), default=0)
    frame = pd.DataFrame([row + [""] * (width - len(row)) for row in cells], dtype=object)
    return _table(frame, "xlsx", None, None, limits, head)


def _check_xlsx_parts(archive: zipfile.ZipFile, limits: Limits) -> None:
    """Refuse a workbook whose parts unpack too large (openpyxl holds the shared strings and
    styles in memory) or absurdly many times their stored size, before anything is parsed."""
    for part in archive.infolist():
        name = part.filename.lower()
        if name.startswith("xl/worksheets/"):
            if part.file_size > limits.max_sheet_bytes:
                raise InvalidInput(
                    f"A sheet of the workbook unpacks to {_megabytes(part.file_size)}; the "
                    f"limit is {_megabytes(limits.max_sheet_bytes)}. Split it into smaller "
                    "files, or save it as CSV.")
        elif part.file_size > limits.max_xlsx_part_bytes:
            what = ("The workbook's text table (shared strings)" if "sharedstrings" in name
                    else f"The part “{part.filename[:80]}” of the workbook")
            raise InvalidInput(
                f"{what} unpacks to {_megabytes(part.file_size)}; the limit is "
                f"{_megabytes(limits.max_xlsx_part_bytes)}. Save the sheet as CSV, or split "
                "it into smaller files.")
        ratio = part.file_size / max(part.compress_size, 1)
        if part.file_size >= RATIO_CHECKED_FROM_BYTES and ratio > limits.max_compression_ratio:
            raise InvalidInput(
                f"The workbook's part “{part.filename[:80]}” unpacks to {ratio:,.0f} times its "
                f"stored size (the limit is {limits.max_compression_ratio:,.0f}): it is not a "
                "spreadsheet but a compression bomb, or it is damaged. Open it in a "
                "spreadsheet program and save it again.")


class _StreamedSheet(ReadOnlyWorksheet):
    """A read-only sheet that trusts no `<dimension>`: openpyxl reads it when the sheet is
    opened, and when it is missing parses the whole sheet looking for it (minutes for a
    sheet of millions of rows); a forged one would pad every row to its width. Rows come
    as long as their last cell instead."""

    def _get_size(self) -> None:
        self._min_column = self._min_row = 1
        self._max_column = self._max_row = None


def _first_sheet(data: bytes) -> tuple[_StreamedSheet, zipfile.ZipFile]:
    """The workbook's first worksheet, opened to be streamed; the other sheets, properties,
    theme and defined names are not read (openpyxl's `load_workbook(read_only=True)` does
    this plus a `_get_size` of every sheet). The archive stays open until the caller closes
    it."""
    reader = ExcelReader(io.BytesIO(data), read_only=True, keep_vba=False, data_only=False,
                         keep_links=False)
    reader.read_manifest()
    reader.read_strings()
    reader.read_workbook()
    apply_stylesheet(reader.archive, reader.wb)  # the date formats of cells
    for sheet, rel in reader.parser.find_sheets():
        if rel.target in reader.valid_files and "chartsheet" not in rel.Type:
            return (_StreamedSheet(reader.wb, sheet.name, rel.target, reader.shared_strings),
                    reader.archive)
    reader.archive.close()
    raise ValueError("no worksheet")


def _sheet_cells(sheet: _StreamedSheet, limits: Limits, head: int | None) -> list[list[str]]:
    # ReadOnlyWorksheet borrows Worksheet.iter_rows, which the stubs type for a Worksheet.
    rows = cast(Any, sheet).iter_rows(values_only=True,
                                      max_row=None if head is None else head + 1)
    cells = []
    for number, row in enumerate(itertools.islice(rows, limits.max_rows + 2), start=1):
        values = list(row)
        while values and values[-1] is None:
            values.pop()  # formatted but empty cells at the end of the row
        if len(values) > limits.max_columns:
            raise InvalidInput(_too_wide(f"Row {number:,} of the sheet", len(values), limits))
        cells.append([_cell_text(value) for value in values])
    return cells


def _cell_text(value: object) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # 17850.0 in a sheet is the customer id 17850
    if isinstance(value, dt.datetime):  # pd.Timestamp is one too
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _table(frame: pd.DataFrame, file_type: str, encoding: str | None, delimiter: str | None,
           limits: Limits, head: int | None) -> RawTable:
    frame = frame.fillna("")  # short rows
    # Rows with no value at all are skipped; the index stays the spreadsheet row number - 1.
    frame = frame.loc[~(frame == "").all(axis=1)]
    if frame.empty:
        raise InvalidInput("The file is empty.")
    header = [str(value).strip() for value in frame.iloc[0]]
    while header and header[-1] == "":
        header.pop()  # trailing empty columns, as spreadsheets often leave
    body = frame.iloc[1:, :len(header)]
    _check_header(header)
    if body.empty and head is None:
        raise InvalidInput("The file has a header but no rows below it.")
    if len(body) > limits.max_rows:
        raise InvalidInput(f"The file has {len(body):,} rows; the limit is "
                           f"{limits.max_rows:,}. Split it into smaller files.")
    extra = frame.iloc[1:, len(header):]
    if head is None and not extra.empty and (extra != "").any().any():
        row = int(extra.index[(extra != "").any(axis=1).to_numpy()][0]) + 1
        raise InvalidInput(f"Row {row} has more values than the header has columns: check the "
                           "delimiter and the quoting of values that contain it.")
    body = body.astype(str)
    body.columns = header
    body.index = body.index + 1  # row numbers as a spreadsheet shows them (header = row 1)
    return RawTable(tuple(header), body, file_type, encoding, delimiter)


def _check_header(header: list[str]) -> None:
    if len(header) < 2:
        raise InvalidInput(f"Found a single column (“{(header or [''])[0][:60]}”): the values "
                           "are not separated by a comma, semicolon, tab or pipe.")
    missing = [i + 1 for i, name in enumerate(header) if not name]
    if missing:
        raise InvalidInput(f"Column {missing[0]} of the header row has no name.")
    seen: set[str] = set()
    for name in header:
        if name.lower() in seen:
            raise InvalidInput(f"The header names the column “{name}” twice.")
        seen.add(name.lower())
