"""The dates a chart callback uses are resolved on the server from the store's query: a
forged `period` in the browser store changes nothing (issue 11)."""
from __future__ import annotations

import datetime as dt
import json
from typing import Any

from flask import Flask

from layouts import overview
from layouts.panels import Panel
from tests.conftest import TestDatabase, login, view_inputs

FORGED = {"start": "0100-01-01", "end": "9999-12-31", "compare_start": "0001-01-01",
          "compare_end": "0099-12-31", "asof": "9999-12-31", "first_data": "0100-01-01",
          "label": "forged"}


def _dash_id(component: Any) -> str:
    return json.dumps(component, sort_keys=True, separators=(",", ":")) \
        if isinstance(component, dict) else component


def post_panel(app: Flask, panel: Panel, store: dict[str, Any]) -> dict[str, Any]:
    """The panel callback's answer for `store`, posted as the browser posts it."""
    outputs = [{"id": panel.component_id, "property": panel.prop},
               {"id": panel.note_id, "property": "children"}]
    if panel.lead:
        outputs.append({"id": panel.lead_id, "property": "children"})
    payload = {
        "output": ".." + "...".join(f"{_dash_id(o['id'])}.{o['property']}"
                                    for o in outputs) + "..",
        "outputs": outputs,
        "inputs": view_inputs(str(store.get("path")), store),
        "changedPropIds": ["view-state.data"], "state": [],
    }
    response = login(app.test_client()).post(
        "/_dash-update-component", data=json.dumps(payload),
        content_type="application/json", headers={"Origin": "http://localhost"})
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return response.get_json()["response"]


def test_a_forged_period_is_ignored_and_the_query_dates_are_used(
        app: Flask, sqlite_db: TestDatabase) -> None:
    query = "range=30d&grain=day&compare=none"
    real = login(app.test_client()).get(f"/api/v1/overview?{query}").get_json()["period"]
    answer = post_panel(app, overview.TREND, {"path": "/", "query": query, "period": FORGED})
    figure = answer[_dash_id(overview.TREND.component_id)][overview.TREND.prop]
    days = sorted({str(x)[:10] for trace in figure["data"] for x in trace.get("x", [])})
    assert days, "the trend drew nothing"
    # Every point is a day of the query's own 30 days, whatever the store says.
    assert (days[0], days[-1]) == (real["start"], real["end"])
    assert len(days) == 30
    assert dt.date.fromisoformat(days[0]).year > 2000


def test_a_store_without_a_period_still_gets_its_dates(app: Flask,
                                                       sqlite_db: TestDatabase) -> None:
    answer = post_panel(app, overview.TREND, {"path": "/", "query": "range=7d&compare=none"})
    figure = answer[_dash_id(overview.TREND.component_id)][overview.TREND.prop]
    assert len({str(x)[:10] for trace in figure["data"] for x in trace.get("x", [])}) == 7
