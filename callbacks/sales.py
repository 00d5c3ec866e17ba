"""Sales callbacks: each reads the view from the store, calls a service, builds a figure."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dash_bootstrap_components as dbc
import pandas as pd
from dash import Dash, Input, Output, html

from callbacks.common import cached_output, view_of_page
from callbacks.exports import ExportSpec
from callbacks.overview import empty_message, rolling_windows, selection_note
from dashapp.context import fetch, setting
from dashapp.filters import View
from layouts import figures, sales
from layouts.shell import STORE
from services import sales_analysis as service
from services.filters import COMPARES, GRAINS, Period, format_range

TOP_COUNTRIES = 12


def _view(data: dict[str, Any] | None) -> tuple[View, Period]:
    return view_of_page(data, sales.PATH, sales.PARAMS)


def country_of(view: View) -> str:
    """The page's selected country ('' for all)."""
    return view.page.get("country", sales.ALL_COUNTRIES)


def empty_text(view: View, period: Period) -> str:
    """Why a Sales panel is empty, naming the selected country too."""
    message = empty_message(view.filters, period)
    country = country_of(view)
    if country and message.startswith("No sales"):
        return f"No sales to {country}" + message[len("No sales"):]
    return message


def not_applied(view: View, *ignored: str) -> str:
    """Say which of the chosen settings a panel does not use, instead of ignoring them silently."""
    names = []
    if "grain" in ignored and view.filters.grain != "day":
        names.append(f"granularity ({GRAINS[view.filters.grain].lower()})")
    if "compare" in ignored and view.filters.compare != "none":
        names.append(f"comparison ({COMPARES[view.filters.compare].lower()})")
    if "country" in ignored and country_of(view):
        names.append(f"country ({country_of(view)})")
    if not names:
        return ""
    return "Not applied to this panel: " + ", ".join(names) + "."


def metric_of(view: View) -> tuple[str, str, str]:
    """(metric key, its label, its unit) of the page's metric choice."""
    metric = view.page.get("metric", "net_revenue")
    return metric, sales.METRIC_CHOICES[metric], sales.METRIC_UNITS[metric]


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
    has_regions = frame["region"].notna().any()
    headers = ["Country", *(["Region"] if has_regions else []), "Net revenue", "Orders",
               "Customers", "AOV", "Share"]
    rows = []
    for row in frame.itertuples():
        cells = [row.country, *([row.region] if has_regions else []),
                 figures.format_money(row.net_revenue, currency),
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


def returns_summary(summary: dict[str, Any], currency: str) -> Any:
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
                 f"{money(summary['cancelled'], currency)} cancelled on the original order; "
                 f"{figures.format_number(summary['returned_units'])} units back of "
                 f"{figures.format_number(summary['units'])} sold "
                 f"({figures.format_percent(summary['unit_return_rate'])}).", className="small"),
    ])


def register_callbacks(app: Dash) -> None:
    """Register the Sales callbacks on `app`."""

    @app.callback(Output(sales.COUNTRY_BANNER, "children"), Input(STORE, "data"))
    def update_banner(data: dict[str, Any] | None) -> Any:
        view, _period = _view(data)
        country = country_of(view)
        if not country:
            return None
        return dbc.Alert([html.Strong(f"Orders to {country} only. "),
                          "Every panel but the country chart and table shows this country; "
                          "choose “All countries” or click its bar again to see all."],
                         color="info", className="py-2 small", id="country-banner")

    @app.callback(
        Output(sales.TREND, "figure"), Output(sales.TREND_NOTE, "children"),
        Output(sales.GROWTH, "figure"), Output(sales.GROWTH_NOTE, "children"),
        Input(STORE, "data"),
    )
    @cached_output
    def update_trend(data: dict[str, Any] | None) -> tuple[Any, str, Any, str]:
        view, period = _view(data)
        metric, label, unit = metric_of(view)
        trend = fetch(service.metric_trend, view.filters, period, metric, country_of(view))
        if trend["value"].fillna(0).abs().sum() == 0:
            empty = figures.empty_figure(empty_text(view, period))
            return empty, "", empty, ""
        windows = rolling_windows(view.page.get("roll", "7"))
        compare = COMPARES[view.filters.compare] if view.filters.compare != "none" else None
        figure = figures.metric_trend_figure(trend, view.filters.grain, windows, label, unit,
                                             setting("CURRENCY"), compare)
        growth = figures.growth_figure(trend, view.filters.grain)
        return (figure, trend_note(view, trend, windows), growth,
                growth_note(view, period, trend))

    @app.callback(
        Output(sales.WEEKDAY, "figure"), Output(sales.BEST_DAY, "children"),
        Input(STORE, "data"),
    )
    @cached_output
    def update_weekday(data: dict[str, Any] | None) -> tuple[Any, str]:
        view, period = _view(data)
        metric, label, unit = metric_of(view)
        weekdays = fetch(service.by_weekday, view.filters, period, country_of(view))
        best = service.best_day(weekdays)
        if not weekdays["orders"].any() and not weekdays["net_revenue"].any():
            return figures.empty_figure(empty_text(view, period)), ""
        value = "aov" if metric == "aov" else f"per_day_{metric}"
        name = label if metric == "aov" else f"{label} per day"
        figure = figures.weekday_figure(weekdays, value, name, unit, setting("CURRENCY"),
                                        best["days"])
        return figure, best["text"]

    @app.callback(
        Output(sales.HEATMAP, "figure"), Output(sales.HEATMAP_NOTE, "children"),
        Input(STORE, "data"),
    )
    @cached_output
    def update_heatmap(data: dict[str, Any] | None) -> tuple[Any, str]:
        view, period = _view(data)
        metric, label, unit = metric_of(view)
        cells = fetch(service.by_weekday_hour, view.filters, period, country_of(view))
        if not cells["orders"].any() and not cells["net_revenue"].any():
            return figures.empty_figure(empty_text(view, period)), ""
        figure = figures.heatmap_figure(cells, metric, label, unit, setting("CURRENCY"))
        return figure, not_applied(view, "grain", "compare")

    @app.callback(
        Output(sales.COUNTRIES, "figure"), Output(sales.COUNTRIES_NOTE, "children"),
        Output(sales.COUNTRY_MAP, "figure"), Output(sales.COUNTRY_TABLE, "children"),
        Output(sales.REGIONS, "figure"), Output(sales.REGIONS_NOTE, "children"),
        Input(STORE, "data"),
    )
    @cached_output
    def update_geography(data: dict[str, Any] | None) -> tuple[Any, str, Any, Any, Any, str]:
        view, period = _view(data)
        currency, country = setting("CURRENCY"), country_of(view)
        countries = fetch(service.by_country, view.filters, period)
        regions = fetch(service.by_region, view.filters, period, country)
        table = country_table(service.sorted_countries(countries, view.page.get("sort", "")),
                              currency, country)
        if countries.empty:
            empty = figures.empty_figure(empty_message(view.filters, period))
            return empty, "", empty, table, empty, ""
        chart = figures.ranked_bar_figure(countries.head(TOP_COUNTRIES), "country",
                                          "country_key", currency, selected=(country,))
        world = figures.country_map_figure(countries, "country", "country_key", currency,
                                           selected=(country,))
        note = _countries_note(countries, country)
        if regions.empty:
            return (chart, note, world, table, figures.empty_figure("The data has no regions."),
                    "")
        region_chart = figures.ranked_bar_figure(regions, "region", "region", currency)
        return chart, note, world, table, region_chart, not_applied(view, "compare")

    @app.callback(
        Output(sales.PLATFORMS, "figure"), Output(sales.PLATFORMS_NOTE, "children"),
        Output(sales.CHANNELS, "figure"),
        Input(STORE, "data"),
    )
    @cached_output
    def update_platforms(data: dict[str, Any] | None) -> tuple[Any, str, Any]:
        view, period = _view(data)
        currency, country = setting("CURRENCY"), country_of(view)
        platforms = fetch(service.by_platform, view.filters, period, country)
        channels = fetch(service.by_channel, view.filters, period, country)
        if platforms.empty:
            empty = figures.empty_figure(empty_text(view, period))
            return empty, "", empty
        compare = view.filters.compare != "none"
        channels["label"] = channels["channel"].str.capitalize()
        return (figures.ranked_bar_figure(platforms, "platform", "slug", currency,
                                          compare=compare, selected=view.filters.platforms),
                selection_note(view.filters.platforms, "platform"),
                figures.ranked_bar_figure(channels, "label", "channel", currency,
                                          compare=compare, colour=figures.SERIES[1]))

    @app.callback(
        Output(sales.RETURNS_SUMMARY, "children"), Output(sales.RETURN_CATEGORIES, "figure"),
        Output(sales.RETURNED_PRODUCTS, "figure"), Output(sales.RETURNED_NOTE, "children"),
        Input(STORE, "data"),
    )
    @cached_output
    def update_returns(data: dict[str, Any] | None) -> tuple[Any, Any, Any, str]:
        view, period = _view(data)
        currency, country = setting("CURRENCY"), country_of(view)
        summary = fetch(service.returns_summary, view.filters, period, country)
        categories = fetch(service.returns_by_category, view.filters, period, country)
        products = fetch(service.top_returned_products, view.filters, period, country)
        categories = categories.loc[categories["return_rate"].notna()]
        by_category = (figures.ranked_bar_figure(
            categories, "category", "category", currency, value="return_rate",
            value_name="Return rate", unit="percent", colour=figures.NEGATIVE,
            selected=view.filters.categories)
            if len(categories) else figures.empty_figure(empty_text(view, period)))
        if products.empty:
            top = figures.empty_figure("No returns in this view.")
        else:
            products["label"] = _short(products["name"]) + " (" + products["sku"] + ")"
            top = figures.ranked_bar_figure(products, "label", "sku", currency,
                                            value="returns", value_name="Returned value",
                                            colour=figures.NEGATIVE,
                                            selected=view.filters.products)
        return (returns_summary(summary, currency), by_category, top,
                selection_note(view.filters.products, "product"))


def _countries_note(countries: pd.DataFrame, country: str) -> str:
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


def _short(names: pd.Series, length: int = 24) -> pd.Series:
    return names.where(names.str.len() <= length, names.str.slice(0, length - 1) + "…")


def _exporter(service_function: Callable[..., Any], with_country: bool = True) -> Any:
    def build(view: View, period: Period) -> pd.DataFrame:
        args = (country_of(view),) if with_country else ()
        result = fetch(service_function, view.filters, period, *args)
        return pd.DataFrame([result]) if isinstance(result, dict) else result
    return build


def _trend_export(view: View, period: Period) -> pd.DataFrame:
    metric = view.page.get("metric", "net_revenue")
    trend = fetch(service.metric_trend, view.filters, period, metric, country_of(view))
    return trend.rename(columns={"value": metric, "compare_value": f"compare_{metric}"})


def _sorted_countries(view: View, period: Period) -> pd.DataFrame:
    frame = fetch(service.by_country, view.filters, period)
    return service.sorted_countries(frame, view.page.get("sort", ""))


def _spec(key: str, title: str, build: Callable[[View, Period], pd.DataFrame]) -> ExportSpec:
    return ExportSpec(key, title, sales.PATH, sales.PARAMS, build)


EXPORTS = (
    _spec(sales.TREND, "Sales over time", _trend_export),
    _spec(sales.GROWTH, "Growth rates", _trend_export),
    _spec(sales.WEEKDAY, "Sales by day of week", _exporter(service.by_weekday)),
    _spec(sales.HEATMAP, "Sales by hour and weekday", _exporter(service.by_weekday_hour)),
    _spec(sales.COUNTRIES["chart"], "Revenue by country",
          _exporter(service.by_country, with_country=False)),
    _spec(sales.COUNTRY_MAP["chart"], "Revenue by country (map)",
          _exporter(service.by_country, with_country=False)),
    _spec(sales.COUNTRY_TABLE_KEY, "Countries", _sorted_countries),
    _spec(sales.REGIONS, "Revenue by region", _exporter(service.by_region)),
    _spec(sales.PLATFORMS["chart"], "Revenue by platform", _exporter(service.by_platform)),
    _spec(sales.CHANNELS, "Revenue by channel", _exporter(service.by_channel)),
    _spec(sales.RETURNS_KEY, "Returns by category", _exporter(service.returns_by_category)),
    _spec(sales.RETURNED_PRODUCTS["chart"], "Most returned products",
          _exporter(service.top_returned_products)),
)
