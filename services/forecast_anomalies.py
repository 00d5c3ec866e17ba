"""Anomalies: days whose net revenue or orders fall far from a typical day of their weekday,
in words, with the platform, category or country whose change explains most of the gap.

"Typical" is the median of the same weekday in the four weeks before and the four after
(days that traded, up to the as-of date): a median, so one outlier among the neighbours does
not move it, and both sides, so a trend does not. How far is a robust z-score: the log ratio
of the day to its typical value over 1.4826 × the median absolute deviation of every day's
log ratio. A day is flagged when its total is far out, or when one platform alone is far out
and moves the total materially (an outage of one shop drowns in the noise of the total).
"""
from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from services import forecasting
from services.cache import cached
from services.day_frames import (
    PLATFORM_MEASURES,
    Frames,
    between,
    by_day,
    member_days,
    platform_days,
    present,
)
from services.filters import Filters, Period
from services.rollups import Lines
from services.sales import data_bounds
from services.scope import Scope

NEIGHBOUR_WEEKS = 4
MIN_NEIGHBOURS = 3
TOTAL_Z = 4.0  # a day's total this far out is an anomaly ...
TOTAL_GAP = 0.20  # ... when it is also at least this far from typical
PLATFORM_Z = 4.5  # one platform this far out (stricter: there are several of them) ...
PLATFORM_SHARE = 0.15  # ... moving the total by at least this share of its typical value
PLATFORM_GAP = 0.60  # ... and itself at least this far from its own typical day
# A series is judged only where its typical day holds this many orders: a day of 3 orders
# instead of 6 is ordinary noise, and its log ratio would look extreme.
MIN_ORDERS = 15
MAX_LISTED = 12
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
COLUMNS = ["day", "actual", "typical", "gap", "change", "z", "found_by", "driver_kind",
           "driver", "driver_change", "text"]


# --- the detector (pure) ----------------------------------------------------------------------

def typical_values(wide: pd.DataFrame, at: pd.DatetimeIndex | None = None) -> pd.DataFrame:
    """Per day (each of `at`, else every day) and column, the median of the same weekday ±4
    weeks (days > 0, at least 3): `wide` has a row for every day."""
    values = wide.to_numpy(dtype=float)
    traded = np.where(values > 0, values, np.nan)
    index = wide.index if at is None else pd.DatetimeIndex(at)
    rows = np.arange(len(wide)) if at is None else wide.index.get_indexer(index)
    if (rows < 0).any():  # -1 would silently take the frame's last rows as neighbours
        raise ValueError("typical values asked for days outside the frame")
    reach = 7 * NEIGHBOUR_WEEKS
    gap = np.full((reach, traded.shape[1]), np.nan)  # the weeks before and after the frame
    padded = np.vstack([gap, traded, gap])
    stacked = np.stack([padded[rows + reach + 7 * k]
                        for k in range(-NEIGHBOUR_WEEKS, NEIGHBOUR_WEEKS + 1) if k])
    return pd.DataFrame(_median_of_enough(stacked), index=index, columns=wide.columns)


def _median_of_enough(stacked: np.ndarray) -> np.ndarray:
    """The median along the first axis of the values present (not NaN), where at least
    `MIN_NEIGHBOURS` are; NaN elsewhere. A sort, not `np.nanmedian`: 8 values a cell,
    where nanmedian's general path took most of the list's time."""
    counts = np.sum(~np.isnan(stacked), axis=0)
    ordered = np.sort(stacked, axis=0)  # NaN last
    last = stacked.shape[0] - 1
    low = np.take_along_axis(ordered, np.clip((counts - 1) // 2, 0, last)[None], axis=0)[0]
    high = np.take_along_axis(ordered, np.clip(counts // 2, 0, last)[None], axis=0)[0]
    return np.where(counts >= MIN_NEIGHBOURS, (low + high) / 2, np.nan)


def robust_z(actual: pd.DataFrame, typical: pd.DataFrame) -> pd.DataFrame:
    """How far each value is from its typical value, in robust standard deviations, on the
    square-root scale: for counts (and sums of many orders) its spread hardly depends on
    the level, where a log ratio's left tail is long (3 orders instead of 6 is -0.7)."""
    with np.errstate(all="ignore"):
        gap = (np.sqrt(actual.clip(lower=0).to_numpy(dtype=float))
               - np.sqrt(typical.to_numpy(dtype=float)))
    gaps = pd.DataFrame(gap, index=actual.index, columns=actual.columns)
    centre = gaps.median()
    scale = 1.4826 * (gaps - centre).abs().median()
    return (gaps - centre) / scale.replace(0, np.nan)


def flagged_days(wide: pd.DataFrame, orders: pd.DataFrame | None = None) -> pd.DataFrame:
    """The anomalous days of a day × platform table (the total is their sum): day, actual,
    typical, gap (relative), z and what found it ('total' or the platform).

    One platform's day is judged on its orders (`orders`, day × platform; `wide` itself
    when None): its net revenue swings with single large orders and returns, its orders
    are what an outage loses."""
    total = wide.sum(axis=1).to_frame("total")
    typical_totals = typical_values(total)
    typical_total = typical_totals["total"]
    z_total = robust_z(total, typical_totals)["total"]
    gap = total["total"] / typical_total - 1
    platforms = wide if orders is None else orders
    typical = typical_values(platforms)
    orders_total = typical_values(platforms.sum(axis=1).to_frame("total"))["total"]
    by_total = ((z_total.abs() >= TOTAL_Z) & (gap.abs() >= TOTAL_GAP)
                & (orders_total >= MIN_ORDERS))
    found = pd.Series(np.where(by_total, "total", ""), index=wide.index, dtype=object)
    if platforms.shape[1] > 1:
        z = robust_z(platforms, typical)
        moved = (platforms - typical).abs().div(orders_total, axis=0) >= PLATFORM_SHARE
        own = (platforms / typical - 1).abs() >= PLATFORM_GAP
        strong = (z.abs() >= PLATFORM_Z) & moved & own & (typical >= MIN_ORDERS)
        for day in platforms.index[strong.any(axis=1) & ~by_total]:
            found[day] = str(z.loc[day].where(strong.loc[day]).abs().idxmax())
    keep = found != ""
    return pd.DataFrame({"day": wide.index[keep], "actual": total["total"][keep].to_numpy(),
                         "typical": typical_total[keep].to_numpy(),
                         "gap": gap[keep].to_numpy(), "z": z_total[keep].to_numpy(),
                         "found_by": found[keep].to_numpy()})


def largest_changes(members: pd.DataFrame, typical: pd.DataFrame,
                    signs: np.ndarray) -> list[tuple[str, float]]:
    """Per day of `typical` (`typical_values(members, days)`), the member (column) whose
    change from its typical value is the largest in the direction of that day's `sign`,
    and that change; ('', 0.0) when none moved that way."""
    if members.shape[1] == 0:
        return [("", 0.0)] * len(typical)
    change = (members.loc[typical.index].to_numpy(dtype=float)
              - np.nan_to_num(typical.to_numpy(dtype=float)))
    towards = change * signs[:, None]
    best = np.argmax(towards, axis=1)  # the first of equal changes, as `idxmax`
    found = []
    for row, column in enumerate(best):
        moved = towards[row, column] > 0
        found.append((str(members.columns[column]), float(change[row, column]))
                     if moved else ("", 0.0))
    return found


# --- in words ---------------------------------------------------------------------------------

def describe(day: dt.date, actual: float, typical: float, driver_kind: str, driver: str,
             driver_change: float, metric: str, money: Any) -> str:
    """'Tue 12 Oct 2026: revenue $3.1k, 58% below a typical Tuesday; most of the drop on
    Amazon (−$2.0k)'."""
    shown = money if metric == "net_revenue" else (lambda value: f"{value:,.0f}")
    noun = "revenue" if metric == "net_revenue" else "orders"
    gap = actual / typical - 1 if typical else np.nan
    where = "above" if gap > 0 else "below"
    text = (f"{day:%a} {day.day} {day:%b %Y}: {noun} {shown(actual)}, {abs(gap):.0%} {where} "
            f"a typical {WEEKDAYS[day.weekday()]} ({shown(typical)})")
    if driver:
        sign = "+" if driver_change > 0 else "−"
        what = "rise" if gap > 0 else "drop"
        text += (f"; most of the {what} on {driver} ({driver_kind}, "
                 f"{sign}{shown(abs(driver_change))})")
    return text + "."


# --- from the database ------------------------------------------------------------------------

def neighbour_days(days: list[pd.Timestamp], last: pd.Timestamp) -> list[dt.date]:
    """Every day that the typical values of `days` rest on (the same weekday up to four
    weeks either side, up to `last`), and the days themselves."""
    return sorted({(day + pd.Timedelta(weeks=k)).date() for day in days
                   for k in range(-NEIGHBOUR_WEEKS, NEIGHBOUR_WEEKS + 1)
                   if day + pd.Timedelta(weeks=k) <= last})


def _members(session: Session, filters: Filters, scope: Scope, metric: str,
             days: list[pd.Timestamp], platforms: pd.DataFrame,
             kept: forecasting.Modelled | None) -> Frames:
    """The metric per day and category, and per day and country, over the platforms' days:
    from the view's trained forecast when it kept them, else read on the listed days and
    their neighbours only (one read each, whatever the number of days and the range)."""
    first, last = platforms.index[0], platforms.index[-1]
    if kept is not None and kept.member_days is not None:
        return {kind: frame.loc[first:last] for kind, frame in kept.member_days.items()}
    needed = neighbour_days(days, last)
    return member_days(session, Lines(filters, scope, first.date(), last.date()), metric,
                       needed) if needed else {}


def _platform_frames(session: Session, scope: Scope, filters: Filters, metric: str,
                     start: dt.date, end: dt.date,
                     kept: forecasting.Modelled | None) -> Frames:
    """Net revenue and orders per day and platform from `start` to `end`: from the view's
    trained forecast, which keeps them up to its as-of date, else read."""
    if metric not in PLATFORM_MEASURES:
        return present(by_day(session, Lines(filters, scope, start, end), [metric, "orders"],
                              "platform"))
    if kept is not None and kept.platform_days is not None:
        return between(kept.platform_days, start, end)
    return present(platform_days(session, Lines(filters, scope, start, end)))


def _drivers(found: pd.DataFrame, frames: Frames) -> list[tuple[str, str, float]]:
    """Per found day, the platform, category or country whose change explains most of its
    gap (the first kind wins a tie)."""
    days = pd.DatetimeIndex(found["day"])
    signs = np.where(found["actual"] >= found["typical"], 1.0, -1.0)
    best = [("", "", 0.0)] * len(found)
    for kind, frame in frames.items():
        changes = largest_changes(frame, typical_values(frame, days), signs)
        best = [(kind, *change) if not current[0] or abs(change[1]) > abs(current[2])
                else current for current, change in zip(best, changes, strict=True)]
    return best


@cached
def anomalies(session: Session, scope: Scope, filters: Filters, period: Period,
              metric: str = "net_revenue") -> pd.DataFrame:
    """The anomalous days of the view's range (up to the as-of date), largest z first, each
    in words with its likely driver and the query string of that day's view."""
    first, _last = data_bounds(session, scope)
    end = min(period.end, period.asof)
    if first is None or first > end:
        return pd.DataFrame(columns=COLUMNS)
    reach = min(period.asof, end + dt.timedelta(weeks=NEIGHBOUR_WEEKS))
    start = max(first, period.start - dt.timedelta(weeks=NEIGHBOUR_WEEKS))
    kept = (forecasting.stored_forecast(session, scope, filters, period, metric)
            if metric in PLATFORM_MEASURES else None)
    read = _platform_frames(session, scope, filters, metric, start, reach, kept)
    platforms = read[metric]
    found = flagged_days(platforms,
                         read["orders"].reindex(columns=platforms.columns, fill_value=0.0))
    found = found.loc[(found["day"] >= pd.Timestamp(period.start))
                      & (found["day"] <= pd.Timestamp(end))]
    found = found.reindex(found["z"].abs().sort_values(ascending=False).index)
    listed = found.head(MAX_LISTED)
    frames = {"platform": platforms,
              **_members(session, filters, scope, metric, list(listed["day"]), platforms, kept)}
    return pd.DataFrame([_explained(metric, row, driver) for row, driver
                         in zip(listed.itertuples(), _drivers(listed, frames), strict=True)],
                        columns=COLUMNS)


def _explained(metric: str, row: Any, driver: tuple[str, str, float]) -> dict[str, Any]:
    kind, name, change = driver
    day = row.day.date()
    return {"day": day, "actual": float(row.actual), "typical": float(row.typical),
            "gap": float(row.gap), "change": float(row.actual - row.typical),
            "z": float(row.z), "found_by": row.found_by, "driver_kind": kind,
            "driver": name, "driver_change": change,
            "text": describe(day, row.actual, row.typical, kind, name, change, metric,
                             lambda value: f"{value:,.0f}")}
