"""Resolving a view's dates: presets against the data, as-of, comparisons, words."""
from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pandas as pd
import pytest

from services.filters import (
    CALENDAR_PRESETS,
    CUSTOM,
    EMPTY_MARGIN,
    PRESETS,
    Filters,
    Period,
    calendar_period,
    compared_day,
    comparison_name,
    describe_period,
    format_range,
    resolve_period,
)
from services.periods import bucket_starts
from services.trends import comparison_spans

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


# --- calendar presets and custom comparisons (issue 13 item 4) --------------------------------

AS_OF_DAYS = [
    dt.date(2011, 12, 9),   # a Friday inside a month
    dt.date(2011, 12, 5),   # a Monday: last week is the whole week before it
    dt.date(2011, 12, 4),   # a Sunday: last week is not the week it ends
    dt.date(2011, 10, 1),   # first day of a quarter (and a month, a Saturday)
    dt.date(2011, 9, 30),   # last day of a quarter
    dt.date(2011, 1, 1),    # first day of a year: last month/quarter/year are in 2010
    dt.date(2011, 3, 1),    # after a February
    dt.date(2012, 3, 1),    # after a leap February
]
PANDAS_PERIODS = {"lastweek": "W-SUN", "lastmonth": "M", "lastquarter": "Q", "lastyear": "Y"}


def pandas_calendar_dates(preset: str, asof: dt.date) -> tuple[dt.date, dt.date]:
    """The preset's dates from pandas' own calendar periods: the one before asof's."""
    if preset in ("today", "yesterday"):
        day = (pd.Timestamp(asof) - pd.Timedelta(days=int(preset == "yesterday"))).date()
        return day, day
    before = pd.Timestamp(asof).to_period(PANDAS_PERIODS[preset]) - 1
    return before.start_time.date(), before.end_time.date()


@pytest.mark.parametrize("asof", AS_OF_DAYS, ids=str)
@pytest.mark.parametrize("preset", CALENDAR_PRESETS)
def test_calendar_presets_are_the_calendar_period_before_the_asof_date(
        preset: str, asof: dt.date) -> None:
    expected = pandas_calendar_dates(preset, asof)
    assert calendar_period(preset, asof) == expected
    period = resolve_period(Filters(range=preset, asof=asof), FIRST, LAST)
    assert (period.start, period.end) == expected
    # The previous period is the range's length earlier, as for every range.
    assert period.compare_end == expected[0] - dt.timedelta(days=1)
    assert period.label.startswith(f"{PRESETS[preset]} (")


def test_calendar_presets_count_from_the_last_day_with_data_by_default() -> None:
    period = resolve_period(Filters(range="lastmonth", compare="none"), FIRST, LAST)
    assert (period.start, period.end) == (dt.date(2011, 11, 1), dt.date(2011, 11, 30))
    assert period.label == "Last month (1–30 Nov 2011)"
    today = resolve_period(Filters(range="today", compare="none"), FIRST, LAST)
    assert (today.start, today.end, today.label) == (LAST, LAST, "Today (9 Dec 2011)")


def test_legends_name_a_custom_comparison_by_its_dates() -> None:
    custom = Filters(compare=CUSTOM, compare_from=dt.date(2011, 1, 1),
                     compare_to=dt.date(2011, 1, 31))
    assert comparison_name(custom) == "1–31 Jan 2011"
    assert comparison_name(Filters(compare="yoy")) == "Same period last year"
    assert comparison_name(Filters(compare="none")) is None


def test_a_custom_comparison_uses_its_own_dates_and_says_how_it_differs() -> None:
    april = Filters(range="custom", start=dt.date(2011, 4, 1), end=dt.date(2011, 4, 30),
                    compare=CUSTOM, compare_from=dt.date(2011, 1, 1),
                    compare_to=dt.date(2011, 1, 31))
    period = resolve_period(april, FIRST, LAST)
    assert (period.compare_start, period.compare_end) == (dt.date(2011, 1, 1),
                                                          dt.date(2011, 1, 31))
    assert period.comparison == (dt.date(2011, 1, 1), dt.date(2011, 1, 31))
    assert period.compare_note == "the comparison has 31 days, the range 30 days"
    assert period.label == ("1–30 Apr 2011 vs 1–31 Jan 2011 "
                            "(the comparison has 31 days, the range 30 days)")
    # Day d of the range meets the day as far from cfrom as d is from the range's start.
    assert compared_day(dt.date(2011, 4, 10), april, period) == dt.date(2011, 1, 10)
    same = replace(april, compare_to=dt.date(2011, 1, 30))
    assert resolve_period(same, FIRST, LAST).compare_note is None


def test_a_custom_comparison_before_the_data_or_overlapping_the_range_says_so() -> None:
    early = Filters(range="custom", start=dt.date(2011, 4, 1), end=dt.date(2011, 4, 30),
                    compare=CUSTOM, compare_from=dt.date(2010, 11, 1),
                    compare_to=dt.date(2010, 11, 30))
    period = resolve_period(early, FIRST, LAST)
    assert period.comparison is None and "before the first sale" in (period.compare_note or "")
    later = replace(early, compare_from=dt.date(2011, 4, 20), compare_to=dt.date(2011, 5, 19))
    assert "overlaps the range" in (resolve_period(later, FIRST, LAST).compare_note or "")
    # However wide the request, the comparison is cut to the data give or take a margin.
    huge = replace(early, compare_from=dt.date(1900, 1, 1), compare_to=dt.date(2200, 1, 30))
    clamped = resolve_period(huge, FIRST, LAST)
    assert (clamped.compare_start, clamped.compare_end) == (FIRST - EMPTY_MARGIN,
                                                            LAST + EMPTY_MARGIN)
    assert "asked for 1 Jan 1900 – 30 Jan 2200" in (clamped.compare_note or "")


def test_the_period_keeps_the_last_day_with_data_through_its_dict_form() -> None:
    period = resolve_period(Filters(), FIRST, LAST)
    assert period.last_data == LAST
    assert Period.from_dict(period.as_dict()) == period


@pytest.mark.parametrize("grain", ["day", "week", "month"])
@pytest.mark.parametrize("compare_days", [10, 43, 100])
def test_custom_comparison_spans_are_contiguous_and_cover_its_dates_exactly(
        grain: str, compare_days: int) -> None:
    start, end = dt.date(2011, 5, 4), dt.date(2011, 6, 15)  # 43 days, Wednesday to Wednesday
    cfrom = dt.date(2011, 1, 10)
    filters = Filters(range="custom", start=start, end=end, grain=grain, compare=CUSTOM,
                      compare_from=cfrom, compare_to=cfrom + dt.timedelta(days=compare_days - 1))
    period = resolve_period(filters, FIRST, LAST)
    buckets = bucket_starts(period.start, period.end, grain)
    spans = comparison_spans(buckets, filters, period)
    assert len(spans) == len(buckets)
    covered = [span for span in spans if span[0] <= span[1]]
    assert covered[0][0] == cfrom and covered[-1][1] == filters.compare_to
    for (_, last), (first, _) in zip(covered, covered[1:], strict=False):
        assert first == last + dt.timedelta(days=1)
    # The bucket's first day meets its own offset from cfrom (until the comparison ends).
    for bucket, (first, _last) in zip(buckets, covered, strict=False):
        assert (first - cfrom) == (max(bucket, start) - start)
