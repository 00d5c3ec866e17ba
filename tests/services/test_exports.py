"""The one export path: CSV/XLSX with a header block, spreadsheet formulas neutralised."""
from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pandas as pd
import pytest

from services.exports import ExportHeader, export_bytes, export_filename, neutralise

HEADER = ExportHeader("Revenue by platform", "platforms: all", "1–30 Apr 2011",
                      "http://pulse.example/?range=30d", dt.datetime(2026, 11, 21, 9, 30))
NASTY = pd.DataFrame({"name": ["=HYPERLINK(\"http://x\")", "+1", "-2", "@SUM(A1)", "\tTab",
                               "\rCR", "fine", "a=b"],
                      "net_revenue": [1.5, -2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]})


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "@A1", "\tx", "\rx"])
def test_formula_like_text_gets_an_apostrophe(text: str) -> None:
    assert neutralise(text) == "'" + text


def test_numbers_and_harmless_text_are_untouched() -> None:
    assert neutralise(-5.0) == -5.0
    assert neutralise("Online Store") == "Online Store"
    assert neutralise("a=b") == "a=b"


def test_csv_has_the_header_block_then_the_neutralised_table() -> None:
    text = export_bytes(NASTY, HEADER, "csv").decode("utf-8-sig")
    head, _, table = text.partition("\r\n\r\n")
    assert "# Pulseboard export,Revenue by platform" in head
    assert "# View,http://pulse.example/?range=30d" in head
    assert "# Exported at,2026-11-21 09:30:00 UTC" in head
    frame = pd.read_csv(io.StringIO(table), keep_default_na=False)
    assert list(frame["name"]) == ["'=HYPERLINK(\"http://x\")", "'+1", "'-2", "'@SUM(A1)",
                                   "'\tTab", "'\rCR", "fine", "a=b"]
    assert list(frame["net_revenue"]) == list(NASTY["net_revenue"])


def test_xlsx_has_data_and_about_sheets_with_no_formulas() -> None:
    book = openpyxl.load_workbook(io.BytesIO(export_bytes(NASTY, HEADER, "xlsx")))
    assert book.sheetnames == ["Data", "About"]
    cells = [cell for row in book["Data"].iter_rows() for cell in row]
    assert not any(cell.data_type == "f" for cell in cells)
    names = [row[0].value for row in book["Data"].iter_rows(min_row=2)]
    assert names[0] == "'=HYPERLINK(\"http://x\")" and names[6] == "fine"
    assert [row[1].value for row in book["Data"].iter_rows(min_row=2)][1] == -2.0
    about = {row[0].value: row[1].value for row in book["About"].iter_rows(min_row=2)}
    assert about["Dates"] == "1–30 Apr 2011"


def test_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="pdf"):
        export_bytes(NASTY, HEADER, "pdf")


def test_filename_names_the_chart_and_dates() -> None:
    assert export_filename("overview-trend", dt.date(2011, 4, 1), dt.date(2011, 4, 30), "csv") \
        == "overview-trend_2011-04-01_2011-04-30.csv"
