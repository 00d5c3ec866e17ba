"""Readable charts (issue 13, item 3): labels that never shrink or turn, unified hover with
both periods' dates alike, titled colour bars from zero, marked off-axis bars, readable log
ticks, and one colour per platform or category in every chart."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from layouts import figures
from tests.layouts.test_figures import DAY_NAMES, every_figure, platform_frame


def labelled_figures() -> dict[str, dict]:
    """Every builder that writes labels on bars, slices or funnel steps."""
    origins = pd.DataFrame({"test_start": [dt.date(2026, 1, 1), dt.date(2026, 2, 1)],
                            "test_end": [dt.date(2026, 1, 31), dt.date(2026, 2, 28)],
                            "model_mape": [0.2, 0.3], "baseline_mape": [0.25, 0.35]})
    seasonal = pd.DataFrame({"name": DAY_NAMES, "index": [0.8, 0.9, 1.0, 1.1, 1.2, 1.3, 0.7]})
    shown = every_figure()
    return {name: shown[name] for name in ("ranked bars", "weekday", "donut")} | {
        "backtest": figures.backtest_figure(origins),
        "seasonality": figures.index_figure(seasonal, "name"),
        "funnel": figures.funnel_figure(["Visits", "Carts", "Orders"], [100.0, 40, 5],
                                        ["visit", "cart", "order"], "Sessions"),
    }


@pytest.mark.parametrize("name", list(labelled_figures()))
def test_labels_stay_upright_and_are_hidden_rather_than_shrunk(name: str) -> None:
    figure = labelled_figures()[name]
    go.Figure(figure)  # valid plotly
    layout = figure["layout"]
    assert layout["uniformtext"] == {"minsize": figures.READABLE_TEXT, "mode": "hide"}
    assert figures.READABLE_TEXT >= 10
    for trace in figure["data"]:
        if not (trace.get("text") or trace.get("texttemplate")):
            continue
        if trace["type"] == "pie":
            assert trace["insidetextorientation"] == "horizontal"
            continue
        if trace["type"] == "scatter":  # values written past thin bars (beside a comparison)
            assert trace["mode"] == "text" and trace["textfont"]["size"] >= figures.READABLE_TEXT
            continue
        assert trace["textangle"] == 0, "a label never turns sideways"
        assert trace["textposition"] in ("auto", "outside")  # outside when the bar is short
        if trace["type"] == "bar" and trace.get("orientation") == "h":
            assert layout["xaxis"]["tickangle"] == 0  # its value ticks too
        if trace["type"] == "bar":
            # Outside the bar a label keeps its size: plotly's default squeezes it to the
            # width of a narrow bar.
            assert trace["constraintext"] == "inside"


def test_bars_beside_their_comparison_have_their_values_written_past_their_ends() -> None:
    frame = platform_frame(True).assign(net_revenue=[300.0, -20.0, 50.0])
    comparison, current, values = figures.ranked_bar_figure(
        frame, "platform", "slug", "GBP", compare=True)["data"]
    assert "text" not in current and "text" not in comparison  # plotly would squeeze them
    assert values["offsetgroup"] == current["offsetgroup"] != comparison["offsetgroup"]
    assert values["x"] == current["x"] and values["y"] == current["y"]
    assert values["text"] == ["£50.00", "\u2212£20.00", "£300"]
    assert values["textposition"] == ["middle right", "middle left", "middle right"]
    assert values["customdata"] == current["customdata"]  # a click on a value filters too


def test_notes_on_bars_without_an_estimate_are_upright() -> None:
    groups = pd.DataFrame({"group": ["Reel", "Photo"], "lift_pct": [0.1, np.nan],
                           "pct_low": [0.0, np.nan], "pct_high": [0.2, np.nan], "posts": [9, 1]})
    figure = figures.interval_bar_figure(groups, "group", "lift_pct", "pct_low", "pct_high",
                                         "posts")
    (note,) = figure["layout"]["annotations"]
    assert "textangle" not in note and note["text"] == "not<br>enough<br>posts"


def trend(days: int = 10, grain: str = "day") -> pd.DataFrame:
    """A metric per bucket with its comparison a year (364 days) earlier and a zero base."""
    buckets = pd.date_range("2026-03-02", periods=days, freq={"day": "D", "week": "W-MON",
                                                             "month": "MS"}[grain])
    values = np.arange(1.0, days + 1) * 100
    compare = values * 0.8
    compare[1] = 0.0  # nothing to compare with: the change is n/a, not infinite
    return pd.DataFrame({"bucket": [b.date() for b in buckets], "value": values,
                         "compare_bucket": [(b - pd.Timedelta(days=364)).date() for b in buckets],
                         "compare_value": compare, "rolling_7": values})


@pytest.mark.parametrize("grain", ["day", "week", "month"])
def test_a_trend_has_one_hover_per_bucket_with_both_dates_alike_and_the_change(
        grain: str) -> None:
    frame = trend(grain=grain)
    figure = figures.metric_trend_figure(frame, grain, (7,) if grain == "day" else (),
                                         "Net revenue", "money", "GBP", "Last year")
    go.Figure(figure)
    layout = figure["layout"]
    assert layout["hovermode"] == "x unified"
    date_format = layout["xaxis"]["hoverformat"]  # the hover's title: the current bucket
    current, comparison = figure["data"][:2]
    # The comparison's own dates in the very format of the title.
    assert comparison["customdata"] == [day.strftime(date_format)
                                        for day in frame["compare_bucket"]]
    assert "%{customdata}" in comparison["hovertemplate"]
    # The change against the comparison, as the KPI cards write it.
    expected = [figures.format_percent(now / then - 1, signed=True) if then else "n/a"
                for now, then in zip(frame["value"], frame["compare_value"], strict=True)]
    assert current["customdata"] == expected
    # The title already says the date: no trace repeats it in another format.
    assert not any("%{x" in trace["hovertemplate"] for trace in figure["data"])


def test_a_rate_changes_in_points() -> None:
    frame = trend().assign(value=0.30, compare_value=0.25)
    figure = figures.metric_trend_figure(frame, "day", (), "Conversion", "percent", "", "Before")
    assert figure["data"][0]["customdata"][0] == "+5.0 pp"


def heat_cells(values: list[float]) -> pd.DataFrame:
    """One value per weekday × hour, cycling through `values`."""
    return pd.DataFrame([{"weekday": d, "day": DAY_NAMES[d], "hour": h,
                          "value": values[(d * 24 + h) % len(values)], "posts": 3}
                         for d in range(7) for h in range(24)])


def test_heatmap_colour_bars_are_titled_and_start_at_zero() -> None:
    money = figures.heatmap_figure(heat_cells([40.0, 90, 120]), "value", "Net revenue",
                                   "money", "GBP")
    (heat,) = money["data"]
    assert heat["colorbar"]["title"]["text"] == "Net revenue (£)"
    assert heat["zmin"] == 0  # plotly would start at the smallest cell (40)
    counts = figures.heatmap_figure(heat_cells([1.0, 5]), "value", "Orders", "number", "GBP")
    assert counts["data"][0]["colorbar"]["title"]["text"] == "Orders"
    assert counts["data"][0]["zmin"] == 0
    # Money below zero (an hour of refunds) starts the scale there, not lower.
    refunds = figures.heatmap_figure(heat_cells([-30.0, 90, 120]), "value", "Net revenue",
                                     "money", "GBP")
    assert refunds["data"][0]["zmin"] == -30 and "zmid" not in refunds["data"][0]
    # A share with negatives (a lift) diverges at zero instead.
    lift = figures.heatmap_figure(heat_cells([-0.2, 0.1, 0.4]), "value", "Lift", "percent", "")
    assert lift["data"][0]["zmid"] == 0 and "zmin" not in lift["data"][0]
    assert lift["data"][0]["colorbar"]["title"]["text"] == "Lift (%)"
    cohort = every_cohort()
    assert cohort["data"][0]["colorbar"]["title"]["text"] == "Retention (%)"
    for figure in (money, counts, lift, cohort):
        go.Figure(figure)


def every_cohort() -> dict:
    """A two-cohort retention heatmap."""
    cells = pd.DataFrame({"cohort": [dt.date(2026, 1, 1)] * 2 + [dt.date(2026, 2, 1)],
                          "age": [0, 1, 0], "share": [1.0, 0.4, 1.0], "small": [False] * 3,
                          "cohort_size": [10, 10, 8], "active": [10, 4, 8]})
    return figures.cohort_figure(cells, "share", "Retention", "small cohort")


def test_a_slot_heatmap_with_no_cell_to_show_says_so() -> None:
    blank = heat_cells([np.nan])
    figure = figures.heatmap_counts_figure(blank, "value", "posts", "Lift", "percent", "")
    assert figure["data"] == [] and figure["layout"]["xaxis"]["visible"] is False
    assert "Too few posts" in figure["layout"]["annotations"][0]["text"]
    shown = figures.heatmap_counts_figure(heat_cells([np.nan, 0.2]), "value", "posts", "Lift",
                                          "percent", "")
    assert shown["data"][0]["type"] == "heatmap"


def test_growth_bars_past_the_axis_are_marked_with_their_value() -> None:
    days = pd.date_range("2026-01-05", periods=13, freq="W-MON")
    growth = pd.DataFrame({"bucket": days, "yoy_growth": np.nan,
                           "pop_growth": [*np.linspace(-0.2, 0.3, 11), 40.0, -0.99]})
    figure = figures.growth_figure(growth, "week")
    go.Figure(figure)
    low, high = figure["layout"]["yaxis"]["range"]
    beyond = growth.loc[(growth["pop_growth"] > high) | (growth["pop_growth"] < low)]
    assert not beyond.empty  # the freak ratio runs off the chart ...
    marks = figure["layout"]["annotations"]
    assert len(marks) == len(beyond)  # ... and each such bar is marked
    (up,) = [mark for mark in marks if mark["y"] == high]
    assert up["text"] == "▲ " + figures.format_percent(40.0, signed=True)
    assert up["x"] == days[11].isoformat()
    assert all(low <= value <= high for value in growth["pop_growth"].drop(beyond.index))
    ordinary = figures.growth_figure(growth.iloc[:11], "week")
    assert ordinary["layout"]["annotations"] == []


def test_a_log_axis_has_whole_readable_ticks() -> None:
    posts = pd.DataFrame({"engagement": [3.0, 40, 900, 25_000], "lift": [1.0, 2, 3, 4],
                          "type": ["Reel", "Photo", "Reel", "Photo"], "name": list("abcd")})
    figure = figures.grouped_scatter_figure(posts, "engagement", "lift", "type", "name",
                                            "Engagement", "Lift", x_log=True)
    go.Figure(figure)
    axis = figure["layout"]["xaxis"]
    assert axis["type"] == "log" and axis["tickvals"] == [1, 10, 100, 1000, 10_000, 100_000]
    assert axis["ticktext"] == ["1", "10", "100", "1k", "10k", "100k"]
    narrow = figures.grouped_scatter_figure(posts.assign(engagement=[30.0, 50, 120, 400]),
                                            "engagement", "lift", "type", "name", "E", "L",
                                            x_log=True)["layout"]["xaxis"]
    assert narrow["ticktext"][:6] == ["10", "20", "50", "100", "200", "500"]


PLATFORMS = ["online-store", "amazon", "tiktok", "ebay", "etsy", "instagram"]


def test_a_platform_has_one_colour_in_every_chart_whatever_the_order() -> None:
    donut = figures.share_figure(pd.DataFrame({
        "slug": PLATFORMS, "platform": [slug.title() for slug in PLATFORMS],
        "net_revenue": [6.0, 5, 4, 3, 2, 1]}), "platform", "slug", "GBP")
    in_donut = dict(zip(donut["data"][0]["customdata"], donut["data"][0]["marker"]["colors"],
                        strict=True))
    rates = pd.DataFrame([{"platform": slug.title(), "slug": slug, "step": step, "rate": 0.5}
                          for slug in reversed(PLATFORMS) for step in ("cart", "order")])
    bars = figures.grouped_rate_figure(rates, "platform", "slug", "step",
                                       [("cart", "Cart"), ("order", "Order")])
    in_bars = {trace["customdata"][0]: trace["marker"]["color"] for trace in bars["data"]}
    scatter = figures.grouped_scatter_figure(pd.DataFrame({
        "x": [1.0] * 3, "y": [1.0] * 3, "slug": PLATFORMS[3:], "name": ["a", "b", "c"]}),
        "x", "y", "slug", "name", "x", "y")
    in_scatter = {trace["name"]: trace["marker"]["color"] for trace in scatter["data"]}
    assert in_donut == in_bars
    assert all(in_donut[slug] == colour for slug, colour in in_scatter.items())
    assert len(set(in_donut.values())) == len(PLATFORMS)
    assert figures.COMPARISON not in in_donut.values()
    # The ranked bars' comparison is grey, like every comparison.
    compared = figures.ranked_bar_figure(platform_frame(True), "platform", "slug", "GBP",
                                         compare=True)
    assert compared["data"][0]["marker"]["color"] == figures.COMPARISON


def test_treemap_tiles_sit_on_the_card_not_on_a_black_frame() -> None:
    segments = pd.DataFrame({"segment": ["Loyal", "Lost", "New"], "customers": [30, 50, 0],
                             "share": [0.6, 0.1, 0.0]})
    figure = figures.treemap_figure(segments, "segment", "customers", "share")
    go.Figure(figure)
    (tiles,) = figure["data"]
    # plotly ignores root.color under a colorscale: the shades are mixed here instead.
    assert "colorscale" not in tiles["marker"] and tiles["root"]["color"] == "#ffffff"
    assert tiles["marker"]["colors"] == [figures.PRIMARY, "#dbeafe"]  # largest share darkest
    assert tiles["hovertext"] == ["60.0%", "10.0%"]  # the empty segment is left out
