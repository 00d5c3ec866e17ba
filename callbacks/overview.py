"""Overview callbacks: each reads the view from the store, calls a service, builds a figure."""
from __future__ import annotations

from typing import Any

import pandas as pd
from dash import ALL, Dash, Input, Output, ctx, html

from callbacks.common import cached_output, view_of_page
from callbacks.exports import ExportSpec
from dashapp.context import fetch, setting
from dashapp.filters import View
from layouts import figures, overview
from layouts.shell import STORE
from services import overview as service
from services.dimensions import platform_options
from services.filters import COMPARES, Filters, Period, format_range
from services.metrics import CURRENCY_METRICS, POINT_METRICS

# An increase of these is bad news, so their change is coloured the other way round.
LOWER_IS_BETTER = frozenset({"returns"})


def _view(data: dict[str, Any] | None) -> tuple[View, Period]:
    return view_of_page(data, overview.PATH, overview.PARAMS)


def empty_message(filters: Filters, period: Period) -> str:
    """Why a chart is empty, in words: 'No sales on Instagram in 1–30 Apr 2011.'"""
    if period.first_data is None:
        return "No sales data yet: load the demo data (pulseboard demo-data) or import a file."
    where = ""
    if filters.platforms:
        names = {p["slug"]: p["name"] for p in fetch(platform_options)}
        where = " on " + ", ".join(names.get(slug, slug) for slug in filters.platforms)
    what = " for the selected products" if filters.products or filters.categories else ""
    return f"No sales{where}{what} in {format_range(period.start, period.end)}."


def format_value(metric: str, value: float | None, currency: str) -> str:
    """A KPI value in its unit."""
    if metric in CURRENCY_METRICS:
        return figures.format_money(value, currency, compact=True)
    if metric == "margin":
        return figures.format_percent(value)
    return figures.format_number(value)


def change_badge(metric: str, kpi: dict[str, Any], compare: str, currency: str) -> Any:
    """'▲ 12.3% vs previous period (£10.2k)' coloured by whether the change is good news."""
    if compare == "none":
        return html.Span("No comparison selected", className="text-muted")
    delta = kpi["change"]
    previous = format_value(metric, kpi["comparison"], currency)
    if delta is None:
        return html.Span(f"n/a vs {previous}", className="text-muted",
                         title="No comparison value to compute a change from")
    text = (f"{delta * 100:+.1f} pp" if metric in POINT_METRICS
            else figures.format_percent(delta, signed=True))
    good = (delta >= 0) != (metric in LOWER_IS_BETTER)
    arrow = "▲" if delta > 0 else ("▼" if delta < 0 else "■")
    return html.Span([html.Span(f"{arrow} {text}",
                                className="change-up" if good else "change-down"),
                      html.Span(f" vs {previous}", className="text-muted")])


def register_callbacks(app: Dash) -> None:
    """Register the Overview callbacks on `app`."""

    @app.callback(
        Output({"type": "kpi-value", "metric": ALL}, "children"),
        Output({"type": "kpi-change", "metric": ALL}, "children"),
        Output({"type": "kpi-spark", "metric": ALL}, "figure"),
        Output(overview.COST_NOTE, "children"),
        Input(STORE, "data"),
    )
    @cached_output
    def update_kpis(data: dict[str, Any] | None) -> tuple[list, list, list, str]:
        view, period = _view(data)
        currency = setting("CURRENCY")
        kpis = fetch(service.kpis, view.filters, period)
        series = fetch(service.kpi_series, view.filters, period)
        metrics = [output["id"]["metric"] for output in ctx.outputs_list[0]]
        values, changes, sparks = [], [], []
        for metric in metrics:
            kpi = kpis[metric]
            value = format_value(metric, kpi["current"], currency)
            if metric == "gross_profit" and kpi["current"] is not None:
                value = [value, html.Small(
                    f" {figures.format_percent(kpis['margin']['current'])} margin",
                    className="kpi-sub")]
            values.append(value)
            changes.append(change_badge(metric, kpi, view.filters.compare, currency))
            sparks.append(figures.sparkline(series["bucket"], series[metric].fillna(0)))
        return values, changes, sparks, cost_note(kpis["cost_coverage"]["current"])

    @app.callback(
        Output(overview.TREND, "figure"),
        Output(overview.TREND_NOTE, "children"),
        Input(STORE, "data"),
    )
    @cached_output
    def update_trend(data: dict[str, Any] | None) -> tuple[Any, str]:
        view, period = _view(data)
        trend = fetch(service.revenue_trend, view.filters, period)
        windows = rolling_windows(view.page.get("roll", "7"))
        if float(trend["net_revenue"].abs().sum()) == 0:
            return figures.empty_figure(empty_message(view.filters, period)), ""
        compare = COMPARES[view.filters.compare] if view.filters.compare != "none" else None
        figure = figures.trend_figure(trend, view.filters.grain, windows,
                                      setting("CURRENCY"), compare)
        note = ""
        if view.filters.grain != "day" and windows:
            note = "Rolling averages are daily: choose Day granularity to see them."
        return figure, note

    def ranked(frame: pd.DataFrame, view: View, period: Period, label: str, key: str,
               selected: tuple[str, ...], compare: bool = False) -> Any:
        if frame.empty:
            return figures.empty_figure(empty_message(view.filters, period))
        return figures.ranked_bar_figure(frame, label, key, setting("CURRENCY"),
                                         compare=compare, selected=selected)

    @app.callback(
        Output(overview.PLATFORMS, "figure"),
        Output(overview.PLATFORMS_NOTE, "children"),
        Input(STORE, "data"),
    )
    @cached_output
    def update_platforms(data: dict[str, Any] | None) -> tuple[Any, str]:
        view, period = _view(data)
        frame = fetch(service.revenue_by_platform, view.filters, period)
        compare = view.filters.compare != "none"
        note = selection_note(view.filters.platforms, "platform")
        return ranked(frame, view, period, "platform", "slug", view.filters.platforms,
                      compare), note

    @app.callback(
        Output(overview.CATEGORIES, "figure"),
        Output(overview.CATEGORIES_NOTE, "children"),
        Input(STORE, "data"),
    )
    @cached_output
    def update_categories(data: dict[str, Any] | None) -> tuple[Any, str]:
        view, period = _view(data)
        frame = fetch(service.revenue_by_category, view.filters, period)
        note = selection_note(view.filters.categories, "category")
        return ranked(frame, view, period, "category", "category", view.filters.categories), note

    @app.callback(
        Output(overview.PRODUCTS, "figure"),
        Output(overview.PRODUCTS_NOTE, "children"),
        Input(STORE, "data"),
    )
    @cached_output
    def update_products(data: dict[str, Any] | None) -> tuple[Any, str]:
        view, period = _view(data)
        frame = fetch(service.top_products, view.filters, period).copy()
        names = frame["name"].where(frame["name"].str.len() <= 24,
                                    frame["name"].str.slice(0, 23) + "…")
        frame["label"] = names + " (" + frame["sku"] + ")"
        note = selection_note(view.filters.products, "product")
        return ranked(frame, view, period, "label", "sku", view.filters.products), note


def rolling_windows(choice: str) -> tuple[int, ...]:
    """The rolling-average windows a `roll` choice asks for."""
    if choice == "none":
        return ()
    if choice == "all":
        return service.ROLLING_WINDOWS
    return (int(choice),)


def selection_note(selected: tuple[str, ...], noun: str) -> str:
    """Tell the user how a cross-filter on this chart is undone."""
    if not selected:
        return ""
    if len(selected) == 1:
        return f"Filtered to this {noun}: click its bar again to clear."
    return f"Filtered to {len(selected)} {noun} values."


def cost_note(coverage: float | None) -> str:
    """Say how much of revenue has a known unit cost when profit is not complete."""
    if coverage is None or coverage >= 0.9995:
        return ""
    if coverage <= 0:
        return "Gross profit and margin are n/a: no sale in this view has a known unit cost."
    return (f"Gross profit and margin cover the {figures.format_percent(coverage)} of net "
            "revenue whose unit cost is known; the rest is left out, not estimated.")


def kpi_table(view: View, period: Period) -> pd.DataFrame:
    """The KPI cards as rows: metric, current, comparison, change."""
    kpis = fetch(service.kpis, view.filters, period)
    return pd.DataFrame([{"metric": key, **values} for key, values in kpis.items()])


def _exporter(service_function: Any) -> Any:
    def build(view: View, period: Period) -> pd.DataFrame:
        return fetch(service_function, view.filters, period)
    return build


EXPORTS = (
    ExportSpec(overview.KPI_EXPORT, "Overview KPIs", overview.PATH, overview.PARAMS, kpi_table),
    ExportSpec(overview.TREND, "Revenue trend", overview.PATH, overview.PARAMS,
               _exporter(service.revenue_trend)),
    ExportSpec(overview.PLATFORMS["chart"], "Revenue by platform", overview.PATH,
               overview.PARAMS, _exporter(service.revenue_by_platform)),
    ExportSpec(overview.CATEGORIES["chart"], "Revenue by category", overview.PATH,
               overview.PARAMS, _exporter(service.revenue_by_category)),
    ExportSpec(overview.PRODUCTS["chart"], "Top products", overview.PATH, overview.PARAMS,
               _exporter(service.top_products)),
)
