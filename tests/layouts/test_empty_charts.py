"""No chart ever shows Plotly's default empty axes (−1…6): neither while it loads nor when
its view has no data. The figures the layouts and the panel callbacks send are checked
here, which is cheaper than waiting for every page in a browser."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from dash import dcc
from dash.exceptions import PreventUpdate
from flask import Flask

from callbacks.panels import draw_group
from dashapp.auth import SessionUser
from dashapp.panels import grouped
from dashapp.views import checked_view
from layouts.pages import PAGES, Page
from tests.conftest import ADMIN, callback_request

# A range of a month long before the demo data: every panel of every page is empty.
EMPTY_RANGE = "from=2000-01-01&to=2000-01-31"


@pytest.fixture
def admin(app: Flask) -> Iterator[SessionUser]:
    """A request context with the admin logged in."""
    with callback_request(app, ADMIN) as user:
        yield user


def axes_hidden(figure: Any) -> bool:
    """Whether a figure without data hides its axes (plotly draws −1…6 otherwise)."""
    if not isinstance(figure, dict):
        return False
    if figure.get("data"):
        return True
    layout = figure.get("layout", {})
    return all(layout.get(axis, {}).get("visible") is False for axis in ("xaxis", "yaxis"))


def graphs(component: Any) -> Iterator[dcc.Graph]:
    """Every `dcc.Graph` in a component tree."""
    if isinstance(component, dcc.Graph):
        yield component
    children = getattr(component, "children", None)
    for child in children if isinstance(children, (list, tuple)) else [children]:
        if child is not None and not isinstance(child, (str, int, float)):
            yield from graphs(child)


def sparkline_axes_hidden_by_css() -> bool:
    """Whether the style sheet hides every axis part of a KPI sparkline (it may wait for
    its first figure with none)."""
    css = " ".join((Path(__file__).parents[2] / "assets" / "pulseboard.css").read_text().split())
    rule = css[:css.find("{", css.find(".kpi-spark .gridlayer"))]
    return all(f".kpi-spark .{part}" in rule for part in (
        "gridlayer", "zerolinelayer", "xaxislayer-above", "yaxislayer-above"))


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.path)
def test_every_chart_is_blank_with_hidden_axes_until_its_callback_answers(
        admin: SessionUser, page: Page) -> None:
    view, _period = checked_view("range=90d", page.params, page.span)
    shown = list(graphs(page.layout(view)))
    sparklines = [graph for graph in shown
                  if "kpi-spark" in (getattr(graph, "className", None) or "")]
    if sparklines:
        assert sparkline_axes_hidden_by_css()
    default_axes = [graph.id for graph in shown
                    if graph not in sparklines and not axes_hidden(graph.figure)]
    assert not default_axes, f"{page.path}: drawn with plotly's default axes while loading"


@pytest.mark.parametrize("page", [page for page in PAGES if page.panels],
                         ids=lambda page: page.path)
def test_every_empty_chart_says_why_instead_of_drawing_empty_axes(
        admin: SessionUser, page: Page) -> None:
    view, period = checked_view(EMPTY_RANGE, page.params, page.span)
    checked = 0
    for panels in grouped(page.panels):
        try:
            values = draw_group(panels, view, period)
        except PreventUpdate:  # a panel this view does not show
            continue
        bodies = iter(values)
        for panel in panels:
            body = next(bodies)
            next(bodies)  # its note
            if panel.lead:
                next(bodies)
            if panel.kind != "graph":
                continue
            checked += 1
            assert axes_hidden(body), f"{panel.key}: empty axes"
            if not body["data"]:  # an empty state: a message in words, not a blank card
                texts = [note.get("text", "") for note in body["layout"].get("annotations", [])]
                assert any(text.strip() for text in texts), f"{panel.key}: blank, says nothing"
    assert checked, f"{page.path}: no chart was checked"
