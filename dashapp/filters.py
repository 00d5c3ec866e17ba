"""The filter model and its URL form: the one place that knows both.

A view is a page path plus a query string such as
``range=30d&platform=instagram&product=85123A&grain=week&compare=prev&roll=7``.
`parse_query` turns a query string into a `View` (a `Filters` value, page-level choices and
notices about anything that was dropped); `to_query` turns it back. `resolve_period` turns the
date part into concrete dates against the data actually present.

Pure Python on purpose: services, callbacks and the API all import it, and services must not
pull in Flask or Dash.
"""
from __future__ import annotations

import calendar
import datetime as dt
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from urllib.parse import parse_qsl, urlencode

PRESETS: dict[str, str] = {
    "7d": "Last 7 days",
    "30d": "Last 30 days",
    "90d": "Last 90 days",
    "mtd": "Month to date",
    "qtd": "Quarter to date",
    "ytd": "Year to date",
    "12m": "Last 12 months",
    "all": "All time",
}
CUSTOM = "custom"
_DAY_PRESETS = {"7d": 7, "30d": 30, "90d": 90}
GRAINS: dict[str, str] = {"day": "Day", "week": "Week", "month": "Month"}
COMPARES: dict[str, str] = {
    "none": "No comparison",
    "prev": "Previous period",
    "yoy": "Same period last year",
}
DEFAULT_RANGE = "30d"
DEFAULT_GRAIN = "day"
DEFAULT_COMPARE = "prev"

GLOBAL_PARAMS = ("range", "from", "to", "asof", "platform", "product", "category", "grain",
                 "compare")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
_MAX_VALUES = 200  # a URL naming more products than this is not a view anyone made by hand
_MAX_TEXT = 120


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

    def with_platforms(self, slugs: Iterable[str]) -> Filters:
        """Copy with the platform filter replaced."""
        return replace(self, platforms=_unique(slugs))


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
        return 0 < len(value) <= _MAX_TEXT


@dataclass(frozen=True)
class View:
    """A parsed URL: filters, page-level choices and notices about dropped parameters."""

    filters: Filters = field(default_factory=Filters)
    page: Mapping[str, str] = field(default_factory=dict)
    notices: tuple[str, ...] = ()


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

    def as_dict(self) -> dict[str, str | None]:
        """JSON-ready form (ISO dates), as returned by the API and kept in the browser."""
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "compare_start": _iso(self.compare_start),
            "compare_end": _iso(self.compare_end),
            "asof": self.asof.isoformat(),
            "first_data": _iso(self.first_data),
            "label": self.label,
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
        )

    @property
    def days(self) -> int:
        """Number of calendar days in the current range."""
        return (self.end - self.start).days + 1


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None


def _date_or_none(text: str | None) -> dt.date | None:
    return dt.date.fromisoformat(text) if text else None


def _unique(values: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(v for v in values if v))


def _parse_date(text: str) -> dt.date | None:
    try:
        value = dt.date.fromisoformat(text)
    except ValueError:
        return None
    # A strict YYYY-MM-DD form keeps URLs canonical; fromisoformat also takes 20110401.
    return value if len(text) == 10 and 1900 <= value.year <= 2200 else None


def _pairs(query: str | Mapping[str, Sequence[str]]) -> list[tuple[str, str]]:
    if isinstance(query, str):
        return parse_qsl(query.lstrip("?"), keep_blank_values=True)
    return [(key, value) for key, values in query.items() for value in values]


def parse_query(
    query: str | Mapping[str, Sequence[str]], page_params: Sequence[ParamSpec] = ()
) -> View:
    """Parse a query string into a `View`, dropping (and reporting) anything invalid."""
    notices: list[str] = []
    values: dict[str, list[str]] = {}
    specs = {spec.name: spec for spec in page_params}
    for key, value in _pairs(query):
        if key in GLOBAL_PARAMS or key in specs:
            values.setdefault(key, []).append(value.strip())
        else:
            notices.append(f"Ignored unknown parameter “{key}”.")
    filters = Filters(
        **_parse_dates(values, notices),
        platforms=_parse_many(values, "platform", _SLUG.match, "platform", notices),
        products=_parse_many(values, "product", _is_text, "product", notices),
        categories=_parse_many(values, "category", _is_text, "category", notices),
        grain=_parse_choice(values, "grain", GRAINS, DEFAULT_GRAIN, notices),
        compare=_parse_choice(values, "compare", COMPARES, DEFAULT_COMPARE, notices),
    )
    page = {name: _parse_page_param(spec, values.get(name, []), notices)
            for name, spec in specs.items()}
    return View(filters, page, tuple(notices))


def _is_text(value: str) -> bool:
    # Any text but control characters: real catalogues contain accents, symbols and NBSPs.
    return 0 < len(value) <= _MAX_TEXT and not any(
        unicodedata.category(char).startswith("C") for char in value)


def _single(values: dict[str, list[str]], name: str, notices: list[str]) -> str | None:
    found = values.get(name, [])
    if len(found) > 1:
        notices.append(f"“{name}” was given {len(found)} times; used the first.")
    return found[0] if found else None


def _parse_choice(values: dict[str, list[str]], name: str, choices: Mapping[str, str],
                  default: str, notices: list[str]) -> str:
    value = _single(values, name, notices)
    if value is None:
        return default
    if value not in choices:
        notices.append(f"Ignored {name}=“{value}”: expected one of {', '.join(choices)}.")
        return default
    return value


def _parse_many(values: dict[str, list[str]], name: str, accepts: Callable[[str], object],
                noun: str, notices: list[str]) -> tuple[str, ...]:
    kept = []
    for value in values.get(name, []):
        if accepts(value):
            kept.append(value)
        else:
            notices.append(f"Ignored {noun} “{value[:40]}”: not a valid {noun} name.")
    if len(kept) > _MAX_VALUES:
        notices.append(f"Only the first {_MAX_VALUES} {noun} values were used.")
        kept = kept[:_MAX_VALUES]
    return _unique(kept)


def _parse_page_param(spec: ParamSpec, found: list[str], notices: list[str]) -> str:
    if not found:
        return spec.default
    if len(found) > 1:
        notices.append(f"“{spec.name}” was given {len(found)} times; used the first.")
    if not spec.accepts(found[0]):
        notices.append(f"Ignored {spec.name}=“{found[0][:40]}”.")
        return spec.default
    return found[0]


def _parse_dates(values: dict[str, list[str]], notices: list[str]) -> dict[str, object]:
    """Range, custom dates and as-of: custom dates win over a preset when both are valid."""
    out: dict[str, object] = {"range": DEFAULT_RANGE}
    asof_text = _single(values, "asof", notices)
    if asof_text is not None:
        out["asof"] = _parse_date(asof_text)
        if out["asof"] is None:
            notices.append(f"Ignored asof=“{asof_text[:20]}”: expected a date as YYYY-MM-DD.")
    range_text = _single(values, "range", notices)
    if range_text is not None and range_text not in PRESETS and range_text != CUSTOM:
        notices.append(f"Ignored range=“{range_text[:20]}”: expected one of "
                       f"{', '.join(PRESETS)} or from/to dates.")
        range_text = None
    custom = _parse_custom(values, notices)
    if custom is not None:
        if range_text not in (None, CUSTOM):
            notices.append(f"Ignored range={range_text}: the from/to dates were used.")
        out.update(range=CUSTOM, start=custom[0], end=custom[1])
    elif range_text is not None and range_text != CUSTOM:
        out["range"] = range_text
    elif range_text == CUSTOM:
        notices.append("range=custom needs valid from and to dates; showing the last 30 days.")
    return out


def _parse_custom(values: dict[str, list[str]],
                  notices: list[str]) -> tuple[dt.date, dt.date] | None:
    start_text, end_text = _single(values, "from", notices), _single(values, "to", notices)
    if start_text is None and end_text is None:
        return None
    start = _parse_date(start_text or "")
    end = _parse_date(end_text or "")
    if start is None or end is None:
        notices.append("Ignored the custom dates: both from and to are needed as YYYY-MM-DD.")
        return None
    if start > end:
        notices.append(f"Ignored the custom dates: from ({start}) is after to ({end}).")
        return None
    return start, end


def to_query(filters: Filters, page: Mapping[str, str] | None = None,
             page_params: Sequence[ParamSpec] = ()) -> str:
    """Serialise filters and page choices into a canonical query string (no leading '?').

    Range, grain and comparison are always written so that a bookmark keeps meaning the
    same view even if the defaults change; empty lists and default page choices are omitted.
    """
    pairs: list[tuple[str, str]] = []
    if filters.range == CUSTOM and filters.start and filters.end:
        pairs += [("from", filters.start.isoformat()), ("to", filters.end.isoformat())]
    else:
        pairs.append(("range", filters.range if filters.range in PRESETS else DEFAULT_RANGE))
    if filters.asof:
        pairs.append(("asof", filters.asof.isoformat()))
    pairs += [("platform", slug) for slug in filters.platforms]
    pairs += [("product", sku) for sku in filters.products]
    pairs += [("category", name) for name in filters.categories]
    pairs += [("grain", filters.grain), ("compare", filters.compare)]
    page = page or {}
    for spec in page_params:
        value = page.get(spec.name, spec.default)
        if value != spec.default and spec.accepts(value):
            pairs.append((spec.name, value))
    return urlencode(pairs)


def drop_unknown(filters: Filters, platforms: Iterable[str], products: Iterable[str],
                 categories: Iterable[str]) -> tuple[Filters, list[str]]:
    """Remove platform slugs, SKUs and categories that do not exist (or are not visible)."""
    notices: list[str] = []

    def keep(chosen: tuple[str, ...], known: Iterable[str], noun: str) -> tuple[str, ...]:
        known_set = set(known)
        missing = [value for value in chosen if value not in known_set]
        if missing:
            notices.append(f"Ignored unknown {noun}: {', '.join(missing[:5])}"
                           + (" …" if len(missing) > 5 else "") + ".")
        return tuple(value for value in chosen if value in known_set)

    cleaned = replace(
        filters,
        platforms=keep(filters.platforms, platforms, "platform"),
        products=keep(filters.products, products, "product"),
        categories=keep(filters.categories, categories, "category"),
    )
    return cleaned, notices


# --- resolving dates -------------------------------------------------------------------------

def _minus_year(day: dt.date) -> dt.date:
    if day.month == 2 and day.day == 29:
        return day.replace(year=day.year - 1, day=28)
    return day.replace(year=day.year - 1)


def _preset_start(preset: str, asof: dt.date, first: dt.date) -> dt.date:
    if preset in _DAY_PRESETS:
        return asof - dt.timedelta(days=_DAY_PRESETS[preset] - 1)
    if preset == "mtd":
        return asof.replace(day=1)
    if preset == "qtd":
        return asof.replace(month=(asof.month - 1) // 3 * 3 + 1, day=1)
    if preset == "ytd":
        return asof.replace(month=1, day=1)
    if preset == "12m":
        return _minus_year(asof) + dt.timedelta(days=1)
    return min(first, asof)  # "all"


def resolve_period(filters: Filters, first: dt.date | None, last: dt.date | None,
                   today: dt.date | None = None) -> Period:
    """Concrete dates for `filters` given the first and last day that have data.

    Relative presets count back from `asof`, which defaults to the last day with data, so an
    imported 2011 history opens on its own last 30 days rather than on an empty range.
    """
    fallback = today or dt.date.today()
    asof = filters.asof or last or fallback
    if filters.range == CUSTOM and filters.start and filters.end:
        start, end = filters.start, filters.end
    else:
        start, end = _preset_start(filters.range, asof, first or asof), asof
    compare_start, compare_end = _comparison(filters.compare, start, end)
    period = Period(start, end, compare_start, compare_end, asof, "", first_data=first)
    return replace(period, label=describe_period(filters, period, asof_is_latest=not filters.asof))


def _comparison(compare: str, start: dt.date,
                end: dt.date) -> tuple[dt.date | None, dt.date | None]:
    if compare == "prev":
        length = end - start
        compare_end = start - dt.timedelta(days=1)
        return compare_end - length, compare_end
    if compare == "yoy":
        return _minus_year(start), _minus_year(end)
    return None, None


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


def describe_period(filters: Filters, period: Period, asof_is_latest: bool = True) -> str:
    """The resolved dates in words, as shown next to the filters."""
    day = format_range(period.end, period.end)
    if filters.range == CUSTOM:
        text = format_range(period.start, period.end)
    elif filters.range == "all":
        text = f"all data, {format_range(period.start, period.end)}"
    else:
        of_data = " of data" if asof_is_latest else ""
        text = (f"{PRESETS[filters.range]}{of_data}, up to {day} "
                f"({format_range(period.start, period.end)})")
    if period.compare_start and period.compare_end:
        text += f" vs {format_range(period.compare_start, period.compare_end)}"
    return text
