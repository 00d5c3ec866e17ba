"""The Forecasts page: the forecast of daily net revenue or orders with its backtest next to
the seasonal-naive baseline, and the seasonality index, for the filtered scope.

Everything reads one daily series (summed in SQL, from the day rollup where it answers) from
the first day of data up to the view's as-of date and never a day after it, so `asof=`
replays what the page would have said that day. The model is in `services.forecast_model`.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from models import OrderLine
from services import forecast_model as model
from services import model_store
from services.cache import cached, skip_store
from services.day_frames import Frames, member_days, platform_days
from services.filters import Filters, Period, format_range
from services.metrics import METRICS, money
from services.model_store import ModelKey, Trained, model_key
from services.periods import bucket_of
from services.query import as_date
from services.rollups import Lines, aggregate
from services.sales import data_bounds, net_revenue_by
from services.scope import Scope

FORECAST_METRICS = ("net_revenue", "orders")
HORIZONS = ("30", "60", "90", "180")
DEFAULT_HORIZON = "90"
KIND = "forecast"  # its runs in the model store
HISTORY_RUNS = 1000  # the latest runs of every forecast model searched for this view's
MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August",
               "September", "October", "November", "December")


def daily_series(session: Session, scope: Scope, filters: Filters, asof: dt.date,
                 metric: str) -> pd.Series:
    """The metric per calendar day from the scope's first day of data to `asof` (empty days
    as 0); empty when there is no data up to then."""
    first, _last = data_bounds(session, scope)
    if first is None or first > asof:
        return pd.Series(dtype=float)
    # The one metric alone: summing every additive measure took three times as long.
    rows = aggregate(session, Lines(filters, scope, first, asof), [metric],
                     [OrderLine.sale_date.label("day")])
    exact = money if METRICS[metric].unit == "money" else int
    days = pd.DatetimeIndex(pd.date_range(first, asof), freq=None, name="bucket")
    found = pd.Series({pd.Timestamp(as_date(row["day"])): float(exact(row[metric]))
                       for row in rows}, dtype=float)
    return found.reindex(days, fill_value=0.0).rename(metric)


def business_country(session: Session, scope: Scope, filters: Filters,
                     asof: dt.date) -> str | None:
    """The country whose public holidays apply: the chosen one, else the one with the most
    net revenue up to `asof`."""
    if filters.country:
        return filters.country
    first, _last = data_bounds(session, scope)
    if first is None or first > asof:
        return None
    frame = net_revenue_by(session, Lines(filters, scope, first, asof),
                           [OrderLine.country.label("country")])
    frame = frame.loc[frame["country"].notna()]
    if frame.empty:
        return None
    return str(frame.sort_values(["net_revenue", "country"],
                                 ascending=[False, True]).iloc[0]["country"])


# --- the model: its key, its training (a background job) and its scoring -----------------------

def series_filters(filters: Filters) -> Filters:
    """Only the filters the daily series obeys: the range, grain and comparison choose what is
    shown, never what the model learns from."""
    return Filters(platforms=filters.platforms, products=filters.products,
                   categories=filters.categories, country=filters.country, state=filters.state)


def _scope_words(filters: Filters) -> str:
    chosen = [", ".join(values) for values in (filters.platforms, filters.products,
                                               filters.categories) if values]
    chosen += [place for place in (filters.country, filters.state) if place]
    return " · ".join(chosen) or "all sales"


def forecast_key(scope: Scope, filters: Filters, period: Period, metric: str = "net_revenue",
                 _horizon: str = DEFAULT_HORIZON) -> ModelKey:
    """The stored model of this view: the series (scope, filters, metric) up to the as-of
    date. The horizon, range and grain only choose what is scored and shown."""
    label = (f"Forecast · {METRICS[metric].label} · {_scope_words(filters)} · "
             f"to {period.asof:%-d %b %Y}")
    return model_key(KIND, scope, label, series=series_filters(filters), asof=period.asof,
                     metric=metric)


def series_digest(scope: Scope, filters: Filters, metric: str) -> str:
    """What every run of this view's series shares, whatever its as-of date."""
    return model_key(KIND, scope, "", series=series_filters(filters), metric=metric).digest


def _problem(series: pd.Series) -> str | None:
    """Why the series gets no forecast, in words (None when it gets one)."""
    if not len(series):
        return "No forecast: there are no sales in this view up to the as-of date."
    problem = model.history_problem(series)
    if problem is None and next(model.origins(series), None) is None:
        problem = ("No forecast: too few trading days for even one 30-trading-day backtest "
                   "after 8 weeks of history.")
    return problem


@dataclass
class Modelled:
    """What a training run stores: the backtest, the parameters of the models fitted on
    the whole series (not the fitted results: megabytes each) and the calendar learnt."""

    backtest: model.Backtest
    params: dict[str, np.ndarray]
    calendar: model.TradingCalendar
    yearly: bool
    yearly_text: str
    # The series it was fitted on and that series' seasonality index: at the same data
    # revision and as-of date the page's series is this one, so it is scored and shown
    # without being read again. None in runs stored before they were kept.
    series: pd.Series | None = None
    seasonality: dict[str, Any] | None = None
    # Net revenue and orders per day and platform, and the metric per day and category and
    # per day and country, over the same days: the anomaly list's reads
    # (`services.day_frames`). None in runs stored before they were kept.
    platform_days: Frames | None = None
    member_days: Frames | None = None


def _fit_series(series: pd.Series, country: str | None) -> Modelled:
    """The backtest on the series and the model fitted on all of it."""
    windows = list(model.origins(series))
    first_trading = series.index[series > 0][0]
    yearly, yearly_text = model.yearly_note((windows[0][0] - first_trading).days)
    test = model.backtest(series, country, yearly)
    calendar = model.learn_calendar(series, country)
    fitted = model.fit(series, calendar, yearly, test.params)
    return Modelled(test, fitted.params, calendar, yearly, yearly_text, series,
                    seasonality_of(series))


def stored_forecast(session: Session, scope: Scope, filters: Filters, period: Period,
                    metric: str) -> Modelled | None:
    """What the view's trained forecast stored (with the per-day frames of its history up
    to the as-of date), or None when it is not trained."""
    trained = _stored_model(session, scope, filters, period, metric)
    return trained.artefact if trained is not None else None


def _stored_model(session: Session, scope: Scope, filters: Filters, period: Period,
                  metric: str) -> Trained | None:
    """The view's stored model; None when it is not trained yet or holds a refusal."""
    trained = model_store.stored(session, forecast_key(scope, filters, period, metric))
    return trained if trained is not None and isinstance(trained.artefact, Modelled) else None


def train_forecast(session: Session, scope: Scope, filters: Filters, period: Period,
                   metric: str = "net_revenue", horizon: str = DEFAULT_HORIZON) -> Trained:
    """Backtest and fit the view's model and store both with the backtest's errors (the
    `forecast` model job; a series too short for a forecast stores its reason)."""
    key = forecast_key(scope, filters, period, metric, horizon)

    def trainer() -> tuple[Modelled | str, dict[str, Any]]:
        series = daily_series(session, scope, filters, period.asof, metric)
        about = {"metric": metric, "asof": period.asof,
                 "series": series_digest(scope, filters, metric)}
        problem = _problem(series)
        if problem:
            return problem, {**about, "problem": problem}
        country = model.holiday_code(business_country(session, scope, filters, period.asof))
        history = Lines(filters, scope, series.index[0].date(), period.asof)
        frames = platform_days(session, history)
        members = member_days(session, history, metric)
        # End the read transaction before the long fit: on SQLite it holds a shared lock
        # that makes every writer (another training starting) time out meanwhile.
        session.rollback()
        modelled = replace(_fit_series(series, country), platform_days=frames,
                           member_days=members)
        return modelled, {**about, **model.mean_errors(modelled.backtest.origins),
                          "origins": len(modelled.backtest.origins),
                          "model": model.MODEL_NAME}
    return model_store.train(session, key, trainer)


# --- scoring the stored model ----------------------------------------------------------------

def _choice(errors: dict[str, float | None]) -> tuple[str, str]:
    """'model' or 'baseline', and why, from the backtest's mean errors."""
    mine, theirs = errors["model_mape"], errors["baseline_mape"]
    assert mine is not None and theirs is not None
    if mine < theirs:
        return "model", (f"The model is shown: its backtested mean MAPE, {mine:.1%}, beats "
                         f"the seasonal-naive baseline's {theirs:.1%}.")
    return "baseline", (f"The baseline is shown: the model's backtested mean MAPE, "
                        f"{mine:.1%}, does not beat the seasonal-naive baseline's "
                        f"{theirs:.1%} on this view, so its forecast would mislead.")


def _bucketed(daily: pd.DataFrame, column: str, grain: str) -> pd.Series:
    return daily.groupby(daily["day"].map(lambda day: bucket_of(day.date(), grain)))[column].sum()


def _at_grain(forecast: pd.DataFrame, fitted: model.Fitted | None, grain: str,
              series: pd.Series) -> pd.DataFrame:
    """The daily forecast, or its sums per week or month with bounds of the sums.

    The first week or month also holds the days up to the as-of date: their actual values
    (`actual_days`, known, so they move the point and both bounds alike), so that bucket is
    not drawn as a dip."""
    if grain == "day":
        out = forecast.rename(columns={"day": "bucket"})
        out["bucket"] = out["bucket"].dt.date
        return out
    buckets = forecast["day"].map(lambda day: bucket_of(day.date(), grain))
    sums = forecast.groupby(buckets)[["forecast"]].sum()
    sums["open_days"] = forecast.groupby(buckets)["open"].sum().astype(int)
    if fitted is None:  # the baseline's bounds: the daily ratios apply to the sum as well
        bounds = forecast.groupby(buckets)[["lo80", "hi80", "lo95", "hi95"]].sum()
    else:
        bounds = model.bucket_bounds(fitted, forecast, buckets).set_index("bucket")
    out = sums.join(bounds).reset_index(names="bucket")
    first = pd.Timestamp(out["bucket"].iloc[0])
    known = series.loc[series.index >= first]
    out["actual_days"] = 0
    out.loc[0, "actual_days"] = len(known)
    value_columns = ["forecast", "lo80", "hi80", "lo95", "hi95"]
    out.loc[0, value_columns] = out.loc[0, value_columns] + float(known.sum())
    return out[["bucket", "open_days", "actual_days", *value_columns]]


def _history(series: pd.Series, period: Period, grain: str) -> pd.DataFrame:
    """The actual values of the view's range up to the as-of date, at the grain."""
    shown = series.loc[(series.index >= pd.Timestamp(period.start))
                       & (series.index <= pd.Timestamp(period.asof))]
    frame = pd.DataFrame({"day": shown.index, "actual": shown.to_numpy()})
    if frame.empty:
        return pd.DataFrame(columns=["bucket", "actual"])
    sums = _bucketed(frame, "actual", grain)
    return pd.DataFrame({"bucket": list(sums.index), "actual": sums.to_numpy(dtype=float)})


def _unscored(shown: str, reason: str, metric: str, horizon: int,
              asof: dt.date) -> dict[str, Any]:
    """The answer without a forecast: refused ('none', why) or 'pending' (training)."""
    empty = pd.DataFrame(columns=["bucket", "forecast", "lo80", "hi80", "lo95", "hi95"])
    return {"metric": metric, "horizon": horizon, "asof": asof, "shown": shown,
            "reason": reason, "calendar": "", "yearly": "", "model": model.MODEL_NAME,
            "baseline": model.BASELINE_NAME, "errors": model.mean_errors(pd.DataFrame(
                columns=["model_mape", "model_wape", "baseline_mape", "baseline_wape"])),
            "history": pd.DataFrame(columns=["bucket", "actual"]), "forecast": empty,
            "backtest": pd.DataFrame(columns=["origin", "test_start", "test_end", "days",
                                              "model_mape", "model_wape", "baseline_mape",
                                              "baseline_wape"]),
            "trained": None, "error": None}


def naive_forecast(series: pd.Series, days: int) -> pd.DataFrame:
    """The seasonal-naive daily forecast without intervals (for a view whose model is not
    trained yet: the Overview's forecast trend)."""
    calendar = model.learn_calendar(series, None)
    return model.baseline_forecast(series, calendar, days,
                                   pd.DataFrame(columns=["actual", "baseline"]))


@cached
def forecast(session: Session, scope: Scope, filters: Filters, period: Period,
             metric: str = "net_revenue", horizon: str = DEFAULT_HORIZON) -> dict[str, Any]:
    """The forecast of the metric for `horizon` days after the as-of date, with its backtest,
    scored from the view's stored model (trained in the background).

    `shown` is 'model' where the model's backtested mean MAPE beats the seasonal-naive
    baseline's, 'baseline' otherwise, 'none' (with `reason`) when history is too short and
    'pending' while the model is not trained (that answer is not cached).
    """
    trained = _stored_model(session, scope, filters, period, metric)
    kept = trained.artefact.series if trained is not None else None
    series = kept if kept is not None else daily_series(session, scope, filters, period.asof,
                                                        metric)
    return scored(session, scope, filters, period, series, metric, int(horizon), trained)


def scored(session: Session, scope: Scope, filters: Filters, period: Period,
           series: pd.Series, metric: str, days: int,
           trained: Trained | None = None) -> dict[str, Any]:
    """`forecast` of the view's daily series, already read (`daily_series`), with its
    stored model (looked up when not given)."""
    problem = _problem(series)
    if problem:
        return _unscored("none", problem, metric, days, period.asof)
    key = forecast_key(scope, filters, period, metric)
    if trained is None:
        trained = model_store.stored(session, key)
    if trained is None or not isinstance(trained.artefact, Modelled):
        skip_store()
        waiting = _unscored("pending", "The forecast model of this view is being trained "
                            "in the background.", metric, days, period.asof)
        return {**waiting, "error": model_store.last_failure(session, key),
                "naive": naive_forecast(series, days)}
    modelled: Modelled = trained.artefact
    test = modelled.backtest
    errors = model.mean_errors(test.origins)
    shown, reason = _choice(errors)
    fitted = None
    if shown == "model":  # the stored parameters on the same series: scoring, not fitting
        fitted = model.refiltered(series, modelled.calendar, modelled.yearly, modelled.params)
        daily = model.model_forecast(fitted, days)
    else:
        daily = model.baseline_forecast(series, modelled.calendar, days, test.days)
    if len(test.origins) < model.ORIGINS:
        reason += f" Only {len(test.origins)} of {model.ORIGINS} backtest origins fit in " \
                  "the history."
    return {"metric": metric, "horizon": days, "asof": period.asof, "shown": shown,
            "reason": reason, "calendar": modelled.calendar.describe(),
            "yearly": modelled.yearly_text, "model": model.MODEL_NAME,
            "baseline": model.BASELINE_NAME, "errors": errors,
            "history": _history(series, period, filters.grain),
            "forecast": _at_grain(daily, fitted, filters.grain, series), "backtest": test.origins,
            "trained": model_store.describe(trained), "error": None}


HISTORY_COLUMNS = ["run_id", "trained_at", "data_revision", "asof", "label", "origins",
                   "model_mape", "model_wape", "baseline_mape", "baseline_wape"]


@cached
def model_history(session: Session, scope: Scope, filters: Filters, period: Period,
                  metric: str = "net_revenue") -> pd.DataFrame:
    """Every stored training run of this view's series (this scope, filters and metric; any
    as-of date, any data revision), oldest first, with its backtest's mean errors."""
    if model_store.stored(session, forecast_key(scope, filters, period, metric)) is None:
        skip_store()  # the view's own run is about to join the history
    runs = model_store.history(session, KIND, limit=HISTORY_RUNS)
    digest = series_digest(scope, filters, metric)
    rows = [{"run_id": run.run_id, "trained_at": run.trained_at,
             "data_revision": run.data_revision, "asof": run.metrics.get("asof"),
             "label": run.label, "origins": run.metrics.get("origins"),
             **{name: run.metrics.get(name) for name in HISTORY_COLUMNS[6:]}}
            for run in runs.itertuples()
            if run.status == "done" and isinstance(run.metrics, dict)
            and run.metrics.get("series") == digest and "problem" not in run.metrics]
    frame = pd.DataFrame(rows, columns=HISTORY_COLUMNS)
    frame["asof"] = pd.to_datetime(frame["asof"]).dt.date
    return frame.sort_values("run_id", ignore_index=True)


# --- seasonality ------------------------------------------------------------------------------

def _years(days: pd.DatetimeIndex) -> str:
    years = sorted(set(days.year))
    return ", ".join(str(year) for year in years)


def _index_frame(series: pd.Series, keys: np.ndarray, names: tuple[str, ...]) -> pd.DataFrame:
    """Mean per day of each key against the mean day, with the years it rests on."""
    mean_day = float(series.mean())
    rows = []
    for key, name in enumerate(names):
        days = series.index[keys == key]
        average = float(series.loc[days].mean()) if len(days) else np.nan
        rows.append({"key": key + 1, "name": name, "days": len(days), "years": _years(days),
                     "year_count": len(set(days.year)), "mean_per_day": average,
                     "index": average / mean_day if mean_day > 0 else np.nan})
    return pd.DataFrame(rows)


def _whole_months(series: pd.Series) -> pd.Series:
    """The series without the partial months at either end (they would tilt their month)."""
    months = series.index.to_period("M")
    complete = series.groupby(months).size() == series.groupby(months).apply(
        lambda part: part.index[0].days_in_month)
    return series.loc[months.isin(complete.index[complete])]


@cached
def seasonality(session: Session, scope: Scope, filters: Filters, period: Period,
                metric: str = "net_revenue") -> dict[str, Any]:
    """The weekday and month index (mean day of each against the mean day of the whole
    history up to the as-of date), with the years each rests on and warnings: kept with
    the view's model when it is trained, else computed from the series."""
    trained = _stored_model(session, scope, filters, period, metric)
    if trained is not None and trained.artefact.seasonality is not None:
        kept: dict[str, Any] = trained.artefact.seasonality
        return kept
    return seasonality_of(daily_series(session, scope, filters, period.asof, metric))


def seasonality_of(series: pd.Series) -> dict[str, Any]:
    """`seasonality` of a daily series (`daily_series`)."""
    if len(series):
        trading = series.index[series > 0]
        series = series.loc[trading[0]:] if len(trading) else series.iloc[:0]
    weekday_keys = np.asarray(series.index.day_of_week)
    weekdays = _index_frame(series, weekday_keys, model.WEEKDAY_NAMES)
    whole = _whole_months(series) if len(series) else series
    months = _index_frame(whole, np.asarray(whole.index.month) - 1, MONTH_NAMES)
    warnings = []
    years = len(set(whole.index.year)) if len(whole) else 0
    if len(whole) == 0:
        warnings.append("No month index: there is not one whole month of sales up to the "
                        "as-of date.")
    elif months["year_count"].max() <= 1:
        warnings.append("Each month is seen in one year only: the month index mixes the "
                        "season with that year's trend and events.")
    elif months["year_count"].min() <= 1:
        warnings.append("Some months are seen in one year only (see the years per month): "
                        "their index mixes the season with that year's trend.")
    span = (format_range(series.index[0].date(), series.index[-1].date())
            if len(series) else "")
    return {"weekdays": weekdays, "months": months, "warnings": warnings, "span": span,
            "years": years}
