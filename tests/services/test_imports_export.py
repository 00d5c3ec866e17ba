"""The full export of the Data page: every order line of the view, streamed, formula text
neutralised, the platform limit obeyed, viewers refused."""
from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pandas as pd
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update

from dashapp.extensions import db
from models import Product
from services.exports import ExportHeader, export_chunks
from services.filters import Filters, Period, resolve_period
from services.imports.dataset import count_order_lines, order_line_chunks
from services.scope import Scope
from services.users import create_user
from tests.conftest import PASSWORD, login, make_app
from tests.fixtures.imports import (  # noqa: F401 - the fixtures are used by name
    Fresh,
    fresh_fixture,
    fresh_sqlite_fixture,
    imports_postgres_url_fixture,
    sqlite_template_fixture,
    uci_bytes,
    uci_frame,
)

UCI_DAYS = Filters(range="custom", start=dt.date(2010, 12, 1), end=dt.date(2011, 12, 31))


def _period(filters: Filters) -> Period:
    return resolve_period(filters, filters.start, filters.end)


def read_csv_export(content: bytes) -> pd.DataFrame:
    """An export CSV as a plain `pandas.read_csv` reads it (a header row, then data)."""
    return pd.read_csv(io.BytesIO(content), dtype={"Customer": str, "SKU": str})


def test_every_line_exports_in_chunks_with_the_same_totals(fresh: Fresh) -> None:
    fresh.run(uci_bytes(), "retail.csv")
    expected = uci_frame()
    header = ExportHeader("All order lines", "all", "Dec 2010 – Dec 2011", "/data",
                          dt.datetime(2026, 1, 1))
    with fresh.session() as session:
        period = _period(UCI_DAYS)
        assert count_order_lines(session, Scope.everything(), UCI_DAYS, period) == \
            len(expected)
        chunks = order_line_chunks(session, Scope.everything(), UCI_DAYS, period,
                                   chunk_rows=1000)
        content = b"".join(export_chunks(chunks, header, "csv"))
    table = read_csv_export(content)
    assert len(table) == len(expected)  # every line, merchandise or not, in 4 chunks
    assert table["Quantity"].sum() == expected["Quantity"].sum()
    assert table["Line value"].sum() == pytest.approx(
        (expected["Quantity"] * expected["UnitPrice"]).sum(), abs=0.01)
    assert set(table.loc[table["SKU"] == "POST", "Merchandise"]) == {"no"}
    assert set(table["Platform"]) == {"Online Store"}


def test_text_that_a_spreadsheet_would_run_is_neutralised(fresh_sqlite: Fresh) -> None:
    fresh_sqlite.run(b"Order ID,Order Date,SKU,Product,Quantity,Price\n"
                     b"A1,2011-01-02,EVIL,Harmless,1,2.00\n", "sales.csv")
    with fresh_sqlite.session() as session:
        # Only a catalogue change made outside the importer can hold such text.
        session.execute(update(Product).values(name='=HYPERLINK("http://x.example","hi")',
                                               category="+cmd|' /C calc'!A0"))
        session.commit()
        period = _period(UCI_DAYS)
        header = ExportHeader("=title", "all", "dates", "/data", dt.datetime(2026, 1, 1))
        frames = list(order_line_chunks(session, Scope.everything(), UCI_DAYS, period))
        csv_content = b"".join(export_chunks(iter(frames), header, "csv"))
        xlsx_content = b"".join(export_chunks(iter(frames), header, "xlsx"))
    table = read_csv_export(csv_content)
    assert table.loc[0, "Product"] == "'=HYPERLINK(\"http://x.example\",\"hi\")"
    assert table.loc[0, "Category"] == "'+cmd|' /C calc'!A0"
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx_content)).active
    values = [cell.value for cell in sheet[2]]
    assert "'=HYPERLINK(\"http://x.example\",\"hi\")" in values
    assert all(not str(v).startswith(("=", "+")) for v in values if v is not None)


@pytest.fixture
def export_app(fresh_sqlite: Fresh) -> Flask:
    """An app on a database holding the UCI slice on two platforms and three users."""
    fresh_sqlite.run(uci_bytes(), "retail.csv")
    fresh_sqlite.run(b"Order ID,Order Date,SKU,Quantity,Price\nW1,2011-01-02,X,1,2.00\n",
                     "wholesale.csv", platform="Wholesale")
    app = make_app(fresh_sqlite.url)
    with app.app_context():
        create_user(db.session, "analyst@example.com", PASSWORD, "analyst")
        create_user(db.session, "viewer@example.com", PASSWORD, "viewer")
        create_user(db.session, "wholesale@example.com", PASSWORD, "analyst", ["wholesale"])
        db.session.commit()
    return app


QUERY = "from=2010-12-01&to=2011-12-31"


def test_the_export_route_streams_the_view_for_analysts(export_app: Flask) -> None:
    client = login(export_app.test_client(), "analyst@example.com")
    response = client.get(f"/data/export.csv?{QUERY}")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith(
        'attachment; filename="order-lines_2010-12-01_2011-12-31.csv"')
    # What the file holds is in the header of the response and the XLSX's About sheet.
    assert "/data?from=2010-12-01&to=2011-12-31" in response.headers["X-Pulseboard-View"]
    table = read_csv_export(response.get_data())
    assert len(table) == len(uci_frame()) + 1
    only = client.get(f"/data/export.csv?{QUERY}&platform=wholesale")
    assert only.headers["Content-Disposition"].startswith(
        'attachment; filename="order-lines_2010-12-01_2011-12-31_wholesale.csv"')
    assert len(read_csv_export(only.get_data())) == 1
    xlsx = client.get(f"/data/export.xlsx?{QUERY}")
    assert xlsx.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(xlsx.get_data()))
    assert book["Data"].max_row == len(table) + 1
    about = {row[0].value: row[1].value for row in book["About"].iter_rows(min_row=2)}
    assert about["Pulseboard export"] == "All order lines" and about["Currency"] == "GBP"


def test_the_export_obeys_the_platform_limit_and_refuses_viewers(export_app: Flask) -> None:
    limited: FlaskClient = login(export_app.test_client(), "wholesale@example.com")
    response = limited.get(f"/data/export.csv?{QUERY}&platform=online-store")
    table = read_csv_export(response.get_data())
    assert set(table["Platform"]) <= {"Wholesale"} and len(table) == 1
    viewer = login(export_app.test_client(), "viewer@example.com")
    assert viewer.get(f"/data/export.csv?{QUERY}").status_code == 403
    anonymous = export_app.test_client().get(f"/data/export.csv?{QUERY}")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
