"""Figure builders: what they draw from small frames, and the number formats."""
from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from layouts import figures


def platform_frame(with_comparison: bool) -> pd.DataFrame:
    """Three platforms, largest first, as the service returns them."""
    return pd.DataFrame({
        "slug": ["online-store", "amazon", "tiktok"],
        "platform": ["Online Store", "Amazon", "TikTok"],
        "net_revenue": [300.0, 200.0, 50.0],
        "compare_net_revenue": [250.0, 220.0, 0.0] if with_comparison else [np.nan] * 3,
    })


def test_ranked_bars_put_the_largest_on_top_and_carry_the_filter_key() -> None:
    figure = figures.ranked_bar_figure(platform_frame(False), "platform", "slug", "GBP")
    (bars,) = figure["data"]
    assert bars["y"] == ["TikTok", "Amazon", "Online Store"]  # plotly draws bottom-up
    assert bars["customdata"] == ["tiktok", "amazon", "online-store"]
    assert bars["text"] == ["£50.00", "£200", "£300"]  # cents only below 100
    assert figure["layout"]["showlegend"] is False


def test_ranked_bars_show_the_comparison_and_highlight_the_selection() -> None:
    figure = figures.ranked_bar_figure(platform_frame(True), "platform", "slug", "USD",
                                       compare=True, selected=["amazon"])
    comparison, current, _values = figure["data"]
    assert comparison["name"] == "Comparison period"
    assert comparison["x"] == [0.0, 220.0, 250.0]
    assert comparison["customdata"] == current["customdata"]  # either bar filters
    assert current["marker"]["color"] == [figures.PRIMARY, figures.ACCENT, figures.PRIMARY]
    assert figure["layout"]["showlegend"] is True


def test_trend_overlays_comparison_and_chosen_rolling_means() -> None:
    days = [dt.date(2026, 1, 1) + dt.timedelta(days=i) for i in range(5)]
    trend = pd.DataFrame({"bucket": days, "net_revenue": [1.0, 2, 3, 4, 5],
                          "compare_bucket": [d.replace(year=2025) for d in days],
                          "compare_net_revenue": [1.0, 1, 1, 1, 1],
                          "rolling_3": [1.0, 1.5, 2, 3, 4], "rolling_7": [1.0] * 5,
                          "rolling_30": [1.0] * 5})
    figure = figures.trend_figure(trend, "day", (3,), "EUR", "Same period last year")
    assert [trace["name"] for trace in figure["data"]] == [
        "Net revenue", "Same period last year", "3-day average"]
    assert figure["layout"]["yaxis"]["tickprefix"] == "€"
    bare = figures.trend_figure(trend, "week", (), "EUR", None)
    assert [trace["name"] for trace in bare["data"]] == ["Net revenue"]


def test_empty_figure_says_why() -> None:
    figure = figures.empty_figure("No sales on TikTok in 1–31 Jan 2020.")
    assert figure["layout"]["annotations"][0]["text"] == "No sales on TikTok in 1–31 Jan 2020."
    assert figure["data"] == []


def test_number_formats() -> None:
    assert figures.format_money(-1_234_567.0, "GBP", compact=True) == "\u2212£1.23M"
    assert figures.format_money(-400.0, "USD") == "\u2212$400"
    assert figures.format_money(7_728.4, "USD", compact=True) == "$7,728"
    assert figures.format_money(64_239.0, "USD", compact=True) == "$64.2k"
    assert figures.format_money(-0.001, "USD") == "$0.00"
    assert figures.format_percent(-0.0004) == "0.0%"  # never "−0.0%"
    assert figures.format_percent(-0.042) == "\u22124.2%"
    assert figures.format_money(12_345.0, "USD", compact=True) == "$12.3k"
    assert figures.format_money(12_345.0, "USD") == "$12,345"
    assert figures.format_money(9.5, "XYZ") == "XYZ 9.50"
    assert figures.format_money(float("nan"), "USD") == "n/a"
    assert figures.format_percent(0.1234, signed=True) == "+12.3%"
    assert figures.format_number(None) == "n/a"


def test_growth_axis_keeps_ordinary_values_and_drops_freak_ratios() -> None:
    days = pd.date_range("2026-01-05", periods=13, freq="W-MON")
    ordinary = pd.DataFrame({"bucket": days, "pop_growth": np.linspace(-0.2, 0.3, 13),
                             "yoy_growth": np.linspace(-0.15, 0.45, 13)})
    low, high = figures.growth_figure(ordinary, "week")["layout"]["yaxis"]["range"]
    assert low < -0.2 and high > 0.45  # every ordinary value is on the chart
    freak = ordinary.assign(pop_growth=[*[0.05] * 12, 400.0])
    assert figures.growth_figure(freak, "week")["layout"]["yaxis"]["range"][1] < 10


DAY_NAMES = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def every_figure() -> dict[str, dict]:
    """One figure of every builder, from small frames with gaps, NaNs and an "Other" row."""
    days = [dt.date(2026, 1, 1) + dt.timedelta(days=i) for i in range(5)]
    trend = pd.DataFrame({
        "bucket": days, "net_revenue": [1.0, 2, 3, 4, 5],
        "compare_bucket": [d.replace(year=2025) for d in days],
        "compare_net_revenue": [1.0, 1, 1, 1, 1], "rolling_3": [1.0, 1.5, 2, 3, 4],
        "rolling_7": [1.0] * 5, "rolling_30": [np.nan] * 5,
        "pop_growth": [np.nan, 0.2, -0.25, 0.1, 3.0],
        "yoy_growth": [np.nan, 0.1, 0.2, np.nan, 0.3]})
    shares = platform_frame(True).assign(slug=["online-store", "amazon", None])
    cells = pd.DataFrame([{"weekday": d, "day": DAY_NAMES[d], "hour": h, "orders": d * h}
                          for d in range(7) for h in range(24) if h != 3])
    points = pd.DataFrame({"sku": ["A", "B"], "name": ["a", "b"], "category": ["X", "Y"],
                           "avg_price": [10.0, 20.0], "margin": [0.5, 0.2],
                           "net_revenue": [100.0, 0.0]})
    countries = pd.DataFrame({"country": ["EIRE", "France"], "key": ["EIRE", "France"],
                              "net_revenue": [10.0, 5.0]})
    return {
        "empty": figures.empty_figure("Nothing here"),
        "sparkline": figures.sparkline(pd.Series(days), pd.Series([1.0, 2, np.nan, 4, 5])),
        "ranked bars": figures.ranked_bar_figure(platform_frame(True), "platform", "slug",
                                                 "GBP", compare=True, selected=["amazon"]),
        "trend": figures.trend_figure(trend, "day", (3, 7, 30), "EUR", "Last year"),
        "growth": figures.growth_figure(trend, "week"),
        "weekday": figures.weekday_figure(
            pd.DataFrame({"day": DAY_NAMES, "per_day": [1.0, 2, 3, 4, 5, 6, 6]}),
            "per_day", "Net revenue per day", "money", "GBP", ["Sunday"]),
        "heatmap": figures.heatmap_figure(cells, "orders", "Orders", "number", "GBP"),
        "donut": figures.share_figure(shares, "platform", "slug", "GBP", ["amazon"]),
        "price and margin": figures.price_margin_figure(points, "GBP"),
        "map": figures.country_map_figure(countries, "country", "key", "GBP", ["France"]),
    }


@pytest.mark.parametrize("name", list(every_figure()))
def test_every_figure_is_valid_plotly_json_in_the_house_style(name: str) -> None:
    """The builders write plain dicts for speed: plotly's own schema still checks them (a
    misspelt property raises here), and they hold only JSON-native values (no dates, NaN or
    numpy), which Dash's encoder writes in one pass."""
    figure = every_figure()[name]
    validated = go.Figure(figure)  # raises ValueError on any property plotly does not know
    assert len(validated.data) == len(figure["data"])
    assert json.loads(json.dumps(figure, allow_nan=False)) == figure
    if name != "sparkline":  # a sparkline is bare on purpose
        assert validated.layout.font.family == figures.FONT
        assert validated.layout.template.layout.paper_bgcolor == "white"


def test_bar_axis_leaves_room_for_labels_on_the_side_bars_extend_to() -> None:
    frame = pd.DataFrame({"slug": ["a", "b", "c"], "platform": ["A", "B", "C"],
                          "net_revenue": [-300.0, 20.0, 40.0]})
    low, high = figures.ranked_bar_figure(frame, "platform", "slug", "GBP")["layout"][
        "xaxis"]["range"]
    assert low == -300 - 0.25 * 340 and high == 40 + 0.25 * 340  # labels of short bars fit
    positive = figures.ranked_bar_figure(platform_frame(False), "platform", "slug", "GBP")
    assert positive["layout"]["xaxis"]["range"] == [0.0, 300 * 1.25]
    negative = figures.ranked_bar_figure(frame.assign(net_revenue=[-3.0, -2, -1]), "platform",
                                         "slug", "GBP")
    assert negative["layout"]["xaxis"]["range"] == [-3 * 1.25, 0.0]


HOSTILE = '<a href="//evil.example/">x</a>'


def _shown_strings(node: object, path: str = "") -> list[tuple[str, str]]:
    """Every string of a figure's JSON with where it is, `customdata` (never drawn as text
    by itself) left out."""
    if isinstance(node, str):
        return [(path, node)]
    if isinstance(node, dict):
        return [found for key, value in node.items() if key != "customdata"
                for found in _shown_strings(value, f"{path}.{key}")]
    if isinstance(node, list):
        return [found for i, value in enumerate(node)
                for found in _shown_strings(value, f"{path}[{i}]")]
    return []


def hostile_figures() -> dict[str, tuple[dict, object]]:
    """Figures whose names (products, categories, countries, an empty-state message from a
    URL's filter) are a link, and the customdata that must keep the raw name."""
    named = pd.DataFrame({"key": [HOSTILE, "tea"], "label": [HOSTILE, "Tea & <b>cakes</b>"],
                          "net_revenue": [10.0, 5.0], "compare_net_revenue": [8.0, 4.0]})
    cells = pd.DataFrame([{"weekday": d, "day": HOSTILE if d == 0 else DAY_NAMES[d],
                           "hour": h, "orders": d * h} for d in range(7) for h in range(24)])
    points = pd.DataFrame({"sku": [HOSTILE, "B"], "name": [HOSTILE, "b"],
                           "category": [HOSTILE, "Y"], "avg_price": [10.0, 20.0],
                           "margin": [0.5, 0.2], "net_revenue": [100.0, 0.0]})
    return {
        "ranked bars": (figures.ranked_bar_figure(named, "label", "key", "GBP", compare=True,
                                                  selected=[HOSTILE]), [HOSTILE, "tea"]),
        "donut": (figures.share_figure(named, "label", "key", "GBP"), [HOSTILE, "tea"]),
        "heatmap": (figures.heatmap_figure(cells, "orders", "Orders", "number", "GBP"), None),
        "map": (figures.country_map_figure(named, "label", "key", "GBP"), [HOSTILE, "tea"]),
        "price and margin": (figures.price_margin_figure(points, "GBP"), HOSTILE),
        "empty": (figures.empty_figure(f"No sales to {HOSTILE} in 1–30 Apr 2011."), None),
    }


@pytest.mark.parametrize("name", list(hostile_figures()))
def test_user_supplied_names_cannot_put_markup_into_a_figure(name: str) -> None:
    figure, raw_keys = hostile_figures()[name]
    go.Figure(figure)  # still valid plotly
    shown = _shown_strings(figure)
    assert not [(path, text) for path, text in shown if "<a" in text or "<b>" in text]
    # Long messages are drawn in lines: the name may span a line break.
    escaped = [text for _path, text in shown if "&lt;a href=" in text.replace("<br>", " ")]
    assert escaped, "the name is still drawn, as text"
    assert not any("&amp;lt;" in text for _path, text in shown)  # escaped once only
    if isinstance(raw_keys, list):  # the click key comes back raw: the cross-filter matches
        assert sorted(figure["data"][-1]["customdata"]) == sorted(raw_keys)
    elif raw_keys is not None:  # price and margin: [raw SKU, name shown, SKU shown]
        assert figure["data"][0]["customdata"][0][0] == raw_keys


def test_escaping_keeps_numbers_and_our_formatting() -> None:
    named = pd.DataFrame({"key": ["a&b"], "label": ["Fish & chips"], "net_revenue": [1234.5]})
    (bars,) = figures.ranked_bar_figure(named, "label", "key", "GBP")["data"]
    assert bars["y"] == ["Fish &amp; chips"] and bars["customdata"] == ["a&b"]
    assert bars["x"] == [1234.5] and bars["text"] == ["£1,234"]
    assert bars["hovertemplate"].startswith("%{y}<br>%{hovertext}<extra>")
    assert bars["hovertext"] == ["£1,234"]
    assert figures.empty_figure("No sales.")["layout"]["annotations"][0]["text"] == "No sales."
    long = ("No state to show: no sales in this view, or the imported files have no state "
            "column <here>.")
    lines = figures.empty_figure(long)["layout"]["annotations"][0]["text"].split("<br>")
    assert len(lines) > 1 and all(len(line) <= figures.EMPTY_LINE + 6 for line in lines)
    assert " ".join(lines) == long.replace("<", "&lt;").replace(">", "&gt;")


CATEGORIES = ["Footwear", "Electronics", "Beauty", "Apparel", "Toys & Games",
              "Home & Kitchen", "Accessories", "Sports & Outdoors"]


def test_a_category_has_one_colour_in_every_chart_whatever_the_order() -> None:
    donut = figures.share_figure(pd.DataFrame({
        "category": CATEGORIES, "net_revenue": [8.0, 7, 6, 5, 4, 3, 2, 1]}),
        "category", "category", "GBP")
    bubbles = figures.price_margin_figure(pd.DataFrame({
        "category": list(reversed(CATEGORIES)), "sku": [f"S{i}" for i in range(8)],
        "name": [f"P{i}" for i in range(8)], "avg_price": [10.0] * 8, "margin": [0.4] * 8,
        "net_revenue": [1.0] * 8}), "GBP")
    in_donut = dict(zip(donut["data"][0]["labels"], donut["data"][0]["marker"]["colors"],
                        strict=True))
    in_bubbles = {trace["name"]: trace["marker"]["color"] for trace in bubbles["data"]}
    assert in_donut == in_bubbles  # both escape the names the same way
    assert len(set(in_donut.values())) == len(CATEGORIES)  # no two share a colour
    assert figures.COMPARISON not in in_donut.values()  # grey is for comparison and "Other"


def test_other_is_grey_and_a_clash_never_depends_on_order() -> None:
    many = [f"Category {n}" for n in range(14)]
    assert figures.entity_colours(many) == figures.entity_colours(reversed(many))
    frame = pd.DataFrame({"category": ["Footwear", None], "net_revenue": [2.0, 1.0]})
    donut = figures.share_figure(frame, "category", "category", "GBP")
    assert donut["data"][0]["marker"]["colors"][-1] == figures.COMPARISON


def test_money_in_hovers_is_signed_before_its_symbol() -> None:
    """Plotly's templates would write "£-400.00": each point's amounts are written the way
    labels and ticks write them, the minus before the symbol."""
    loss = pd.DataFrame({"key": ["a", "b"], "label": ["A", "B"], "net_revenue": [-400.0, 55.5]})
    (bars,) = figures.ranked_bar_figure(loss, "label", "key", "GBP")["data"]
    assert bars["hovertext"] == ["£55.50", "−£400"]  # the largest on top: B, then A
    bins = pd.DataFrame({"low": [-200.0, 0.0], "high": [0.0, 200.0], "customers": [3, 9]})
    (histogram,) = figures.histogram_figure(bins, "USD")["data"]
    assert histogram["hovertext"] == ["−$200 – $0.00", "$0.00 – $200"]
    assert histogram["hovertemplate"].startswith("%{hovertext}<br>")
    cells = pd.DataFrame({"weekday": [0, 1], "day": ["Mon", "Tue"], "hour": [9, 10],
                          "net_revenue": [-12.5, 30.0]})
    (heat,) = figures.heatmap_figure(cells, "net_revenue", "Net revenue", "money",
                                     "EUR")["data"]
    assert heat["hovertext"][0][9] == "−€12.50" and heat["hovertext"][1][10] == "€30.00"
    assert heat["hovertext"][0][10] == "n/a"  # an empty cell
    # A name a user wrote can never pass for the builders' mark of an amount.
    (named,) = figures.heatmap_figure(cells, "net_revenue", "<money z EUR>", "money",
                                      "EUR")["data"]
    assert named["hovertemplate"].count("%{hovertext}") == 1
    assert "&lt;money z EUR&gt;" in named["hovertemplate"]
    for figure in (figures.ranked_bar_figure(loss, "label", "key", "GBP"),
                   figures.histogram_figure(bins, "USD")):
        assert "<money" not in json.dumps(figure)
        go.Figure(figure)
