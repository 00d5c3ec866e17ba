"""Forecasts page: the forecast with its intervals and the model's backtested error next to
the seasonal-naive baseline, and the seasonality index by weekday and month."""
from __future__ import annotations

from dataclasses import replace
from functools import partial
from typing import Any

import dash_bootstrap_components as dbc
import pandas as pd
from dash import dcc, html

from dashapp.filters import View, to_query
from layouts import figures, sales
from layouts.controls import button_group
from layouts.country import COUNTRY_PARAM, country_picker
from layouts.model_status import ModelJob, pending, pending_figure, trained_line
from layouts.panels import FILTERS, NO_COMPARE, Context, Drawn, Panel, Source, panel_card
from layouts.shell import PAGE_PARAM
from services import forecast_anomalies as anomaly_service
from services import forecasting as service
from services.filters import ParamSpec
from services.metrics import METRICS

PATH = "/forecasts"
TITLE = "Forecasts"
METRIC_CHOICES = {key: METRICS[key].label for key in service.FORECAST_METRICS}
PARAMS = (
    ParamSpec("metric", default="net_revenue", choices=service.FORECAST_METRICS),
    ParamSpec("h", default=service.DEFAULT_HORIZON, choices=service.HORIZONS),
    COUNTRY_PARAM,  # a filter of this page: Filters.country
)
# The forecast obeys the product, platform and country filters and is drawn at the grain;
# it always runs up to the as-of date, whatever the range (the range is the history shown).
FORECASTED = FILTERS - {"compare"}
METRIC = {"type": PAGE_PARAM, "name": "metric"}
HORIZON = {"type": PAGE_PARAM, "name": "h"}
SUMMARY_KEYS = ("metric", "horizon", "asof", "shown", "reason", "calendar", "yearly", "model",
                "baseline", "trained")
MODEL_LABEL = "forecast model"


def _unit(view: View) -> tuple[str, str]:
    metric = view.page["metric"]
    return METRIC_CHOICES[metric], "money" if METRICS[metric].unit == "money" else "number"


# --- what each panel shows ----------------------------------------------------------------------

def forecast_rows(data: dict[str, Any], _view: View) -> dict[str, Any]:
    """The forecast chart's rows: the history shown and the forecast."""
    return {"forecast": data["forecast"], "history": data["history"]}


def summary_rows(data: dict[str, Any], _view: View) -> dict[str, Any]:
    """What was shown and why, the calendar learnt and the mean backtest errors."""
    return {**{key: data[key] for key in SUMMARY_KEYS}, **data["errors"]}


def backtest_rows(data: dict[str, Any], _view: View) -> pd.DataFrame:
    """One row per backtest origin."""
    frame: pd.DataFrame = data["backtest"]
    return frame


def weekday_rows(data: dict[str, Any], _view: View) -> pd.DataFrame:
    """The weekday index."""
    frame: pd.DataFrame = data["weekdays"]
    return frame


def month_rows(data: dict[str, Any], _view: View) -> pd.DataFrame:
    """The month index."""
    frame: pd.DataFrame = data["months"]
    return frame


def forecast_table(rows: dict[str, Any], _view: View) -> pd.DataFrame:
    """The forecast as exported: actual rows, then forecast rows."""
    return pd.concat([rows["history"].assign(kind="actual"),
                      rows["forecast"].assign(kind="forecast")], ignore_index=True)


# --- drawing ------------------------------------------------------------------------------------

def draw_forecast(rows: dict[str, Any], context: Context) -> Drawn:
    """The history and the forecast with its bands; the line above says which is shown."""
    data = context.data
    name, unit = _unit(context.view)
    if data["shown"] == "pending":
        return Drawn(pending_figure(MODEL_LABEL, data["error"]),
                     lead=pending(MODEL_LABEL, service.KIND, data["error"]))
    if data["shown"] == "none":
        return Drawn(figures.empty_figure(data["reason"]), lead=data["reason"])
    label = "Forecast" if data["shown"] == "model" else "Baseline forecast"
    figure = figures.forecast_figure(rows["history"], rows["forecast"], name, unit,
                                     context.currency, label)
    note = f"{data['calendar']} {data['yearly']} Forecast made on {data['asof']:%-d %b %Y} " \
           "from the data up to that day only."
    if context.view.filters.grain != "day":
        note += (" Weekly and monthly intervals are those of the sums (simulated paths); the "
                 "first bucket adds the actual days up to the as-of date, the last may be "
                 "only partly inside the horizon.")
    return Drawn(figure, note, lead=data["reason"])


def _percent(value: float | None) -> str:
    return figures.format_percent(value, 1)


def draw_summary(summary: dict[str, Any], context: Context) -> Drawn:
    """The mean backtested errors of the model and the baseline, in numbers and words, and
    when the model was trained (with Retrain)."""
    if summary["shown"] == "pending":
        return Drawn(pending(MODEL_LABEL, service.KIND, context.data["error"]))
    if summary["shown"] == "none":
        return Drawn(html.P(summary["reason"], className="text-muted small"))
    rows = [("Model", summary["model"], summary["model_mape"], summary["model_wape"]),
            ("Baseline", summary["baseline"], summary["baseline_mape"],
             summary["baseline_wape"])]
    table = dbc.Table([
        html.Thead(html.Tr([html.Th(""), html.Th("Method"),
                            html.Th("Mean MAPE", className="text-end"),
                            html.Th("Mean WAPE", className="text-end")])),
        html.Tbody([html.Tr([html.Td(html.Strong(kind)), html.Td(method, className="small"),
                             html.Td(_percent(mape), className="text-end"),
                             html.Td(_percent(wape), className="text-end")],
                            className="table-active" if summary["shown"] == kind.lower()
                            else None)
                    for kind, method, mape, wape in rows])],
        size="sm", className="mb-1 numeric-table")
    return Drawn(html.Div([table, html.P(summary["reason"], className="small mb-0"),
                           trained_line(summary["trained"], service.KIND,
                                        context.business.timezone)]))


def draw_backtest(origins: pd.DataFrame, context: Context) -> Drawn:
    """MAPE per backtest window, model next to baseline."""
    if context.data["shown"] == "pending":
        return Drawn(pending_figure(MODEL_LABEL, context.data["error"]))
    if origins.empty:
        return Drawn(figures.empty_figure(context.data["reason"] or context.empty))
    return Drawn(figures.backtest_figure(origins),
                 "Rolling origin: 30 trading days per window, six windows 15 trading days "
                 "apart, the last ending on the as-of date; each fitted only on the days "
                 "before its window. MAPE = mean of |actual − forecast| / actual; WAPE = "
                 "Σ|actual − forecast| / Σ actual.")


def draw_model_history(runs: pd.DataFrame, context: Context) -> Drawn:
    """The backtested errors of every training run of this view's series over time."""
    if runs.empty:
        return Drawn(figures.empty_figure("No training run of this view's forecast is stored "
                                          "yet."))
    return Drawn(figures.model_history_figure(runs),
                 "One point per training run of this series (each data revision, each as-of "
                 "date replayed, each Retrain): the mean MAPE and WAPE over its backtest "
                 "windows (six where the history allows), for the model and the "
                 "seasonal-naive baseline. Hover for the run's data and as-of date.")


def _index_note(frame: pd.DataFrame, noun: str) -> str:
    seen = frame.loc[frame["days"] > 0]
    if seen.empty:
        return ""
    years = sorted({year for text in seen["years"] for year in text.split(", ") if year})
    return f"Based on {len(years)} year{'s' if len(years) != 1 else ''} " \
           f"({', '.join(years)}); 1.0 is the mean day. Each {noun}'s years are in the export."


def draw_weekdays(frame: pd.DataFrame, context: Context) -> Drawn:
    """The weekday index."""
    if not frame["days"].any() or frame["index"].isna().all():
        return Drawn(figures.empty_figure(context.empty))
    return Drawn(figures.index_figure(frame, "name"), _index_note(frame, "weekday"))


def draw_months(frame: pd.DataFrame, context: Context) -> Drawn:
    """The month index, with its warnings."""
    warnings = " ".join(context.data["warnings"])
    if not frame["days"].any() or frame["index"].isna().all():
        return Drawn(figures.empty_figure(warnings or context.empty))
    return Drawn(figures.index_figure(frame, "name"),
                 " ".join(part for part in (warnings, _index_note(frame, "month")) if part))


def day_link(view: View, day: Any) -> str:
    """The Sales page for that one day, with this view's product, platform and country."""
    filters = replace(view.filters, range="custom", start=day, end=day, asof=None,
                      grain="day", compare="none")
    return f"{sales.PATH}?{to_query(filters, {}, sales.PARAMS)}"


def draw_anomalies(found: pd.DataFrame, context: Context) -> Drawn:
    """Each anomalous day in words, linked to the Sales page of that day."""
    if found.empty:
        return Drawn(html.P("No anomalies: every day of the range is within the usual "
                            "spread of its weekday.", className="text-muted small mb-0"))
    metric = context.view.page["metric"]
    money = partial(figures.format_money, currency=context.currency, compact=True)
    items = [html.Li(dcc.Link(anomaly_service.describe(
        row.day, row.actual, row.typical, row.driver_kind, row.driver, row.driver_change,
        metric, money), href=day_link(context.view, row.day)), className="mb-1")
        for row in found.itertuples()]
    more = len(found) == anomaly_service.MAX_LISTED
    return Drawn(html.Ul(items, className="anomaly-list small mb-0 ps-3"),
                 f"The {anomaly_service.MAX_LISTED} strongest are listed." if more else "")


# --- tools --------------------------------------------------------------------------------------

def _tools(view: View) -> html.Div:
    metric = button_group(METRIC, view.page["metric"], {
        key: "Revenue" if key == "net_revenue" else label
        for key, label in METRIC_CHOICES.items()})
    horizon = dcc.Dropdown(id=HORIZON, value=view.page["h"], clearable=False, searchable=False,
                           className="sort-picker",
                           options=[{"label": f"{days} days ahead", "value": days}
                                    for days in service.HORIZONS])
    return html.Div([metric, horizon, country_picker(view)],  # as on Sales
                    className="d-flex flex-wrap gap-2 align-items-center")


# --- the panels ---------------------------------------------------------------------------------

FORECAST_SOURCE = Source(service.forecast, choices=("metric", "h"))
SEASONALITY_SOURCE = Source(service.seasonality, choices=("metric",))
FORECAST = Panel("forecast-chart", "Forecast", FORECAST_SOURCE, draw_forecast,
                 api_key=("forecast", "history"), rows=forecast_rows, applies=FORECASTED,
                 table=forecast_table, lead=True, height=380, tools=_tools,
                 subtitle="Actual values in the range, then the forecast with 80% and 95% "
                          "prediction intervals")
SUMMARY = Panel("forecast-summary", "Backtested error", FORECAST_SOURCE, draw_summary,
                api_key="summary", rows=summary_rows, applies=FORECASTED, kind="html",
                subtitle="How wrong each method was on the last six 30-trading-day windows")
BACKTEST = Panel("forecast-backtest", "Backtest by window", FORECAST_SOURCE, draw_backtest,
                 api_key="backtest", rows=backtest_rows, applies=FORECASTED, height=300,
                 toolbar=False, subtitle="MAPE per window; WAPE in the export and the API")
WEEKDAYS = Panel("forecast-weekday-index", "Seasonality by weekday", SEASONALITY_SOURCE,
                 draw_weekdays, api_key="weekday_index", rows=weekday_rows,
                 applies=NO_COMPARE, time_axis=True, height=280, toolbar=False,
                 api_extra=(("seasonality_warnings", lambda data: data["warnings"]),),
                 subtitle="Mean day of each weekday ÷ mean day, all history to the as-of date")
MONTHS = Panel("forecast-month-index", "Seasonality by month", SEASONALITY_SOURCE, draw_months,
               api_key="month_index", rows=month_rows, applies=NO_COMPARE, time_axis=True,
               height=280, toolbar=False,
               subtitle="Mean day of each month ÷ mean day, whole months only")
ANOMALIES = Panel("forecast-anomalies", "Anomalies", Source(anomaly_service.anomalies,
                                                             choices=("metric",)),
                  draw_anomalies, api_key="anomalies", applies=NO_COMPARE, kind="html",
                  subtitle="Days of the range far from a typical day of their weekday; "
                           "click one to open that day")
HISTORY = Panel("forecast-model-history", "Model performance history",
                Source(service.model_history, choices=("metric",)), draw_model_history,
                api_key="model_history", applies=NO_COMPARE, time_axis=True, height=300,
                toolbar=False, subtitle="Backtested mean MAPE and WAPE of each training run "
                                        "of this view's forecast, model and baseline")
PANELS = (FORECAST, SUMMARY, BACKTEST, HISTORY, ANOMALIES, WEEKDAYS, MONTHS)
# Trained in the background on every view of the page (the forecast's filters, as-of date
# and metric are its inputs); the forecast, backtest and history panels read it.
MODELS = (ModelJob(service.KIND, FORECAST.key, service.forecast_key, service.train_forecast,
                   MODEL_LABEL),)


def layout(view: View) -> html.Div:
    """The Forecasts page for a view."""
    return html.Div([
        html.H1(TITLE, className="visually-hidden"),
        dbc.Row(dbc.Col(panel_card(FORECAST, view)), className="mb-3"),
        dbc.Row([dbc.Col(panel_card(SUMMARY, view), lg=5),
                 dbc.Col(panel_card(BACKTEST, view), lg=7)], className="g-3 mb-3"),
        dbc.Row(dbc.Col(panel_card(HISTORY, view)), className="mb-3"),
        dbc.Row(dbc.Col(panel_card(ANOMALIES, view)), className="mb-3"),
        dbc.Row([dbc.Col(panel_card(WEEKDAYS, view), lg=5),
                 dbc.Col(panel_card(MONTHS, view), lg=7)], className="g-3"),
    ])
