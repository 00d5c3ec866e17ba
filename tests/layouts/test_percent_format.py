"""Percent axes label their ticks with the decimals a tick needs, and no percent reads
"−0.0%" (issue 12, item 8)."""
from __future__ import annotations

import json

import pandas as pd

from layouts import figures


def test_growth_hover_never_shows_minus_zero() -> None:
    trend = pd.DataFrame({"bucket": pd.date_range("2025-03-03", periods=4, freq="W-MON"),
                          "pop_growth": [None, -0.0004, 0.052, -0.1],
                          "yoy_growth": [0.00001, -0.00002, None, 0.2]})
    figure = figures.growth_figure(trend, "week")
    bars, line = figure["data"]
    assert bars["customdata"] == ["n/a", "0.0%", "+5.2%", "\u221210.0%"]
    assert line["customdata"] == ["0.0%", "0.0%", "n/a", "+20.0%"]
    assert "\u22120.0%" not in json.dumps(figure, ensure_ascii=False)
    assert figure["layout"]["yaxis"]["tickformat"] == figures.PERCENT_TICKS


def test_percent_axes_use_the_decimals_their_ticks_need() -> None:
    rates = pd.DataFrame({"category": ["Tea", "Mugs", "Gifts"],
                          "return_rate": [0.012, 0.027, 0.035]})
    figure = figures.ranked_bar_figure(rates, "category", "category", "GBP",
                                       value="return_rate", value_name="Return rate",
                                       unit="percent")
    # d3's "~%" trims only zeros: a tick at 1.5% reads "1.5%", one at 2% reads "2%" (".0%"
    # wrote both 1.5% and 2.5% as whole percents, under bars labelled "1.2%" and "3.5%").
    assert figure["layout"]["xaxis"]["tickformat"] == "~%"
    assert figure["data"][0]["text"] == ["3.5%", "2.7%", "1.2%"]
    assert figures.format_percent(-0.00004) == "0.0%"


def test_a_share_on_a_second_axis_is_ticked_in_quarters_of_its_own() -> None:
    """Left to plotly, the share axis of new vs returning took its tick places from the
    money axis it overlays and wrote them as 17.322835%, 34.64567%, …"""
    frame = pd.DataFrame({"bucket": pd.to_datetime(["2026-01-05", "2026-01-12"]),
                          "new": [1_234.5, 987.0], "old": [2_000.0, 3_100.0],
                          "share": [0.38, 0.24]})
    figure = figures.stacked_share_figure(
        frame, (("new", "New", figures.ACCENT), ("old", "Returning", figures.PRIMARY)),
        "share", "New customers' share", "USD")
    share_axis = figure["layout"]["yaxis2"]
    assert (share_axis["tickmode"], share_axis["tick0"], share_axis["dtick"]) \
        == ("linear", 0, 0.25)
    assert share_axis["tickformat"] == "~%" and list(share_axis["range"]) == [0, 1]
