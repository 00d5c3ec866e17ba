"""Money axes read as the house writes money: "−$2k", never plotly's "$−2k" (its tick prefix
goes before the sign), on every chart with a money axis."""
from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from layouts import figures

DAYS = [dt.date(2026, 1, 1) + dt.timedelta(days=i) for i in range(4)]
NET = [1200.0, -2300.0, 800.0, -150.0]  # a week of returns outweighing sales


def money_figures() -> dict[str, tuple[dict[str, Any], str, list[float]]]:
    """A figure of every builder with a money axis, its money axis and the values plotted
    on it, all with values below zero."""
    trend = pd.DataFrame({"bucket": DAYS, "net_revenue": NET,
                          "compare_bucket": [d.replace(year=2025) for d in DAYS],
                          "compare_net_revenue": [100.0, 200, np.nan, 50]})
    ranked = pd.DataFrame({"slug": ["a", "b", "c", "d"], "platform": list("ABCD"),
                           "net_revenue": NET})
    two = pd.DataFrame({"month": DAYS, "day": DAYS, "bucket": DAYS, "label": list("ABCD"),
                        "sales": [500.0, 900, 300, 100], "returns": [-700.0, -50, -900, 0],
                        "share": [0.1, 0.2, 0.3, 0.4]})
    series = [("sales", "Sales", "#000000"), ("returns", "Returns", "#999999")]
    # stacked: each row's positive and negative parts
    stacked = [*(two["sales"] + two["returns"].clip(lower=0)), *two["returns"]]
    forecast = pd.DataFrame({"bucket": DAYS, "forecast": [10.0, -20, 5, 0],
                             "lo95": [-900.0, -950, -800, -700], "hi95": [90.0, 80, 70, 60],
                             "lo80": [-500.0, -500, -500, -500], "hi80": [50.0, 50, 50, 50]})
    history = pd.DataFrame({"bucket": [dt.date(2025, 12, 31)], "actual": [40.0]})
    groups = pd.DataFrame({"group": ["x", "y", "z", "w"], "value": NET, "low": NET,
                           "high": [v + 500 for v in NET], "n": [30, 40, 50, 60],
                           "posts": [1, 2, 3, 4], "name": list("abcd")})
    markers = pd.DataFrame({"day": DAYS[:1], "group": ["Launch"], "text": ["Post"],
                            "key": ["p1"]})
    bins = pd.DataFrame({"low": [-400.0, 0, 400], "high": [0.0, 400, 800],
                         "customers": [3, 10, 4]})
    points = pd.DataFrame({"sku": ["A", "B"], "name": ["a", "b"], "category": ["X", "Y"],
                           "avg_price": [-12.0, 30.0], "margin": [0.1, 0.2],
                           "net_revenue": [-12.0, 60.0]})
    weekdays = pd.DataFrame({"day": ["Monday", "Tuesday", "Wednesday", "Thursday"],
                             "per_day": NET})
    return {
        "trend": (figures.trend_figure(trend, "day", (), "USD", "Last year"), "yaxis",
                  NET + [100.0, 200, 50]),
        "ranked bars": (figures.ranked_bar_figure(ranked, "platform", "slug", "USD"),
                        "xaxis", NET),
        "weekday": (figures.weekday_figure(weekdays, "per_day", "Net", "money", "USD"),
                    "yaxis", NET),
        "monthly bars": (figures.monthly_bars_figure(two, series, "USD"), "yaxis",
                         [*two["sales"], *two["returns"]]),
        "stacked share": (figures.stacked_share_figure(two, series, "share", "Share", "USD"),
                          "yaxis", stacked),
        "stacked bars": (figures.stacked_bar_figure(two, "label", series, "USD"), "xaxis",
                         stacked),
        "daily lines": (figures.daily_lines_figure(two, series, "USD"), "yaxis",
                        [*two["sales"], *two["returns"]]),
        "timeline": (figures.timeline_markers_figure(
            pd.DataFrame({"day": DAYS, "net_revenue": NET}), markers, "group", "text", "USD"),
            "yaxis", NET),
        "forecast": (figures.forecast_figure(history, forecast, "Net revenue", "money", "USD",
                                             "Forecast"), "yaxis", [-950.0, 90.0, 40.0]),
        "interval bars": (figures.interval_bar_figure(groups, "group", "value", "low", "high",
                                                      "n", "money", "USD"), "yaxis",
                          [*groups["low"], *groups["high"]]),
        "scatter": (figures.grouped_scatter_figure(groups, "posts", "value", "group", "name",
                                                   "Posts", "Revenue", "money", "USD"),
                    "yaxis", NET),
        "histogram": (figures.histogram_figure(bins, "USD"), "xaxis", [-400.0, 800.0]),
        "price and margin": (figures.price_margin_figure(points, "USD"), "xaxis",
                             [-12.0, 30.0]),
    }


@pytest.mark.parametrize("name", list(money_figures()))
def test_a_money_axis_with_negatives_puts_the_sign_before_the_symbol(name: str) -> None:
    figure, axis_name, values = money_figures()[name]
    go.Figure(figure)  # plotly's schema accepts the ticks
    axis = figure["layout"][axis_name]
    assert "tickprefix" not in axis and axis["tickmode"] == "array"
    ticks, texts = axis["tickvals"], axis["ticktext"]
    assert min(ticks) <= min(values) and max(ticks) >= max(values)  # the whole range ticked
    assert 0 in ticks and ticks == sorted(ticks)
    for tick, text in zip(ticks, texts, strict=True):
        assert "$" + figures.MINUS not in text and "$-" not in text
        assert text.startswith(figures.MINUS + "$") == (tick < 0)


def test_money_ticks_are_written_as_the_house_writes_money() -> None:
    figure = figures.weekday_figure(
        pd.DataFrame({"day": ["Monday", "Tuesday"], "per_day": [-2000.0, 9000.0]}),
        "per_day", "Net", "money", "GBP")
    axis = figure["layout"]["yaxis"]
    assert axis["tickvals"] == [-2000.0, 0.0, 2000.0, 4000.0, 6000.0, 8000.0, 10000.0]
    assert axis["ticktext"] == ["−£2k", "£0", "£2k", "£4k", "£6k", "£8k", "£10k"]
    quarter = figures.weekday_figure(
        pd.DataFrame({"day": ["Monday", "Tuesday"], "per_day": [-5000.0, 8000.0]}),
        "per_day", "Net", "money", "USD")["layout"]["yaxis"]
    assert quarter["ticktext"] == ["−$5k", "−$2.5k", "$0", "$2.5k", "$5k", "$7.5k", "$10k"]
    small = figures.weekday_figure(pd.DataFrame({"day": ["Monday"], "per_day": [-400.0]}),
                                   "per_day", "Net", "money", "GBP")["layout"]["yaxis"]
    assert small["ticktext"] == ["−£400", "−£300", "−£200", "−£100", "£0"]
    assert [figures.money_tick(v, "EUR") for v in (-1_500_000, -0.5, 0, 2_000_000)] == [
        "−€1.5M", "−€0.5", "€0", "€2M"]


def test_a_money_axis_without_negatives_keeps_plotlys_own_ticks() -> None:
    figure = figures.weekday_figure(pd.DataFrame({"day": ["Monday"], "per_day": [40.0]}),
                                    "per_day", "Net", "money", "GBP")
    assert figure["layout"]["yaxis"]["tickprefix"] == "£"  # they follow a zoom
    assert "tickvals" not in figure["layout"]["yaxis"]


def test_the_map_colour_bar_is_ticked_alike() -> None:
    countries = pd.DataFrame({"country": ["France", "Spain"], "key": ["FR", "ES"],
                              "net_revenue": [-2300.0, 1200.0]})
    bar = figures.country_map_figure(countries, "country", "key", "USD")["data"][0]["colorbar"]
    assert "tickprefix" not in bar and bar["tickvals"][0] <= -2300 <= bar["tickvals"][1]
    assert bar["ticktext"][:2] == ["−$3k", "−$2k"]
