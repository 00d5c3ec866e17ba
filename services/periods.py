"""Calendar arithmetic of time buckets: the days, Monday weeks and months a chart groups by.

One place for it: the trends, growth rates, rollups and partial-bucket rules all count
months and weeks the same way.
"""
from __future__ import annotations

import datetime as dt

YOY_DAYS = 364  # year over year at day and week grain: 52 weeks, Monday against Monday


def month_start(day: dt.date) -> dt.date:
    """The first day of the month of `day`."""
    return day.replace(day=1)


def month_end(day: dt.date) -> dt.date:
    """The last day of the month of `day`."""
    following = day.replace(day=28) + dt.timedelta(days=4)
    return following - dt.timedelta(days=following.day)


def bucket_of(day: dt.date, grain: str) -> dt.date:
    """The start of the day, week (Monday) or month bucket that `day` falls in."""
    if grain == "week":
        return day - dt.timedelta(days=day.weekday())
    if grain == "month":
        return month_start(day)
    return day


def bucket_end(start: dt.date, grain: str) -> dt.date:
    """The last day of the day, week or month bucket that starts on `start`."""
    if grain == "week":
        return start + dt.timedelta(days=6)
    if grain == "month":
        return month_end(start)
    return start


def bucket_starts(start: dt.date, end: dt.date, grain: str) -> list[dt.date]:
    """Every bucket start from the bucket containing `start` to the one containing `end`."""
    first = bucket_of(start, grain)
    if grain == "week":
        return [first + dt.timedelta(weeks=i) for i in range((end - first).days // 7 + 1)]
    if grain == "month":
        months = (end.year - start.year) * 12 + end.month - start.month
        return [dt.date(start.year + (start.month - 1 + i) // 12, (start.month - 1 + i) % 12 + 1, 1)
                for i in range(months + 1)]
    return [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]


def previous_bucket(start: dt.date, grain: str) -> dt.date:
    """The start of the bucket before the one starting on `start`."""
    if grain == "month":
        return month_start(start - dt.timedelta(days=1))
    return start - dt.timedelta(days=7 if grain == "week" else 1)


def year_ago(day: dt.date, grain: str) -> dt.date:
    """A year before `day` as a chart of `grain` compares it: 52 weeks earlier (the same
    weekday) at day and week grain, the same calendar day at month grain (29 Feb: 28 Feb)."""
    if grain != "month":
        return day - dt.timedelta(days=YOY_DAYS)
    if day.month == 2 and day.day == 29:
        return day.replace(year=day.year - 1, day=28)
    return day.replace(year=day.year - 1)


def year_ago_bucket(start: dt.date, grain: str) -> dt.date:
    """The bucket a year earlier: the same month, or 52 weeks earlier (same weekday)."""
    return year_ago(start, grain)
