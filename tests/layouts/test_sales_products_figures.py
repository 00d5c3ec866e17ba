"""The Sales and Products figure builders: what they draw from small frames."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from layouts import figures

DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def test_ranked_bars_can_show_units_or_percentages() -> None:
    frame = pd.DataFrame({"sku": ["A", "B"], "label": ["A", "B"], "units": [30, 10],
                          "rate": [0.25, 0.05]})
    units = figures.ranked_bar_figure(frame, "label", "sku", "GBP", value="units",
                                      value_name="Units sold", unit="number")
    (bars,) = units["data"]
    assert bars["text"] == ["10", "30"] and bars["name"] == "Units sold"
    rates = figures.ranked_bar_figure(frame, "label", "sku", "GBP", value="rate", unit="percent")
    assert rates["data"][0]["text"] == ["5.0%", "25.0%"]
    assert rates["layout"]["xaxis"]["tickformat"] == figures.PERCENT_TICKS  # "2.5%", not "3%"


def test_metric_trend_and_growth() -> None:
    days = [dt.date(2026, 1, 5) + dt.timedelta(weeks=i) for i in range(4)]
    trend = pd.DataFrame({"bucket": days, "value": [10.0, 12, 9, 0],
                          "compare_bucket": [None] * 4, "compare_value": [np.nan] * 4,
                          "rolling_3": [np.nan] * 4, "rolling_7": [np.nan] * 4,
                          "rolling_30": [np.nan] * 4, "pop_growth": [np.nan, 0.2, -0.25, np.nan],
                          "yoy_growth": [np.nan] * 4})
    figure = figures.metric_trend_figure(trend, "week", (7,), "Orders", "number", "GBP",
                                         "Previous period")
    assert [trace["name"] for trace in figure["data"]] == ["Orders"]  # nothing to overlay
    growth = figures.growth_figure(trend, "week")
    assert [trace["name"] for trace in growth["data"]] == ["Week over week"]
    assert growth["data"][0]["marker"]["color"] == [figures.POSITIVE, figures.POSITIVE,
                                                    figures.NEGATIVE, figures.POSITIVE]


def test_weekday_bars_highlight_the_best_days_and_the_heatmap_has_every_cell() -> None:
    weekdays = pd.DataFrame({"day": DAYS, "per_day": [1.0, 2, 3, 4, 5, 6, 6]})
    figure = figures.weekday_figure(weekdays, "per_day", "Net revenue per day", "money", "GBP",
                                    ["Saturday", "Sunday"])
    (bars,) = figure["data"]
    assert bars["x"] == ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    assert bars["marker"]["color"][-2:] == [figures.ACCENT, figures.ACCENT]
    cells = pd.DataFrame([{"weekday": d, "day": DAYS[d], "hour": h, "orders": d * h}
                          for d in range(7) for h in range(24)])
    heat = figures.heatmap_figure(cells, "orders", "Orders", "number", "GBP")
    assert np.asarray(heat["data"][0]["z"]).shape == (7, 24)
    assert heat["data"][0]["y"] == DAYS


def test_share_donut_and_price_margin_carry_their_keys() -> None:
    shares = pd.DataFrame({"category": ["Toys", "Books"], "net_revenue": [30.0, 10.0]})
    donut = figures.share_figure(shares, "category", "category", "EUR", selected=["Books"])
    assert donut["data"][0]["customdata"] == ["Toys", "Books"]
    assert donut["data"][0]["marker"]["colors"][1] == figures.ACCENT
    assert donut["layout"]["legend"]["orientation"] == "v"
    points = pd.DataFrame({"sku": ["A", "B"], "name": ["a", "b"], "category": ["X", "Y"],
                           "avg_price": [10.0, 20.0], "margin": [0.5, 0.2],
                           "net_revenue": [100.0, 0.0]})
    scatter = figures.price_margin_figure(points, "EUR")
    assert [trace["name"] for trace in scatter["data"]] == ["X", "Y"]
    assert scatter["data"][0]["customdata"][0][0] == "A"  # the click key comes first


def test_the_other_slice_is_grey_and_carries_no_filter_key() -> None:
    """"Other" is the rest of the shares, not something to filter by (its key is missing:
    pandas turns the service's None into NaN in a text column)."""
    shares = pd.DataFrame({"category": ["Toys", "Books", "Other"],
                           "key": ["Toys", "Books", None], "net_revenue": [30.0, 10.0, 5.0]})
    (donut,) = figures.share_figure(shares, "category", "key", "EUR")["data"]
    assert donut["customdata"] == ["Toys", "Books", None]
    assert donut["marker"]["colors"][-1] == figures.COMPARISON
    assert figures.COMPARISON not in donut["marker"]["colors"][:-1]
