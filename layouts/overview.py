"""Overview page: KPI cards, revenue trend, revenue by platform and category, top products."""
from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
import pandas as pd
from dash import dcc, html

from dashapp.filters import View
from layouts import figures
from layouts.components import kpi_card
from layouts.controls import button_group
from layouts.model_status import ModelJob
from layouts.panels import (
    FILTERS,
    NO_COMPARE,
    Context,
    Drawn,
    Panel,
    Source,
    panel_body,
    panel_card,
)
from layouts.shell import PAGE_PARAM, export_menu, format_moment
from services import activity, forecasting, insights
from services import overview as service
from services.filters import ParamSpec, Period, comparison_name
from services.metrics import METRICS
from services.trends import ROLLING_WINDOWS

PATH = "/"
TITLE = "Overview"
ROLL_CHOICES = {"none": "None", "3": "3-day", "7": "7-day", "30": "30-day", "all": "All"}
PARAMS = (ParamSpec("roll", default="7", choices=tuple(ROLL_CHOICES)),)
ROLL = {"type": PAGE_PARAM, "name": "roll"}

# The cards, in order; "Units sold" says more on a card than the metric's own label.
KPIS = tuple((key, "Units sold" if key == "units" else METRICS[key].label)
             for key in ("net_revenue", "gross_profit", "orders", "aov", "units", "customers"))


# --- presentation helpers (pure) ---------------------------------------------------------------

def format_value(metric: str, value: float | None, currency: str) -> str:
    """A KPI value in its unit."""
    unit = METRICS[metric].unit
    if unit == "money":
        return figures.format_money(value, currency, compact=True)
    if unit == "ratio":
        return figures.format_percent(value)
    return figures.format_number(value)


def change_badge(metric: str, kpi: dict[str, Any], compare: str, currency: str,
                 uncovered: str | None = None) -> Any:
    """'▲ 12.3% vs previous period (£10.2k)' coloured by whether the change is good news;
    'n/a' with the reason when the data does not cover the comparison period (`uncovered`)."""
    if compare == "none":
        return html.Span("No comparison selected", className="text-muted")
    if uncovered:
        return html.Span("n/a: the data does not cover the comparison period",
                         className="text-muted", title=uncovered)
    delta = kpi["change"]
    previous = format_value(metric, kpi["comparison"], currency)
    if delta is None:
        return html.Span(f"n/a vs {previous}", className="text-muted",
                         title="No comparison value to compute a change from")
    definition = METRICS[metric]
    text = (f"{delta * 100:+.1f} pp" if definition.in_points
            else figures.format_percent(delta, signed=True))
    good = (delta >= 0) != definition.lower_is_better
    arrow = "▲" if delta > 0 else ("▼" if delta < 0 else "■")
    return html.Span([html.Span(f"{arrow} {text}",
                                className="change-up" if good else "change-down"),
                      html.Span(f" vs {previous}", className="text-muted")])


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


def rolling_windows(choice: str) -> tuple[int, ...]:
    """The rolling-average windows a `roll` choice asks for."""
    if choice == "none":
        return ()
    if choice == "all":
        return ROLLING_WINDOWS
    return (int(choice),)


def short_labels(frame: pd.DataFrame, length: int = 24) -> pd.DataFrame:
    """`frame` with a 'label' column: the product name cut to `length`, and the SKU."""
    names = frame["name"].where(frame["name"].str.len() <= length,
                                frame["name"].str.slice(0, length - 1) + "…")
    return frame.assign(label=names + " (" + frame["sku"] + ")")


# --- the panels ---------------------------------------------------------------------------------

def draw_kpis(rows: dict[str, Any], context: Context) -> Drawn:
    """The KPI cards: value, change against the comparison, sparkline."""
    kpis, series, currency = rows["kpis"], rows["kpi_series"], context.currency
    period = context.period
    uncovered = period.compare_note if period.compare_start and not period.comparison else None
    cards = []
    for metric, title in KPIS:
        kpi = kpis[metric]
        value: Any = format_value(metric, kpi["current"], currency)
        if metric == "gross_profit" and kpi["current"] is not None:
            value = [value, html.Small(
                f" {figures.format_percent(kpis['margin']['current'])} margin",
                className="kpi-sub")]
        cards.append(dbc.Col(kpi_card(
            metric, title, value, change_badge(metric, kpi, context.view.filters.compare,
                                               currency, uncovered),
            figures.sparkline(series["bucket"], series[metric].fillna(0))), xs=6, md=4, xl=2))
    notes = [cost_note(kpis["cost_coverage"]["current"]), comparison_note(period)]
    return Drawn(dbc.Row(cards, className="g-3 mb-1"), " ".join(n for n in notes if n))


def comparison_note(period: Period) -> str:
    """Why the comparison is not like for like, as a sentence ('' when it is)."""
    if not period.compare_note:
        return ""
    lead = "No change is shown: " if not period.comparison else "Note: "
    return f"{lead}{period.compare_note}."


def kpi_table(rows: dict[str, Any], _view: View) -> pd.DataFrame:
    """The KPI cards as rows: metric, current, comparison, change."""
    return pd.DataFrame([{"metric": key, **values} for key, values in rows["kpis"].items()])


def draw_trend(trend: pd.DataFrame, context: Context) -> Drawn:
    """Net revenue over time with the comparison and the rolling averages."""
    windows = rolling_windows(context.view.page["roll"])
    if float(trend["net_revenue"].abs().sum()) == 0:
        return Drawn(figures.empty_figure(context.empty))
    grain = context.filters.grain
    figure = figures.trend_figure(trend, grain, windows, context.currency,
                                  comparison_name(context.filters))
    note = ("Rolling averages are daily: choose Day granularity to see them."
            if grain != "day" and windows else "")
    return Drawn(figure, note)


def ranked(label: str, key: str, noun: str, selected: str, compare: bool = False,
           labelled: bool = False) -> Any:
    """A ranked bar chart whose bars filter by `noun` when clicked (`labelled`: products,
    named by a short name and their SKU)."""
    def draw(frame: pd.DataFrame, context: Context) -> Drawn:
        chosen = getattr(context.view.filters, selected)
        if frame.empty:
            return Drawn(figures.empty_figure(context.empty))
        if labelled:
            frame = short_labels(frame)
        figure = figures.ranked_bar_figure(frame, label, key, context.currency,
                                           compare=compare and context.filters.compare != "none",
                                           selected=chosen)
        return Drawn(figure, selection_note(chosen, noun))
    return draw


def _trend_tools(view: View) -> html.Div:
    roll = button_group(ROLL, view.page["roll"], ROLL_CHOICES)
    return html.Div([html.Span("Rolling average ", className="small me-2"), roll])


KPI_PANEL = Panel(
    "overview-kpis", "Overview KPIs", Source(service.kpi_cards), draw_kpis,
    api_key=("kpis", "kpi_series"), kind="html", applies=FILTERS, table=kpi_table,
    placeholder=dbc.Row([dbc.Col(kpi_card(key, title), xs=6, md=4, xl=2)
                         for key, title in KPIS], className="g-3 mb-1"))
TREND = Panel("overview-trend", "Revenue trend", Source(service.revenue_trend), draw_trend,
              api_key="trend", applies=FILTERS, tools=_trend_tools)
PLATFORMS = Panel("overview-platforms", "Revenue by platform",
                  Source(service.revenue_by_platform),
                  ranked("platform", "slug", "platform", "platforms", compare=True),
                  api_key="by_platform", xfilter="platform", toolbar=False, height=380,
                  subtitle="Click a bar to filter by it")
CATEGORIES = Panel("overview-categories", "Revenue by category",
                   Source(service.revenue_by_category),
                   ranked("category", "category", "category", "categories"),
                   api_key="by_category", xfilter="category", toolbar=False, height=380,
                   applies=NO_COMPARE,
                   subtitle="Click a bar to filter by it")
PRODUCTS = Panel("overview-products", "Top products", Source(service.top_products),
                 ranked("label", "sku", "product", "products", labelled=True),
                 api_key="top_products", xfilter="product", toolbar=False, height=380,
                 applies=NO_COMPARE, subtitle="By net revenue; click a bar to filter by it")


def health_rows(data: dict[str, Any], _view: View) -> dict[str, Any]:
    """The health card's rows: the score, its components and the actions."""
    return {"health_score": data["score"], "health_components": data["components"],
            "health_actions": data["actions"]}


def health_table(rows: dict[str, Any], _view: View) -> pd.DataFrame:
    """The health components as exported."""
    frame: pd.DataFrame = rows["health_components"]
    return frame


def draw_health(rows: dict[str, Any], context: Context) -> Drawn:
    """The score, each component with its value, weight and sentence, and the top actions."""
    score = rows["health_score"]
    if score is None:
        return Drawn(html.P(context.empty, className="text-muted small"))
    parts = [html.Li([html.Strong(f"{row.label}: "),
                      f"{row.sentence} " + (f"Score {row.score:.0f}/100, weight {row.weight}."
                                            if pd.notna(row.score) else "")])
             for row in rows["health_components"].itertuples()]
    actions = [html.Li(dcc.Link(action["text"], href=action["link"]))
               for action in rows["health_actions"]]
    return Drawn(dbc.Row([
        dbc.Col([html.Div(f"{score:.0f}", className="display-5 fw-semibold"),
                 html.Div("of 100", className="text-muted small")], xs=12, md=2),
        dbc.Col(html.Ul(parts, className="small mb-0 ps-3"), xs=12, md=6),
        dbc.Col([html.Div("Recommended actions", className="fw-semibold small mb-1"),
                 html.Ol(actions, className="small mb-0 ps-3") if actions else
                 html.P("Nothing stands out in this view.", className="small text-muted")],
                xs=12, md=4)], className="g-3"))


HEALTH = Panel("overview-health", "Business health", Source(insights.health), draw_health,
               api_key=("health_score", "health_components", "health_actions"),
               rows=health_rows, table=health_table, kind="html",
               subtitle="0-100 from growth, margin, returns, repeat customers, dependence and "
                        "the forecast; the rules are in docs/insights.md")
# The health card's forecast trend scores the view's stored forecast model (the one the
# Forecasts page shows), trained in the background when the view has none yet.
MODELS = (ModelJob(forecasting.KIND, HEALTH.key, forecasting.forecast_key,
                   forecasting.train_forecast, "forecast model"),)
def _table(head: list[str], rows: list[list[Any]], numeric: int) -> html.Table:
    """A compact table whose last `numeric` columns are right-aligned numbers."""
    def cell(tag: Any, value: Any, index: int) -> Any:
        return tag(value, className="text-end" if index >= len(head) - numeric else None)
    return html.Table([html.Thead(html.Tr([cell(html.Th, h, i) for i, h in enumerate(head)])),
                       html.Tbody([html.Tr([cell(html.Td, v, i) for i, v in enumerate(row)])
                                   for row in rows])],
                      className="table table-sm numeric-table activity-table mb-0")


def draw_activity(rows: dict[str, pd.DataFrame], context: Context) -> Drawn:
    """The latest orders of the range and the latest imports, newest first, with their
    times in the business time zone."""
    zone, currency = context.business.timezone, context.currency
    orders, imports = rows["latest_orders"], rows["latest_imports"]
    order_part: Any = html.P(context.empty, className="text-muted small mb-0")
    if not orders.empty:
        order_part = _table(["When", "Order", "Platform", "Units", "Net revenue"], [
            [format_moment(row.ordered_at, zone), row.order_number, row.platform,
             figures.format_number(row.units), figures.format_money(row.net_revenue, currency)]
            for row in orders.itertuples()], numeric=2)
    import_part: Any = html.P("No file imported yet.", className="text-muted small mb-0")
    if not imports.empty:
        import_part = _table(["Finished", "File", "Status", "Rows loaded"], [
            [format_moment(row.finished_at, zone), row.filename, row.status_label,
             figures.format_number(row.rows_loaded)] for row in imports.itertuples()],
            numeric=1)
    return Drawn(dbc.Row([
        dbc.Col([html.Div("Latest orders", className="fw-semibold small mb-1"), order_part],
                xs=12, lg=7),
        dbc.Col([html.Div("Latest imports", className="fw-semibold small mb-1"), import_part],
                xs=12, lg=5)], className="g-3"))


def activity_table(rows: dict[str, pd.DataFrame], _view: View) -> pd.DataFrame:
    """The latest orders as exported (the imports are on the Data page's history)."""
    return rows["latest_orders"]


ACTIVITY = Panel("overview-activity", "Latest activity", Source(activity.latest_activity),
                 draw_activity, api_key=("latest_orders", "latest_imports"), kind="html",
                 applies=frozenset({"platform"}), table=activity_table,
                 subtitle="The newest orders of the range and the newest imports; with "
                          "auto-refresh on, it updates by itself")
PANELS = (KPI_PANEL, TREND, PLATFORMS, CATEGORIES, PRODUCTS, HEALTH, ACTIVITY)


def layout(view: View) -> html.Div:
    """The Overview page for a view (page choices come from the URL)."""
    return html.Div([
        html.H1(TITLE, className="visually-hidden"),
        panel_body(KPI_PANEL),
        html.Div([html.Div(id=KPI_PANEL.note_id, className="small text-muted"),
                  export_menu(KPI_PANEL.key)], className="d-flex justify-content-between mb-3"),
        dbc.Row(dbc.Col(panel_card(TREND, view)), className="mb-3"),
        dbc.Row([dbc.Col(panel_card(panel, view), lg=4)
                 for panel in (PLATFORMS, CATEGORIES, PRODUCTS)], className="g-3 mb-3"),
        dbc.Row(dbc.Col(panel_card(HEALTH, view)), className="mb-3"),
        dbc.Row(dbc.Col(panel_card(ACTIVITY, view))),
    ])
