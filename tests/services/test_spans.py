"""Each page's dates resolve against its own data (`services.spans`), on SQLite and
PostgreSQL: the funnel days on the Funnel page, the deals' days on the Pipeline page, the sales
everywhere else (unchanged). A database with a CRM file and no sales is tested in
`test_crm_import.py`."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import Session

from callbacks.shell import status_text, sync_view
from layouts.pages import PAGES
from services import sales
from services.filters import Filters, format_range
from services.scope import Scope
from services.spans import FUNNEL, PIPELINE, SALES, resolve
from tests.callbacks.test_shell import NO_CONTROLS
from tests.conftest import ADMIN, TestDatabase, callback_request, login

EVERYTHING = Scope()
# Every day a deal was created, closed or changed stage (expected closes are plans).
DEAL_DAYS = """SELECT created_on AS day, platform_id FROM opportunities
               UNION ALL SELECT closed_on, platform_id FROM opportunities
               UNION ALL SELECT c.entered_on, o.platform_id FROM stage_changes AS c
                         JOIN opportunities AS o ON o.id = c.opportunity_id"""
DAYS = {SALES: "SELECT sale_date AS day, platform_id FROM order_lines",
        FUNNEL: "SELECT date AS day, platform_id FROM funnel_days", PIPELINE: DEAL_DAYS}
VIEWS = [Filters(range="all", compare="none"), Filters(range="30d", compare="prev"),
         Filters(range="lastquarter", compare="yoy", grain="month")]


def raw_days(database: TestDatabase, span: str) -> pd.DataFrame:
    """Every day of a span's rows with its platform, read straight from the tables."""
    with database.engine.connect() as connection:
        frame = pd.read_sql(sa.text(DAYS[span]), connection).dropna(subset=["day"])
    return frame.assign(day=pd.to_datetime(frame["day"].astype(str).str[:10]).dt.date)


def raw_span(database: TestDatabase, span: str,
             platform_id: int | None = None) -> tuple[dt.date, dt.date]:
    """First and last day of a span's rows (of one platform's), in pandas."""
    frame = raw_days(database, span)
    if platform_id is not None:
        frame = frame.loc[frame["platform_id"] == platform_id]
    return frame["day"].min(), frame["day"].max()


@pytest.mark.parametrize("span", [FUNNEL, PIPELINE])
def test_all_time_is_the_pages_own_data(session: Session, database: TestDatabase,
                                        span: str) -> None:
    first, last = raw_span(database, span)
    period = resolve(session, EVERYTHING, Filters(range="all", compare="none"), span)
    assert (period.start, period.end) == (first, last)
    assert (period.first_data, period.last_data) == (first, last)
    assert period.label == f"all {span} data, {format_range(first, last)}"
    # The presets count back from the page's own last day.
    month = resolve(session, EVERYTHING, Filters(range="30d"), span)
    assert (month.start, month.end) == (last - dt.timedelta(days=29), last)
    assert month.label.startswith(f"Last 30 days of {span} data, up to ")


@pytest.mark.parametrize("span", [FUNNEL, PIPELINE])
def test_the_span_is_the_users_platforms_only(session: Session, database: TestDatabase,
                                              span: str) -> None:
    days = raw_days(database, span)
    platform_id = int(days["platform_id"].value_counts().sort_index().idxmin())
    limited = Scope(user_id=1, platform_ids=frozenset({platform_id}))
    period = resolve(session, limited, Filters(range="all"), span)
    assert (period.start, period.end) == raw_span(database, span, platform_id)


def test_the_sales_pages_resolve_as_before(session: Session) -> None:
    for filters in VIEWS:
        assert resolve(session, EVERYTHING, filters, SALES) == \
            sales.resolve(session, EVERYTHING, filters)
    assert {page.path: page.span for page in PAGES if page.span != SALES} == \
        {"/funnel": FUNNEL, "/pipeline": PIPELINE}


def test_the_page_says_which_span_its_dates_are_of(app: Flask, sqlite_db: TestDatabase) -> None:
    first, last = raw_span(sqlite_db, PIPELINE)
    sales_first, _sales_last = raw_span(sqlite_db, SALES)
    body = login(app.test_client()).get("/api/v1/pipeline?range=all&compare=none").get_json()
    assert (body["period"]["start"], body["period"]["end"]) == (first.isoformat(),
                                                                last.isoformat())
    with callback_request(app, ADMIN):
        _page, _view, period = sync_view("/pipeline", "?range=all&compare=none", NO_CONTROLS,
                                         {}, None, None)
        assert period.label == f"all pipeline data, {format_range(first, last)}"
        assert status_text("", PIPELINE).startswith(
            f"Pipeline data up to {format_range(last, last)} · ")
        _page, _view, period = sync_view("/sales", "?range=all", NO_CONTROLS, {}, None, None)
        assert period.label.startswith("all data, ") and period.start == sales_first
        assert status_text("").startswith("Data up to ")
