"""The URL <-> controls sync, called as plain functions inside a logged-in request."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import replace

import pytest
from dash import no_update
from dash._callback_context import context_value
from dash._utils import AttributeDict
from flask import Flask
from flask_login import current_user

from callbacks.common import cached_output
from callbacks.shell import (
    Controls,
    _clicked,
    apply_cross_filter,
    refresh_of,
    search_without_chip,
    sync_view,
    timer_outputs,
    view_store,
    with_control_change,
)
from layouts import shell
from services.filters import Filters, resolve_period
from tests.conftest import ADMIN, ANALYST, LIMITED, callback_request

NO_CONTROLS = Controls(None, None, None, None, None, None, None, None)


@pytest.fixture
def as_user(app: Flask) -> Iterator[None]:
    """A request context with the platform-limited analyst logged in."""
    with callback_request(app, LIMITED):
        yield


def test_a_control_change_applies_only_that_control() -> None:
    url_filters = Filters(range="90d", platforms=("instagram",), grain="week", compare="yoy")
    controls = Controls("7d", "2020-01-01", "2020-01-31", ["amazon"], [], [], "day", "none")
    changed = with_control_change(url_filters, controls, shell.PLATFORM)
    assert changed == Filters(range="90d", platforms=("amazon",), grain="week", compare="yoy")
    assert with_control_change(url_filters, controls, shell.GRAIN).grain == "day"
    assert with_control_change(url_filters, controls, shell.RANGE).range == "7d"


def test_editing_the_dates_switches_to_a_custom_range_and_a_preset_clears_it() -> None:
    controls = Controls("30d", "2011-04-01", "2011-04-30", None, None, None, None, None)
    custom = with_control_change(Filters(), controls, shell.DATES)
    assert (custom.range, custom.start, custom.end) == \
        ("custom", dt.date(2011, 4, 1), dt.date(2011, 4, 30))
    preset = with_control_change(custom, Controls("ytd", *[None] * 7), shell.RANGE)
    assert (preset.range, preset.start, preset.end) == ("ytd", None, None)
    backwards = Controls("30d", "2011-04-30", "2011-04-01", None, None, None, None, None)
    assert with_control_change(Filters(), backwards, shell.DATES) == Filters()


def test_cross_filter_selects_a_bar_and_a_second_click_clears_it() -> None:
    chosen = apply_cross_filter(Filters(platforms=("amazon", "ebay")), "platform", "instagram")
    assert chosen.platforms == ("instagram",)
    assert apply_cross_filter(chosen, "platform", "instagram").platforms == ()
    assert apply_cross_filter(Filters(), "category", "Toys").categories == ("Toys",)


def test_clicked_reads_the_key_of_the_bar_that_fired() -> None:
    ids = [{"type": "xfilter", "dim": "platform", "chart": "a"},
           {"type": "xfilter", "dim": "product", "chart": "b"}]
    clicks = [{"points": [{"customdata": "instagram"}]},
              {"points": [{"customdata": ["85123A"]}]}]
    assert _clicked(clicks, ids, ids[1]) == ("product", "85123A")
    assert _clicked([None, None], ids, ids[0]) is None


def test_a_deep_link_with_bad_parts_is_cleaned_and_reported(as_user: None) -> None:
    page, view, period = sync_view("/", "?range=fortnight&platform=online-store&grain=week",
                                   NO_CONTROLS, {}, None, None)
    assert page is not None and page.path == "/"
    assert view.filters.platforms == ()  # not visible to an Instagram-only user
    assert view.filters.grain == "week" and view.filters.range == "30d"
    assert len(view.notices) == 2
    assert period.days == 30


def test_url_notices_survive_a_page_control_firing_during_mount(as_user: None) -> None:
    trigger = {"type": shell.PAGE_PARAM, "name": "roll"}
    _, view, _ = sync_view("/", "?range=fortnight&roll=30", NO_CONTROLS, {"roll": "30"}, None,
                           trigger)
    assert any("fortnight" in notice for notice in view.notices)
    assert view.page["roll"] == "30"


def test_unknown_page_path_has_no_page(as_user: None) -> None:
    page, view, _ = sync_view("/nowhere", "?range=7d", NO_CONTROLS, {}, None, None)
    assert page is None and view.filters.range == "7d"


def test_the_store_names_the_page_and_the_menu_links_query(as_user: None) -> None:
    page, view, period = sync_view("/forecasts/", "?range=30d&grain=week&h=30",
                                   NO_CONTROLS, {}, None, None)
    store = view_store("/forecasts/", page, view, period, 7)
    # The page's path whatever the address: the training request looks pages up by it.
    assert store["path"] == "/forecasts" and store["tick"] == 7
    # The menu's links keep the filters but not this page's own choices.
    assert store["nav"] == "range=30d&grain=week&compare=prev"
    assert "h=30" in store["query"]
    assert view_store("/nowhere", None, view, period, None)["path"] == "/nowhere"


def test_a_page_control_firing_during_mount_keeps_the_link_notice() -> None:
    from dash import no_update

    from callbacks.shell import notices_output

    roll = {"type": shell.PAGE_PARAM, "name": "roll"}
    assert notices_output([], roll) is no_update
    assert notices_output(["Ignored x"], roll) is not None
    assert notices_output([], shell.PLATFORM) is None  # a real filter change clears it
    assert notices_output([], None) is None


def test_a_cached_callback_output_is_never_shared_between_roles(app: Flask) -> None:
    """Admins and analysts both see every platform; what a panel draws may still differ by
    role, so one role's cached drawing is never served to the other."""
    def drawn_for(_store: dict) -> str:
        return f"drawn for {current_user.role}"

    cached = cached_output(drawn_for)
    store = {"path": "/", "query": "range=30d"}
    for email, role in ((ADMIN, "admin"), (ANALYST, "analyst"), (ADMIN, "admin")):
        with callback_request(app, email):
            context_value.set(AttributeDict(outputs_list=[]))  # as Dash sets it per request
            assert cached(store) == f"drawn for {role}"


# --- chips, the comparison picker and the refresh control (issue 13 items 4, 5 and 9) --------

def test_every_chip_removes_its_filter_and_only_it_through_the_url(app: Flask) -> None:
    import sqlalchemy as sa

    from dashapp.extensions import db
    from dashapp.filters import parse_query, view_query
    from layouts.pages import page_for
    from models import Product

    with callback_request(app, ADMIN):
        sku, category = db.session.execute(
            sa.select(Product.sku, Product.category).where(Product.category.is_not(None))
            .order_by(Product.sku).limit(1)).one()
        query = ("?from=2026-03-01&to=2026-03-31&asof=2026-06-30&platform=instagram"
                 f"&platform=amazon&category={category}&product={sku}"
                 "&grain=week&cfrom=2026-01-01&cto=2026-01-31&refresh=5m")
        _, view, period = sync_view("/", query, NO_CONTROLS, {}, None, None)
        assert view.notices == ()
        chips = shell.filter_chips(view.filters, period, view.refresh, {})
        assert [chip.field for chip in chips] == ["range", "asof", "platform", "platform",
                                                  "category", "product", "compare", "refresh"]
        for chip in chips:
            # The chip's × writes the URL without its filter; the sync then reads that URL.
            removed = search_without_chip("/", query, chip.field, chip.value)
            _, after, after_period = sync_view("/", removed, NO_CONTROLS, {}, None, shell.URL)
            left = shell.filter_chips(after.filters, after_period, after.refresh, {})
            assert [(c.field, c.value) for c in left] == \
                [(c.field, c.value) for c in chips if c != chip], chip
            # The new URL is the canonical form of the view, and reads back to it.
            params = page_for("/").params  # type: ignore[union-attr]
            again = parse_query(view_query(after, params), params)
            assert (again.filters, again.refresh, again.notices) == \
                (after.filters, after.refresh, ())
        # The comparison chip turns the comparison off; the range chip goes back to the default.
        _, no_compare, _ = sync_view("/", search_without_chip("/", query, "compare", ""),
                                     NO_CONTROLS, {}, None, shell.URL)
        assert no_compare.filters.compare == "none" and no_compare.filters.compare_from is None
        _, default_range, _ = sync_view("/", search_without_chip("/", query, "range", ""),
                                        NO_CONTROLS, {}, None, shell.URL)
        assert default_range.filters.range == "30d" and default_range.filters.start is None


def test_chips_name_platforms_and_products_and_a_custom_comparison_by_its_dates() -> None:
    filters = Filters(platforms=("amazon",), products=("A1",), compare="custom",
                      compare_from=dt.date(2011, 3, 1), compare_to=dt.date(2011, 3, 31))
    period = resolve_period(filters, dt.date(2010, 12, 1), dt.date(2011, 12, 9))
    names = {"platform": {"amazon": "Amazon"}, "product": {"A1": "Blue mug"}}
    labels = [chip.label for chip in shell.filter_chips(filters, period, "", names)]
    assert labels == ["Amazon", "A1 · Blue mug", "vs 1–31 Mar 2011"]
    assert shell.filter_summary(filters, period) == \
        "Last 30 days · 1 platform · 1 product · vs 1–31 Mar 2011"
    assert [chip.label for chip in shell.filter_chips(Filters(compare="none"), period, "1m",
                                                      {})] == ["refreshing every minute"]


def test_the_comparison_picker_and_the_refresh_control_change_the_view() -> None:
    picked = Controls("30d", None, None, None, None, None, None, "prev", "2011-01-01",
                      "2011-01-31", None)
    custom = with_control_change(Filters(), picked, shell.COMPARE_DATES)
    assert (custom.compare, custom.compare_from, custom.compare_to) == \
        ("custom", dt.date(2011, 1, 1), dt.date(2011, 1, 31))
    chosen = replace(picked, compare="custom")
    assert with_control_change(Filters(), chosen, shell.COMPARE) == custom
    back = with_control_change(custom, replace(picked, compare="yoy"), shell.COMPARE)
    assert (back.compare, back.compare_from) == ("yoy", None)
    assert refresh_of(replace(picked, refresh="15m"), "", shell.REFRESH) == "15m"
    assert refresh_of(replace(picked, refresh="off"), "5m", shell.REFRESH) == ""
    assert refresh_of(replace(picked, refresh="off"), "5m", shell.PLATFORM) == "5m"
    assert timer_outputs("5m", 60_000, True) == (300_000, False)
    assert timer_outputs("", 60_000, True) == (no_update, no_update)


def test_removing_a_chip_keeps_the_page_choices_and_the_other_filters() -> None:
    from dashapp.filters import parse_query
    from layouts.pages import page_for

    params = page_for("/pipeline").params  # type: ignore[union-attr]
    search = search_without_chip("/pipeline", "?range=90d&platform=instagram&platform=amazon"
                                 "&stage=proposal&sort=age_days", "platform", "instagram")
    view = parse_query(search, params)
    assert view.filters.platforms == ("amazon",) and view.filters.range == "90d"
    assert (view.page["stage"], view.page["sort"]) == ("proposal", "age_days")
