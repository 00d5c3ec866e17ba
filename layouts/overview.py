"""Overview page: KPI cards, revenue trend, revenue by platform and category, top products."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import html

from dashapp.filters import View
from layouts.components import chart_card, graph, kpi_card
from layouts.shell import PAGE_PARAM, XFILTER, export_menu
from services.filters import ParamSpec

PATH = "/"
TITLE = "Overview"
ROLL_CHOICES = {"none": "None", "3": "3-day", "7": "7-day", "30": "30-day", "all": "All"}
PARAMS = (ParamSpec("roll", default="7", choices=tuple(ROLL_CHOICES)),)

KPIS = (("net_revenue", "Net revenue"), ("gross_profit", "Gross profit"), ("orders", "Orders"),
        ("aov", "Average order value"), ("units", "Units sold"), ("customers", "Customers"))

ROLL = {"type": PAGE_PARAM, "name": "roll"}
TREND = "overview-trend"
TREND_NOTE = "overview-trend-note"
PLATFORMS = {"type": XFILTER, "dim": "platform", "chart": "overview-platforms"}
PLATFORMS_NOTE = "overview-platforms-note"
CATEGORIES = {"type": XFILTER, "dim": "category", "chart": "overview-categories"}
CATEGORIES_NOTE = "overview-categories-note"
PRODUCTS = {"type": XFILTER, "dim": "product", "chart": "overview-products"}
PRODUCTS_NOTE = "overview-products-note"
COST_NOTE = "overview-cost-note"
KPI_EXPORT = "overview-kpis"


def ranked_card(title: str, graph_id: dict[str, str], note_id: str, subtitle: str) -> dbc.Card:
    """A card with a clickable ranked bar chart and its export buttons."""
    return chart_card(title, graph(graph_id, 380, toolbar=False), note_id, subtitle=subtitle,
                      export_key=graph_id["chart"])


def layout(view: View) -> html.Div:
    """The Overview page for a view (page choices come from the URL)."""
    roll = dbc.RadioItems(
        id=ROLL, value=view.page.get("roll", "7"), inline=True, className="btn-group",
        inputClassName="btn-check", labelClassName="btn btn-outline-secondary btn-sm",
        labelCheckedClassName="active",
        options=[{"label": label, "value": key} for key, label in ROLL_CHOICES.items()])
    return html.Div([
        html.H1(TITLE, className="visually-hidden"),
        dbc.Row([dbc.Col(kpi_card(key, title), xs=6, md=4, xl=2) for key, title in KPIS],
                className="g-3 mb-1"),
        html.Div([html.Div(id=COST_NOTE, className="small text-muted"),
                  export_menu(KPI_EXPORT)], className="d-flex justify-content-between mb-3"),
        dbc.Row(dbc.Col(chart_card("Revenue trend", graph(TREND, 340), TREND_NOTE,
                                   tools=html.Div([html.Span("Rolling average ",
                                                             className="small me-2"), roll]),
                                   export_key=TREND)),
                className="mb-3"),
        dbc.Row([
            dbc.Col(ranked_card("Revenue by platform", PLATFORMS, PLATFORMS_NOTE,
                                "Click a bar to filter by it"), lg=4),
            dbc.Col(ranked_card("Revenue by category", CATEGORIES, CATEGORIES_NOTE,
                                "Click a bar to filter by it"), lg=4),
            dbc.Col(ranked_card("Top products", PRODUCTS, PRODUCTS_NOTE,
                                "By net revenue; click a bar to filter by it"), lg=4),
        ], className="g-3"),
    ])
