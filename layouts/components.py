"""Reusable building blocks: chart cards with loading and notes, KPI cards."""
from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html
from dash.development.base_component import Component

from layouts.figures import empty_figure
from layouts.shell import export_menu

LOADING_FIGURE = empty_figure("")
# While a panel recomputes, its previous content stays in place, dimmed, under the spinner.
BUSY_OVERLAY = {"visibility": "visible", "opacity": 0.45, "transition": "opacity 0.2s"}

GRAPH_CONFIG: dcc.Graph.Config = {"displaylogo": False, "responsive": True,
                # Maps load their outlines from our own assets (vendored), never from a CDN.
                "topojsonURL": "/assets/topojson/",
                "modeBarButtonsToRemove": ["lasso2d", "select2d", "autoScale2d"]}


def graph(component_id: Any, height: int = 340, toolbar: bool = True) -> dcc.Graph:
    """A graph with the house config; its height is reserved so the page does not jump.

    Small ranked charts go without the toolbar: it would cover their legend and bars.
    """
    config: dcc.Graph.Config = (GRAPH_CONFIG if toolbar
                                else {**GRAPH_CONFIG, "displayModeBar": False})
    # Until its first answer the graph shows a blank chart, not Plotly's default axes.
    return dcc.Graph(id=component_id, config=config, figure=LOADING_FIGURE,
                     style={"height": f"{height}px"})


def busy(body: Any, height: int | None = None) -> dcc.Loading:
    """`body` with a spinner while its callback runs: shown after 300 ms, so fast answers
    do not flicker, over the previous content dimmed. `height` reserves the body's space
    before its first answer, so the page does not jump when the charts arrive."""
    return dcc.Loading(body, type="dot", delay_show=300, color="#2563eb",
                       overlay_style=BUSY_OVERLAY, parent_className="busy-area",
                       parent_style={"minHeight": f"{height}px"} if height else None)


def chart_card(title: str, body: Any, note_id: str | None = None, tools: Any = None,
               subtitle: str | None = None, export_key: str | None = None,
               height: int | None = None) -> dbc.Card:
    """A titled card with a loading indicator, optional tools, export buttons and a note;
    `height` is the body's reserved height (a graph's)."""
    header = [html.Div([html.H2(title, className="card-title h6 mb-0"),
                        html.Small(subtitle, className="text-muted") if subtitle else None]),
              html.Div([tools, export_menu(export_key) if export_key else None],
                       className="card-tools")]
    children: list[Component] = [busy(body, height)]
    if note_id:
        children.append(html.Div(id=note_id, className="chart-note small text-muted mt-1"))
    return dbc.Card([dbc.CardHeader(header, className="chart-card-header"),
                     dbc.CardBody(children)], className="chart-card h-100")


def kpi_card(metric: str, title: str, value: Any = "…", change: Any = None,
             spark: Any = None) -> dbc.Card:
    """A KPI card: its value, change and sparkline (a placeholder until they are known)."""
    return dbc.Card(dbc.CardBody([
        html.Div(title, className="kpi-title"),
        html.Div(id={"type": "kpi-value", "metric": metric}, className="kpi-value",
                 children=value),
        html.Div(change, id={"type": "kpi-change", "metric": metric}, className="kpi-change"),
        dcc.Graph(id={"type": "kpi-spark", "metric": metric}, className="kpi-spark",
                  figure=spark, config={"displayModeBar": False, "staticPlot": True},
                  style={"height": "42px"}),
    ]), className="kpi-card h-100", id=f"kpi-card-{metric}")
