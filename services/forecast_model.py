"""The forecast model and its rolling-origin backtest: pure pandas and statsmodels on a daily
series (no database), so the page, the tests and `python -m services.forecast_backtest` on
the UCI file run exactly the same code.

The series is a calendar: one value per day, closed days as 0. The model is fitted on the log
of the trading days (value > 0) with every other day a gap, so each weekday keeps its slot in
the week (fitting on the sequence of trading days instead mixes Fridays into Saturdays' slot
once a day is missing). Two state-space models (statsmodels `UnobservedComponents`) with a
fixed weekday pattern are averaged on the log scale: a local level and a local linear trend.
docs/forecasting.md gives the protocol, every model tried and its backtest on the UCI file.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import holidays
import numpy as np
import pandas as pd
from statsmodels.tsa.statespace.structural import UnobservedComponents  # type: ignore[import-untyped]

TEST_DAYS = 30  # trading days in each backtest window
ORIGINS = 6
ORIGIN_STEP = 15  # trading days between origins
MIN_HISTORY_DAYS = 56  # 8 weeks: less and there is no forecast
YEARLY_DAYS = 730  # 2 years: less and there is no yearly term
# Older days change a local level little and cost fitting time: a year without a yearly
# term (the same backtest on the UCI file as all of it), three years with one.
TRAINING_DAYS = {False: 365, True: 3 * 365 + 1}
CALENDAR_WEEKS = 12  # a weekday is closed when it did not trade in these weeks
CLOSED_SHARE = 0.1  # ... on more than this share of its occurrences
SIMULATIONS = 300  # sample paths per model for the intervals of weekly and monthly sums
YEARLY_HARMONICS = 3
LEVELS = (0.80, 0.95)
SPECS: dict[str, dict[str, Any]] = {
    "local level": {"level": "llevel"},
    "local linear trend": {"level": "lltrend"},
}
MODEL_NAME = "Mean of local-level and local-trend state-space models, fixed weekday pattern"
BASELINE_NAME = "Seasonal naive: mean of the last four same weekdays"
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


class TooLittleHistory(ValueError):
    """The series is too short for a forecast (the message says why, in words)."""


# --- the trading calendar ---------------------------------------------------------------------

def holiday_code(country: str | None) -> str | None:
    """The holidays package's code of a country name ('United Kingdom' -> 'GB'), or None."""
    if not country:
        return None
    key = country.strip().lower().replace(" ", "_")
    entry = holidays.registry.COUNTRIES.get(key)
    return entry[1] if entry else None


@dataclass(frozen=True)
class TradingCalendar:
    """Which days the business trades: its closed weekdays and, if it closes on them, the
    public holidays of its country."""

    closed_weekdays: frozenset[int] = frozenset()
    country: str | None = None  # the holidays package's code
    closes_on_holidays: bool = False
    holidays_seen: int = 0  # public holidays on open weekdays in the history

    def holiday_names(self, days: Sequence[dt.date]) -> dict[dt.date, str]:
        """The public holidays among `days` (empty without a known country)."""
        if not self.country or not len(days):
            return {}
        years = range(min(days).year, max(days).year + 1)
        found = holidays.country_holidays(self.country, years=years)
        return {day: str(found[day]) for day in days if day in found}

    def open_days(self, days: pd.DatetimeIndex) -> np.ndarray:
        """True for each day the business is expected to trade."""
        is_open = ~np.isin(days.day_of_week, sorted(self.closed_weekdays))
        if self.closes_on_holidays:
            shut = set(self.holiday_names([d.date() for d in days]))
            is_open &= ~np.array([d.date() in shut for d in days], dtype=bool)
        return np.asarray(is_open, dtype=bool)

    def describe(self) -> str:
        """The calendar in words."""
        closed = [f"{WEEKDAY_NAMES[d]}s" for d in sorted(self.closed_weekdays)]
        text = ("Closed on " + " and ".join(closed) + "." if closed
                else "Trades every day of the week.")
        if not self.country:
            return text + " No public holidays used: the business's country is not known."
        if self.closes_on_holidays:
            return text + f" Closed on public holidays ({self.country})."
        return text + f" Trades on public holidays ({self.country})."


def learn_calendar(series: pd.Series, country: str | None) -> TradingCalendar:
    """The closed weekdays and holiday habit seen in a daily series (closed days as 0)."""
    trading = series > 0
    recent = trading.iloc[-7 * CALENDAR_WEEKS:]
    by_weekday = recent.groupby(recent.index.day_of_week).agg(["mean", "size"])
    closed = frozenset(int(day) for day, row in by_weekday.iterrows()
                       if row["size"] >= 4 and row["mean"] <= CLOSED_SHARE)
    calendar = TradingCalendar(closed, country)
    days = [d.date() for d in series.index]
    on_open_days = [day for day in calendar.holiday_names(days)
                    if day.weekday() not in closed]
    if not on_open_days:
        return calendar
    shut = sum(not trading[pd.Timestamp(day)] for day in on_open_days)
    return TradingCalendar(closed, country, shut * 2 >= len(on_open_days), len(on_open_days))


# --- fitting and forecasting ------------------------------------------------------------------

def _yearly_terms(days: pd.DatetimeIndex) -> pd.DataFrame:
    """Sine and cosine terms of the day of the year (a smooth yearly shape)."""
    angle = 2 * np.pi * days.day_of_year.to_numpy() / 365.25
    return pd.DataFrame({f"{kind}{k}": fn(k * angle) for k in range(1, YEARLY_HARMONICS + 1)
                         for kind, fn in (("sin", np.sin), ("cos", np.cos))}, index=days)


def _log_target(series: pd.Series, calendar: TradingCalendar) -> pd.Series:
    """log of the trading days' values; closed, holiday and empty days are gaps."""
    values = series.astype(float).where(series > 0)
    values[~calendar.open_days(series.index)] = np.nan
    return pd.Series(np.log(values), index=series.index)


@dataclass
class Fitted:
    """Both fitted models of one origin, the calendar and whether a yearly term is in."""

    results: dict[str, Any]
    calendar: TradingCalendar
    yearly: bool
    last_day: pd.Timestamp
    params: dict[str, np.ndarray] = field(default_factory=dict)

    def _exog(self, steps: int) -> pd.DataFrame | None:
        if not self.yearly:
            return None
        days = pd.date_range(self.last_day + pd.Timedelta(days=1), periods=steps)
        return _yearly_terms(days)

    def log_forecast(self, steps: int) -> tuple[np.ndarray, dict[float, np.ndarray]]:
        """The ensemble's log forecast for the next `steps` days and, per level in `LEVELS`,
        its lower and upper log bounds (each model's interval, averaged)."""
        exog = self._exog(steps)
        found = [result.get_forecast(steps, exog=exog) for result in self.results.values()]
        mean = np.mean([np.asarray(one.predicted_mean) for one in found], axis=0)
        bounds = {level: np.mean([np.asarray(one.conf_int(alpha=1 - level)) for one in found],
                                 axis=0) for level in LEVELS}
        return mean, bounds

    def log_mean(self, steps: int) -> np.ndarray:
        """The ensemble's forecast of the log value for the next `steps` days."""
        exog = self._exog(steps)
        return np.mean([np.asarray(result.forecast(steps, exog=exog))
                        for result in self.results.values()], axis=0)

    def paths(self, steps: int, seed: int = 0) -> np.ndarray:
        """Simulated future log values (repetitions × steps), both models pooled."""
        exog = self._exog(steps)
        pooled = []
        for i, result in enumerate(self.results.values()):
            drawn = result.simulate(steps, repetitions=SIMULATIONS, anchor="end", exog=exog,
                                    rng=np.random.default_rng(seed + i))
            pooled.append(np.asarray(drawn).reshape(steps, -1).T)
        return np.vstack(pooled)


def _models(series: pd.Series, calendar: TradingCalendar, yearly: bool,
            specs: Mapping[str, dict[str, Any]]) -> tuple[pd.Timestamp, dict[str, Any]]:
    """The series' last day and the state-space models of `specs` on its recent days."""
    series = series.iloc[-TRAINING_DAYS[yearly]:].asfreq("D")  # a calendar, stated
    target = _log_target(series, calendar)
    exog = _yearly_terms(series.index) if yearly else None
    # The yearly terms' weights ride in the state (estimated by the filter), not among the
    # maximised parameters: six more parameters made a fit 5x slower.
    return series.index[-1], {
        name: UnobservedComponents(target, seasonal=7, stochastic_seasonal=False, exog=exog,
                                   mle_regression=False, **spec)
        for name, spec in specs.items()}


def fit(series: pd.Series, calendar: TradingCalendar, yearly: bool,
        start: dict[str, np.ndarray] | None = None,
        specs: Mapping[str, dict[str, Any]] = SPECS) -> Fitted:
    """Both models fitted on the series (start values from an earlier fit only speed it up);
    `specs` names other models (to compare them, `services.forecast_backtest`)."""
    last_day, models = _models(series, calendar, yearly, specs)
    results, params = {}, {}
    for name, unfitted in models.items():
        # Not a warnings filter: those are process-wide, and callbacks fit in parallel
        # threads. A fit that stops short of convergence is still the best one found.
        result = unfitted.fit(disp=False, start_params=(start or {}).get(name),
                              warn_convergence=False)
        results[name], params[name] = result, np.asarray(result.params)
    return Fitted(results, calendar, yearly, last_day, params)


def refiltered(series: pd.Series, calendar: TradingCalendar, yearly: bool,
               params: Mapping[str, np.ndarray]) -> Fitted:
    """The models run on the series with known parameters (a stored fit's): the fit's
    forecast without estimating anything again, from a few kilobytes instead of megabytes
    of fitted results."""
    last_day, models = _models(series, calendar, yearly,
                               {name: SPECS[name] for name in params})
    # No covariance of the parameters (cov_type "none"): nothing scored from a stored fit
    # uses it, and estimating it took a fifth of the scoring.
    return Fitted({name: unfitted.filter(params[name], cov_type="none")
                   for name, unfitted in models.items()},
                  calendar, yearly, last_day, dict(params))


def history_problem(series: pd.Series) -> str | None:
    """Why the series is too short for a forecast, in words (None when it is long enough)."""
    trading = series.index[series > 0]
    if len(trading) == 0:
        return "No forecast: there are no sales in this view up to the as-of date."
    span = (series.index[-1] - trading[0]).days + 1
    if span < MIN_HISTORY_DAYS:
        return (f"No forecast: {span} days of history since {trading[0]:%-d %b %Y}; a "
                f"forecast needs at least {MIN_HISTORY_DAYS // 7} weeks.")
    return None


def yearly_note(span_days: int) -> tuple[bool, str]:
    """Whether the history allows a yearly term, and the reason in words."""
    if span_days >= YEARLY_DAYS:
        return True, f"A yearly term is included ({span_days / 365.25:.1f} years of history)."
    return False, (f"No yearly term: {span_days / 365.25 * 12:.0f} months of history before "
                   f"the first backtest origin; a yearly term needs 2 years.")


# --- the baseline -----------------------------------------------------------------------------

def seasonal_naive(train: pd.Series, days: pd.DatetimeIndex) -> np.ndarray:
    """For each day, the mean of the last four trading days of its weekday in `train`."""
    traded = train.loc[train > 0]
    means = {weekday: float(group.iloc[-4:].mean())
             for weekday, group in traded.groupby(traded.index.day_of_week)}
    return np.array([means.get(day.weekday(), np.nan) for day in days])


# --- the rolling-origin backtest --------------------------------------------------------------

def origins(series: pd.Series) -> Iterator[pd.DatetimeIndex]:
    """The test windows, earliest first: 30 trading days each, 15 apart, the last ending on
    the series' last trading day; a window needs 8 weeks of history before it."""
    trading = series.index[series > 0]
    for k in range(ORIGINS - 1, -1, -1):
        end = len(trading) - ORIGIN_STEP * k
        if end - TEST_DAYS < 1:
            continue
        window = trading[end - TEST_DAYS:end]
        if (window[0] - trading[0]).days >= MIN_HISTORY_DAYS:
            yield window


def errors(actual: np.ndarray, predicted: np.ndarray) -> tuple[float, float]:
    """(MAPE, WAPE) of predictions against actual values (all > 0)."""
    gap = np.abs(actual - predicted)
    return float(np.mean(gap / actual)), float(gap.sum() / actual.sum())


@dataclass
class Backtest:
    """Every origin's errors, the predictions per test day and the last fit's parameters."""

    origins: pd.DataFrame  # origin, test_start, test_end, days, model/baseline MAPE and WAPE
    days: pd.DataFrame  # origin, day, actual, model, baseline
    params: dict[str, np.ndarray]


def backtest(series: pd.Series, country: str | None, yearly: bool,
             specs: Mapping[str, dict[str, Any]] = SPECS) -> Backtest:
    """The rolling-origin backtest of the model and the baseline on the series.

    Each origin learns its calendar and fits on the days before its window only; the fits
    run oldest first, each starting from the previous one's parameters (same optimum,
    fewer iterations).
    """
    rows, day_rows = [], []
    params: dict[str, np.ndarray] = {}
    for window in origins(series):
        train = series.loc[: window[0] - pd.Timedelta(days=1)]
        fitted = fit(train, learn_calendar(train, country), yearly, params, specs)
        params = fitted.params
        steps = (window[-1] - train.index[-1]).days
        model = np.exp(fitted.log_mean(steps))[(window - train.index[-1]).days - 1]
        baseline = seasonal_naive(train, window)
        actual = series.loc[window].to_numpy(dtype=float)
        model_mape, model_wape = errors(actual, model)
        base_mape, base_wape = errors(actual, baseline)
        origin = train.index[-1].date()
        rows.append({"origin": origin, "test_start": window[0].date(),
                     "test_end": window[-1].date(), "days": len(window),
                     "model_mape": model_mape, "model_wape": model_wape,
                     "baseline_mape": base_mape, "baseline_wape": base_wape})
        day_rows += [{"origin": origin, "day": day.date(), "actual": a, "model": m,
                      "baseline": b} for day, a, m, b in zip(window, actual, model, baseline,
                                                             strict=True)]
    columns = ["origin", "test_start", "test_end", "days", "model_mape", "model_wape",
               "baseline_mape", "baseline_wape"]
    return Backtest(pd.DataFrame(rows, columns=columns),
                    pd.DataFrame(day_rows, columns=["origin", "day", "actual", "model",
                                                    "baseline"]), params)


def mean_errors(table: pd.DataFrame) -> dict[str, float | None]:
    """The mean of each error column over the origins."""
    names = ("model_mape", "model_wape", "baseline_mape", "baseline_wape")
    return {name: (float(table[name].mean()) if len(table) else None) for name in names}


# --- the forecast -----------------------------------------------------------------------------

def future_days(last: pd.Timestamp, horizon: int) -> pd.DatetimeIndex:
    """The `horizon` calendar days after `last`."""
    return pd.date_range(last + pd.Timedelta(days=1), periods=horizon)


def model_forecast(fitted: Fitted, horizon: int) -> pd.DataFrame:
    """Daily point forecast and 80%/95% bounds; closed days and closed holidays are 0."""
    days = future_days(fitted.last_day, horizon)
    is_open = fitted.calendar.open_days(days)
    mean, bounds = fitted.log_forecast(horizon)
    frame = pd.DataFrame({"day": days, "open": is_open, "forecast": _open_exp(mean, is_open)})
    for level in LEVELS:
        frame[f"lo{level * 100:.0f}"] = _open_exp(bounds[level][:, 0], is_open)
        frame[f"hi{level * 100:.0f}"] = _open_exp(bounds[level][:, 1], is_open)
    return frame


def _open_exp(logs: np.ndarray, is_open: np.ndarray) -> np.ndarray:
    """exp of the log values on open days, 0 on closed ones (whose slot the model never saw,
    so their log values are unbounded)."""
    return np.exp(np.where(is_open, logs, -np.inf))


def baseline_forecast(series: pd.Series, calendar: TradingCalendar, horizon: int,
                      test: pd.DataFrame) -> pd.DataFrame:
    """The seasonal-naive forecast with bounds from its own backtest: the quantiles of
    actual / predicted over every test day."""
    days = future_days(series.index[-1], horizon)
    is_open = calendar.open_days(days)
    point = np.nan_to_num(seasonal_naive(series, days))
    ratios = (test["actual"] / test["baseline"]).replace([np.inf, -np.inf], np.nan).dropna()
    frame = pd.DataFrame({"day": days, "open": is_open, "forecast": point})
    for level in LEVELS:
        tail = (1 - level) / 2
        low, high = (ratios.quantile([tail, 1 - tail]).to_numpy() if len(ratios)
                     else (np.nan, np.nan))
        frame[f"lo{level * 100:.0f}"], frame[f"hi{level * 100:.0f}"] = point * low, point * high
    frame.loc[~frame["open"], frame.columns[2:]] = 0.0
    return frame


def bucket_bounds(fitted: Fitted, daily: pd.DataFrame, buckets: pd.Series) -> pd.DataFrame:
    """80%/95% bounds of the forecast's sums per bucket (week, month), from simulated paths:
    daily bounds do not add up."""
    simulated = _open_exp(fitted.paths(len(daily)), daily["open"].to_numpy()[None, :])
    rows = []
    for bucket, positions in daily.groupby(buckets.to_numpy()).indices.items():
        sums = simulated[:, positions].sum(axis=1)
        row: dict[str, Any] = {"bucket": bucket}
        for level in LEVELS:
            tail = (1 - level) / 2
            row[f"lo{level * 100:.0f}"] = float(np.quantile(sums, tail))
            row[f"hi{level * 100:.0f}"] = float(np.quantile(sums, 1 - tail))
        rows.append(row)
    return pd.DataFrame(rows)
