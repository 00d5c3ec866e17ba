"""Sales page: a metric over time with growth, weekday and hour patterns, geography, platforms
and channels, returns and cancellations."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from dashapp.context import fetch
from dashapp.filters import View
from layouts.components import chart_card, graph
from layouts.overview import ROLL_CHOICES
from layouts.shell import PAGE_PARAM, XFILTER
from services.filters import ParamSpec
from services.sales_analysis import COUNTRY_SORTS as COUNTRY_SORT_KEYS
from services.sales_analysis import TREND_METRICS, country_options

PATH = "/sales"
TITLE = "Sales"
METRIC_LABELS = {"net_revenue": "Net revenue", "orders": "Orders", "units": "Units",
                 "aov": "Average order value"}
METRIC_CHOICES = {key: METRIC_LABELS[key] for key in TREND_METRICS}
METRIC_UNITS = {"net_revenue": "money", "orders": "number", "units": "number", "aov": "money"}
SORT_LABELS = {"net_revenue": "Net revenue", "orders": "Orders", "customers": "Customers",
               "aov": "Average order value", "country": "Name"}
COUNTRY_SORTS = {key: SORT_LABELS[key] for key in COUNTRY_SORT_KEYS}
ALL_COUNTRIES = ""
PARAMS = (
    ParamSpec("metric", default="net_revenue", choices=tuple(METRIC_CHOICES)),
    ParamSpec("roll", default="7", choices=tuple(ROLL_CHOICES)),
    ParamSpec("country", default=ALL_COUNTRIES),
    ParamSpec("sort", default="net_revenue", choices=tuple(COUNTRY_SORTS)),
)

METRIC = {"type": PAGE_PARAM, "name": "metric"}
ROLL = {"type": PAGE_PARAM, "name": "roll"}
COUNTRY = {"type": PAGE_PARAM, "name": "country"}
SORT = {"type": PAGE_PARAM, "name": "sort"}
COUNTRY_BANNER = "sales-country-banner"
TREND = "sales-trend"
TREND_NOTE = "sales-trend-note"
GROWTH = "sales-growth"
GROWTH_NOTE = "sales-growth-note"
WEEKDAY = "sales-weekday"
BEST_DAY = "sales-best-day"
HEATMAP = "sales-heatmap"
HEATMAP_NOTE = "sales-heatmap-note"
COUNTRIES = {"type": XFILTER, "dim": "country", "chart": "sales-countries"}
COUNTRIES_NOTE = "sales-countries-note"
COUNTRY_MAP = {"type": XFILTER, "dim": "country", "chart": "sales-country-map"}
COUNTRY_TABLE = "sales-country-table"
COUNTRY_TABLE_KEY = "sales-country-table"
REGIONS = "sales-regions"
REGIONS_NOTE = "sales-regions-note"
PLATFORMS = {"type": XFILTER, "dim": "platform", "chart": "sales-platforms"}
PLATFORMS_NOTE = "sales-platforms-note"
CHANNELS = "sales-channels"
RETURNS_SUMMARY = "sales-returns-summary"
RETURNS_KEY = "sales-returns"
RETURN_CATEGORIES = {"type": XFILTER, "dim": "category", "chart": "sales-return-categories"}
RETURNED_PRODUCTS = {"type": XFILTER, "dim": "product", "chart": "sales-returned-products"}
RETURNED_NOTE = "sales-returned-note"


def _toggle(component_id: dict[str, str], value: str, choices: dict[str, str]) -> dbc.RadioItems:
    return dbc.RadioItems(
        id=component_id, value=value, inline=True, className="btn-group",
        inputClassName="btn-check", labelClassName="btn btn-outline-secondary btn-sm",
        labelCheckedClassName="active",
        options=[{"label": label, "value": key} for key, label in choices.items()])


def _labelled(label: str, control: object) -> html.Div:
    return html.Div([html.Span(label, className="small me-2"), control],
                    className="d-flex align-items-center")


def _trend_tools(view: View) -> html.Div:
    metric_labels = {**METRIC_CHOICES, "aov": "AOV", "net_revenue": "Revenue"}
    return html.Div([
        _toggle(METRIC, view.page.get("metric", "net_revenue"), metric_labels),
        _labelled("Rolling average", _toggle(ROLL, view.page.get("roll", "7"), ROLL_CHOICES)),
    ], className="d-flex flex-wrap gap-3")


def _country_picker(view: View) -> dcc.Dropdown:
    countries = fetch(country_options)
    chosen = view.page.get("country", ALL_COUNTRIES)
    if chosen and chosen not in countries:
        countries = [*countries, chosen]  # keep a linked country visible even without sales
    options = [{"label": "All countries", "value": ALL_COUNTRIES},
               *[{"label": name, "value": name} for name in countries]]
    return dcc.Dropdown(id=COUNTRY, options=options, value=chosen, clearable=False,
                        searchable=True, className="country-picker")


def _geography(view: View) -> dbc.Row:
    sort = dcc.Dropdown(id=SORT, value=view.page.get("sort", "net_revenue"), clearable=False,
                        searchable=False, className="sort-picker",
                        options=[{"label": label, "value": key}
                                 for key, label in COUNTRY_SORTS.items()])
    table = html.Div(id=COUNTRY_TABLE, className="table-responsive country-table")
    world = dbc.Col(chart_card("Revenue by country: map", graph(COUNTRY_MAP, 420),
                               export_key=COUNTRY_MAP["chart"],
                               subtitle="Click a country to show only it on this page"), lg=12)
    return dbc.Row([
        world,
        dbc.Col(chart_card("Revenue by country", graph(COUNTRIES, 380, toolbar=False),
                           COUNTRIES_NOTE, export_key=COUNTRIES["chart"],
                           subtitle="Click a bar to show only that country on this page",
                           tools=_country_picker(view)), lg=5),
        dbc.Col(chart_card("Countries", dcc.Loading(table, type="dot", delay_show=250),
                           tools=_labelled("Sort by", sort), export_key=COUNTRY_TABLE_KEY,
                           subtitle="Orders, customers, average order value and share"), lg=7),
    ], className="g-3 mb-3")


def layout(view: View) -> html.Div:
    """The Sales page for a view (page choices come from the URL)."""
    return html.Div([
        html.H1(TITLE, className="visually-hidden"),
        html.Div(id=COUNTRY_BANNER),
        dbc.Row(dbc.Col(chart_card("Sales over time", graph(TREND, 340), TREND_NOTE,
                                   tools=_trend_tools(view), export_key=TREND)),
                className="mb-3"),
        dbc.Row(dbc.Col(chart_card("Growth rates", graph(GROWTH, 260), GROWTH_NOTE,
                                   export_key=GROWTH,
                                   subtitle="Each bucket against the one before it and the "
                                            "same bucket a year earlier")),
                className="mb-3"),
        dbc.Row([
            dbc.Col(chart_card("Sales by day of week", html.Div([
                html.P(id=BEST_DAY, className="best-day mb-1"),
                graph(WEEKDAY, 300, toolbar=False)]), export_key=WEEKDAY,
                subtitle="Average day of each weekday in the range"), lg=5),
            dbc.Col(chart_card("Hour × weekday", graph(HEATMAP, 330), HEATMAP_NOTE,
                               export_key=HEATMAP, subtitle="Local time of the sale"), lg=7),
        ], className="g-3 mb-3"),
        _geography(view),
        dbc.Row([
            dbc.Col(chart_card("Revenue by region", graph(REGIONS, 360, toolbar=False),
                               REGIONS_NOTE, export_key=REGIONS,
                               subtitle="Region of the order's country"), lg=4),
            dbc.Col(chart_card("Revenue by platform", graph(PLATFORMS, 360, toolbar=False),
                               PLATFORMS_NOTE, export_key=PLATFORMS["chart"],
                               subtitle="Click a bar to filter by it"), lg=4),
            dbc.Col(chart_card("Revenue by channel", graph(CHANNELS, 360, toolbar=False),
                               export_key=CHANNELS,
                               subtitle="Platforms grouped by kind"), lg=4),
        ], className="g-3 mb-3"),
        dbc.Row([
            dbc.Col(chart_card("Returns and cancellations", html.Div([
                html.Div(id=RETURNS_SUMMARY, className="returns-summary mb-2"),
                graph(RETURN_CATEGORIES, 300, toolbar=False)]), export_key=RETURNS_KEY,
                subtitle="Return rate (returned value / gross sales) by category; click a bar "
                         "to filter by it"), lg=6),
            dbc.Col(chart_card("Most returned products", graph(RETURNED_PRODUCTS, 400,
                                                               toolbar=False),
                               RETURNED_NOTE, export_key=RETURNED_PRODUCTS["chart"],
                               subtitle="By returned value; click a bar to filter by it"),
                    lg=6),
        ], className="g-3"),
    ])
