"""The panel registry: every declared panel has a callback, an export and an API entry, and
its chart, its download and its API entry hold the same numbers."""
from __future__ import annotations

import base64
import io
import json
import math
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pandas as pd
import pytest
from flask import Flask

from callbacks.exports import export_file, page_exports
from callbacks.panels import draw_group
from dashapp.api import jsonable
from dashapp.auth import SessionUser
from dashapp.extensions import db
from dashapp.filters import parse_query
from dashapp.panels import panel_rows
from dashapp.views import store_payload
from layouts.pages import PAGES, Page
from layouts.panels import Panel, by_key
from services.cache import is_cached
from services.exports import column_label, column_unit
from services.spans import resolve
from tests.conftest import ADMIN, callback_request, login

# Views that between them show every panel (the Products page shows a drill-down or the list).
VIEWS = {
    "/": ["range=90d&grain=week&compare=prev", "range=all&compare=yoy&platform=online-store",
          "range=lastmonth&grain=week&cfrom=2026-01-01&cto=2026-02-14&refresh=5m"],
    "/sales": ["range=90d&compare=yoy&metric=orders&country=Germany", "range=12m&sort=country"],
    "/products": ["range=90d&compare=none", "range=all&sku=FTW-0015&compare=prev"],
    "/customers": ["range=90d&compare=prev&segment=Champions&acquired=2026-08-01",
                   "range=12m&compare=yoy&platform=online-store&cohort=revenue&sort=orders&page=2"
                   "&country=Germany"],
    "/funnel": ["range=90d&grain=week&compare=prev",
                "range=12m&compare=none&platform=amazon&product=FTW-0015"],
    "/pipeline": ["range=12m&compare=prev&measure=value&sort=expected_close",
                  "range=all&compare=none&stage=proposal&team=Enterprise&stale=60&product=FTW-0015"],
    "/forecasts": ["range=90d&metric=orders&h=30", "range=30d&grain=week&platform=amazon"],
    "/marketing": ["range=90d&window=3&post=500", "range=90d&tab=influencers&platform=instagram",
                   "range=90d&tab=payouts", "range=90d&tab=attribution&product=FTW-0015",
                   "range=90d&tab=influencers&campaign=1"],
}
API_PAGES = [page for page in PAGES if page.api_name]


def test_every_page_with_panels_has_views_here() -> None:
    assert {page.path for page in API_PAGES} == set(VIEWS)
    assert all(page.panels for page in API_PAGES)


def test_panel_keys_are_unique_across_the_app() -> None:
    by_key([panel for page in PAGES for panel in page.panels])


def _dom_id(component_id: Any) -> str:
    if isinstance(component_id, dict):
        return json.dumps(component_id, sort_keys=True, separators=(",", ":"))
    return component_id


def test_every_panel_has_a_callback_and_an_export(app: Flask) -> None:
    dash_app = app.extensions["dash"]
    outputs = {part for key in dash_app.callback_map for part in key.strip(".").split("...")}
    exports = {spec.key for spec in page_exports(PAGES)}
    for page in API_PAGES:
        for panel in page.panels:
            assert f"{_dom_id(panel.component_id)}.{panel.prop}" in outputs, panel.key
            assert f"{panel.note_id}.children" in outputs, panel.key
            assert panel.key in exports
            assert is_cached(panel.source.service), f"{panel.key}: its service is not @cached"


def test_every_panel_is_in_its_page_api(app: Flask) -> None:
    client = login(app.test_client())
    for page in API_PAGES:
        seen: set[str] = set()
        for query in VIEWS[page.path]:
            response = client.get(f"/api/v1/{page.api_name}?{query}")
            assert response.status_code == 200, (page.path, query, response.get_json())
            body = response.get_json()
            view = parse_query(query, page.params)
            for panel in page.panels:
                if panel.shown(view):
                    assert set(panel.api_keys) <= set(body), (panel.key, panel.api_keys)
                    seen.add(panel.key)
        assert seen == {panel.key for panel in page.panels}, page.path  # every panel shown


@pytest.fixture
def admin(app: Flask) -> Iterator[SessionUser]:
    """A request context with the admin logged in."""
    with callback_request(app, ADMIN) as user:
        yield user


def _exported(download: dict[str, Any]) -> pd.DataFrame:
    """The CSV as a plain `pandas.read_csv` reads it (no options: empty cells are NaN)."""
    return pd.read_csv(io.BytesIO(base64.b64decode(download["content"])))


def _numbers(value: Any) -> list[float]:
    """Every number in a JSON-like value, in order (None and NaN left out)."""
    if isinstance(value, dict):
        return [n for item in value.values() for n in _numbers(item)]
    if isinstance(value, list):
        return [n for item in value for n in _numbers(item)]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return []
    return [] if math.isnan(value) else [float(value)]


def _assert_same_table(exported: pd.DataFrame, expected: pd.DataFrame, what: str) -> None:
    assert list(exported.columns) == [column_label(c) for c in expected.columns], what
    assert len(exported) == len(expected), what
    for column in expected.columns:
        want = expected[column].tolist()
        got = exported[column_label(column)].tolist()
        cent = 0.0051 if column_unit(column) == "money" else 1e-6  # money is to the cent
        for mine, theirs in zip(got, want, strict=True):
            if isinstance(theirs, (int, float)) and not isinstance(theirs, bool) \
                    and not (isinstance(theirs, float) and math.isnan(theirs)):
                assert float(mine) == pytest.approx(float(theirs), rel=1e-9, abs=cent), \
                    (what, column)


def _recording(panel: Panel, seen: list[Any]) -> Panel:
    def draw(rows: Any, context: Any) -> Any:
        seen.append(rows)
        return panel.draw(rows, context)
    return replace(panel, draw=draw)


def _checks(page: Page, admin: SessionUser) -> Iterator[tuple[Panel, str]]:
    for query in VIEWS[page.path]:
        for panel in page.panels:
            if panel.shown(parse_query(query, page.params)):
                yield panel, query


@pytest.mark.parametrize("page", API_PAGES, ids=lambda page: page.api_name)
def test_the_chart_the_export_and_the_api_hold_the_same_numbers(
        app: Flask, admin: SessionUser, page: Page) -> None:
    exports = {spec.key: spec for spec in page_exports([page])}
    client = login(app.test_client())
    bodies = {query: client.get(f"/api/v1/{page.api_name}?{query}").get_json()
              for query in VIEWS[page.path]}
    for panel, query in _checks(page, admin):
        view = parse_query(query, page.params)
        period = resolve(db.session, admin.scope, view.filters, page.span)
        rows = panel_rows(panel, view, period)
        # What the callback draws is exactly these rows.
        seen: list[Any] = []
        draw_group([_recording(panel, seen)], view, period)
        assert len(seen) == 1
        if isinstance(rows, pd.DataFrame):
            pd.testing.assert_frame_equal(seen[0], rows)
        else:
            assert jsonable(seen[0]) == jsonable(rows), panel.key
        # The download is the panel's table of those rows.
        store = store_payload(page.path, view, period, page.params)
        exported = _exported(export_file(exports[panel.key], store, "csv"))
        _assert_same_table(exported, panel.table(rows, view), panel.key)
        # The API holds the same rows (and every number of the export appears in it).
        body = bodies[query]
        keys = (panel.api_key,) if isinstance(panel.api_key, str) else panel.api_key
        api = body[keys[0]] if isinstance(panel.api_key, str) else \
            {key: body[key] for key in keys}
        assert api == json.loads(json.dumps(jsonable(rows))), panel.key
        api_numbers = sorted(round(n, 6) for n in _numbers(api))
        table = jsonable(panel.table(rows, view))
        for number in _numbers(table):
            assert any(abs(number - n) <= 1e-6 * max(1.0, abs(n)) for n in api_numbers), \
                (panel.key, number)
