"""Sales page: a metric over time with growth, weekday and hour patterns, geography, platforms
and channels, returns and cancellations."""
from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
import pandas as pd
from dash import dcc, html
from dash.development.base_component import Component

from dashapp.filters import View
from layouts import figures
from layouts.components import graph
from layouts.controls import button_group
from layouts.country import COUNTRY_PARAM, country_picker
from layouts.overview import (
    ROLL_CHOICES,
    rolling_windows,
    selection_note,
    short_labels,
)
from layouts.panels import (
    FILTERS,
    NO_COMPARE,
    TIMELESS,
    Context,
    Drawn,
    Panel,
    Source,
    panel_body,
    panel_card,
)
from layouts.shell import PAGE_PARAM
from services import sales_analysis as service
from services.filters import ParamSpec, Period, comparison_name, format_range
from services.metrics import METRICS
from services.sales_analysis import COUNTRY_SORTS as COUNTRY_SORT_KEYS
from services.trends import TREND_METRICS

PATH = "/sales"
TITLE = "Sales"
METRIC_CHOICES = {key: METRICS[key].label for key in TREND_METRICS}
SORT_LABELS = {"net_revenue": "Net revenue", "orders": "Orders", "customers": "Customers",
               "aov": "Average order value", "country": "Name"}
COUNTRY_SORTS = {key: SORT_LABELS[key] for key in COUNTRY_SORT_KEYS}
ALL_STATES = ""
PARAMS = (
    ParamSpec("metric", default="net_revenue", choices=tuple(METRIC_CHOICES)),
    ParamSpec("roll", default="7", choices=tuple(ROLL_CHOICES)),
    COUNTRY_PARAM,  # a filter of this page: Filters.country
    ParamSpec("sort", default="net_revenue", choices=tuple(COUNTRY_SORTS)),
    ParamSpec("state", default=ALL_STATES),  # a filter of this page: Filters.state
)
TOP_COUNTRIES = 12
TOP_PLACES = 12
GEOGRAPHY = NO_COMPARE - {"country"}  # where a country is chosen, every country is shown

METRIC = {"type": PAGE_PARAM, "name": "metric"}
ROLL = {"type": PAGE_PARAM, "name": "roll"}
SORT = {"type": PAGE_PARAM, "name": "sort"}
COUNTRY_BANNER = "sales-country-banner"


def metric_of(view: View) -> tuple[str, str, str]:
    """(metric key, its label, its figure unit) of the page's metric choice."""
    metric = view.page["metric"]
    unit = "money" if METRICS[metric].unit == "money" else "number"
    return metric, METRIC_CHOICES[metric], unit


def trend_note(view: View, trend: pd.DataFrame, windows: tuple[int, ...]) -> str:
    """Rolling averages need day granularity; incomplete end buckets are marked."""
    notes = []
    if view.filters.grain != "day" and windows:
        notes.append("Rolling averages are daily: choose Day granularity to see them.")
    if not trend["complete"].all():
        notes.append(f"The first or last {view.filters.grain} is only partly inside the range.")
    return " ".join(notes)


def growth_note(view: View, period: Period, trend: pd.DataFrame) -> str:
    """Why growth rates are missing where they are."""
    grain = view.filters.grain
    notes = []
    if grain == "day":
        notes.append("Day-to-day growth is mostly noise: choose Week or Month granularity "
                     "for growth you can act on.")
    if not trend["complete"].all():
        notes.append(f"No growth for a {grain} only partly inside the range.")
    if trend["yoy_growth"].isna().all() and len(trend):
        first = period.first_data
        since = f" (the data starts on {format_range(first, first)})" if first else ""
        notes.append(f"Year over year needs a year of history before the range{since}.")
    if trend["pop_growth"].isna().any() and trend["previous_value"].eq(0).any():
        notes.append("Growth from an empty period is shown as a gap, not as infinite.")
    return " ".join(notes)


def country_table(frame: pd.DataFrame, currency: str, selected: str) -> Any:
    """The countries as a table in the chosen order, the selected country highlighted."""
    if frame.empty:
        return html.P("No sales in this view.", className="text-muted small")
    # No region column: a country's orders may lie in several regions (the region chart).
    headers = ["Country", "Net revenue", "Orders", "Customers", "AOV", "Share"]
    rows = []
    for row in frame.itertuples():
        cells = [row.country, figures.format_money(row.net_revenue, currency),
                 figures.format_number(row.orders), figures.format_number(row.customers),
                 figures.format_money(row.aov, currency), figures.format_percent(row.share)]
        text_cells = len(cells) - 5  # the last five are numbers
        rows.append(html.Tr([html.Td(cell, className="text-end" if i >= text_cells else None)
                             for i, cell in enumerate(cells)],
                            className="table-active" if row.country_key == selected else None))
    text_headers = len(headers) - 5
    return dbc.Table([html.Thead(html.Tr([html.Th(name, className="text-end"
                                                  if i >= text_headers else None)
                                          for i, name in enumerate(headers)])),
                      html.Tbody(rows)], size="sm", hover=True, className="mb-0 numeric-table")


def returns_text(summary: dict[str, Any], currency: str) -> Any:
    """Returns and cancellations in words and numbers."""
    money = figures.format_money
    rate = figures.format_percent(summary["return_rate"])
    if not summary["gross_sales"] and not summary["returns"]:
        return html.P("No sales or returns in this view.", className="text-muted small")
    return html.Div([
        html.Div([html.Span(money(summary["returns"], currency), className="h5 me-2"),
                  html.Span(f"returned or cancelled, {rate} of gross sales",
                            className="text-muted")]),
        html.Div(f"{money(summary['returned'], currency)} on return orders, "
                 f"{money(summary['cancelled'], currency)} cancelled; "
                 f"{figures.format_number(summary['returned_units'])} units back of "
                 f"{figures.format_number(summary['units'])} sold "
                 f"({figures.format_percent(summary['unit_return_rate'])}).", className="small"),
    ])


def countries_note(countries: pd.DataFrame, country: str) -> str:
    """What the country chart leaves out, and how a chosen country is undone."""
    notes = []
    if len(countries) > TOP_COUNTRIES:
        notes.append(f"The {TOP_COUNTRIES} largest of {len(countries)} countries; the table "
                     "lists all.")
    if country:
        notes.append(f"{country} is selected: click its bar again to show all countries on "
                     "the page. This chart and the table always show every country.")
    if (countries["country_key"].isna()).any():
        notes.append("“Unknown” holds orders without a country.")
    return " ".join(notes)


def _joined(*notes: str) -> str:
    return " ".join(note for note in notes if note)


def place_labels(frame: pd.DataFrame, column: str, within: str) -> pd.DataFrame:
    """The rows labelled by `column`, with `within` (the country or state) added when the
    rows span several of them: Springfield is a city of more than one state."""
    label = frame[column].astype(str)
    if frame[within].nunique() > 1:
        label = label.where(frame[within].isna(),
                            label + " (" + frame[within].astype(str) + ")")
    return frame.assign(label=label)


def places_note(frame: pd.DataFrame, plural: str) -> str:
    """What a chart of places leaves out."""
    if len(frame) <= TOP_PLACES:
        return ""
    return f"The {TOP_PLACES} largest of {len(frame)} {plural} by net revenue."


# --- drawing the panels -------------------------------------------------------------------------

def draw_trend(trend: pd.DataFrame, context: Context) -> Drawn:
    """The chosen metric over time, with the comparison and rolling averages."""
    view = context.view
    metric, label, unit = metric_of(view)
    if trend["value"].fillna(0).abs().sum() == 0:
        return Drawn(figures.empty_figure(context.empty))
    windows = rolling_windows(view.page["roll"])
    figure = figures.metric_trend_figure(trend, view.filters.grain, windows, label, unit,
                                         context.currency, comparison_name(view.filters))
    return Drawn(figure, trend_note(view, trend, windows))


def draw_growth(trend: pd.DataFrame, context: Context) -> Drawn:
    """Growth against the bucket before and the same bucket a year earlier."""
    if trend["value"].fillna(0).abs().sum() == 0:
        return Drawn(figures.empty_figure(context.empty))
    return Drawn(figures.growth_figure(trend, context.view.filters.grain),
                 growth_note(context.view, context.period, trend))


def draw_weekday(weekdays: pd.DataFrame, context: Context) -> Drawn:
    """The average day of each weekday, the best day named above it."""
    metric, label, unit = metric_of(context.view)
    best = service.best_day(weekdays)
    if not weekdays["orders"].any() and not weekdays["net_revenue"].any():
        return Drawn(figures.empty_figure(context.empty), lead="")
    value = "aov" if metric == "aov" else f"per_day_{metric}"
    name = label if metric == "aov" else f"{label} per day"
    figure = figures.weekday_figure(weekdays, value, name, unit, context.currency, best["days"])
    return Drawn(figure, lead=best["text"])


NO_TIMES_OF_DAY = "This data has no times of day"
NO_TIMES_NOTE = ("Every sale in the range is at 00:00: the data gives dates without times, "
                 "so the hour of a sale cannot be shown.")


def draw_heatmap(cells: pd.DataFrame, context: Context) -> Drawn:
    """The chosen metric per weekday and local hour."""
    metric, label, unit = metric_of(context.view)
    if not cells["orders"].any() and not cells["net_revenue"].any():
        return Drawn(figures.empty_figure(context.empty))
    if not service.has_times_of_day(cells):
        return Drawn(figures.empty_figure(NO_TIMES_OF_DAY), NO_TIMES_NOTE)
    return Drawn(figures.heatmap_figure(cells, metric, label, unit, context.currency))


def sorted_countries(frame: pd.DataFrame, view: View) -> pd.DataFrame:
    """The countries in the order the page's `sort` choice asks for."""
    return service.sorted_countries(frame, view.page["sort"])


def _by_revenue(countries: pd.DataFrame) -> pd.DataFrame:
    return countries.sort_values(["net_revenue", "country"], ascending=[False, True])


def draw_countries(countries: pd.DataFrame, context: Context) -> Drawn:
    """The largest countries as clickable bars."""
    if countries.empty:
        return Drawn(figures.empty_figure(context.empty))
    chosen = context.view.filters.country
    figure = figures.ranked_bar_figure(_by_revenue(countries).head(TOP_COUNTRIES), "country",
                                       "country_key", context.currency, selected=(chosen,))
    return Drawn(figure, countries_note(countries, chosen))


def draw_map(countries: pd.DataFrame, context: Context) -> Drawn:
    """Revenue by country on a world map."""
    if countries.empty:
        return Drawn(figures.empty_figure(context.empty))
    return Drawn(figures.country_map_figure(countries, "country", "country_key",
                                            context.currency,
                                            selected=(context.view.filters.country,)))


def draw_country_table(countries: pd.DataFrame, context: Context) -> Drawn:
    """Every country in the chosen order."""
    return Drawn(country_table(countries, context.currency, context.view.filters.country))


def draw_regions(regions: pd.DataFrame, context: Context) -> Drawn:
    """Revenue by region of the order's country."""
    if regions.empty:
        return Drawn(figures.empty_figure("No region to show: no sales in this view, or the "
                                          "data has no regions."))
    return Drawn(figures.ranked_bar_figure(regions, "region", "region", context.currency))


def draw_states(states: pd.DataFrame, context: Context) -> Drawn:
    """Revenue by state of the order as clickable bars, the chosen state highlighted."""
    if states.empty:
        return Drawn(figures.empty_figure("No state to show: no sales in this view, or the "
                                          "imported files have no state column."))
    chosen = context.view.filters.state
    figure = figures.ranked_bar_figure(place_labels(states, "state", "country").head(TOP_PLACES),
                                       "label", "state_key", context.currency,
                                       selected=(chosen,))
    undo = f"{chosen} is chosen: click its bar again to show every state." if chosen else ""
    return Drawn(figure, _joined(places_note(states, "states"), undo))


def draw_cities(cities: pd.DataFrame, context: Context) -> Drawn:
    """Revenue by city of the order (in the chosen state)."""
    if cities.empty:
        return Drawn(figures.empty_figure("No city to show: no sales in this view, or the "
                                          "imported files have no city column."))
    figure = figures.ranked_bar_figure(place_labels(cities, "city", "state").head(TOP_PLACES),
                                       "label", "label", context.currency,
                                       colour=figures.SERIES[1])
    return Drawn(figure, places_note(cities, "cities"))


def draw_platforms(platforms: pd.DataFrame, context: Context) -> Drawn:
    """Revenue by platform (with the comparison); a click filters by it."""
    if platforms.empty:
        return Drawn(figures.empty_figure(context.empty))
    chosen = context.view.filters.platforms
    return Drawn(figures.ranked_bar_figure(platforms, "platform", "slug", context.currency,
                                           compare=context.filters.compare != "none",
                                           selected=chosen),
                 selection_note(chosen, "platform"))


def draw_channels(channels: pd.DataFrame, context: Context) -> Drawn:
    """Revenue by channel (platform kind)."""
    if channels.empty:
        return Drawn(figures.empty_figure(context.empty))
    labelled = channels.assign(label=channels["channel"].str.capitalize())
    return Drawn(figures.ranked_bar_figure(labelled, "label", "channel", context.currency,
                                           compare=context.filters.compare != "none",
                                           colour=figures.SERIES[1]))


def draw_returns_summary(summary: dict[str, Any], context: Context) -> Drawn:
    """Returns and cancellations in words and numbers."""
    return Drawn(returns_text(summary, context.currency))


def draw_return_categories(categories: pd.DataFrame, context: Context) -> Drawn:
    """Return rate by category; a click filters by it."""
    rated = categories.loc[categories["return_rate"].notna()]
    if rated.empty:
        return Drawn(figures.empty_figure(context.empty))
    return Drawn(figures.ranked_bar_figure(
        rated, "category", "category", context.currency, value="return_rate",
        value_name="Return rate", unit="percent", colour=figures.NEGATIVE,
        selected=context.view.filters.categories))


def draw_returned_products(products: pd.DataFrame, context: Context) -> Drawn:
    """The products with the largest returned value; a click filters by it."""
    chosen = context.view.filters.products
    if products.empty:
        return Drawn(figures.empty_figure("No returns in this view."),
                     selection_note(chosen, "product"))
    return Drawn(figures.ranked_bar_figure(short_labels(products), "label", "sku",
                                           context.currency, value="returns",
                                           value_name="Returned value",
                                           colour=figures.NEGATIVE, selected=chosen),
                 selection_note(chosen, "product"))


def trend_table(trend: pd.DataFrame, view: View) -> pd.DataFrame:
    """The trend as exported: the value columns named after the metric."""
    metric = view.page["metric"]
    return trend.rename(columns={"value": metric, "compare_value": f"compare_{metric}"})


# --- tools of the panels ------------------------------------------------------------------------

def _toggle(component_id: dict[str, str], value: str, choices: dict[str, str]) -> dbc.RadioItems:
    return button_group(component_id, value, choices)


def _labelled(label: str, control: Component) -> html.Div:
    return html.Div([html.Span(label, className="small me-2"), control],
                    className="d-flex align-items-center")


def _trend_tools(view: View) -> html.Div:
    metric_labels = {**METRIC_CHOICES, "aov": "AOV", "net_revenue": "Revenue"}
    return html.Div([
        _toggle(METRIC, view.page["metric"], metric_labels),
        _labelled("Rolling average", _toggle(ROLL, view.page["roll"], ROLL_CHOICES)),
    ], className="d-flex flex-wrap gap-3")


def _sort_picker(view: View) -> html.Div:
    sort = dcc.Dropdown(id=SORT, value=view.page["sort"], clearable=False,
                        searchable=False, className="sort-picker",
                        options=[{"label": label, "value": key}
                                 for key, label in COUNTRY_SORTS.items()])
    return _labelled("Sort by", sort)


# --- the panels ---------------------------------------------------------------------------------

TREND_SOURCE = Source(service.metric_trend, choices=("metric",))
COUNTRY_SOURCE = Source(service.by_country)
TREND = Panel("sales-trend", "Sales over time", TREND_SOURCE, draw_trend, api_key="trend",
              applies=FILTERS, tools=_trend_tools, table=trend_table)
GROWTH = Panel("sales-growth", "Growth rates", TREND_SOURCE, draw_growth, api_key="trend",
               applies=FILTERS, height=260, table=trend_table,
               subtitle="Each bucket against the one before it and the same bucket a year "
                        "earlier")
WEEKDAY = Panel("sales-weekday", "Sales by day of week",
                Source(service.by_weekday),
                draw_weekday, api_key="by_weekday", applies=NO_COMPARE, time_axis=True,
                api_extra=(("best_day", service.best_day),), lead=True, height=300,
                toolbar=False, subtitle="Average day of each weekday in the range")
HEATMAP = Panel("sales-heatmap", "Hour × weekday", Source(service.by_weekday_hour),
                draw_heatmap, api_key="by_weekday_hour", applies=NO_COMPARE, time_axis=True,
                api_extra=(("has_times_of_day", service.has_times_of_day),),
                height=330, subtitle="Local time of the sale",
                export_title="Sales by hour and weekday")
COUNTRY_MAP = Panel("sales-country-map", "Revenue by country: map", COUNTRY_SOURCE, draw_map,
                    rows=sorted_countries, api_key="by_country", applies=GEOGRAPHY,
                    xfilter="country", height=420,
                    subtitle="Click a country to show only it on this page")
COUNTRIES = Panel("sales-countries", "Revenue by country", COUNTRY_SOURCE, draw_countries,
                  rows=sorted_countries, api_key="by_country", applies=GEOGRAPHY,
                  xfilter="country", height=380, toolbar=False, tools=country_picker,
                  subtitle="Click a bar to show only that country on this page")
COUNTRY_TABLE = Panel("sales-country-table", "Countries", COUNTRY_SOURCE, draw_country_table,
                      rows=sorted_countries, api_key="by_country", applies=GEOGRAPHY,
                      kind="html", tools=_sort_picker,
                      subtitle="Orders, customers, average order value and share")
REGIONS = Panel("sales-regions", "Revenue by region",
                Source(service.by_region), draw_regions,
                api_key="by_region", applies=NO_COMPARE, height=360, toolbar=False,
                subtitle="Region of the order (else of its country, where that has one)")
STATES = Panel("sales-states", "Revenue by state", Source(service.by_state), draw_states,
               api_key="by_state", applies=NO_COMPARE - {"state"}, xfilter="state", height=360,
               toolbar=False, subtitle="State or province of the order; click a bar to show "
                                       "only that state on this page")
CITIES = Panel("sales-cities", "Revenue by city", Source(service.by_city),
               draw_cities, api_key="by_city", applies=NO_COMPARE, height=360, toolbar=False,
               subtitle="City of the order, in the chosen state")
PLATFORMS = Panel("sales-platforms", "Revenue by platform",
                  Source(service.by_platform),
                  draw_platforms, api_key="by_platform", applies=TIMELESS,
                  xfilter="platform", height=360, toolbar=False,
                  subtitle="Click a bar to filter by it")
CHANNELS = Panel("sales-channels", "Revenue by channel",
                 Source(service.by_channel),
                 draw_channels, api_key="by_channel", applies=TIMELESS, height=360,
                 toolbar=False, subtitle="Platforms grouped by kind")
RETURNS_SUMMARY = Panel("sales-returns-summary", "Returns and cancellations",
                        Source(service.returns_summary),
                        draw_returns_summary,
                        api_key="returns", applies=NO_COMPARE, kind="html")
RETURN_CATEGORIES = Panel(
    "sales-return-categories", "Returns and cancellations",
    Source(service.returns_by_category), draw_return_categories,
    api_key="returns_by_category", applies=NO_COMPARE, xfilter="category", height=300,
    toolbar=False, export_title="Returns by category",
    subtitle="Return rate (returned value / gross sales) by category; click a bar to filter "
             "by it")
RETURNED_PRODUCTS = Panel("sales-returned-products", "Most returned products",
                          Source(service.top_returned_products),
                          draw_returned_products,
                          api_key="top_returned_products", applies=NO_COMPARE,
                          xfilter="product", height=400, toolbar=False,
                          subtitle="By returned value; click a bar to filter by it")
PANELS = (TREND, GROWTH, WEEKDAY, HEATMAP, COUNTRY_MAP, COUNTRIES, COUNTRY_TABLE, REGIONS,
          STATES, CITIES, PLATFORMS, CHANNELS, RETURNS_SUMMARY, RETURN_CATEGORIES,
          RETURNED_PRODUCTS)


def _returns_card(view: View) -> Any:
    # The summary obeys the same filters as the chart beside it: the card's one note (the
    # chart's) says what is not applied, so the summary's own note stays out of sight.
    assert RETURNS_SUMMARY.applies == RETURN_CATEGORIES.applies
    body = html.Div([panel_body(RETURNS_SUMMARY),
                     html.Div(id=RETURNS_SUMMARY.note_id, hidden=True),
                     graph(RETURN_CATEGORIES.component_id, RETURN_CATEGORIES.height,
                           toolbar=False)], className="returns-summary")
    return panel_card(RETURN_CATEGORIES, view, body)


def layout(view: View) -> html.Div:
    """The Sales page for a view (page choices come from the URL)."""
    table = html.Div(panel_body(COUNTRY_TABLE), className="table-responsive country-table")
    return html.Div([
        html.H1(TITLE, className="visually-hidden"),
        html.Div(id=COUNTRY_BANNER),
        dbc.Row(dbc.Col(panel_card(TREND, view)), className="mb-3"),
        dbc.Row(dbc.Col(panel_card(GROWTH, view)), className="mb-3"),
        dbc.Row([dbc.Col(panel_card(WEEKDAY, view), lg=5),
                 dbc.Col(panel_card(HEATMAP, view), lg=7)], className="g-3 mb-3"),
        dbc.Row([dbc.Col(panel_card(COUNTRY_MAP, view), lg=12),
                 dbc.Col(panel_card(COUNTRIES, view), lg=5),
                 dbc.Col(panel_card(COUNTRY_TABLE, view, table), lg=7)],
                className="g-3 mb-3"),
        dbc.Row([dbc.Col(panel_card(panel, view), lg=4)
                 for panel in (REGIONS, STATES, CITIES)], className="g-3 mb-3"),
        dbc.Row([dbc.Col(panel_card(panel, view), lg=6)
                 for panel in (PLATFORMS, CHANNELS)], className="g-3 mb-3"),
        dbc.Row([dbc.Col(_returns_card(view), lg=6),
                 dbc.Col(panel_card(RETURNED_PRODUCTS, view), lg=6)], className="g-3"),
    ])
