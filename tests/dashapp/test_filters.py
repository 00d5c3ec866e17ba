"""The filter model and its URL form: round trips, invalid input, date resolution."""
from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dashapp.filters import View, drop_unknown, parse_query, to_query, view_query
from services.filters import (
    COMPARES,
    CUSTOM,
    GRAINS,
    PRESETS,
    REFRESHES,
    Filters,
    ParamSpec,
)

ROLL = ParamSpec("roll", default="7", choices=("none", "3", "7", "30", "all"))
slugs = st.from_regex(r"[a-z0-9][a-z0-9-]{0,12}", fullmatch=True)
texts = st.text(st.characters(codec="utf-8", categories=("L", "N", "P", "Zs")),
                min_size=1, max_size=20).map(str.strip).filter(bool)
days = st.dates(dt.date(2000, 1, 1), dt.date(2100, 12, 31))


@st.composite
def any_filters(draw: st.DrawFn) -> Filters:
    custom = draw(st.booleans())
    start, end = sorted([draw(days), draw(days)])
    compare = draw(st.sampled_from(list(COMPARES)))
    compare_from, compare_to = sorted([draw(days), draw(days)]) if compare == CUSTOM \
        else (None, None)
    return Filters(
        range="custom" if custom else draw(st.sampled_from(list(PRESETS))),
        start=start if custom else None,
        end=end if custom else None,
        asof=draw(st.none() | days),
        platforms=tuple(dict.fromkeys(draw(st.lists(slugs, max_size=4)))),
        products=tuple(dict.fromkeys(draw(st.lists(texts, max_size=4)))),
        categories=tuple(dict.fromkeys(draw(st.lists(texts, max_size=3)))),
        grain=draw(st.sampled_from(list(GRAINS))),
        compare=compare,
        compare_from=compare_from,
        compare_to=compare_to,
    )


@given(any_filters(), st.sampled_from(ROLL.choices), st.sampled_from(["", *REFRESHES]))
def test_every_parameter_survives_a_url_round_trip(filters: Filters, roll: str,
                                                   refresh: str) -> None:
    query = view_query(View(filters, {"roll": roll}, refresh=refresh), [ROLL])
    view = parse_query(query, [ROLL])
    assert view.notices == ()
    assert view.filters == filters
    assert view.page == {"roll": roll}
    assert view.refresh == refresh


def test_url_is_readable_and_canonical() -> None:
    filters = Filters(range="30d", platforms=("instagram", "online-store"), products=("85123A",),
                      grain="week", compare="prev")
    assert to_query(filters) == ("range=30d&platform=instagram&platform=online-store"
                                 "&product=85123A&grain=week&compare=prev")
    custom = Filters(range="custom", start=dt.date(2011, 4, 1), end=dt.date(2011, 4, 30))
    assert to_query(custom) == "from=2011-04-01&to=2011-04-30&grain=day&compare=prev"


def test_default_page_choice_is_left_out_of_the_url() -> None:
    assert "roll" not in to_query(Filters(), {"roll": "7"}, [ROLL])
    assert "roll=30" in to_query(Filters(), {"roll": "30"}, [ROLL])


@pytest.mark.parametrize("query, expected_notice", [
    ("range=45d", "range"),
    ("grain=hour", "grain"),
    ("compare=lastweek", "compare"),
    ("platform=Not%20A%20Slug!", "platform"),
    ("from=2011-04-31&to=2011-05-01", "custom dates"),
    ("from=2011-05-01&to=2011-04-01", "after"),
    ("from=2011-05-01", "both from and to"),
    ("asof=yesterday", "asof"),
    ("utm_source=mail", "unknown parameter"),
    ("roll=14", "roll"),
    ("range=custom", "custom"),
    ("cfrom=2011-04-01", "both cfrom and cto"),
    ("cto=2011-04-01", "both cfrom and cto"),
    ("cfrom=2011-04-31&cto=2011-05-01", "comparison dates"),
    ("cfrom=2011-05-01&cto=2011-04-01", "after cto"),
    ("compare=custom", "needs valid cfrom and cto"),
    ("refresh=2m", "refresh"),
])
def test_invalid_parameters_are_dropped_with_a_notice(query: str, expected_notice: str) -> None:
    view = parse_query(query, [ROLL])
    assert any(expected_notice in notice for notice in view.notices), view.notices
    default = parse_query("", [ROLL])
    # What was invalid falls back to the default; nothing else changes.
    assert view.filters.grain == default.filters.grain
    assert view.filters.compare == default.filters.compare
    assert view.filters.range in ("30d",)
    assert view.filters.platforms == ()
    assert view.page == {"roll": "7"}


def test_valid_parts_survive_next_to_invalid_ones() -> None:
    view = parse_query("range=90d&platform=instagram&platform=BAD!&grain=fortnight", [ROLL])
    assert view.filters.range == "90d"
    assert view.filters.platforms == ("instagram",)
    assert view.filters.grain == "day"
    assert len(view.notices) == 2


def test_custom_dates_win_over_a_preset_and_say_so() -> None:
    view = parse_query("range=7d&from=2011-01-01&to=2011-01-31")
    assert (view.filters.range, view.filters.start, view.filters.end) == \
        ("custom", dt.date(2011, 1, 1), dt.date(2011, 1, 31))
    assert any("range=7d" in notice for notice in view.notices)


def test_drop_unknown_removes_values_that_do_not_exist() -> None:
    filters = Filters(platforms=("instagram", "amazon"), products=("A1", "ZZ"),
                      categories=("Toys",))
    cleaned, notices = drop_unknown(filters, ["instagram"], ["A1"], [])
    assert (cleaned.platforms, cleaned.products, cleaned.categories) == \
        (("instagram",), ("A1",), ())
    assert len(notices) == 3 and "amazon" in notices[0]


@pytest.mark.parametrize("day", ["0100-01-01", "1899-12-31", "2201-01-01", "9999-12-31"])
def test_dates_outside_1900_to_2200_are_refused(day: str) -> None:
    view = parse_query(f"from={day}&to=2011-01-31")
    assert view.filters.range != "custom" and view.filters.start is None
    assert any("custom dates" in notice for notice in view.notices)
    assert parse_query(f"asof={day}").filters.asof is None


def test_a_custom_comparison_is_written_as_cfrom_and_cto_in_place_of_compare() -> None:
    custom = Filters(compare=CUSTOM, compare_from=dt.date(2011, 3, 1),
                     compare_to=dt.date(2011, 3, 31))
    assert to_query(custom) == "range=30d&grain=day&cfrom=2011-03-01&cto=2011-03-31"
    # Without its dates a custom comparison is not a view: the default is written.
    assert to_query(Filters(compare=CUSTOM)) == "range=30d&grain=day&compare=prev"
    view = parse_query("compare=yoy&cfrom=2011-03-01&cto=2011-03-31")
    assert view.filters == custom
    assert any("compare=yoy" in notice for notice in view.notices)


def test_refresh_is_a_setting_of_the_view_not_a_filter() -> None:
    view = parse_query("range=today&refresh=5m")
    assert view.refresh == "5m" and view.filters == Filters(range="today")
    assert view_query(view) == "range=today&grain=day&compare=prev&refresh=5m"
    assert "refresh" not in to_query(view.filters)
