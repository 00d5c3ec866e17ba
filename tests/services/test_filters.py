"""Resolving a view's dates: presets against the data, as-of, comparisons, words."""
from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from services.filters import (
    EMPTY_MARGIN,
    Filters,
    describe_period,
    format_range,
    resolve_period,
)

LAST = dt.date(2011, 12, 9)
FIRST = dt.date(2010, 12, 1)


@pytest.mark.parametrize("preset, start", [
    ("7d", dt.date(2011, 12, 3)),
    ("30d", dt.date(2011, 11, 10)),
    ("90d", dt.date(2011, 9, 11)),
    ("mtd", dt.date(2011, 12, 1)),
    ("qtd", dt.date(2011, 10, 1)),
    ("ytd", dt.date(2011, 1, 1)),
    ("12m", dt.date(2010, 12, 10)),
    ("all", FIRST),
])
def test_relative_presets_count_back_from_the_last_day_with_data(preset: str,
                                                                 start: dt.date) -> None:
    period = resolve_period(Filters(range=preset), FIRST, LAST, today=dt.date(2026, 1, 1))
    assert (period.start, period.end) == (start, LAST)


def test_asof_pins_a_relative_range_and_absolute_ranges_ignore_new_data() -> None:
    pinned = Filters(range="30d", asof=dt.date(2011, 6, 30))
    custom = Filters(range="custom", start=dt.date(2011, 4, 1), end=dt.date(2011, 4, 30))
    for last in (LAST, LAST + dt.timedelta(days=400)):
        assert resolve_period(pinned, FIRST, last).start == dt.date(2011, 6, 1)
        assert (resolve_period(custom, FIRST, last).start,
                resolve_period(custom, FIRST, last).end) == (dt.date(2011, 4, 1),
                                                             dt.date(2011, 4, 30))
    # A relative range moves on with the data.
    assert resolve_period(Filters(range="7d"), FIRST, LAST + dt.timedelta(days=1)).end == \
        LAST + dt.timedelta(days=1)


def test_comparison_periods() -> None:
    april = Filters(range="custom", start=dt.date(2011, 4, 1), end=dt.date(2011, 4, 30))
    prev = resolve_period(april, FIRST, LAST)
    assert (prev.compare_start, prev.compare_end) == (dt.date(2011, 3, 2), dt.date(2011, 3, 31))
    leap_february = Filters(range="custom", start=dt.date(2012, 2, 1),
                            end=dt.date(2012, 2, 29), compare="yoy")
    # By month: the same calendar days a year earlier (29 Feb: 28 Feb).
    by_month = resolve_period(replace(leap_february, grain="month"), FIRST, LAST)
    assert (by_month.compare_start, by_month.compare_end) == (dt.date(2011, 2, 1),
                                                              dt.date(2011, 2, 28))
    # By day or week: 52 weeks earlier, so each weekday meets the same weekday.
    for grain in ("day", "week"):
        by_week = resolve_period(replace(leap_february, grain=grain), FIRST, LAST)
        assert (by_week.compare_start, by_week.compare_end) == (dt.date(2011, 2, 2),
                                                                dt.date(2011, 3, 2))
        assert by_week.compare_start.weekday() == dt.date(2012, 2, 1).weekday()
    none = resolve_period(Filters(compare="none"), FIRST, LAST)
    assert none.compare_start is None and "vs" not in none.label


def test_resolved_dates_are_described_in_words() -> None:
    april = Filters(range="custom", start=dt.date(2011, 4, 1), end=dt.date(2011, 4, 30))
    assert resolve_period(april, FIRST, LAST).label == "1–30 Apr 2011 vs 2–31 Mar 2011"
    last30 = resolve_period(Filters(range="30d", compare="none"), FIRST, LAST).label
    assert last30 == "Last 30 days of data, up to 9 Dec 2011 (10 Nov – 9 Dec 2011)"
    assert format_range(dt.date(2010, 12, 10), dt.date(2011, 12, 9)) == \
        "10 Dec 2010 – 9 Dec 2011"
    pinned = Filters(range="7d", asof=dt.date(2011, 6, 30), compare="none")
    assert describe_period(pinned, resolve_period(pinned, FIRST, LAST),
                           asof_is_latest=False).startswith("Last 7 days, up to 30 Jun 2011")


def test_empty_database_resolves_to_today() -> None:
    period = resolve_period(Filters(range="7d"), None, None, today=dt.date(2026, 5, 10))
    assert (period.start, period.end) == (dt.date(2026, 5, 4), dt.date(2026, 5, 10))


def test_a_custom_range_is_clamped_to_the_data_and_says_so() -> None:
    huge = Filters(range="custom", start=dt.date(1900, 1, 1), end=dt.date(2200, 12, 31))
    period = resolve_period(huge, FIRST, LAST)
    # At most a year of empty days either side of the data, however wide the request.
    assert (period.start, period.end) == (FIRST - EMPTY_MARGIN, LAST + EMPTY_MARGIN)
    assert (period.compare_start, period.compare_end) == (
        period.start - dt.timedelta(days=period.days), period.start - dt.timedelta(days=1))
    assert "asked for 1 Jan 1900 – 31 Dec 2200" in period.label
    inside = resolve_period(Filters(range="custom", start=FIRST - dt.timedelta(days=75),
                                    end=LAST, compare="none"), FIRST, LAST)
    assert (inside.start, inside.end) == (FIRST - dt.timedelta(days=75), LAST)
    assert "asked" not in inside.label


def test_a_range_wholly_outside_the_data_is_a_bounded_empty_view() -> None:
    before = Filters(range="custom", start=dt.date(1900, 1, 1), end=dt.date(1950, 6, 30),
                     compare="yoy")
    period = resolve_period(before, FIRST, LAST)
    assert period.end == dt.date(1950, 6, 30) and period.days <= EMPTY_MARGIN.days + 1
    assert period.compare_end is not None and period.compare_start is not None
    assert (period.compare_end - period.compare_start).days <= EMPTY_MARGIN.days
    assert "asked for 1 Jan 1900 – 30 Jun 1950" in period.label
    after = resolve_period(Filters(range="custom", start=dt.date(2150, 1, 1),
                                   end=dt.date(2200, 1, 1)), FIRST, LAST)
    assert after.start == dt.date(2150, 1, 1) and after.days <= EMPTY_MARGIN.days + 1
    # A short range outside the data is left as asked.
    short = Filters(range="custom", start=dt.date(2001, 4, 1), end=dt.date(2001, 4, 30))
    assert (resolve_period(short, FIRST, LAST).start, resolve_period(short, FIRST, LAST).end) \
        == (dt.date(2001, 4, 1), dt.date(2001, 4, 30))


def test_all_time_with_a_late_asof_stops_at_the_last_day_with_data() -> None:
    period = resolve_period(Filters(range="all", asof=dt.date(2200, 1, 1)), FIRST, LAST)
    assert (period.start, period.end) == (FIRST, LAST)
    # Presets of up to a year are never cut, even far from the data.
    late = resolve_period(Filters(range="12m", asof=dt.date(2200, 1, 1)), FIRST, LAST)
    assert late.days == 365 and late.end == dt.date(2200, 1, 1)
