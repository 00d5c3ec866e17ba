"""The filter model of every page, below the web: what a view asks for and its concrete dates.

`Filters` is what the user chose (a preset or custom dates, platforms, products, categories,
granularity, comparison); `resolve_period` turns it into concrete dates against the data
actually present; `ParamSpec` types a page-level choice (its allowed values and one default).
The URL form of all this (parsing, serialising, notices) is `dashapp.filters`; services use
only this module, so the service layer never depends on the web package.
"""
from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from services.periods import bucket_of, month_end, previous_bucket, year_ago

PRESETS: dict[str, str] = {
    "7d": "Last 7 days",
    "30d": "Last 30 days",
    "90d": "Last 90 days",
    "mtd": "Month to date",
    "qtd": "Quarter to date",
    "ytd": "Year to date",
    "12m": "Last 12 months",
    "all": "All time",
    # Calendar periods: whole days, weeks, months, quarters and years (`calendar_period`).
    "today": "Today",
    "yesterday": "Yesterday",
    "lastweek": "Last week",
    "lastmonth": "Last month",
    "lastquarter": "Last quarter",
    "lastyear": "Last year",
}
CALENDAR_PRESETS = ("today", "yesterday", "lastweek", "lastmonth", "lastquarter", "lastyear")
CUSTOM = "custom"
_DAY_PRESETS = {"7d": 7, "30d": 30, "90d": 90}
GRAINS: dict[str, str] = {"day": "Day", "week": "Week", "month": "Month"}
COMPARES: dict[str, str] = {
    "none": "No comparison",
    "prev": "Previous period",
    "yoy": "Same period last year",
    CUSTOM: "Custom dates",  # with `compare_from`/`compare_to` (cfrom/cto in the URL)
}
REFRESHES: dict[str, str] = {"1m": "every minute", "5m": "every 5 min",
                             "15m": "every 15 min"}
DEFAULT_RANGE = "30d"
DEFAULT_GRAIN = "day"
DEFAULT_COMPARE = "prev"

# How far a range may reach past the data's first or last day (its days there are empty).
EMPTY_MARGIN = dt.timedelta(days=366)
MAX_TEXT = 120  # the longest free-text value a parameter may have
# Filters a page takes from its URL only when it declares a page parameter of that name.
PAGE_FILTERS = ("country", "state")


@dataclass(frozen=True)
class SpanWords:
    """How the dates' words name the data a page's range is resolved against (its span,
    `services.spans`): the sales pages' "all data, …" and "before the first sale"."""

    data: str = "data"  # "all data, …", "Last 30 days of data, …", "Data up to …"
    first: str = "the first sale"  # "the comparison period starts before the first sale"
    name: str = "sales"  # "No sales data yet"


SALES_WORDS = SpanWords()


@dataclass(frozen=True)
class Filters:
    """Global filters of every page, exactly as the user chose them (not yet resolved)."""

    range: str = DEFAULT_RANGE
    start: dt.date | None = None  # only for range == "custom"
    end: dt.date | None = None
    asof: dt.date | None = None
    platforms: tuple[str, ...] = ()
    products: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    grain: str = DEFAULT_GRAIN
    compare: str = DEFAULT_COMPARE
    compare_from: dt.date | None = None  # only for compare == "custom"
    compare_to: dt.date | None = None
    # The order country ('' for all): a filter only of the pages that offer it (see
    # `PAGE_FILTERS`), so it never travels to a page that would ignore it.
    country: str = ""
    state: str = ""  # the order's state or province ('' for all); a page filter like country


@dataclass(frozen=True)
class ParamSpec:
    """A page-level URL parameter: its allowed values (or a validator) and default."""

    name: str
    default: str
    choices: tuple[str, ...] = ()
    validate: Callable[[str], bool] | None = None

    def accepts(self, value: str) -> bool:
        """True when `value` is a legal value of this parameter."""
        if self.choices:
            return value in self.choices
        if self.validate is not None:
            return self.validate(value)
        return 0 < len(value) <= MAX_TEXT


@dataclass(frozen=True)
class Period:
    """Concrete dates of a view: the current range and the comparison range (inclusive)."""

    start: dt.date
    end: dt.date
    compare_start: dt.date | None
    compare_end: dt.date | None
    asof: dt.date
    label: str
    first_data: dt.date | None = None  # first day with data in the user's scope
    last_data: dt.date | None = None  # last day with data in the user's scope
    # Why the comparison is not like for like, in words (None: it is): it reaches before
    # the first sale, or overlaps the range itself.
    compare_note: str | None = None

    @property
    def comparison(self) -> tuple[dt.date, dt.date] | None:
        """The comparison dates where the data covers all of them, else None: a change
        against a partly observed period is not a change."""
        if self.compare_start is None or self.compare_end is None:
            return None
        if self.first_data and self.compare_start < self.first_data:
            return None
        return self.compare_start, self.compare_end

    def as_dict(self) -> dict[str, str | None]:
        """JSON-ready form (ISO dates), as returned by the API and kept in the browser."""
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "compare_start": _iso(self.compare_start),
            "compare_end": _iso(self.compare_end),
            "asof": self.asof.isoformat(),
            "first_data": _iso(self.first_data),
            "last_data": _iso(self.last_data),
            "label": self.label,
            "compare_note": self.compare_note,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, str | None]) -> Period:
        """Inverse of `as_dict`; raises ValueError on malformed input."""
        return cls(
            start=dt.date.fromisoformat(str(data["start"])),
            end=dt.date.fromisoformat(str(data["end"])),
            compare_start=_date_or_none(data.get("compare_start")),
            compare_end=_date_or_none(data.get("compare_end")),
            asof=dt.date.fromisoformat(str(data["asof"])),
            label=str(data.get("label") or ""),
            first_data=_date_or_none(data.get("first_data")),
            last_data=_date_or_none(data.get("last_data")),
            compare_note=data.get("compare_note") or None,
        )

    @property
    def days(self) -> int:
        """Number of calendar days in the current range."""
        return (self.end - self.start).days + 1


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None


def _date_or_none(text: str | None) -> dt.date | None:
    return dt.date.fromisoformat(text) if text else None


def calendar_period(preset: str, asof: dt.date) -> tuple[dt.date, dt.date]:
    """The dates of a calendar preset, counted from `asof`: `today` is `asof` itself,
    `yesterday` the day before; `lastweek`, `lastmonth`, `lastquarter` and `lastyear` are
    the whole Monday–Sunday week, calendar month, quarter or year before the one `asof`
    falls in (on a Sunday, last week is the week before the one that Sunday ends)."""
    if preset in ("today", "yesterday"):
        day = asof - dt.timedelta(days=1 if preset == "yesterday" else 0)
        return day, day
    if preset == "lastweek":
        start = previous_bucket(bucket_of(asof, "week"), "week")
        return start, start + dt.timedelta(days=6)
    if preset == "lastmonth":
        start = previous_bucket(bucket_of(asof, "month"), "month")
        return start, month_end(start)
    if preset == "lastquarter":
        start = _quarter_start(_quarter_start(asof) - dt.timedelta(days=1))
        return start, month_end(start.replace(month=start.month + 2))
    if preset == "lastyear":
        return dt.date(asof.year - 1, 1, 1), dt.date(asof.year - 1, 12, 31)
    raise ValueError(f"not a calendar preset: {preset}")


def _quarter_start(day: dt.date) -> dt.date:
    return day.replace(month=(day.month - 1) // 3 * 3 + 1, day=1)


def _preset_dates(preset: str, asof: dt.date, first: dt.date) -> tuple[dt.date, dt.date]:
    """A preset's dates: calendar periods as `calendar_period`, the others end on `asof`."""
    if preset in CALENDAR_PRESETS:
        return calendar_period(preset, asof)
    if preset in _DAY_PRESETS:
        return asof - dt.timedelta(days=_DAY_PRESETS[preset] - 1), asof
    if preset == "mtd":
        return asof.replace(day=1), asof
    if preset == "qtd":
        return _quarter_start(asof), asof
    if preset == "ytd":
        return asof.replace(month=1, day=1), asof
    if preset == "12m":
        return year_ago(asof, "month") + dt.timedelta(days=1), asof
    return min(first, asof), asof  # "all"


def resolve_period(filters: Filters, first: dt.date | None, last: dt.date | None,
                   today: dt.date | None = None, words: SpanWords = SALES_WORDS) -> Period:
    """Concrete dates for `filters` given the first and last day that have data.

    Relative presets count back from `asof`, which defaults to the last day with data, so an
    imported 2011 history opens on its own last 30 days rather than on an empty range.
    `words` name that data in the label and the comparison note.
    """
    fallback = today or dt.date.today()
    asof = filters.asof or last or fallback
    if filters.range == CUSTOM and filters.start and filters.end:
        start, end = filters.start, filters.end
    elif filters.range == "all" and last and asof > last:
        start, end = first or last, last  # all the data there is (none after `last`)
    else:
        start, end = _preset_dates(filters.range, asof, first or asof)
    if first and last:
        start, end = clamp_range(start, end, first, last)
    # From the clamped range: never longer than it, so bounded by the data as well.
    compare_start, compare_end = _comparison(filters, start, end)
    if first and last and compare_start and compare_end and filters.compare == CUSTOM:
        compare_start, compare_end = clamp_range(compare_start, compare_end, first, last)
    period = Period(start, end, compare_start, compare_end, asof, "", first_data=first,
                    last_data=last)
    period = replace(period, compare_note=_comparison_note(filters, period, words))
    return replace(period, label=describe_period(filters, period, asof_is_latest=not filters.asof,
                                                 words=words))


def clamp_range(start: dt.date, end: dt.date, first: dt.date,
                last: dt.date) -> tuple[dt.date, dt.date]:
    """`start`..`end` cut to the data's `first`..`last` day, give or take `EMPTY_MARGIN`.

    No query then covers more days than the data has (plus a margin of empty days either
    side, which a range starting before the data shows as zeros). A range wholly outside
    that window keeps at most `EMPTY_MARGIN` of its days, those nearest the data: a valid,
    empty view of a bounded size. Presets up to 12 months are never changed by this.
    """
    low, high = first - EMPTY_MARGIN, last + EMPTY_MARGIN
    if end < low:
        return max(start, end - EMPTY_MARGIN), end
    if start > high:
        return start, min(end, start + EMPTY_MARGIN)
    return max(start, low), min(end, high)


def comparison_day(day: dt.date, compare: str, grain: str, range_days: int) -> dt.date:
    """The day that `day` is compared with: `range_days` earlier for the previous period; a
    year earlier for year over year — 364 days (52 weeks, so weekdays line up) at day and
    week grain, the same calendar day at month grain (29 Feb: 28 Feb)."""
    if compare == "prev":
        return day - dt.timedelta(days=range_days)
    return year_ago(day, grain)


def compared_day(day: dt.date, filters: Filters, period: Period) -> dt.date:
    """The day that day `day` of the range is compared with, for every comparison: a custom
    comparison lines up from its first day (the range's first day meets `cfrom`, the next
    day the day after, and so on); the others as `comparison_day`."""
    if filters.compare == CUSTOM and period.compare_start:
        return day + (period.compare_start - period.start)
    return comparison_day(day, filters.compare, filters.grain, period.days)


def _comparison(filters: Filters, start: dt.date,
                end: dt.date) -> tuple[dt.date | None, dt.date | None]:
    if filters.compare == CUSTOM:
        return filters.compare_from, filters.compare_to
    if filters.compare not in ("prev", "yoy"):
        return None, None
    days = (end - start).days + 1
    return (comparison_day(start, filters.compare, filters.grain, days),
            comparison_day(end, filters.compare, filters.grain, days))


def _comparison_note(filters: Filters, period: Period, words: SpanWords) -> str | None:
    if period.compare_start is None or period.compare_end is None:
        return None
    reasons = []
    asked = (filters.compare_from, filters.compare_to)
    if filters.compare == CUSTOM and filters.compare_from and filters.compare_to and \
            asked != (period.compare_start, period.compare_end):
        reasons.append(f"asked for {format_range(filters.compare_from, filters.compare_to)}; "
                       "no data in the days left out")
    if period.first_data and period.compare_start < period.first_data:
        reasons.append(f"the comparison period starts before {words.first}, "
                       f"{format_range(period.first_data, period.first_data)}")
    if period.compare_start <= period.end and period.compare_end >= period.start:
        reasons.append("the comparison period overlaps the range itself")
    compare_days = (period.compare_end - period.compare_start).days + 1
    if filters.compare == CUSTOM and compare_days != period.days:
        reasons.append(f"the comparison has {_days(compare_days)}, the range {_days(period.days)}")
    return "; ".join(reasons) or None


def _days(count: int) -> str:
    return f"{count} day" if count == 1 else f"{count} days"


def comparison_name(filters: Filters) -> str | None:
    """The comparison in words for legends and notes: "Previous period", "Same period last
    year", the custom comparison's dates ("2–31 Oct 2026"), or None without a comparison."""
    if filters.compare == "none":
        return None
    if filters.compare == CUSTOM and filters.compare_from and filters.compare_to:
        return format_range(filters.compare_from, filters.compare_to)
    return COMPARES[filters.compare]


def format_range(start: dt.date, end: dt.date) -> str:
    """Human date range: '1–30 Apr 2011', '3 Mar – 1 Apr 2011', '10 Dec 2010 – 9 Dec 2011'."""
    if start == end:
        return f"{start.day} {calendar.month_abbr[start.month]} {start.year}"
    if (start.year, start.month) == (end.year, end.month):
        return f"{start.day}–{end.day} {calendar.month_abbr[end.month]} {end.year}"
    if start.year == end.year:
        return (f"{start.day} {calendar.month_abbr[start.month]} – "
                f"{end.day} {calendar.month_abbr[end.month]} {end.year}")
    return (f"{start.day} {calendar.month_abbr[start.month]} {start.year} – "
            f"{end.day} {calendar.month_abbr[end.month]} {end.year}")


def describe_period(filters: Filters, period: Period, asof_is_latest: bool = True,
                    words: SpanWords = SALES_WORDS) -> str:
    """The resolved dates in words, as shown next to the filters ("all pipeline data, …" on
    a page whose span is not the sales')."""
    day = format_range(period.end, period.end)
    if filters.range == CUSTOM:
        text = format_range(period.start, period.end)
        asked = (filters.start, filters.end)
        if filters.start and filters.end and asked != (period.start, period.end):
            text = (f"{text} (asked for {format_range(filters.start, filters.end)}; "
                    f"no data in the days left out)")
    elif filters.range == "all":
        text = f"all {words.data}, {format_range(period.start, period.end)}"
    elif filters.range in CALENDAR_PRESETS:
        text = f"{PRESETS[filters.range]} ({format_range(period.start, period.end)})"
    else:
        of_data = f" of {words.data}" if asof_is_latest else ""
        text = (f"{PRESETS[filters.range]}{of_data}, up to {day} "
                f"({format_range(period.start, period.end)})")
    if period.compare_start and period.compare_end:
        text += f" vs {format_range(period.compare_start, period.compare_end)}"
        if period.compare_note:
            text += f" ({period.compare_note})"
    return text
