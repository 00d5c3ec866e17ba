"""The one export path: CSV/XLSX that open cleanly (readable names, money to the cent, number
formats), spreadsheet formulas neutralised."""
from __future__ import annotations

import datetime as dt
import io

import numpy as np
import openpyxl
import pandas as pd
import pytest

from services.exports import (
    ExportHeader,
    column_label,
    export_bytes,
    export_filename,
    neutralise,
)

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


def test_csv_is_a_header_row_then_the_neutralised_table() -> None:
    content = export_bytes(NASTY, HEADER, "csv")
    frame = pd.read_csv(io.BytesIO(content))  # no options needed
    assert list(frame.columns) == ["Name", "Net revenue"]
    assert list(frame["Name"]) == ["'=HYPERLINK(\"http://x\")", "'+1", "'-2", "'@SUM(A1)",
                                   "'\tTab", "'\rCR", "fine", "a=b"]
    assert list(frame["Net revenue"]) == list(NASTY["net_revenue"])
    assert content.startswith("\ufeff".encode())  # Excel reads UTF-8 by its BOM


def test_a_plain_read_gets_the_values_back_with_nan_for_empty_cells() -> None:
    frame = pd.DataFrame({"name": ["Mug", None, "Café £5"], "net_revenue": [1.25, np.nan, -3.0],
                          "orders": [2, 0, 1], "day": [dt.date(2011, 4, 1), None,
                                                       dt.date(2011, 4, 3)]})
    table = pd.read_csv(io.BytesIO(export_bytes(frame, HEADER, "csv")))
    assert list(table.columns) == ["Name", "Net revenue", "Orders", "Day"]
    assert table["Name"].tolist()[::2] == ["Mug", "Café £5"] and pd.isna(table["Name"][1])
    pd.testing.assert_series_equal(table["Net revenue"], frame["net_revenue"],
                                   check_names=False)
    assert table["Net revenue"].sum() == pytest.approx(frame["net_revenue"].sum())
    assert table["Orders"].tolist() == frame["orders"].tolist()
    assert pd.isna(table["Day"][1]) and table["Day"][0] == "2011-04-01"


def test_a_name_pandas_takes_for_missing_is_written_as_it_is() -> None:
    """"NA", "None", "null", "N/A" are real names (Namibia's code is NA): the file says them
    as they are, for Excel and every other reader; a plain `read_csv` alone reads them as
    missing (its default), and `keep_default_na=False` keeps them (docs/imports.md)."""
    names = ["NA", "None", "null", "N/A"]
    frame = pd.DataFrame({"name": names, "net_revenue": [1.0, 2.0, 3.0, 4.0]})
    content = export_bytes(frame, HEADER, "csv")
    assert content.decode("utf-8-sig").splitlines()[1:] == [
        f"{name},{value}" for name, value in zip(names, frame["net_revenue"], strict=True)]
    plain = pd.read_csv(io.BytesIO(content))
    assert plain["Net revenue"].sum() == frame["net_revenue"].sum()  # totals unaffected
    kept = pd.read_csv(io.BytesIO(content), keep_default_na=False)
    assert kept["Name"].tolist() == names


def test_money_is_rounded_to_the_cent_and_names_are_readable() -> None:
    frame = pd.DataFrame({"sku": ["A"], "compare_net_revenue": [10.004999], "margin": [0.123456],
                          "rolling_7": [3.0], "orders": [2]})
    table = pd.read_csv(io.BytesIO(export_bytes(frame, HEADER, "csv")))
    assert list(table.columns) == ["SKU", "Net revenue (comparison)", "Margin",
                                   "7-day average", "Orders"]
    assert table.loc[0, "Net revenue (comparison)"] == 10.0
    assert table.loc[0, "Margin"] == 0.123456  # a share keeps its precision
    assert column_label("quota_attainment") == "Quota attainment"


def test_xlsx_cells_have_formats_a_frozen_header_and_widths() -> None:
    frame = pd.DataFrame({"day": [dt.date(2011, 4, 1)], "net_revenue": [1234.5678],
                          "share": [0.25], "orders": [3]})
    header = ExportHeader("t", "f", "d", "u", dt.datetime(2026, 1, 1), currency="GBP")
    sheet = openpyxl.load_workbook(io.BytesIO(export_bytes(frame, header, "xlsx")))["Data"]
    assert [cell.value for cell in sheet[1]] == ["Day", "Net revenue", "Share", "Orders"]
    day, money, share, orders = sheet[2]
    assert day.number_format == "yyyy-mm-dd"
    assert money.value == 1234.57 and money.number_format == '"GBP "#,##0.00'
    assert share.number_format == "0.0%" and orders.number_format == "#,##0"
    assert sheet.freeze_panes == "A2"
    assert sheet.column_dimensions["B"].width >= len("Net revenue")


def test_xlsx_has_data_and_about_sheets_with_no_formulas() -> None:
    book = openpyxl.load_workbook(io.BytesIO(export_bytes(NASTY, HEADER, "xlsx")))
    assert book.sheetnames == ["Data", "About"]
    cells = [cell for row in book["Data"].iter_rows() for cell in row]
    assert not any(cell.data_type == "f" for cell in cells)
    names = [row[0].value for row in book["Data"].iter_rows(min_row=2)]
    assert book["Data"]["A1"].value == "Name"
    assert names[0] == "'=HYPERLINK(\"http://x\")" and names[6] == "fine"
    assert [row[1].value for row in book["Data"].iter_rows(min_row=2)][1] == -2.0
    about = {row[0].value: row[1].value for row in book["About"].iter_rows(min_row=2)}
    assert about["Dates"] == "1–30 Apr 2011"


def test_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="pdf"):
        export_bytes(NASTY, HEADER, "pdf")


def test_filename_names_the_chart_dates_and_filters() -> None:
    april = (dt.date(2011, 4, 1), dt.date(2011, 4, 30))
    assert export_filename("overview-trend", *april, "csv") == \
        "overview-trend_2011-04-01_2011-04-30.csv"
    assert export_filename("sales-trend", *april, "xlsx", ("amazon", "Home & Kitchen",
                                                           "FTW-0015")) == \
        "sales-trend_2011-04-01_2011-04-30_amazon_home-kitchen_and-1-more.xlsx"
