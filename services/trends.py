"""A metric over time: one pipeline for every trend chart (Overview, Sales, drill-down).

Per bucket of the range at the chosen grain: the value, the comparison period aligned bucket
by bucket, trailing rolling means of daily values that reach before the range, and growth
against the bucket before and the same bucket a year earlier.
"""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from services.cache import cached
from services.filters import CUSTOM, Filters, Period, compared_day
from services.metrics import change
from services.periods import bucket_end, bucket_starts, previous_bucket, year_ago_bucket
from services.rollups import Lines
from services.sales import additive_by_period
from services.scope import Scope

ROLLING_WINDOWS = (3, 7, 30)
TREND_METRICS = ("net_revenue", "orders", "units", "aov")


def rolling_start(period: Period) -> dt.date:
    """Where the daily series starts so every rolling mean has its full window of history
    (but never before the first day with data, which would average in empty days)."""
    lead_in = period.start - dt.timedelta(days=max(ROLLING_WINDOWS) - 1)
    if period.first_data:
        lead_in = max(lead_in, min(period.first_data, period.start))
    return lead_in


def _metric_values(frame: pd.DataFrame, metric: str) -> pd.Series:
    """The chosen metric from additive sums (AOV = gross sales / orders, None without orders)."""
    if metric == "aov":
        orders = frame["orders"].astype(float)
        return (frame["gross_sales"] / orders).where(orders > 0)
    return frame[metric].astype(float)


@cached
def metric_trend(session: Session, scope: Scope, filters: Filters, period: Period,
                 metric: str = "net_revenue", growth: bool = True) -> pd.DataFrame:
    """The metric per bucket with the comparison aligned, rolling means and growth rates.

    Columns: bucket, complete (the whole bucket lies in the range), value, compare_bucket,
    compare_value, rolling_3/7/30 (day grain), previous_value, pop_growth, yoy_bucket,
    yoy_value, yoy_growth. Growth is only given for complete buckets whose base bucket lies
    wholly within the data's history, and is None when the base is zero: a half-month
    against a full one, or anything against an empty period, is not a growth rate.
    Without `growth` the history reaches back only as far as the rolling means need.
    """
    grain = filters.grain
    starts = bucket_starts(period.start, period.end, grain)
    history_start = rolling_start(period)
    if growth:
        history_start = min(year_ago_bucket(starts[0], grain),
                            previous_bucket(starts[0], grain), history_start)
    history = additive_by_period(session, Lines(filters, scope, history_start, period.end),
                                 grain)
    complete = [start >= period.start and bucket_end(start, grain) <= period.end
                for start in starts]
    current = history.loc[starts]
    if not all(complete):  # partial end buckets: count only the days inside the range
        current = additive_by_period(session, Lines(filters, scope, period.start, period.end),
                                     grain)
    trend = pd.DataFrame({"bucket": starts, "complete": complete,
                          "value": _metric_values(current, metric).to_numpy()})
    _add_comparison(session, scope, filters, period, metric, trend)
    _add_rolling(history, period, metric, grain, trend)
    if growth:
        _add_growth(history, period, metric, grain, trend)
    return trend


def comparison_spans(buckets: list[dt.date], filters: Filters,
                     period: Period) -> list[tuple[dt.date, dt.date]]:
    """The days each bucket is compared with: the bucket's days inside the range, shifted
    as the comparison shifts the range (`services.filters.compared_day`). The spans are
    contiguous and cover the comparison period exactly, so their sums add up to its KPI.

    A custom comparison may be longer or shorter than the range: its spans are cut to its
    dates, the last bucket that has comparison days runs on to its last day, and buckets
    after that have none (an empty span, start after end: a gap in the chart).
    """
    spans = [(compared_day(max(start, period.start), filters, period),
              compared_day(min(bucket_end(start, filters.grain), period.end), filters, period))
             for start in buckets]
    if filters.compare != CUSTOM or not (period.compare_start and period.compare_end):
        return spans
    last = period.compare_end
    fitted = [(first, min(end, last)) for first, end in spans if first <= last]
    fitted[-1] = (fitted[-1][0], last)
    after = last + dt.timedelta(days=1)
    return fitted + [(after, last)] * (len(spans) - len(fitted))


def _add_comparison(session: Session, scope: Scope, filters: Filters, period: Period,
                    metric: str, trend: pd.DataFrame) -> None:
    trend["compare_bucket"] = None
    trend["compare_value"] = np.nan
    if not (period.compare_start and period.compare_end):
        return
    spans = comparison_spans(list(trend["bucket"]), filters, period)
    daily = additive_by_period(session, Lines(filters, scope, period.compare_start,
                                              period.compare_end), "day")
    starts = pd.Index([first for first, _ in spans])
    # Each comparison day belongs to the last span starting on or before it.
    span_of_day = starts.searchsorted(daily.index, side="right") - 1
    sums = daily.groupby(span_of_day).sum().reindex(range(len(spans)), fill_value=0)
    values = _metric_values(sums, metric).to_numpy()
    # A span starting before the first sale is only partly observed: a gap, not a zero;
    # an empty span (a custom comparison shorter than the range) is a gap too.
    observed = np.array([(period.first_data is None or first >= period.first_data)
                         and first <= last for first, last in spans])
    trend["compare_bucket"] = list(starts)
    trend["compare_value"] = np.where(observed, values, np.nan)


def _add_rolling(history: pd.DataFrame, period: Period, metric: str, grain: str,
                 trend: pd.DataFrame) -> None:
    """Trailing means of daily values that reach before the range, never before the data."""
    for window in ROLLING_WINDOWS:
        trend[f"rolling_{window}"] = np.nan
    if grain != "day":
        return
    daily = history.loc[history.index >= rolling_start(period)]
    for window in ROLLING_WINDOWS:
        sums = daily.rolling(window, min_periods=1).sum()
        days = daily["orders"].rolling(window, min_periods=1).count()
        if metric == "aov":
            rolled = (sums["gross_sales"] / sums["orders"]).where(sums["orders"] > 0)
        else:
            rolled = sums[metric] / days
        trend[f"rolling_{window}"] = trend["bucket"].map(rolled).astype(float).to_numpy()


def _add_growth(history: pd.DataFrame, period: Period, metric: str, grain: str,
                trend: pd.DataFrame) -> None:
    values = _metric_values(history, metric)
    first_full = period.first_data or period.start

    def base(start: dt.date) -> float | None:
        # A base bucket that starts before the first day of data is only partly observed.
        if start < first_full or start not in values.index or pd.isna(values[start]):
            return None
        return float(values[start])

    previous = [previous_bucket(start, grain) for start in trend["bucket"]]
    year_ago = [year_ago_bucket(start, grain) for start in trend["bucket"]]
    trend["previous_value"] = [base(start) for start in previous]
    trend["yoy_bucket"] = year_ago
    trend["yoy_value"] = [base(start) for start in year_ago]
    trend["pop_growth"] = [_growth(metric, row.value, row.previous_value, row.complete)
                           for row in trend.itertuples()]
    trend["yoy_growth"] = [_growth(metric, row.value, row.yoy_value, row.complete)
                           for row in trend.itertuples()]
    trend["previous_value"] = trend["previous_value"].astype(float)
    trend["yoy_value"] = trend["yoy_value"].astype(float)


def _growth(metric: str, value: float, base: float | None, complete: bool) -> float:
    if not complete or base is None or pd.isna(value):
        return np.nan
    growth = change(metric, float(value), base)
    return np.nan if growth is None else growth


