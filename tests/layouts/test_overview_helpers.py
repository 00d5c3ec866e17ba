"""Overview presentation helpers (layouts.overview): change badges, cost coverage notes, KPI
formats."""
from __future__ import annotations

from typing import Any

from layouts.overview import change_badge, cost_note, format_value, selection_note


def _classes(component: Any) -> list[str]:
    return [child.className for child in component.children if hasattr(child, "className")]


def test_more_returns_is_shown_as_bad_news_and_more_revenue_as_good() -> None:
    up = {"current": 120.0, "comparison": 100.0, "change": 0.2}
    assert _classes(change_badge("net_revenue", up, "prev", "GBP"))[0] == "change-up"
    assert _classes(change_badge("returns", up, "prev", "GBP"))[0] == "change-down"
    assert "+20.0%" in change_badge("net_revenue", up, "prev", "GBP").children[0].children


def test_margin_change_is_in_points() -> None:
    kpi = {"current": 0.45, "comparison": 0.40, "change": 0.05}
    assert change_badge("margin", kpi, "prev", "GBP").children[0].children == "▲ +5.0 pp"


def test_missing_comparison_says_so() -> None:
    kpi = {"current": 10.0, "comparison": 0.0, "change": None}
    assert "n/a" in change_badge("orders", kpi, "prev", "GBP").children
    assert change_badge("orders", kpi, "none", "GBP").children == "No comparison selected"


def test_cost_note_states_the_coverage_or_nothing_when_complete() -> None:
    assert cost_note(1.0) == ""
    assert "98.0%" in cost_note(0.98)
    assert "n/a" in cost_note(0.0)
    assert cost_note(None) == ""


def test_kpi_values_are_formatted_in_their_unit() -> None:
    assert format_value("net_revenue", 12_345_678.0, "GBP") == "£12.35M"
    assert format_value("aov", 23.456, "USD") == "$23.46"
    assert format_value("margin", 0.4567, "USD") == "45.7%"
    assert format_value("orders", 1234, "USD") == "1,234"
    assert format_value("gross_profit", None, "USD") == "n/a"


def test_selection_note_explains_how_to_clear_a_cross_filter() -> None:
    assert selection_note((), "platform") == ""
    assert "click its bar again" in selection_note(("instagram",), "platform")


def test_every_rolling_choice_maps_to_windows() -> None:
    from layouts.overview import ROLL_CHOICES, rolling_windows

    assert {choice: rolling_windows(choice) for choice in ROLL_CHOICES} == {
        "none": (), "3": (3,), "7": (7,), "30": (30,), "all": (3, 7, 30)}
