"""Hostile files: each is refused quickly with a message, for the preview (`analyse`), the
import and the background job alike, and nothing is imported.

Every file is made here, small on disk: the XML of a workbook is written with zipfile, so a
sheet of a million rows or megabytes of shared strings compress to a few kilobytes.
"""
from __future__ import annotations

import io
import time
import zipfile
from pathlib import Path

import pytest

from services.errors import InvalidInput
from services.imports.mapping import detect
from services.imports.pipeline import analyse
from services.imports.reader import ReadLimits, read_table
from services.imports.runner import IMPORT, JobRequest, run_import_job
from services.imports.uploads import save_upload
from services.scope import Scope
from services.users import create_user
from tests.fixtures.imports import (  # noqa: F401 - the fixtures are used by name
    TIMEZONE,
    Fresh,
    fresh_sqlite_fixture,
    sqlite_template_fixture,
)

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PACKAGE_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
TYPES = "application/vnd.openxmlformats-officedocument.spreadsheetml"
HEADER = ("Order ID", "Order Date", "SKU", "Quantity", "Price")
SECONDS = 5.0  # far more than any refusal takes; a full parse of these files takes minutes


def xlsx(sheet_rows: bytes, shared_strings: bytes | None = None,
         dimension: str | None = None) -> bytes:
    """A minimal workbook: one sheet whose <sheetData> holds `sheet_rows`."""
    strings = shared_strings is not None
    content_types = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
        'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{TYPES}.sheet.main+xml"/>'
        f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{TYPES}.worksheet+xml"/>'
        + (f'<Override PartName="/xl/sharedStrings.xml" ContentType="{TYPES}.sharedStrings+xml"'
           '/>' if strings else "") + "</Types>")
    workbook_rels = (
        f'<Relationships xmlns="{PACKAGE_REL}"><Relationship Id="rId1" Type="{REL}/worksheet" '
        'Target="worksheets/sheet1.xml"/>'
        + (f'<Relationship Id="rId2" Type="{REL}/sharedStrings" Target="sharedStrings.xml"/>'
           if strings else "") + "</Relationships>")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", content_types)
        archive.writestr("_rels/.rels", (
            f'<Relationships xmlns="{PACKAGE_REL}"><Relationship Id="rId1" '
            f'Type="{REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>'))
        archive.writestr("xl/workbook.xml", (
            f'<workbook xmlns="{MAIN}" xmlns:r="{REL}"><sheets><sheet name="Orders" '
            'sheetId="1" r:id="rId1"/></sheets></workbook>'))
        archive.writestr("xl/_rels/workbook.xml.rels", workbook_rels)
        if strings:
            archive.writestr("xl/sharedStrings.xml", shared_strings)
        with archive.open("xl/worksheets/sheet1.xml", "w") as sheet:
            sheet.write(f'<worksheet xmlns="{MAIN}">'.encode())
            if dimension:
                sheet.write(f'<dimension ref="{dimension}"/>'.encode())
            sheet.write(b"<sheetData>" + sheet_rows + b"</sheetData></worksheet>")
    return buffer.getvalue()


def inline_row(number: int, values: tuple[str, ...]) -> bytes:
    cells = "".join(f'<c t="inlineStr"><is><t>{value}</t></is></c>' for value in values)
    return f'<row r="{number}">{cells}</row>'.encode()


def order_rows(count: int) -> bytes:
    """A header and `count` order lines, the same one over and over (compresses ~1000:1)."""
    line = inline_row(2, ("A1", "2024-01-02", "TEA", "1", "2.00")).replace(b' r="2"', b"")
    return inline_row(1, HEADER) + line * count


DEFAULTS = ReadLimits()


def timed_refusal(data: bytes, limits: ReadLimits = DEFAULTS) -> str:
    """The message read_table refuses `data` with, for the preview and the whole file."""
    messages = []
    for head in (10, None):
        started = time.perf_counter()
        with pytest.raises(InvalidInput) as refused:
            read_table(data, "hostile.xlsx", limits, head=head)
        assert time.perf_counter() - started < SECONDS
        messages.append(str(refused.value))
    assert messages[0] == messages[1]
    return messages[0]


def test_a_sheet_without_dimension_previews_its_first_rows_only() -> None:
    data = xlsx(order_rows(200_000))  # 200,000 rows (26 MB unpacked), no <dimension>
    assert len(data) < 200_000
    started = time.perf_counter()
    preview = read_table(data, "orders.xlsx", head=10)
    assert time.perf_counter() - started < 1.0  # load_workbook(read_only=True): 12 s here
    assert preview.columns == HEADER and preview.rows == 10
    assert preview.frame.iloc[0].tolist() == ["A1", "2024-01-02", "TEA", "1", "2.00"]


def test_a_sheet_without_dimension_over_the_row_limit_stops_at_the_limit() -> None:
    data = xlsx(order_rows(200_000))
    started = time.perf_counter()
    with pytest.raises(InvalidInput, match="rows; the limit is 1,000"):
        read_table(data, "orders.xlsx", ReadLimits(max_rows=1_000))
    assert time.perf_counter() - started < SECONDS


def test_a_forged_dimension_does_not_widen_every_row() -> None:
    data = xlsx(order_rows(20), dimension="A1:XFD1048576")
    table = read_table(data, "orders.xlsx")
    assert table.columns == HEADER and table.rows == 20 and table.frame.shape == (20, 5)


def test_huge_shared_strings_are_refused_before_parsing() -> None:
    strings = (f'<sst xmlns="{MAIN}">'.encode() + b"<si><t>GREEN TEA</t></si>" * 400_000
               + b"</sst>")  # 10 MB unpacked, about 10 kB stored
    data = xlsx(inline_row(1, HEADER), shared_strings=strings)
    assert len(data) < 100_000
    message = timed_refusal(data, ReadLimits(max_xlsx_part_bytes=4 * 1024 * 1024,
                                             max_compression_ratio=10_000))
    assert message.startswith("The workbook's text table (shared strings) unpacks to 9.5 MB; "
                              "the limit is 4.0 MB.")


def test_an_absurd_compression_ratio_is_refused_with_the_default_limits() -> None:
    strings = (f'<sst xmlns="{MAIN}">'.encode() + b"<si><t>GREEN TEA</t></si>" * 400_000
               + b"</sst>")
    message = timed_refusal(xlsx(inline_row(1, HEADER), shared_strings=strings))
    assert "“xl/sharedStrings.xml” unpacks to" in message
    assert "times its stored size (the limit is 300)" in message


def test_a_sheet_over_the_size_limit_is_refused() -> None:
    message = timed_refusal(xlsx(order_rows(100_000)),
                            ReadLimits(max_sheet_bytes=1024 * 1024, max_compression_ratio=1e6))
    assert message.startswith("A sheet of the workbook unpacks to ")
    assert "the limit is 1.0 MB" in message


def test_a_sheet_row_wider_than_the_column_limit_is_refused() -> None:
    wide = inline_row(1, HEADER) + inline_row(2, tuple("x" * 3) * 2_000)
    message = timed_refusal(xlsx(wide))
    assert message.startswith("Row 2 of the sheet has 6,000 columns; the limit is 1,000.")


def test_a_csv_with_100000_columns_is_refused() -> None:
    data = (",".join(f"c{i}" for i in range(100_000)) + "\n" + "1," * 99_999 + "1\n").encode()
    message = timed_refusal(data)
    assert message.startswith("The header row has 100,000 columns; the limit is 1,000.")


def test_a_csv_of_one_long_line_is_refused() -> None:
    data = b"Order ID,SKU," + b"x" * 3_000_000  # one line of 3 MB
    message = timed_refusal(data, ReadLimits(max_line_chars=1_000_000))
    assert message.startswith("Line 1 is longer than 1,000,000 characters, the limit for one "
                              "line")


def test_a_long_line_further_down_is_found_by_its_number() -> None:
    data = b"Order ID,SKU\n" + b"A1,TEA\n" * 1_000 + b"A2," + b"x" * 2_000 + b"\nA3,TEA\n"
    message = timed_refusal(data, ReadLimits(max_line_chars=1_000))
    assert message.startswith("Line 1,002 is longer than 1,000 characters")


def test_lines_and_columns_at_the_limits_still_load() -> None:
    header = ",".join(f"c{i}" for i in range(1_000))
    table = read_table(f"{header}\n{'1,' * 999}1\n".encode(), "wide.csv",
                       ReadLimits(max_line_chars=len(header)))
    assert table.rows == 1 and len(table.columns) == 1_000


HOSTILE = {
    "no-dimension.xlsx": (xlsx(order_rows(200_000)), ReadLimits(max_rows=1_000),
                          "rows; the limit is 1,000"),
    "strings.xlsx": (xlsx(inline_row(1, HEADER), shared_strings=(
        f'<sst xmlns="{MAIN}">'.encode() + b"<si><t>T</t></si>" * 200_000 + b"</sst>")),
        ReadLimits(), "times its stored size"),
    "wide.csv": ((",".join(f"c{i}" for i in range(100_000)) + "\n").encode(), ReadLimits(),
                 "The header row has 100,000 columns"),
    "line.csv": (b"Order ID,SKU," + b"x" * 2_000_000, ReadLimits(),
                 "Line 1 is longer than 1,000,000 characters"),
}


@pytest.mark.parametrize("filename", HOSTILE)
def test_a_hostile_file_is_refused_by_the_preview_and_the_import(
        fresh_sqlite: Fresh, filename: str) -> None:
    data, limits, message = HOSTILE[filename]
    before = fresh_sqlite.checksum()
    started = time.perf_counter()
    with fresh_sqlite.session() as session:
        if filename == "no-dimension.xlsx":  # the preview shows the first rows, and fast
            preview = analyse(session, Scope.everything(), data, filename, limits=limits)
            assert len(preview.preview) == 10
        else:
            with pytest.raises(InvalidInput, match=message):
                analyse(session, Scope.everything(), data, filename, limits=limits)
    assert time.perf_counter() - started < SECONDS
    started = time.perf_counter()
    report = fresh_sqlite.run(data, filename, limits=limits)
    assert time.perf_counter() - started < SECONDS
    assert report.status == "rejected" and message in report.to_text()
    assert "Traceback" not in report.to_text()
    assert fresh_sqlite.checksum() == before


@pytest.mark.parametrize("filename", HOSTILE)
def test_the_background_job_applies_the_same_limits(fresh_sqlite: Fresh, tmp_path: Path,
                                                    filename: str) -> None:
    data, limits, message = HOSTILE[filename]
    with fresh_sqlite.session() as session:
        user_id = create_user(session, "analyst@example.com", "a-long-password", "analyst").id
        session.commit()
    upload = save_upload(tmp_path, data, filename, user_id)
    mapping = detect(("Order ID", "Order Date", "SKU", "Quantity", "Price")).mapping
    job = JobRequest(action=IMPORT, user_id=user_id, upload=upload, mapping=mapping.as_dict(),
                     platform="Online Store", skip_invalid=False)
    before = fresh_sqlite.checksum()
    started = time.perf_counter()
    with fresh_sqlite.session() as session:
        report = run_import_job(session, job, folder=tmp_path, timezone=TIMEZONE,
                                limits=limits, roles={"analyst"}, progress=lambda *_: None)
    assert time.perf_counter() - started < SECONDS
    assert report.status == "rejected" and message in report.to_text(), report.to_text()
    assert fresh_sqlite.checksum() == before
    assert fresh_sqlite.scalar("SELECT COUNT(*) FROM order_lines") == 0
