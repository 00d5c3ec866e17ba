"""The URL form of a view: the one place that parses and writes query strings.

A view is a page path plus a query string such as
``range=30d&platform=instagram&product=85123A&grain=week&compare=prev&roll=7``.
A custom comparison is ``cfrom=…&cto=…`` in place of ``compare``; ``refresh=5m`` re-runs a
live view on a timer (a setting of the view, not a filter: services never see it).
`parse_query` turns a query string into a `View` (a `Filters` value, page-level choices and
notices about anything that was dropped); `to_query` turns it back. The filter model itself
(`Filters`, `Period`, `resolve_period`, `ParamSpec`) lives below the web in `services.filters`.
"""
from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import parse_qsl, urlencode

from services.filters import (
    COMPARES,
    CUSTOM,
    DEFAULT_COMPARE,
    DEFAULT_GRAIN,
    DEFAULT_RANGE,
    GRAINS,
    MAX_TEXT,
    PAGE_FILTERS,
    PRESETS,
    REFRESHES,
    Filters,
    ParamSpec,
)

GLOBAL_PARAMS = ("range", "from", "to", "asof", "platform", "product", "category", "grain",
                 "compare", "cfrom", "cto", "refresh")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
_MAX_VALUES = 200  # a URL naming more products than this is not a view anyone made by hand


@dataclass(frozen=True)
class View:
    """A parsed URL: filters, page-level choices and notices about dropped parameters."""

    filters: Filters = field(default_factory=Filters)
    page: Mapping[str, str] = field(default_factory=dict)
    notices: tuple[str, ...] = ()
    refresh: str = ""  # a key of REFRESHES, or "" for a view that does not refresh itself


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
        **_parse_compare(values, notices),
    )
    refresh = _single(values, "refresh", notices) or ""
    if refresh and refresh not in REFRESHES:
        notices.append(f"Ignored refresh=“{refresh[:20]}”: expected one of "
                       f"{', '.join(REFRESHES)}.")
        refresh = ""
    page = {name: _parse_page_param(spec, values.get(name, []), notices)
            for name, spec in specs.items()}
    # A page filter (the order country) is a page parameter in the URL but a filter below it.
    narrowed: dict[str, Any] = {name: page.pop(name) for name in PAGE_FILTERS if name in page}
    return View(replace(filters, **narrowed), page, tuple(notices), refresh)


def _is_text(value: str) -> bool:
    # Any text but control characters: real catalogues contain accents, symbols and NBSPs.
    return 0 < len(value) <= MAX_TEXT and not any(
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


def _parse_dates(values: dict[str, list[str]], notices: list[str]) -> dict[str, Any]:
    """Range, custom dates and as-of: custom dates win over a preset when both are valid."""
    out: dict[str, Any] = {"range": DEFAULT_RANGE}  # Filters fields: a str and dates
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
    custom = _parse_custom(values, ("from", "to"), notices)
    if custom is not None:
        if range_text not in (None, CUSTOM):
            notices.append(f"Ignored range={range_text}: the from/to dates were used.")
        out.update(range=CUSTOM, start=custom[0], end=custom[1])
    elif range_text is not None and range_text != CUSTOM:
        out["range"] = range_text
    elif range_text == CUSTOM:
        notices.append("range=custom needs valid from and to dates; showing the last 30 days.")
    return out


def _parse_compare(values: dict[str, list[str]], notices: list[str]) -> dict[str, Any]:
    """The comparison: custom cfrom/cto dates win over `compare` when both are valid."""
    compare = _parse_choice(values, "compare", COMPARES, DEFAULT_COMPARE, notices)
    custom = _parse_custom(values, ("cfrom", "cto"), notices)
    if custom is not None:
        if "compare" in values and compare != CUSTOM:
            notices.append(f"Ignored compare={compare}: the cfrom/cto dates were used.")
        return {"compare": CUSTOM, "compare_from": custom[0], "compare_to": custom[1]}
    if compare == CUSTOM:
        notices.append("compare=custom needs valid cfrom and cto dates; comparing with the "
                       "previous period.")
        return {"compare": DEFAULT_COMPARE}
    return {"compare": compare}


def _parse_custom(values: dict[str, list[str]], names: tuple[str, str],
                  notices: list[str]) -> tuple[dt.date, dt.date] | None:
    """A pair of dates (from/to, cfrom/cto): both or neither, the first not after the last."""
    first, last = names
    start_text, end_text = _single(values, first, notices), _single(values, last, notices)
    if start_text is None and end_text is None:
        return None
    what = "custom dates" if first == "from" else "comparison dates"
    start = _parse_date(start_text or "")
    end = _parse_date(end_text or "")
    if start is None or end is None:
        notices.append(f"Ignored the {what}: both {first} and {last} are needed as "
                       "YYYY-MM-DD.")
        return None
    if start > end:
        notices.append(f"Ignored the {what}: {first} ({start}) is after {last} ({end}).")
        return None
    return start, end


def to_query(filters: Filters, page: Mapping[str, str] | None = None,
             page_params: Sequence[ParamSpec] = (), refresh: str = "") -> str:
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
    pairs.append(("grain", filters.grain))
    if filters.compare == CUSTOM and filters.compare_from and filters.compare_to:
        pairs += [("cfrom", filters.compare_from.isoformat()),
                  ("cto", filters.compare_to.isoformat())]
    else:
        pairs.append(("compare", filters.compare if filters.compare != CUSTOM
                      else DEFAULT_COMPARE))
    page = {**(page or {}), **{name: getattr(filters, name) for name in PAGE_FILTERS}}
    for spec in page_params:
        value = page.get(spec.name, spec.default)
        if value != spec.default and spec.accepts(value):
            pairs.append((spec.name, value))
    if refresh in REFRESHES:
        pairs.append(("refresh", refresh))
    return urlencode(pairs)


def view_query(view: View, page_params: Sequence[ParamSpec] = ()) -> str:
    """The canonical query string of a whole view (`to_query` with its refresh setting)."""
    return to_query(view.filters, view.page, page_params, view.refresh)


def page_choices(view: View, page_params: Sequence[ParamSpec]) -> dict[str, str]:
    """Every page-level choice of the view as the URL names them, the page filters (the
    order country) among them where the page declares them."""
    declared = {spec.name for spec in page_params}
    return {**view.page, **{name: getattr(view.filters, name) for name in PAGE_FILTERS
                            if name in declared}}


def drop_unknown(filters: Filters, platforms: Iterable[str], products: Iterable[str],
                 categories: Iterable[str],
                 countries: Iterable[str] = ()) -> tuple[Filters, list[str]]:
    """Remove platform slugs, SKUs, categories and a country that do not exist (or are not
    visible)."""
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
        country="".join(keep((filters.country,) if filters.country else (), countries,
                             "country")),
    )
    return cleaned, notices
