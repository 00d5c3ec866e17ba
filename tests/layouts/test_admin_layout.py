"""Admin and Data tables read as a person reads them: yes/no, “—” for none, times to the
minute in the business time zone, a line instead of an empty table; the import report names
the currency; the Marketing benchmarks come from the settings."""
from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import pytest
from dash import html

from dashapp.filters import parse_query
from layouts import admin, data, marketing
from layouts.marketing import draw_campaign_table, draw_roi
from layouts.panels import Context
from services.filters import Filters, Period
from services.marketing_campaigns import LIFT_COLUMNS, LIFT_RULE
from services.settings import BusinessSettings
from tests.layouts.test_data_layout import by_id

SUMMER_NOON_UTC = dt.datetime(2026, 7, 1, 11, 0, 30, 123456)  # naive UTC, as stored


def rows_of(table: Any) -> list[list[str]]:
    """The text of each body row of a dbc.Table."""
    body = table.children[1]
    return [[td.children for td in tr.children] for tr in body.children]


@pytest.mark.parametrize("value, zone, shown", [
    (True, None, "yes"), (False, None, "no"), (None, None, "—"), ("", None, "—"),
    (float("nan"), None, "—"), (pd.NaT, None, "—"), (12345, None, "12,345"),
    (SUMMER_NOON_UTC, "UTC", "2026-07-01 11:00"),
    (SUMMER_NOON_UTC, "Europe/London", "2026-07-01 12:00"),  # BST: one hour ahead
    (pd.Timestamp(SUMMER_NOON_UTC), "America/New_York", "2026-07-01 07:00"),
    (dt.date(2026, 7, 1), None, "2026-07-01"), ("revoked", None, "revoked"),
])
def test_a_cell_reads_as_words_and_local_minutes(value: Any, zone: str | None,
                                                 shown: str) -> None:
    assert admin.cell(value, zone) == shown


def test_tables_show_yes_no_dashes_and_local_times() -> None:
    users = [{"email": "a@example.com", "name": "", "role": "admin", "platforms": "all",
              "active": True, "last_login": SUMMER_NOON_UTC, "id": 1, "platform_slugs": []},
             {"email": "b@example.com", "name": "Bea", "role": "viewer", "platforms": "all",
              "active": False, "last_login": None, "id": 2, "platform_slugs": []}]
    tab = admin.users_tab(users, [], "Europe/London")
    rows = rows_of(by_id(tab, admin.USERS_TABLE))
    assert rows[0] == ["a@example.com", "—", "admin", "all", "yes", "2026-07-01 12:00"]
    assert rows[1][4:] == ["no", "—"]
    assert "Times are in the business time zone, Europe/London." in str(tab)
    assert "True" not in str(rows) and "None" not in str(rows)


def test_every_empty_table_says_so_in_a_line() -> None:
    tokens = by_id(admin.tokens_tab([], [], "UTC"), admin.TOKENS_TABLE)
    assert isinstance(tokens, html.P) and tokens.children.startswith("No API tokens yet")
    audit = by_id(admin.audit_tab([], [], "all", [], "anyone", "UTC"), admin.AUDIT_TABLE)
    assert isinstance(audit, html.P) and "No events" in audit.children
    status = {"database": "sqlite", "migration": "x", "row_counts": {}, "import_jobs": []}
    jobs = by_id(admin.status_tab(status, "1.0", "UTC"), "admin-jobs")
    assert isinstance(jobs, html.P) and jobs.children.startswith("No imports yet")
    stages = by_id(admin.stages_tab([]), admin.STAGES_TABLE)
    assert isinstance(stages, html.P)
    history = by_id(html.Div(data.history_table([], "UTC")), "data-history-table")
    assert history.children.startswith("No file has been imported yet")


def test_the_import_history_lists_a_demo_load_in_local_time() -> None:
    demo = {"id": 1, "started_at": SUMMER_NOON_UTC, "finished_at": SUMMER_NOON_UTC,
            "user": "command line", "filename": "demo data (seed 42)", "kind": "demo",
            "platform": None, "status": "succeeded", "rows_read": 80_000,
            "rows_loaded": 80_000, "rows_rejected": 0, "rows_excluded": 0, "checksum": "",
            "errors": []}
    table = by_id(html.Div(data.history_table([demo], "Europe/London")), "data-history-table")
    assert "When (Europe/London)" in str(table.children[0])
    row = rows_of(table)[0]
    assert row[:6] == ["2026-07-01 12:00", "command line", "demo data (seed 42)", "demo",
                       "loaded", "80,000 of 80,000"]
    assert row[-2:] == ["—", "—"]  # no checksum, no problems


def test_the_import_report_names_the_currency_amounts_are_shown_in() -> None:
    report = {"status": "checked", "errors": [], "rows_read": 3, "rows_loaded": 3,
              "rows_rejected": 0, "kind": "sales", "excluded": {}, "rows_excluded": 0,
              "totals": {}, "problems": [], "issues": [], "notes": [], "filename": "f.csv",
              "currency": "GBP"}
    assert "Amounts shown in" in str(data.report_view(report, checked=True))
    assert "GBP (the business currency" in str(data.report_view(report, checked=True))


def test_the_marketing_benchmarks_are_the_business_settings() -> None:
    frame = pd.DataFrame({"campaign_id": [1, 2], "campaign": ["A", "B"],
                          "influencer": ["@a", "@b"], "platform": ["Instagram"] * 2,
                          "cost": [100.0, 100.0],
                          "orders": [5, 5], "revenue": [300.0, 500.0], "roi": [2.0, 4.0],
                          "roas": [3.0, 5.0], "cost_per_order": [20.0, 20.0],
                          "engagement_rate": [0.1, 0.1],
                          **{column: [float("nan")] * 2  # the lift not measured
                             for column in LIFT_COLUMNS}})
    day = dt.date(2026, 7, 1)
    period = Period(day, day, None, None, day, "1 Jul 2026")
    view = parse_query("tab=influencers", marketing.PARAMS)
    context = Context(view, Filters(), period, "GBP", "", None,
                      BusinessSettings(roi_benchmark=1.5, roas_benchmark=3.5))
    roi = draw_roi(frame, context)
    assert "Benchmark 150%" in str(roi.body) and "1 of 2 below the ROAS benchmark of 3.5:1" in \
        roi.note
    note = draw_campaign_table(frame, context).note
    assert note.startswith("Tinted: ROAS below the benchmark 3.5:1.") and LIFT_RULE in note


def test_a_long_roi_ranking_draws_its_best_and_worst_and_says_so() -> None:
    count = 30
    roi = [float(n) for n in range(count)]
    frame = pd.DataFrame({"campaign_id": range(count), "campaign": [f"C{n}" for n in range(count)],
                          "roi": roi, "roas": [r + 1 for r in roi]})
    day = dt.date(2026, 7, 1)
    context = Context(parse_query("", marketing.PARAMS), Filters(),
                      Period(day, day, None, None, day, "1 Jul 2026"), "GBP", "", None,
                      BusinessSettings(roi_benchmark=1.5, roas_benchmark=3.5))
    drawn = draw_roi(frame, context)
    (bars,) = [trace for trace in drawn.body["data"] if trace["type"] == "bar"]
    ranked = sorted(range(count), reverse=True)  # the ROI of campaign n is n
    expected = ranked[:7] + ranked[-7:]
    assert bars["y"] == [f"C{n}" for n in expected][::-1]  # largest on top
    assert drawn.note.startswith("The 7 best and 7 worst of 30 are drawn; the export lists")
    assert "3 of 30 below the ROAS benchmark" in drawn.note
