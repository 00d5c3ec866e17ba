"""The forecast, its backtest, the seasonality index, on SQLite and PostgreSQL, against an
independent computation from the raw order lines (pandas, and statsmodels called directly).

Nothing here calls the services' helpers to compute an expected value: the daily series,
the trading days, the six origins, the seasonal-naive baseline, the MAPE and WAPE and the
two state-space fits are all redone in this file.
"""
from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session
from statsmodels.tsa.statespace.structural import UnobservedComponents

from models import ModelRun
from services import forecast_model, model_store
from services import forecasting as service
from services.cache import ResultCache, backend_from_settings
from services.filters import Filters, Period
from services.sales import resolve
from services.scope import Scope
from tests.services.test_overview import expected_metrics, view_lines
from tests.services.test_overview import raw as raw  # noqa: F401 - the raw lines fixture

EVERYTHING = Scope()


def expected_daily(raw: pd.DataFrame, filters: Filters, asof: dt.date,
                   metric: str = "net_revenue") -> pd.Series:
    """The metric per calendar day from the first day of data to `asof`, from raw lines."""
    first = raw["day"].min().date()
    lines = view_lines(raw, filters, first, asof)
    per_day = expected_metrics(lines, lines["day"])[metric].astype(float)
    return per_day.reindex(pd.date_range(first, asof), fill_value=0.0)


def independent_windows(daily: pd.Series) -> list[pd.DatetimeIndex]:
    """The six 30-trading-day windows, 15 trading days apart, the last ending on the last
    trading day (days with a value above zero)."""
    trading = daily.index[daily > 0]
    return [trading[len(trading) - 15 * k - 30:len(trading) - 15 * k] for k in range(5, -1, -1)]


def last_four_same_weekdays(train: pd.Series, days: pd.DatetimeIndex) -> np.ndarray:
    """Seasonal naive: the mean of the last four trading days of the same weekday."""
    traded = train[train > 0]
    return np.array([traded[traded.index.day_of_week == day.day_of_week].iloc[-4:].mean()
                     for day in days])


def state_space_mean(train: pd.Series, days: pd.DatetimeIndex) -> np.ndarray:
    """The two state-space models (local level, local linear trend; fixed weekday terms) on
    the log of the last 365 days, averaged on the log scale (a business open every day)."""
    recent = train.iloc[-365:].asfreq("D")
    target = np.log(recent.where(recent > 0))
    steps = (days[-1] - recent.index[-1]).days
    logs = []
    for level in ("llevel", "lltrend"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fitted = UnobservedComponents(target, level=level, seasonal=7,
                                          stochastic_seasonal=False).fit(disp=False)
        logs.append(np.asarray(fitted.forecast(steps)))
    positions = (days - recent.index[-1]).days - 1
    return np.exp(np.mean(logs, axis=0))[positions]


def mape_wape(actual: np.ndarray, predicted: np.ndarray) -> tuple[float, float]:
    """Mean absolute percentage error and weighted absolute percentage error."""
    return (float(np.mean(np.abs(actual - predicted) / actual)),
            float(np.abs(actual - predicted).sum() / actual.sum()))


def independent_backtest(daily: pd.Series) -> pd.DataFrame:
    """The rolling-origin table redone from scratch."""
    rows = []
    for window in independent_windows(daily):
        train = daily[daily.index < window[0]]
        actual = daily[window].to_numpy()
        model = mape_wape(actual, state_space_mean(train, window))
        baseline = mape_wape(actual, last_four_same_weekdays(train, window))
        rows.append({"test_start": window[0].date(), "test_end": window[-1].date(),
                     "model_mape": model[0], "model_wape": model[1],
                     "baseline_mape": baseline[0], "baseline_wape": baseline[1]})
    return pd.DataFrame(rows)


def view(session: Session, **chosen: object) -> tuple[Filters, Period]:
    """Filters and their resolved period."""
    filters = Filters(**chosen)  # type: ignore[arg-type]
    return filters, resolve(session, EVERYTHING, filters)


def train(session: Session, filters: Filters, period: Period, metric: str) -> None:
    """Train the view's model, as the background job does, unless it is stored already (the
    databases live for the session: a model trained by one test serves the next)."""
    key = service.forecast_key(EVERYTHING, filters, period, metric)
    if model_store.stored(session, key) is None:
        service.train_forecast(session, EVERYTHING, filters, period, metric)


def scored(session: Session, filters: Filters, period: Period, metric: str = "net_revenue",
           horizon: str = "90") -> dict[str, Any]:
    """The forecast service's answer once the view's model is trained."""
    train(session, filters, period, metric)
    return service.forecast(session, EVERYTHING, filters, period, metric, horizon)


# --- the series and the backtest --------------------------------------------------------------

@pytest.mark.parametrize("metric", ["net_revenue", "orders"])
def test_the_daily_series_is_the_raw_lines_per_day(session: Session, raw: pd.DataFrame,
                                                   metric: str) -> None:
    platform = raw["slug"].value_counts().index[0]
    filters = Filters(platforms=(platform,))
    asof = raw["day"].max().date() - dt.timedelta(days=40)
    got = service.daily_series(session, EVERYTHING, filters, asof, metric)
    want = expected_daily(raw, filters, asof, metric)
    assert list(got.index) == list(want.index)
    np.testing.assert_allclose(got.to_numpy(), want.to_numpy(), rtol=1e-9, atol=1e-6)


def test_the_backtest_matches_an_independent_computation(session: Session,
                                                          raw: pd.DataFrame) -> None:
    filters, period = view(session, range="90d")
    result = scored(session, filters, period)
    daily = expected_daily(raw, filters, period.asof)
    assert result["calendar"].startswith("Trades every day")  # as the independent fit assumes
    want = independent_backtest(daily)
    got = result["backtest"]
    assert len(got) == 6
    assert list(got["test_start"]) == list(want["test_start"])
    assert list(got["test_end"]) == list(want["test_end"])
    assert got["test_end"].iloc[-1] == daily.index[daily > 0][-1].date()
    assert (got["days"] == 30).all()
    for column in ("baseline_mape", "baseline_wape"):
        np.testing.assert_allclose(got[column], want[column], rtol=1e-9)
    for column in ("model_mape", "model_wape"):  # optimiser start values differ: close
        np.testing.assert_allclose(got[column], want[column], atol=2e-3)
    means = result["errors"]
    for column in ("model_mape", "model_wape", "baseline_mape", "baseline_wape"):
        assert means[column] == pytest.approx(got[column].mean())
    assert result["shown"] == ("model" if means["model_mape"] < means["baseline_mape"]
                               else "baseline")


def test_the_forecast_starts_the_day_after_asof_with_ordered_intervals(
        session: Session) -> None:
    filters, period = view(session, range="30d")
    result = scored(session, filters, period, "orders", "60")
    forecast = result["forecast"]
    assert len(forecast) == 60
    assert forecast["bucket"].iloc[0] == period.asof + dt.timedelta(days=1)
    columns = ["lo95", "lo80", "forecast", "hi80", "hi95"]
    values = forecast[columns].to_numpy()
    assert (np.diff(values, axis=1) >= -1e-9).all()
    assert (values[:, 0] >= 0).all()


def test_weekly_sums_hold_the_daily_forecast(session: Session) -> None:
    daily_filters, period = view(session, range="30d")
    weekly_filters = replace(daily_filters, grain="week")
    daily = scored(session, daily_filters, period, horizon="30")["forecast"]
    weekly = scored(session, weekly_filters, period, horizon="30")["forecast"]
    first_week = period.asof - dt.timedelta(days=period.asof.weekday())
    days_so_far = pd.date_range(first_week, period.asof)
    so_far = service.daily_series(session, EVERYTHING, daily_filters, period.asof,
                                  "net_revenue").reindex(days_so_far).sum()
    assert weekly["actual_days"].iloc[0] == len(days_so_far)
    assert weekly["forecast"].sum() == pytest.approx(daily["forecast"].sum() + so_far,
                                                     rel=1e-9)
    assert (weekly["lo95"] <= weekly["forecast"]).all()
    assert (weekly["forecast"] <= weekly["hi95"]).all()


# --- as of a past day -------------------------------------------------------------------------

@pytest.fixture
def statements(session: Session) -> Iterator[list[tuple[str, object]]]:
    """Every SQL statement the session runs during the test, with its parameters."""
    seen: list[tuple[str, object]] = []
    engine = session.get_bind()

    def record(_conn: object, _cursor: object, statement: str, parameters: object,
               *_args: object) -> None:
        seen.append((statement, parameters))

    sa.event.listen(engine, "before_cursor_execute", record)
    yield seen
    sa.event.remove(engine, "before_cursor_execute", record)


def _dates_in(parameters: object) -> list[dt.date]:
    values = parameters.values() if isinstance(parameters, dict) else parameters
    found = []
    for value in values if isinstance(values, (list, tuple, type({}.values()))) else []:
        if isinstance(value, dt.date):
            found.append(value if not isinstance(value, dt.datetime) else value.date())
        elif isinstance(value, str) and len(value) == 10 and value[4] == "-":
            found.append(dt.date.fromisoformat(value))
    return found


def test_no_data_after_the_asof_date_is_read(session: Session, raw: pd.DataFrame,
                                             statements: list[tuple[str, object]]) -> None:
    asof = raw["day"].max().date() - dt.timedelta(days=100)
    filters, period = view(session, range="30d", asof=asof)
    statements.clear()
    service.train_forecast(session, EVERYTHING, filters, period, "net_revenue")  # the fit too
    result = service.forecast(session, EVERYTHING, filters, period, "net_revenue", "30")
    dates = [day for sql, parameters in statements if "model_runs" not in sql
             for day in _dates_in(parameters)]  # (a run's own times are not data)
    assert dates and max(dates) <= asof  # every date bound of every query
    # The answer is the one the history up to that day gives.
    want = independent_backtest(expected_daily(raw, filters, asof))
    assert result["backtest"]["test_end"].iloc[-1] <= asof
    assert list(result["backtest"]["test_start"]) == list(want["test_start"])
    np.testing.assert_allclose(result["backtest"]["baseline_mape"], want["baseline_mape"],
                               rtol=1e-9)
    assert result["forecast"]["bucket"].iloc[0] == asof + dt.timedelta(days=1)
    assert result["history"]["bucket"].max() <= asof


# --- the stored model -------------------------------------------------------------------------

def test_the_model_key_is_the_series_and_the_asof_date_only() -> None:
    period = Period(dt.date(2026, 8, 1), dt.date(2026, 10, 31), None, None,
                    dt.date(2026, 10, 31), "")
    key = service.forecast_key(EVERYTHING, Filters(range="90d"), period, "orders", "30")
    same = service.forecast_key(EVERYTHING, Filters(range="30d", grain="week", compare="prev"),
                                replace(period, start=dt.date(2026, 10, 1)), "orders", "180")
    assert key == same  # range, grain, comparison and horizon only choose what is shown
    for other in (service.forecast_key(EVERYTHING, Filters(platforms=("amazon",)), period,
                                       "orders"),
                  service.forecast_key(EVERYTHING, Filters(), period, "net_revenue"),
                  service.forecast_key(EVERYTHING, Filters(), replace(
                      period, asof=dt.date(2026, 10, 30)), "orders"),
                  service.forecast_key(Scope(platform_ids=frozenset({1})), Filters(), period,
                                       "orders")):
        assert other.digest != key.digest
    assert "Orders" in key.label and "31 Oct 2026" in key.label


def test_before_training_the_forecast_is_pending_and_not_cached_then_scored(
        session: Session, raw: pd.DataFrame, tmp_path: Path) -> None:
    filters = Filters(range="90d", platforms=(raw["slug"].value_counts().index[0],))
    _filters, period = view(session, range="90d")
    period = replace(period, asof=period.asof - dt.timedelta(days=7))  # a view of its own
    key = service.forecast_key(EVERYTHING, filters, period, "net_revenue")
    # Runs left by an earlier test of this session's databases.
    session.execute(sa.delete(ModelRun).where(ModelRun.digest == key.digest))
    session.commit()
    cache = ResultCache(backend_from_settings(None, str(tmp_path)), "sqlite:///x.db")
    args = (filters, period, "net_revenue", "30")

    def ask() -> dict[str, Any]:
        return cache.get_or_compute(service.forecast, EVERYTHING, args, {},
                                    lambda: service.forecast(session, EVERYTHING, *args))

    pending = ask()
    assert pending["shown"] == "pending" and pending["forecast"].empty
    assert cache.backend.get(cache.key(service.forecast, EVERYTHING, args, {})) is None
    # Other tests may have trained this series at other as-of dates; none of this view's.
    before = service.model_history(session, EVERYTHING, filters, period)
    assert period.asof not in set(before["asof"])

    trained = service.train_forecast(session, EVERYTHING, filters, period, "net_revenue")
    result = ask()
    assert result["shown"] in ("model", "baseline") and len(result["forecast"]) == 30
    assert result["trained"]["run_id"] == trained.run_id
    for name, value in result["errors"].items():  # the stored evaluation is the backtest's
        assert trained.metrics[name] == pytest.approx(value)
        assert value == pytest.approx(result["backtest"][name].mean())
    history = service.model_history(session, EVERYTHING, filters, period)
    assert list(history["run_id"])[-1] == trained.run_id
    assert history["asof"].iloc[-1] == period.asof
    assert history["model_mape"].iloc[-1] == pytest.approx(result["errors"]["model_mape"])
    # Another platform's runs are another series' history.
    other = service.model_history(session, EVERYTHING, Filters(range="90d"), period)
    assert trained.run_id not in set(other["run_id"])


# --- too little history and the baseline ------------------------------------------------------

def test_short_history_is_refused_in_words(session: Session, raw: pd.DataFrame) -> None:
    first = raw["day"].min().date()
    filters, period = view(session, range="30d", asof=first + dt.timedelta(days=40))
    result = service.forecast(session, EVERYTHING, filters, period, "net_revenue", "90")
    assert result["shown"] == "none"
    assert "41 days of history" in result["reason"] and "8 weeks" in result["reason"]
    assert result["forecast"].empty and result["backtest"].empty
    filters, period = view(session, range="30d", asof=first + dt.timedelta(days=70))
    result = service.forecast(session, EVERYTHING, filters, period, "net_revenue", "90")
    assert result["shown"] == "none" and "backtest" in result["reason"]


def test_no_yearly_term_under_two_years() -> None:
    assert forecast_model.yearly_note(729)[0] is False
    assert "needs 2 years" in forecast_model.yearly_note(729)[1]
    assert forecast_model.yearly_note(730)[0] is True


def test_the_baseline_is_shown_where_the_model_does_not_beat_it() -> None:
    errors = {"model_mape": 0.31, "model_wape": 0.3, "baseline_mape": 0.29,
              "baseline_wape": 0.3}
    shown, reason = service._choice(errors)
    assert shown == "baseline" and "31.0%" in reason and "29.0%" in reason
    assert service._choice({**errors, "model_mape": 0.28})[0] == "model"


def test_the_baseline_forecast_is_the_last_four_same_weekdays(session: Session,
                                                              raw: pd.DataFrame) -> None:
    filters, period = view(session, range="30d")
    daily = expected_daily(raw, filters, period.asof)
    calendar = forecast_model.learn_calendar(daily, None)
    test = pd.DataFrame({"actual": [1.0, 2.0], "baseline": [1.0, 1.0]})
    got = forecast_model.baseline_forecast(daily, calendar, 14, test)
    days = pd.date_range(period.asof + dt.timedelta(days=1), periods=14)
    np.testing.assert_allclose(got["forecast"], last_four_same_weekdays(daily, days))


def test_closed_weekdays_are_learnt_and_forecast_as_closed() -> None:
    days = pd.date_range("2024-01-01", periods=200)
    values = pd.Series(np.where(days.day_of_week == 5, 0.0, 100.0 + days.day_of_week), days)
    calendar = forecast_model.learn_calendar(values, "GB")
    assert calendar.closed_weekdays == {5}
    fitted = forecast_model.fit(values, calendar, yearly=False)
    forecast = forecast_model.model_forecast(fitted, 14)
    saturdays = forecast["day"].dt.day_of_week == 5
    assert (forecast.loc[saturdays, ["forecast", "hi95"]] == 0).all().all()
    assert (forecast.loc[~saturdays, "forecast"] > 0).all()


# --- seasonality ------------------------------------------------------------------------------

def test_the_seasonality_index_is_the_mean_day_over_the_mean_day(session: Session,
                                                                 raw: pd.DataFrame) -> None:
    filters, period = view(session, range="90d")
    result = service.seasonality(session, EVERYTHING, filters, period)
    daily = expected_daily(raw, filters, period.asof)
    want = daily.groupby(daily.index.day_of_week).mean() / daily.mean()
    np.testing.assert_allclose(result["weekdays"]["index"], want.to_numpy(), rtol=1e-9)
    months = result["months"]
    whole = daily[daily.index.to_period("M").isin(
        [p for p, part in daily.groupby(daily.index.to_period("M"))
         if len(part) == p.days_in_month])]
    want_months = whole.groupby(whole.index.month).mean() / whole.mean()
    np.testing.assert_allclose(months.set_index("key")["index"].reindex(want_months.index),
                               want_months.to_numpy(), rtol=1e-9)
    assert (months["year_count"] >= 1).all()


def test_a_trained_view_reads_no_sales_and_says_the_same(
        session: Session, raw: pd.DataFrame, statements: list[tuple[str, object]]) -> None:
    filters, period = view(session, range="90d", platforms=(sorted(raw["slug"].unique())[0],))
    train(session, filters, period, "net_revenue")
    statements.clear()
    kept = service.seasonality(session, EVERYTHING, filters, period)
    scored = service.forecast(session, EVERYTHING, filters, period, "net_revenue", "30")
    read = [sql for sql, _parameters in statements if "order_lines" in sql or "rollup_" in sql]
    assert read == []  # the series and its seasonality are kept with the model
    series = expected_daily(raw, filters, period.asof)
    want = service.seasonality_of(series)
    for part in ("weekdays", "months"):
        pd.testing.assert_frame_equal(kept[part], want[part], check_exact=False, rtol=1e-9)
    assert kept["warnings"] == want["warnings"]
    again = service.scored(session, EVERYTHING, filters, period, series, "net_revenue", 30)
    assert scored["shown"] == again["shown"] != "pending"
    np.testing.assert_allclose(scored["forecast"]["forecast"], again["forecast"]["forecast"],
                               rtol=1e-9)
    pd.testing.assert_frame_equal(scored["history"], again["history"], check_exact=False,
                                  rtol=1e-9)
