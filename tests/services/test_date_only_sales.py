"""A sales file with dates but no times of day (issue 12, item 8): the weekday × hour heatmap
says so instead of drawing every sale at 00:00; a file with times keeps its heatmap."""
from __future__ import annotations

import datetime as dt
import io

import pandas as pd

from dashapp.filters import parse_query
from layouts import sales as page
from layouts.panels import Context
from services import sales_analysis as service
from services.sales import resolve
from services.scope import Scope
from tests.fixtures.imports import (  # noqa: F401 - the fixtures are used by name
    Fresh,
    fresh_fixture,
    fresh_sqlite_fixture,
    imports_postgres_url_fixture,
    sqlite_template_fixture,
    uci_bytes,
)
from tests.services.test_imports import ALL_TIME

# A Superstore-like export: one date per order, no time.
DATE_ONLY = "Order ID,Order Date,Product ID,Quantity,Sales\n" + "".join(
    f"CA-{n},{(dt.date(2025, 3, 3) + dt.timedelta(days=n)).strftime('%m/%d/%Y')},"
    f"TEA-{n % 3},{1 + n % 4},{9.5 * (1 + n % 4):.2f}\n" for n in range(14))


def heatmap(fresh: Fresh) -> tuple[pd.DataFrame, Context]:
    """The heatmap's cells over all the data, and the context its panel draws them in."""
    view = parse_query("", page.PARAMS)
    with fresh.session() as session:
        period = resolve(session, Scope.everything(), ALL_TIME)
        cells = service.by_weekday_hour(session, Scope.everything(), ALL_TIME, period)
    return cells, Context(view, ALL_TIME, period, "USD", "No sales")


def test_a_date_only_file_gets_a_note_instead_of_a_column_at_midnight(fresh: Fresh) -> None:
    report = fresh.run(DATE_ONLY.encode(), "superstore.csv")
    assert report.status == "succeeded", report.to_text()
    expected = pd.read_csv(io.StringIO(DATE_ONLY))
    cells, context = heatmap(fresh)
    assert cells.loc[cells["hour"] == 0, "orders"].sum() == expected["Order ID"].nunique()
    assert not service.has_times_of_day(cells)
    drawn = page.draw_heatmap(cells, context)
    assert drawn.body["data"] == []  # no cells drawn
    assert drawn.body["layout"]["annotations"][0]["text"] == "This data has no times of day"
    assert "dates without times" in drawn.note


def test_a_file_with_times_keeps_its_heatmap(fresh_sqlite: Fresh) -> None:
    assert fresh_sqlite.run(uci_bytes(), "online_retail.csv").status == "succeeded"
    cells, context = heatmap(fresh_sqlite)
    assert service.has_times_of_day(cells)
    assert page.draw_heatmap(cells, context).body["data"][0]["type"] == "heatmap"
