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

def typical_values(wide: pd.DataFrame) -> pd.DataFrame:
    """Per day and column, the median of the same weekday ±4 weeks (days > 0, at least 3)."""
    traded = wide.where(wide > 0)
    shifts = [traded.shift(7 * k) for k in range(-NEIGHBOUR_WEEKS, NEIGHBOUR_WEEKS + 1) if k]
    stacked = np.stack([frame.to_numpy(dtype=float) for frame in shifts])
    counts = np.sum(~np.isnan(stacked), axis=0)
    # Days with too few neighbours get a stand-in 0 (no all-NaN median, which would warn)
    # and then NaN, as they should.
    enough = counts >= MIN_NEIGHBOURS
    median = np.nanmedian(np.where(enough, stacked, 0.0), axis=0)
    return pd.DataFrame(np.where(enough, median, np.nan), index=wide.index,
                        columns=wide.columns)


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


def largest_change(members: pd.DataFrame, day: pd.Timestamp, sign: float,
                   typical: pd.DataFrame | None = None) -> tuple[str, float]:
    """The member (column) whose change from its typical value on `day` is the largest in
    the direction of the day's gap, and that change (`typical`: `typical_values(members)`,
    when already computed)."""
    typical_day = (typical_values(members) if typical is None else typical).loc[day]
    change = (members.loc[day] - typical_day.fillna(0.0)) * sign
    if change.empty or change.max() <= 0:
        return "", 0.0
    name = str(change.idxmax())
    return name, float(change.max() * sign)


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
             days: list[pd.Timestamp], platforms: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The metric per day and category, and per day and country, on the listed days and
    their neighbours only: one read each, whatever the number of days and the range."""
    needed = neighbour_days(days, platforms.index[-1])
    lines = Lines(filters, scope, platforms.index[0].date(), platforms.index[-1].date())
    return {kind: by_day(session, lines, [metric], kind, needed)[metric]
            for kind in ("category", "country")} if needed else {}


def _platform_frames(session: Session, scope: Scope, filters: Filters, period: Period,
                     metric: str, start: dt.date, end: dt.date) -> Frames:
    """Net revenue and orders per day and platform from `start` to `end`: from the view's
    trained forecast, which keeps them up to its as-of date, else read."""
    if metric not in PLATFORM_MEASURES:
        return present(by_day(session, Lines(filters, scope, start, end), [metric, "orders"],
                              "platform"))
    kept = forecasting.kept_platform_days(session, scope, filters, period, metric)
    if kept is not None:
        return between(kept, start, end)
    return present(platform_days(session, Lines(filters, scope, start, end)))


def _drivers(day: pd.Timestamp, sign: float, frames: dict[str, pd.DataFrame],
             typicals: dict[str, pd.DataFrame]) -> tuple[str, str, float]:
    """The platform, category or country whose change explains most of the day's gap."""
    best = ("platform", *largest_change(frames["platform"], day, sign, typicals["platform"]))
    for kind in ("category", "country"):
        name, change = largest_change(frames[kind], day, sign, typicals[kind])
        if abs(change) > abs(best[2]):
            best = (kind, name, change)
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
    read = _platform_frames(session, scope, filters, period, metric, start, reach)
    platforms = read[metric]
    found = flagged_days(platforms,
                         read["orders"].reindex(columns=platforms.columns, fill_value=0.0))
    found = found.loc[(found["day"] >= pd.Timestamp(period.start))
                      & (found["day"] <= pd.Timestamp(end))]
    found = found.reindex(found["z"].abs().sort_values(ascending=False).index)
    listed = found.head(MAX_LISTED)
    frames = {"platform": platforms,
              **_members(session, filters, scope, metric, list(listed["day"]), platforms)}
    typicals = {kind: typical_values(frame) for kind, frame in frames.items()}
    return pd.DataFrame([_explained(metric, row, frames, typicals)
                         for row in listed.itertuples()], columns=COLUMNS)


def _explained(metric: str, row: Any, frames: dict[str, pd.DataFrame],
               typicals: dict[str, pd.DataFrame]) -> dict[str, Any]:
    sign = 1.0 if row.actual >= row.typical else -1.0
    kind, driver, change = _drivers(row.day, sign, frames, typicals)
    day = row.day.date()
    return {"day": day, "actual": float(row.actual), "typical": float(row.typical),
            "gap": float(row.gap), "change": float(row.actual - row.typical),
            "z": float(row.z), "found_by": row.found_by, "driver_kind": kind,
            "driver": driver, "driver_change": change,
            "text": describe(day, row.actual, row.typical, kind, driver, change, metric,
                             lambda value: f"{value:,.0f}")}
