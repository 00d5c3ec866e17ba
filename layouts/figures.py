"""Pure figure builders and number formats: the one visual language of every chart.

Each builder takes a small DataFrame from a service and returns a Plotly figure as a dict;
none of them queries anything. Empty data gives an empty-state figure that says why.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import html
import math
import re
import textwrap
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.io as pio

PRIMARY = "#2563eb"
COMPARISON = "#94a3b8"
ACCENT = "#f59e0b"
POSITIVE = "#16a34a"
NEGATIVE = "#dc2626"
MUTED = "#64748b"
SERIES = ("#2563eb", "#0891b2", "#7c3aed", "#db2777", "#ea580c", "#65a30d", "#0d9488",
          "#9333ea", "#ca8a04", "#475569")
ROLLING_COLOURS = {3: "#0891b2", 7: "#7c3aed", 30: "#ea580c"}
# A colour per platform, category, product or type: Paul Tol's colour-blind-safe "bright"
# and "muted" schemes, without their greys (grey is the comparison and "Other").
ENTITY_COLOURS = ("#4477AA", "#EE6677", "#228833", "#CCBB44", "#66CCEE", "#AA3377",
                  "#332288", "#44AA99", "#999933", "#882255", "#DDCC77", "#117733")
MINUS = "\u2212"  # the typographic minus, as in "−£400"
# Percent ticks with the decimals a tick needs ("1.5%", "2%"): a fixed ".0%" labelled the
# ticks 1.5% and 2.5% as "2%" and "3%", so they did not match the bars' own labels.
PERCENT_TICKS = "~%"
READABLE_TEXT = 10  # px: the smallest label drawn on a bar, a slice or a funnel step
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"
CURRENCY_SYMBOLS = {"USD": "$", "GBP": "£", "EUR": "€", "JPY": "¥", "INR": "₹", "AUD": "A$",
                    "CAD": "C$", "CHF": "CHF ", "SEK": "kr ", "NZD": "NZ$"}


Figure = dict[str, Any]  # a Plotly figure as JSON: {"data": [traces], "layout": {...}}

# Figures are plain Plotly JSON, not `go.Figure` objects: plotly's validating objects cost
# 10-25 ms per chart to build (more than the rollup queries behind most of them), and Dash
# sends a dict of JSON-native values (see `_values`) as it is. tests/layouts/test_figures.py
# validates every builder's output against plotly's schema, so a misspelt property still
# fails a test.
#
# plotly's white look without its 3-D, polar and ternary defaults, built once. Every figure
# shares these nested settings (copying the template per chart is what cost the time), so a
# figure's layout is read-only: nothing may change it in place.
_UNUSED_PARTS = frozenset({"scene", "polar", "ternary"})
TEMPLATE: dict[str, Any] = {"layout": {
    key: value for key, value in pio.templates["plotly_white"].layout.to_plotly_json().items()
    if key not in _UNUSED_PARTS}}
HOUSE_LAYOUT: dict[str, Any] = {
    "template": TEMPLATE,
    "font": {"family": FONT, "size": 12, "color": "#1e293b"},
    "margin": {"l": 8, "r": 8, "t": 8, "b": 8},
    "hoverlabel": {"font": {"family": FONT}},
    "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0},
    "separators": ".,",
    # Labels on bars, slices and funnel steps share one size, never below 10 px: a label
    # that would have to shrink further is hidden (its value is still in the hover).
    "uniformtext": {"minsize": READABLE_TEXT, "mode": "hide"},
}
# Bar labels stay upright and are never squeezed to the bar's width once outside it
# (plotly's default rotates or shrinks them to ~5 px on narrow bars).
BAR_TEXT: dict[str, Any] = {"textangle": 0, "constraintext": "inside"}


def _figure(traces: Sequence[dict[str, Any]] = (), **layout: Any) -> Figure:
    """A figure in the house style; `layout` adds to it (nested settings merge, like
    plotly's `update_layout`)."""
    return {"data": [_with_money_hovers(trace) for trace in traces],
            "layout": _merged(HOUSE_LAYOUT, layout)}


# A money amount in a hover template, written by `_hover_money` and resolved by `_figure`:
# plotly's template puts our symbol before the number's sign ("£-400.00") and its own "$"
# format knows only the dollar, so each point's amounts are written here, as `format_money`
# writes them ("−£400"), into the trace's hovertext. The mark is in angle brackets, which
# `_text` escapes in every name a user wrote, so no product or campaign name can pass for one.
_MONEY = re.compile(r"<money (?P<ref>[a-z]+(?:\[\d\])?) (?P<currency>[A-Za-z]{3})>")


def _hover_money(ref: str, currency: str) -> str:
    """A money amount of the point's `ref` ('y', 'z', 'customdata[0]') in a hover template."""
    return f"<money {ref} {currency}>"


def _with_money_hovers(trace: dict[str, Any]) -> dict[str, Any]:
    """The trace with its template's money amounts in its hovertext (the run of the template
    from the first amount to the last, when no other placeholder lies between them)."""
    template = trace.get("hovertemplate")
    found = list(_MONEY.finditer(template)) if isinstance(template, str) else []
    if not found:
        return trace
    assert isinstance(template, str)
    start, end = found[0].start(), found[-1].end()
    columns = [_point_values(trace, match["ref"]) for match in found]
    if "%{" in template[start:end] or "hovertext" in trace or None in columns:
        return {**trace, "hovertemplate": _MONEY.sub(_plotly_money, template)}
    pieces = _MONEY.split(template[start:end])  # literal, ref, currency, literal, …
    texts = _texts_per_point(columns, pieces[0::3], [match["currency"] for match in found])
    return {**trace, "hovertext": texts,
            "hovertemplate": f"{template[:start]}%{{hovertext}}{template[end:]}"}


def _point_values(trace: dict[str, Any], ref: str) -> list[Any] | None:
    """The trace's values `ref` names, one per point (rows of cells for a heatmap's z)."""
    name, _, index = ref.partition("[")
    values = trace.get("values" if name == "value" else name)
    if not isinstance(values, list | tuple):
        return None
    if index:
        position = int(index.rstrip("]"))
        return [row[position] if isinstance(row, list | tuple) else None for row in values]
    return list(values)


def _texts_per_point(columns: Sequence[list[Any] | None], literals: Sequence[str],
                     currencies: Sequence[str]) -> list[Any]:
    """Each point's amounts written with the literal text between them; a grid for a grid."""
    symbols = [currency_symbol(currency) for currency in currencies]
    if len(columns) == 1 and not any(isinstance(amount, list) for amount in columns[0] or ()):
        # One amount per point (most hovers): its text between the two literals.
        before, after = literals
        return [f"{before}{_money_text(amount, symbols[0], False)}{after}"
                for amount in columns[0] or ()]

    def one(amounts: Sequence[Any]) -> Any:
        if amounts and all(isinstance(amount, list) for amount in amounts):
            return [one(cells) for cells in zip(*amounts, strict=True)]
        written = [_money_text(amount, symbol, False)
                   for amount, symbol in zip(amounts, symbols, strict=True)]
        return "".join(part for pair in zip(literals, [*written, ""], strict=True)
                       for part in pair)
    return [one(amounts) for amounts in zip(*columns, strict=True)]


def _plotly_money(match: re.Match[str]) -> str:
    """The amount as plotly writes it, where the hovertext cannot hold it."""
    return f"{currency_symbol(match['currency'])}%{{{match['ref']}:,.2f}}"


def _merged(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """`base` updated by `extra`, nested dicts merged rather than replaced (neither changes)."""
    result = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            value = _merged(result[key], value)
        result[key] = value
    return result


# Dark mode: the same figures, recoloured in the browser (assets/theme.js), never queried or
# drawn again. The dark template is the light one with a dark surface, text and grid; the
# neutral colours the builders set themselves (text, outlines, the low end of heatmap scales,
# the map's land) are swapped one for one (each colour once, no chains). The data colours
# (PRIMARY, SERIES, ENTITY_COLOURS…) stay: they were chosen to read on both backgrounds.
# These values are the CSS variables of assets/dark.css (tests/layouts/test_dark_mode.py).
DARK_SURFACE = "#1e293b"  # a card
DARK_TEXT = "#e2e8f0"
DARK_GRID = "#334155"
DARK_COLOURS: dict[str, str] = {
    "#1e293b": DARK_TEXT, "#334155": "#cbd5e1", MUTED: "#94a3b8", "#f8fafc": "#273449",
    "#e2e8f0": DARK_GRID, "#cbd5e1": "#475569", "#dbeafe": "#1e3a5f", "#ffffff": DARK_SURFACE,
    "#fff": DARK_SURFACE, "white": DARK_SURFACE,
}
_DARK_AXIS = {"gridcolor": DARK_GRID, "linecolor": DARK_GRID, "zerolinecolor": DARK_GRID}
DARK_TEMPLATE: dict[str, Any] = {"layout": _merged(TEMPLATE["layout"], {
    "paper_bgcolor": DARK_SURFACE, "plot_bgcolor": DARK_SURFACE, "font": {"color": DARK_TEXT},
    "xaxis": _DARK_AXIS, "yaxis": _DARK_AXIS,
    "geo": {"bgcolor": DARK_SURFACE, "landcolor": "#273449", "lakecolor": DARK_SURFACE,
            "subunitcolor": DARK_GRID},
    "shapedefaults": {"line": {"color": DARK_TEXT}},
    "annotationdefaults": {"arrowcolor": DARK_TEXT},
    "hoverlabel": {"bgcolor": "#0f172a", "bordercolor": DARK_GRID, "font": {"color": DARK_TEXT}},
})}


def figure_themes() -> dict[str, Any]:
    """What the browser needs to switch every chart between light and dark without asking
    the server: the dark template and the colour swaps (light figures are drawn as sent)."""
    return {"dark": {"template": DARK_TEMPLATE, "colours": DARK_COLOURS}}


def _values(column: Any) -> list[Any]:
    """A column (Series, array or sequence) as a list of JSON-native values."""
    values = column.tolist() if hasattr(column, "tolist") else list(column)
    return [_json_value(value) for value in values]


def _labels(column: Any) -> list[Any]:
    """A column of names (products, categories, countries, ...) as text a figure may show.

    Plotly renders a subset of HTML in every text it draws (tick labels, category values,
    hover, legend, annotations), links included, so the names users supplied are escaped
    here, the one way into a figure's text. Numbers and missing values stay as they are;
    filter keys go into `customdata` raw (`_values`), since a click hands them back.
    """
    return [_text(value) for value in _values(column)]


def _text(value: Any) -> Any:
    """One user-supplied string escaped for Plotly's text (`<`, `>`, `&`)."""
    return html.escape(value, quote=False) if isinstance(value, str) else value


def _json_value(value: Any) -> Any:
    """Dates as ISO text and NaN as null: Dash's JSON encoder then writes a figure in one C
    pass, without a Python fallback per date or a second pass to replace NaN."""
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def entity_colours(keys: Iterable[object]) -> dict[object, str]:
    """The colour of each entity (a platform's slug, a category's name…), derived from the
    entity itself, so it is the same in every chart and on every page whatever the order.

    Two entities of one chart never share a colour: on a clash, the one later in
    alphabetical order takes the next free colour (so a clash depends only on which
    entities the chart shows, never on their order).
    """
    taken: dict[str, object] = {}
    colours: dict[object, str] = {}
    for key in sorted({key for key in keys if key is not None}, key=str):
        start = int(hashlib.md5(str(key).strip().lower().encode()).hexdigest(), 16)
        for step in range(len(ENTITY_COLOURS)):
            colour = ENTITY_COLOURS[(start + step) % len(ENTITY_COLOURS)]
            if colour not in taken or step == len(ENTITY_COLOURS) - 1:
                break
        taken[colour] = key
        colours[key] = colour
    return colours


def currency_symbol(currency: str) -> str:
    """Symbol for an ISO currency code, the code itself (with a space) when unknown."""
    return CURRENCY_SYMBOLS.get(currency.upper(), currency.upper() + " ")


def _is_missing(value: float | None) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def format_money(value: float | None, currency: str, compact: bool = False) -> str:
    """'£12,345', '£45.20', '−£400', '£1.23M' (compact), or 'n/a' for a missing value.

    One format per amount: cents only below 100, compact (k, M) from 10,000 when asked;
    a minus sign (−, not a hyphen) before the currency symbol.
    """
    return _money_text(value, currency_symbol(currency), compact)


def money_texts(values: Iterable[float | None], currency: str,
                compact: bool = False) -> list[str]:
    """`format_money` of every value (a column of a table: the symbol is looked up once)."""
    symbol = currency_symbol(currency)
    return [_money_text(value, symbol, compact) for value in values]


def _money_text(value: float | None, symbol: str, compact: bool) -> str:
    if value is None or value != value:  # None or NaN
        return "n/a"
    amount = abs(value)
    decimals = 2 if amount < 100 else 0
    sign = MINUS if value < 0 and round(amount, decimals) > 0 else ""
    if compact and amount >= 999_500:
        return f"{sign}{symbol}{amount / 1_000_000:.2f}M"
    if compact and amount >= 10_000:
        return f"{sign}{symbol}{amount / 1_000:.1f}k"
    return f"{sign}{symbol}{amount:,.{decimals}f}"


def format_number(value: float | None) -> str:
    """'12,345' or 'n/a'."""
    return "n/a" if _is_missing(value) else f"{value:,.0f}"


def format_percent(value: float | None, decimals: int = 1, signed: bool = False) -> str:
    """'12.3%' from 0.123 ('+12.3%' when signed, '−4.0%' below zero), or 'n/a'; a value
    that rounds to zero is '0.0%', never '−0.0%'."""
    if _is_missing(value):
        return "n/a"
    assert value is not None  # _is_missing caught None
    points = round(value * 100, decimals)
    if points == 0:
        return f"{0:.{decimals}f}%"
    sign = MINUS if points < 0 else ("+" if signed else "")
    return f"{sign}{abs(points):.{decimals}f}%"


EMPTY_LINE = 40  # characters per line of an empty chart's message: fits a third-width card


def empty_figure(message: str) -> Figure:
    """A blank chart that says why it is empty, in lines short enough for a narrow card
    (Plotly never wraps an annotation: a long one is cut at the card's edges)."""
    hidden = {"visible": False}
    lines = textwrap.wrap(message, EMPTY_LINE) or [message]
    return _figure(xaxis=hidden, yaxis=hidden, annotations=[{
        "text": "<br>".join(_text(line) for line in lines), "showarrow": False,
        "xref": "paper", "yref": "paper", "x": 0.5, "y": 0.5,
        "font": {"size": 14, "color": MUTED}}])


def sparkline(dates: Sequence, values: Sequence[float],
              colour: str = PRIMARY) -> dict[str, Any]:
    """A tiny axis-less line for a KPI card (no house style: no axes, legend or margins)."""
    hidden = {"visible": False}
    return {
        "data": [{"type": "scatter", "x": _values(dates), "y": _values(values), "mode": "lines",
                  "line": {"color": colour, "width": 1.6}, "fill": "tozeroy",
                  "fillcolor": "rgba(37, 99, 235, 0.08)", "hoverinfo": "skip"}],
        "layout": {"xaxis": hidden, "yaxis": {**hidden, "rangemode": "tozero"},
                   "margin": {"l": 0, "r": 0, "t": 0, "b": 0}, "height": 42,
                   "showlegend": False, "plot_bgcolor": "rgba(0,0,0,0)",
                   "paper_bgcolor": "rgba(0,0,0,0)"},
    }


MONEY_TICKS = 6  # about as many ticks as plotly draws on a chart's value axis


def _money_axis(currency: str, *values: Iterable[float | None],
                ticks: int = MONEY_TICKS) -> dict[str, Any]:
    """A money axis for the plotted `values`: plotly's own ticks after the currency symbol
    ("$20k"), which follow a zoom; or, when a value is below zero, ticks of our own for the
    values' range, signed as `format_money` signs ("−$2k", "$0", "$2k"): plotly puts a
    prefix before the sign ("$−2k") and offers no other place for it but a locale in the
    browser's config, which a figure sent on its own (API, PDF) would not carry."""
    numbers = _finite(values)
    if not len(numbers) or numbers.min() >= 0:
        return {"tickprefix": currency_symbol(currency), "tickformat": "~s"}
    places = nice_ticks(float(numbers.min()), max(float(numbers.max()), 0.0), ticks)
    return {"tickmode": "array", "tickvals": places,
            "ticktext": [money_tick(place, currency) for place in places]}


def _finite(values: Iterable[Iterable[float | None]]) -> np.ndarray:
    """Every finite number of some columns, as one float array (missing values left out)."""
    arrays = [pd.to_numeric(pd.Series(list(column), dtype=object), errors="coerce")
              .to_numpy(dtype=float) for column in values]
    joined = np.concatenate(arrays) if arrays else np.array([], dtype=float)
    return joined[np.isfinite(joined)]


def _stacked(frame: pd.DataFrame, series: Sequence[tuple[str, str, str]]) -> list[pd.Series]:
    """How far stacked bars of `series` (column, name, colour) reach each way: the sums of
    each row's positive parts and of its negative parts (plotly stacks them apart)."""
    parts = frame[[column for column, _, _ in series]].astype(float)
    return [parts.clip(lower=0).sum(axis=1), parts.clip(upper=0).sum(axis=1)]


def nice_ticks(low: float, high: float, count: int = MONEY_TICKS) -> list[float]:
    """About `count` round tick values (steps of 1, 2, 2.5 or 5 times a power of ten) from
    at or below `low` to at or above `high`, zero among them when the range spans it."""
    span = (high - low) or abs(high) or 1.0
    raw = span / max(count - 1, 1)
    power = 10.0 ** math.floor(math.log10(raw))
    # A step a little under the even split, rather than the next one up (twice as coarse):
    # a range of 26k has ticks every 5k, not every 10k.
    step = next(power * m for m in (1, 2, 2.5, 5, 10) if power * m >= raw * 0.8)
    first, last = math.floor(low / step + 1e-9), math.ceil(high / step - 1e-9)
    return [round(n * step, 10) + 0.0 for n in range(first, last + 1)]  # + 0.0: no −0.0


def money_tick(value: float, currency: str) -> str:
    """A money axis tick: '−$2k', '$0', '$2.5k', '£1.5M', '$0.5' (the fewest digits that
    tell ticks apart, the sign before the symbol)."""
    sign = MINUS if value < 0 else ""
    return f"{sign}{currency_symbol(currency)}{_compact_tick(abs(value))}"


def trend_figure(trend: pd.DataFrame, grain: str, rolling: Sequence[int], currency: str,
                 compare_label: str | None) -> Figure:
    """Net revenue per bucket, the comparison period overlaid and chosen rolling means."""
    renamed = trend.rename(columns={"net_revenue": "value",
                                    "compare_net_revenue": "compare_value"})
    return metric_trend_figure(renamed, grain, rolling, "Net revenue", "money", currency,
                               compare_label)


def format_value(value: float | None, unit: str, currency: str, compact: bool = True) -> str:
    """A value in its unit: 'money' (compact currency), 'percent' or a plain 'number'."""
    if unit == "money":
        return format_money(value, currency, compact=compact)
    if unit == "percent":
        return format_percent(value)
    return format_number(value)


def _hover_number(axis: str, unit: str, currency: str) -> str:
    if unit == "money":
        return _hover_money(axis, currency)
    if unit == "percent":
        return f"%{{{axis}:.1%}}"
    return f"%{{{axis}:,.0f}}"


def _value_axis(unit: str, currency: str, *values: Iterable[float | None],
                ticks: int = MONEY_TICKS) -> dict[str, Any]:
    """The value axis of a unit; a money axis is ticked for the plotted `values`."""
    if unit == "money":
        return _money_axis(currency, *values, ticks=ticks)
    return {"tickformat": PERCENT_TICKS if unit == "percent" else "~s"}


def ranked_bar_figure(frame: pd.DataFrame, label_column: str, key_column: str, currency: str,
                      compare: bool = False, colour: str = PRIMARY,
                      selected: Sequence[str] = (), value: str = "net_revenue",
                      value_name: str = "Net revenue", unit: str = "money") -> Figure:
    """Horizontal bars of a value (net revenue by default), largest on top; `customdata`
    carries the filter key.

    With `compare`, a grey bar under each shows the comparison period (`compare_<value>`).
    Bars of already selected keys are drawn in the accent colour so a cross-filter shows.
    """
    ordered = frame.iloc[::-1]
    hover = f"%{{y}}<br>{_hover_number('x', unit, currency)}<extra>%{{fullData.name}}</extra>"
    compare_column = f"compare_{value}"
    has_comparison = bool(compare_column in ordered and ordered[compare_column].notna().any())
    labels, keys = _labels(ordered[label_column]), _values(ordered[key_column])
    bars: list[dict[str, Any]] = []
    if compare and has_comparison:
        bars.append({"type": "bar", "x": _values(ordered[compare_column]), "y": labels,
                     "orientation": "h", "name": "Comparison period",
                     "marker": {"color": COMPARISON}, "customdata": keys,
                     "hovertemplate": hover})
    texts = [format_value(number, unit, currency) for number in ordered[value]]
    bars.append({
        "type": "bar", "x": _values(ordered[value]), "y": labels, "orientation": "h",
        "name": _text(value_name),
        "marker": {"color": [ACCENT if key in selected else colour for key in keys]},
        "customdata": keys, "hovertemplate": hover, "text": texts,
        "textposition": "auto", "cliponaxis": False, **BAR_TEXT})
    beside = len(bars) > 1
    if beside:
        bars = [*_beside(bars), _bar_labels(ordered[value], labels, keys, texts)]
    values = pd.concat([ordered[value], ordered.get(compare_column,
                                                    pd.Series(dtype=float))]).dropna()
    # At most four ticks, upright: in a narrow card plotly turned "$20k" and "$40k" sideways;
    # about three when a bar is below zero (our ticks then, and "−$40k" is wider).
    return _figure(
        bars, xaxis={**_value_axis(unit, currency, values, ticks=3),
                     "range": _bar_range(values, beside), "nticks": 4, "tickangle": 0},
        yaxis={"automargin": True}, showlegend=compare and has_comparison,
        clickmode="event", barmode="group", bargap=0.25, bargroupgap=0.05,
        legend={"traceorder": "reversed"}, scattermode="group",
        # Room past the axis end for a label outside a bar that ends near it ("$68.50").
        margin={"r": 40})


def _beside(bars: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The comparison and current bars in their own offset groups, the current one bare:
    beside its comparison a bar is too thin for a label inside, and plotly then shrinks the
    label, hides it or writes it white past the bar's end."""
    comparison, current = bars
    bare = {key: item for key, item in current.items()
            if key not in ("text", "textposition", *BAR_TEXT)}
    return [{**comparison, "offsetgroup": "comparison"}, {**bare, "offsetgroup": "current"}]


def _bar_labels(values: pd.Series, labels: list[Any], keys: list[Any],
                texts: list[str]) -> dict[str, Any]:
    """The current bars' values written just past their ends at the readable size, as text
    points in the bars' offset group (a click on one filters like its bar)."""
    return {"type": "scatter", "mode": "text", "orientation": "h", "offsetgroup": "current",
            "x": _values(values), "y": labels, "text": texts, "customdata": keys,
            "textposition": ["middle left" if number < 0 else "middle right"
                             for number in values.fillna(0)],
            "textfont": {"size": READABLE_TEXT + 1}, "cliponaxis": False,
            "showlegend": False, "hoverinfo": "skip"}


def _bar_range(values: pd.Series, outside: bool = False) -> list[float]:
    """The value axis of horizontal bars, from zero, with a quarter of the span spare on the
    side(s) bars extend to: room for the labels printed outside short bars (a bare ×1.25 of
    the largest value left none when all bars but one were negative); two fifths when every
    label is `outside`, the longest bar's too."""
    low = min(0.0, float(values.min())) if len(values) else 0.0
    high = max(0.0, float(values.max())) if len(values) else 0.0
    spare = (0.4 if outside else 0.25) * ((high - low) or 4.0)  # no data: an axis 0..1
    return [low - spare if low < 0 else 0.0, high + spare if high > 0 or low == 0 else 0.0]


# One date format per grain for a time series' hover: the unified hover's title (the
# current bucket) and the comparison bucket's date are written alike.
HOVER_DATES = {"day": "%a %d %b %Y", "week": "Week of %d %b %Y", "month": "%b %Y"}


def metric_trend_figure(trend: pd.DataFrame, grain: str, rolling: Sequence[int], name: str,
                        unit: str, currency: str, compare_label: str | None) -> Figure:
    """A metric per bucket (`value`), the comparison overlaid and chosen rolling means; one
    hover per bucket lists every series, the comparison's own date and the change."""
    dates = HOVER_DATES.get(grain, HOVER_DATES["day"])
    number = _hover_number("y", unit, currency)
    buckets = _values(trend["bucket"])
    compared = bool(compare_label and trend["compare_value"].notna().any())
    current: dict[str, Any] = {
        "type": "bar", "x": buckets, "y": _values(trend["value"]), "name": name,
        "marker": {"color": PRIMARY}, "opacity": 0.85 if grain == "day" else 1.0,
        "hovertemplate": f"{number}<extra>{name}</extra>"}
    traces: list[dict[str, Any]] = [current]
    if compared:
        current["customdata"] = _changes(trend["value"], trend["compare_value"], unit)
        current["hovertemplate"] = f"{number} (%{{customdata}})<extra>{name}</extra>"
        traces.append({
            "type": "scatter", "x": buckets, "y": _values(trend["compare_value"]),
            "name": compare_label, "mode": "lines",
            "line": {"color": COMPARISON, "width": 2, "dash": "dot"},
            "customdata": [pd.Timestamp(day).strftime(dates) if pd.notna(day) else ""
                           for day in trend["compare_bucket"]],
            "hovertemplate": f"{number} · %{{customdata}}<extra>{compare_label}</extra>"})
    for window in rolling:
        column = f"rolling_{window}"
        if column in trend and trend[column].notna().any():
            traces.append({
                "type": "scatter", "x": buckets, "y": _values(trend[column]),
                "name": f"{window}-day average", "mode": "lines",
                "line": {"color": ROLLING_COLOURS.get(window, ACCENT), "width": 2},
                "hovertemplate": f"{number}<extra>{window}-day average</extra>"})
    plotted = [trace["y"] for trace in traces]
    return _figure(traces, yaxis={**_value_axis(unit, currency, *plotted), "rangemode": "tozero"},
                   xaxis={"type": "date", "hoverformat": dates}, bargap=0.15,
                   hovermode="x unified")


def _changes(current: pd.Series, comparison: pd.Series, unit: str) -> list[str]:
    """'+4.2%' per bucket against its comparison ('n/a' against nothing); a rate changes in
    points ('+1.5 pp'), as on the KPI cards."""
    if unit == "percent":
        return [f"{format_percent(now - then, signed=True)[:-1]} pp"
                if not (_is_missing(now) or _is_missing(then)) else "n/a"
                for now, then in zip(current, comparison, strict=True)]
    base = comparison.where(comparison != 0).abs()
    return _signed_percents((current - comparison) / base)


def growth_figure(trend: pd.DataFrame, grain: str) -> Figure:
    """Period-over-period growth as bars (green up, red down) and year-over-year as a line;
    a bar past the axis is cut at its edge and marked there with its value."""
    label = {"day": "Day", "week": "Week", "month": "Month"}[grain]
    pop = trend["pop_growth"]
    buckets = _values(trend["bucket"])
    traces: list[dict[str, Any]] = [{
        "type": "bar", "x": buckets, "y": _values(pop), "name": f"{label} over {label.lower()}",
        "marker": {"color": [POSITIVE if value >= 0 else NEGATIVE for value in pop.fillna(0)]},
        "customdata": _signed_percents(pop),
        "hovertemplate": f"%{{customdata}}<extra>{label} over {label.lower()}</extra>"}]
    if trend["yoy_growth"].notna().any():
        traces.append({
            "type": "scatter", "x": buckets, "y": _values(trend["yoy_growth"]),
            "name": "Year over year", "mode": "lines+markers",
            "line": {"color": ACCENT, "width": 2}, "marker": {"size": 5}, "connectgaps": False,
            "customdata": _signed_percents(trend["yoy_growth"]),
            "hovertemplate": "%{customdata}<extra>Year over year</extra>"})
    value_axis = {"tickformat": PERCENT_TICKS, "zeroline": True, "zerolinecolor": MUTED}
    axis_range = _robust_range(pd.concat([pop, trend["yoy_growth"]]))
    marks: list[dict[str, Any]] = []
    if axis_range is not None:
        value_axis["range"] = axis_range
        marks = _off_axis_marks(trend["bucket"], pop, axis_range)
    return _figure(traces, yaxis=value_axis, bargap=0.15, annotations=marks,
                   xaxis={"type": "date", "hoverformat": HOVER_DATES.get(grain, "%d %b %Y")},
                   hovermode="x unified", showlegend=True)


def _off_axis_marks(buckets: pd.Series, values: pd.Series,
                    axis_range: Sequence[float]) -> list[dict[str, Any]]:
    """An arrow and the value at the edge a bar runs past ('▲ +400.0%'), so a bar beyond
    the axis never just vanishes."""
    low, high = axis_range
    marks = []
    for bucket, value in zip(buckets, values, strict=True):
        if _is_missing(value) or low <= value <= high:
            continue
        up = value > high
        marks.append({
            "x": _json_value(bucket), "y": high if up else low, "xref": "x", "yref": "y",
            "text": f"{'▲' if up else '▼'} {format_percent(value, signed=True)}",
            "showarrow": False, "yanchor": "top" if up else "bottom",
            "font": {"size": 10, "color": POSITIVE if up else NEGATIVE}})
    return marks


def _signed_percents(values: pd.Series) -> list[str]:
    """'+4.2%', '−1.0%', '0.0%' per value: Plotly's "+.1%" writes a tiny fall as "−0.0%"."""
    return [format_percent(value, signed=True) for value in values]


def _robust_range(values: pd.Series) -> list[float] | None:
    """An axis range that a few extreme ratios (a tiny base day) cannot flatten.

    Every value fits unless it is far outside the rest (beyond six interquartile ranges):
    those few run off the chart and keep their exact number in the hover text.
    """
    finite = values.replace([np.inf, -np.inf], np.nan).dropna()
    if finite.empty:
        return None
    first, third = finite.quantile(0.25), finite.quantile(0.75)
    spread = max(third - first, 0.1)
    low = max(finite.min(), first - 6 * spread)
    high = min(finite.max(), third + 6 * spread)
    room = 0.1 * max(high - low, 0.2)
    return [min(low, 0.0) - room, max(high, 0.0) + room]


def weekday_figure(weekdays: pd.DataFrame, value: str, name: str, unit: str, currency: str,
                   best: Sequence[str] = ()) -> Figure:
    """A value per weekday, Monday first, the best day(s) in the accent colour."""
    number = _hover_number("y", unit, currency)
    days = _values(weekdays["day"])
    bars = {
        "type": "bar", "x": [day[:3] for day in days], "y": _values(weekdays[value]),
        "name": name, "marker": {"color": [ACCENT if day in best else PRIMARY for day in days]},
        "customdata": days,
        "text": [format_value(v, unit, currency) for v in weekdays[value]],
        "textposition": "outside", "cliponaxis": False, **BAR_TEXT,
        "hovertemplate": f"%{{customdata}}<br>{number}<extra>{name}</extra>"}
    return _figure([bars], yaxis={**_value_axis(unit, currency, bars["y"]),
                                  "rangemode": "tozero"},
                   showlegend=False, bargap=0.3)


def heatmap_figure(cells: pd.DataFrame, value: str, name: str, unit: str,
                   currency: str) -> Figure:
    """A value per weekday (rows, Monday on top) and local hour (columns)."""
    grid = cells.pivot(index="weekday", columns="hour", values=value).reindex(
        index=range(7), columns=range(24))
    days = cells.drop_duplicates("weekday").set_index("weekday")["day"].reindex(range(7))
    number = _hover_number("z", unit, currency)
    heat = {
        "type": "heatmap", "z": [_values(row) for row in grid.to_numpy(dtype=float)],
        "x": [f"{hour:02d}" for hour in range(24)], "y": _labels(days), "xgap": 1, "ygap": 1,
        **_colour_scale(grid.stack(), name, unit, currency),
        "hovertemplate": f"%{{y}} %{{x}}:00<br>{number}<extra>{_text(name)}</extra>"}
    return _figure([heat], yaxis={"autorange": "reversed"},
                   # Every fourth hour, upright: every second one ran together on a phone.
                   xaxis={"title": {"text": "Local hour"}, "dtick": 4, "tickangle": 0})


def _colour_bar(name: str, unit: str, currency: str) -> dict[str, Any]:
    """A heatmap's colour bar, titled with its measure and unit ('Net revenue (£)')."""
    unit_text = {"percent": "%", "money": currency_symbol(currency).strip()}.get(unit)
    title = f"{_text(name)} ({unit_text})" if unit_text else _text(name)
    # The title runs along the bar, like an axis title: above it, it took a third of a
    # phone's width from the chart. The bar stops short of the top, under the tool bar.
    return {"thickness": 10, "title": {"text": title, "side": "right", "font": {"size": 11}},
            "len": 0.8, "y": 0, "yanchor": "bottom",
            "tickformat": PERCENT_TICKS if unit == "percent" else "~s"}


def _colour_scale(values: pd.Series, name: str, unit: str, currency: str) -> dict[str, Any]:
    """A heatmap's colours and its colour bar, titled with the measure and its unit.

    Counts and money start at zero, or at the smallest cell if it is below zero (a day of
    refunds): plotly started at the smallest cell even above zero. A share with negatives
    (a lift) diverges from white at zero, red below.
    """
    bar = _colour_bar(name, unit, currency)
    low = float(values.min()) if values.notna().any() else 0.0
    if low < 0 and unit == "percent":
        return {"colorscale": [[0, NEGATIVE], [0.5, "#f8fafc"], [1, PRIMARY]], "zmid": 0,
                "colorbar": bar}
    return {"colorscale": [[0, "#f8fafc"], [1, PRIMARY]], "zmin": min(low, 0.0),
            "colorbar": bar}


def share_figure(frame: pd.DataFrame, label_column: str, key_column: str, currency: str,
                 selected: Sequence[str] = ()) -> Figure:
    """A donut of net revenue shares; `customdata` carries the filter key of each slice."""
    keys = _values(frame[key_column])
    palette = entity_colours(keys)
    colours = [ACCENT if key in selected and key else palette.get(key, COMPARISON)
               for key in keys]
    if keys and keys[-1] is None:
        colours[-1] = COMPARISON  # "Other" is the rest, not a slice one can pick
    donut = {
        "type": "pie", "labels": _labels(frame[label_column]),
        "values": _values(frame["net_revenue"].clip(lower=0)), "customdata": keys,
        "hole": 0.5, "sort": False, "direction": "clockwise", "marker": {"colors": colours},
        "texttemplate": "%{percent:.1%}", "textposition": "inside",
        "insidetextorientation": "horizontal",
        "hovertemplate": f"%{{label}}<br>{_hover_money('value', currency)} "
                         "(%{percent})<extra></extra>"}
    # A donut's legend sits beside it, not over it.
    return _figure([donut], legend={"orientation": "v", "x": 1.0, "y": 0.5,
                                    "yanchor": "middle"}, clickmode="event")


def price_margin_figure(frame: pd.DataFrame, currency: str) -> Figure:
    """Average selling price against margin per product, bubble area by net revenue."""
    revenue = frame["net_revenue"].clip(lower=0)
    scale = float(revenue.max()) if len(revenue) and revenue.max() > 0 else 1.0
    points = []
    palette = entity_colours(frame["category"])
    for category, rows in frame.groupby("category", sort=True):
        sizes = 6 + 30 * (rows["net_revenue"].clip(lower=0) / scale) ** 0.5
        # customdata: the SKU raw (the click key), then the name and SKU as hover text.
        shown = zip(_values(rows["sku"]), _labels(rows["name"]), _labels(rows["sku"]),
                    strict=True)
        points.append({
            "type": "scatter", "x": _values(rows["avg_price"]), "y": _values(rows["margin"]),
            "mode": "markers", "name": _text(category),
            "customdata": [list(point) for point in shown],
            "marker": {"color": palette[category], "opacity": 0.75,
                       "size": _values(sizes), "line": {"width": 0.5, "color": "#fff"}},
            "hovertemplate": f"%{{customdata[1]}} (%{{customdata[2]}})<br>average price "
                             f"{_hover_money('x', currency)}<br>margin %{{y:.1%}}"
                             "<extra>%{fullData.name}</extra>"})
    return _figure(points, xaxis={"title": {"text": "Average selling price"},
                                  **_money_axis(currency, frame["avg_price"])},
                   yaxis={"title": {"text": "Margin"}, "tickformat": PERCENT_TICKS},
                   clickmode="event")


# Country spellings found in real exports that Plotly's name matching does not know.
COUNTRY_ALIASES = {"EIRE": "Ireland", "RSA": "South Africa", "USA": "United States",
                   "UK": "United Kingdom", "Czech Republic": "Czechia"}


def country_map_figure(frame: pd.DataFrame, name_column: str, key_column: str, currency: str,
                       selected: Sequence[str] = ()) -> Figure:
    """A world choropleth of net revenue by country; `customdata` carries the filter key.

    The chosen country gets a dark outline. Names Plotly cannot place (e.g. "Unspecified")
    are simply not drawn; the table next to the map lists every country.
    """
    names = _values(frame[name_column])
    keys = _values(frame[key_column])
    countries = {
        "type": "choropleth",
        "locations": _labels(COUNTRY_ALIASES.get(name, name) for name in names),
        "locationmode": "country names", "z": _values(frame["net_revenue"]),
        "customdata": keys, "text": _labels(names), "colorscale": [[0, "#dbeafe"], [1, PRIMARY]],
        "marker": {"line": {"color": "#ffffff",
                            "width": [2.5 if key in selected else 0.5 for key in keys]}},
        "colorbar": {**_colour_bar("Net revenue", "money", currency), "thickness": 12,
                     **_money_axis(currency, frame["net_revenue"])},
        "hovertemplate": f"%{{text}}<br>{_hover_money('z', currency)}<extra></extra>"}
    # The whole world centred on Greenwich, whatever the data spans (Plotly would otherwise
    # centre on the data and may put the Pacific in the middle), without Antarctica.
    world = {"showframe": False, "showcoastlines": False,
             "projection": {"type": "natural earth", "rotation": {"lon": 0}},
             "showcountries": True, "countrycolor": "#e2e8f0", "landcolor": "#f8fafc",
             "showland": True, "fitbounds": False, "center": {"lon": 0, "lat": 15},
             "lonaxis": {"range": [-170, 190]}, "lataxis": {"range": [-58, 85]}}
    return _figure([countries], geo=world, clickmode="event")


# --- funnel and pipeline ----------------------------------------------------------------------

def funnel_figure(labels: Sequence[str], values: Sequence[float], keys: Sequence[str],
                  name: str, unit: str = "number", currency: str = "",
                  compare: Sequence[float] | None = None, compare_label: str | None = None,
                  selected: Sequence[str] = ()) -> Figure:
    """A funnel of steps or stages, top first, with each step's share of the first and of
    the step before; `customdata` carries the step key (a click filters by it).

    With `compare`, the comparison period's funnel stands beside it in grey.
    """
    number = _hover_number("x", unit, currency)
    hover = (f"%{{y}}<br>{number}<br>%{{percentInitial:.1%}} of the first step, "
             "%{percentPrevious:.1%} of the step before<extra>%{fullData.name}</extra>")
    shown = [{"type": "funnel", "y": _labels(labels), "x": _values(values),
              "name": _text(name), "customdata": _values(keys), "hovertemplate": hover,
              "marker": {"color": [ACCENT if key in selected else PRIMARY for key in keys]},
              "texttemplate": ("%{value:,.0f}" if unit != "money" else
                               f"{currency_symbol(currency)}%{{value:.3s}}")
              + " (%{percentInitial:.1%})", "textposition": "auto", "textangle": 0,
              "connector": {"fillcolor": "#e2e8f0"}}]
    if compare is not None and compare_label and any(not _is_missing(v) for v in compare):
        shown.append({"type": "funnel", "y": _labels(labels), "x": _values(compare),
                      "name": _text(compare_label), "customdata": _values(keys),
                      "marker": {"color": COMPARISON}, "hovertemplate": hover,
                      "textinfo": "none", "connector": {"visible": False}})
    return _figure(shown, yaxis={"automargin": True}, funnelmode="group",
                   showlegend=len(shown) > 1, clickmode="event")


def grouped_rate_figure(frame: pd.DataFrame, group_column: str, key_column: str,
                        category_column: str, categories: Sequence[tuple[str, str]],
                        compare_label: str | None = None,
                        selected: Sequence[str] = ()) -> Figure:
    """Rates (`rate`) per category (x, in `categories` order: (key, label)), one bar per
    group side by side; the comparison period's rate (`compare_rate`) is a grey tick on each
    bar. `customdata` carries the group's key (a click filters by it)."""
    labels = dict(categories)
    traces: list[dict[str, Any]] = []
    groups = frame.drop_duplicates(key_column)
    palette = entity_colours(groups[key_column])
    has_comparison = bool(compare_label and "compare_rate" in frame
                          and frame["compare_rate"].notna().any())
    for i, (key, name) in enumerate(zip(groups[key_column], groups[group_column], strict=True)):
        rows = frame.loc[frame[key_column] == key].set_index(category_column).reindex(
            [category for category, _label in categories])
        x = _labels(labels[category] for category in rows.index)
        colour = ACCENT if key in selected else palette[key]
        shown_name = _text(name)
        traces.append({"type": "bar", "x": x, "y": _values(rows["rate"]), "name": shown_name,
                       "offsetgroup": str(key), "legendgroup": str(key),
                       "marker": {"color": colour}, "customdata": _values([key] * len(rows)),
                       "hovertemplate": f"{shown_name}<br>%{{x}}: %{{y:.1%}}<extra></extra>"})
        if has_comparison:
            traces.append({"type": "scatter", "mode": "markers", "x": x,
                           "y": _values(rows["compare_rate"]), "offsetgroup": str(key),
                           "legendgroup": "comparison", "name": _text(compare_label),
                           "showlegend": i == 0, "customdata": _values([key] * len(rows)),
                           "marker": {"symbol": "line-ew-open", "size": 14,
                                      "color": "#334155", "line": {"width": 2.5}},
                           "hovertemplate": f"{shown_name}<br>%{{x}}: %{{y:.1%}}"
                                            f"<extra>{_text(compare_label)}</extra>"})
    return _figure(traces, yaxis={"tickformat": PERCENT_TICKS, "rangemode": "tozero"},
                   barmode="group", scattermode="group", bargap=0.2, clickmode="event",
                   showlegend=True)


def with_target_line(figure: Figure, value: float, label: str) -> Figure:
    """`figure` (horizontal bars) with a dashed vertical line at `value` (a target)."""
    line = {"type": "line", "xref": "x", "yref": "paper", "x0": value, "x1": value,
            "y0": 0, "y1": 1, "line": {"color": NEGATIVE, "width": 1.5, "dash": "dash"}}
    note = {"x": value, "y": 1, "xref": "x", "yref": "paper", "text": _text(label),
            "showarrow": False, "yanchor": "bottom", "font": {"size": 11, "color": NEGATIVE}}
    return {"data": figure["data"], "layout": _merged(
        figure["layout"], {"shapes": [line], "annotations": [note], "margin": {"t": 24}})}


def monthly_bars_figure(frame: pd.DataFrame, series: Sequence[tuple[str, str, str]],
                        currency: str) -> Figure:
    """Money per month (`month`), one bar per series ((column, name, colour)) side by side."""
    months = _values(frame["month"])
    traces = [{"type": "bar", "x": months, "y": _values(frame[column]), "name": _text(name),
               "marker": {"color": colour},
               "hovertemplate": f"%{{x|%b %Y}}<br>{_hover_money('y', currency)}<extra>{_text(name)}"
                                "</extra>"}
              for column, name, colour in series]
    plotted = [frame[column] for column, _, _ in series]
    return _figure(traces, xaxis={"type": "date", "dtick": "M1", "tickformat": "%b %y"},
                   yaxis={**_money_axis(currency, *plotted), "rangemode": "tozero"},
                   barmode="group", bargap=0.2, hovermode="x unified", showlegend=True)


# --- customers ----------------------------------------------------------------------------------

def treemap_figure(frame: pd.DataFrame, label_column: str, size_column: str,
                   colour_column: str, selected: str = "") -> Figure:
    """Tiles sized by `size_column` (customers), coloured by `colour_column` (a share of
    revenue); `customdata` carries the label (a click chooses it). Empty tiles are left out."""
    shown = frame.loc[frame[size_column] > 0]
    keys = _values(shown[label_column])
    tiles = {
        "type": "treemap", "labels": _labels(shown[label_column]), "parents": [""] * len(keys),
        "values": _values(shown[size_column]), "customdata": keys, "branchvalues": "total",
        # Colours mixed here, not by a colorscale: with one, plotly ignores `root.color`
        # and frames the tiles in near-black.
        "marker": {"colors": _shades(shown[colour_column].fillna(0), "#dbeafe", PRIMARY),
                   "line": {"color": [ACCENT if key == selected else "#ffffff" for key in keys],
                            "width": [4 if key == selected else 1 for key in keys]}},
        "text": [f"{format_number(n)} customers<br>{format_percent(share)} of revenue"
                 for n, share in zip(shown[size_column], shown[colour_column], strict=True)],
        "textinfo": "label+text",
        "hovertext": [format_percent(share) for share in shown[colour_column]],
        "hovertemplate": "%{label}<br>%{value:,} customers<br>%{hovertext} of revenue"
                         "<extra></extra>",
        "tiling": {"pad": 2}, "root": {"color": "#ffffff"}}
    return _figure([tiles], margin={"l": 2, "r": 2, "t": 2, "b": 2}, clickmode="event")


def _shades(values: pd.Series, low: str, high: str) -> list[str]:
    """A colour per value between `low` (the smallest value) and `high` (the largest)."""
    start, end = (np.array([int(c[i:i + 2], 16) for i in (1, 3, 5)]) for c in (low, high))
    span = float(values.max() - values.min()) if len(values) else 0.0
    shares = (values - values.min()) / span if span else values * 0
    return ["#{:02x}{:02x}{:02x}".format(*np.rint(start + (end - start) * share).astype(int))
            for share in shares]


def histogram_figure(bins: pd.DataFrame, currency: str, name: str = "Customers") -> Figure:
    """Counts per value bin (`low`, `high`, `customers`) as touching bars on a money axis."""
    middle = (bins["low"] + bins["high"]) / 2
    bars = {"type": "bar", "x": _values(middle), "y": _values(bins["customers"]),
            "width": _values(bins["high"] - bins["low"]), "name": name,
            "marker": {"color": PRIMARY, "line": {"color": "#ffffff", "width": 0.5}},
            "customdata": [[low, high] for low, high in
                           zip(_values(bins["low"]), _values(bins["high"]), strict=True)],
            "hovertemplate": f"{_hover_money('customdata[0]', currency)} – "
                             f"{_hover_money('customdata[1]', currency)}"
                             "<br>%{y:,} customers<extra></extra>"}
    return _figure([bars], xaxis={**_money_axis(currency, bins["low"], bins["high"]),
                                  "title": {"text": "Net revenue per customer"}},
                   yaxis={"title": {"text": name}, "rangemode": "tozero"}, bargap=0,
                   showlegend=False)


def cohort_figure(cells: pd.DataFrame, value: str, label: str, small_note: str) -> Figure:
    """Acquisition cohorts (rows, oldest on top) × months since the first purchase; `value`
    is a share. Cohorts marked `small` are drawn grey with `small_note` in their hover.

    The heatmaps only draw the cells: Dash leaves a heatmap point's `customdata` out of its
    click data (its point number is a pair), so an invisible marker on each cell carries the
    hover and the cohort's first day for a click (every click picks the nearest cell).
    """
    cohorts = sorted(cells["cohort"].unique())
    ages = list(range(int(cells["age"].max()) + 1)) if len(cells) else []
    rows = [f"{day:%b %Y}" for day in cohorts]
    grid = cells.set_index(["cohort", "age"])

    def matrix(small: bool) -> list[list[Any]]:
        return [[_json_value(grid.at[(cohort, age), value])
                 if (cohort, age) in grid.index and bool(grid.at[(cohort, age), "small"]) == small
                 else None for age in ages] for cohort in cohorts]

    shading = {"type": "heatmap", "x": ages, "y": rows, "xgap": 1, "ygap": 1, "zmin": 0,
               "zmax": 1, "hoverinfo": "skip", "texttemplate": "%{z:.0%}",
               "textfont": {"size": 10}}
    traces: list[dict[str, Any]] = [{
        **shading, "z": matrix(False), "colorscale": [[0, "#f8fafc"], [1, PRIMARY]],
        "colorbar": _colour_bar(label, "percent", "")}]
    if cells["small"].any():
        traces.append({**shading, "z": matrix(True), "showscale": False,
                       "colorscale": [[0, "#e2e8f0"], [1, "#cbd5e1"]],
                       "textfont": {"size": 10, "color": MUTED}})
    notes = [f"<br>{_text(small_note)}" if small else "" for small in cells["small"]]
    traces.append({
        "type": "scatter", "mode": "markers", "x": _values(cells["age"]),
        "y": [f"{day:%b %Y}" for day in cells["cohort"]], "showlegend": False,
        "marker": {"opacity": 0, "size": 20, "symbol": "square"},
        "customdata": [[day.isoformat(), int(size), int(active), _json_value(share), note]
                       for day, size, active, share, note in
                       zip(cells["cohort"], cells["cohort_size"], cells["active"],
                           cells[value], notes, strict=True)],
        "hovertemplate": "%{y}, month %{x}<br>" + _text(label) + ": %{customdata[3]:.1%}<br>"
                         "%{customdata[2]:,} of %{customdata[1]:,} customers bought"
                         "%{customdata[4]}<extra></extra>"})
    return _figure(traces, yaxis={"autorange": "reversed", "type": "category"},
                   xaxis={"title": {"text": "Months since the first purchase"}, "dtick": 1},
                   clickmode="event", hovermode="closest", hoverdistance=-1)


def stacked_share_figure(frame: pd.DataFrame, series: Sequence[tuple[str, str, str]],
                         share_column: str, share_name: str, currency: str) -> Figure:
    """Stacked bars per bucket (`series`: column, name, colour) with a share line on a
    second axis (`share_column`)."""
    buckets = _values(frame["bucket"])
    number = _hover_number("y", "money", currency)
    traces: list[dict[str, Any]] = [
        {"type": "bar", "x": buckets, "y": _values(frame[column]), "name": name,
         "marker": {"color": colour},
         "hovertemplate": f"%{{x|%d %b %Y}}<br>{number}<extra>{name}</extra>"}
        for column, name, colour in series]
    traces.append({"type": "scatter", "mode": "lines", "x": buckets,
                   "y": _values(frame[share_column]), "name": share_name, "yaxis": "y2",
                   "line": {"color": ACCENT, "width": 2},
                   "hovertemplate": f"%{{x|%d %b %Y}}<br>%{{y:.1%}}<extra>{share_name}</extra>"})
    return _figure(traces, barmode="stack", bargap=0.15, xaxis={"type": "date"},
                   yaxis={**_money_axis(currency, *_stacked(frame, series)),
                          "rangemode": "tozero"},
                   # Quarters of its own: an overlaying axis otherwise takes its ticks from
                   # the money axis's, at shares such as 17.322835%.
                   yaxis2={"overlaying": "y", "side": "right", "tickformat": PERCENT_TICKS,
                           "range": [0, 1], "tickmode": "linear", "tick0": 0, "dtick": 0.25,
                           "showgrid": False},
                   hovermode="x unified", showlegend=True)


def forecast_figure(history: pd.DataFrame, forecast: pd.DataFrame, name: str, unit: str,
                    currency: str, forecast_name: str) -> Figure:
    """Actual values (`history`: bucket, actual) and the forecast after them with its 95%
    and 80% bands (`forecast`: bucket, forecast, lo95, hi95, lo80, hi80)."""
    number = _hover_number("y", unit, currency)
    buckets = _values(forecast["bucket"])
    back = buckets[::-1]
    traces: list[dict[str, Any]] = [{
        "type": "scatter", "mode": "lines", "x": _values(history["bucket"]),
        "y": _values(history["actual"]), "name": f"Actual {name.lower()}",
        "line": {"color": PRIMARY, "width": 1.6},
        "hovertemplate": f"%{{x|%a %d %b %Y}}<br>{number}<extra>Actual</extra>"}]
    for level, opacity in (("95", 0.12), ("80", 0.22)):
        traces.append({
            "type": "scatter", "mode": "lines", "x": buckets + back, "fill": "toself",
            "y": _values(forecast[f"hi{level}"]) + _values(forecast[f"lo{level}"])[::-1],
            "name": f"{level}% interval", "line": {"width": 0},
            "fillcolor": f"rgba(245, 158, 11, {opacity})", "hoverinfo": "skip"})
    traces.append({
        "type": "scatter", "mode": "lines", "x": buckets, "y": _values(forecast["forecast"]),
        "name": _text(forecast_name), "line": {"color": ACCENT, "width": 2},
        "customdata": [[low, high] for low, high in zip(
            _values(forecast["lo80"]), _values(forecast["hi80"]), strict=True)],
        "hovertemplate": f"%{{x|%a %d %b %Y}}<br>{number}<br>80%: "
                         f"{_hover_number('customdata[0]', unit, currency)} – "
                         f"{_hover_number('customdata[1]', unit, currency)}"
                         f"<extra>{_text(forecast_name)}</extra>"})
    plotted = [trace["y"] for trace in traces]
    return _figure(traces, yaxis={**_value_axis(unit, currency, *plotted),
                                  "rangemode": "tozero"},
                   xaxis={"type": "date"}, hovermode="closest", showlegend=True)


def backtest_figure(origins: pd.DataFrame) -> Figure:
    """MAPE of the model and of the baseline per backtest window, side by side."""
    windows = [f"{start:%-d %b} –<br>{end:%-d %b %Y}" for start, end in
               zip(origins["test_start"], origins["test_end"], strict=True)]
    traces = [{"type": "bar", "x": windows, "y": _values(origins[column]), "name": name,
               "marker": {"color": colour},
               "text": [format_percent(value, 0) for value in origins[column]],
               "textposition": "outside", "cliponaxis": False, **BAR_TEXT,
               "hovertemplate": f"%{{x}}<br>MAPE %{{y:.1%}}<extra>{name}</extra>"}
              for column, name, colour in (("model_mape", "Model", ACCENT),
                                           ("baseline_mape", "Seasonal naive", COMPARISON))]
    return _figure(traces, barmode="group", bargap=0.25, showlegend=True,
                   yaxis={"tickformat": PERCENT_TICKS, "rangemode": "tozero",
                          "title": {"text": "MAPE"}},
                   xaxis={"type": "category", "tickangle": 0, "automargin": True})


def index_figure(frame: pd.DataFrame, label_column: str) -> Figure:
    """A seasonality index per weekday or month (1.0 = the mean day), above 1 in the
    primary colour and below it in grey."""
    labels = _labels(frame[label_column])
    values = frame["index"]
    bars = {"type": "bar", "x": [str(label)[:3] for label in labels], "y": _values(values),
            "customdata": labels, "name": "Index",
            "marker": {"color": [PRIMARY if value >= 1 else COMPARISON
                                 for value in values.fillna(0)]},
            "text": [f"{value:.2f}" if pd.notna(value) else "" for value in values],
            "textposition": "outside", "cliponaxis": False, **BAR_TEXT,
            "hovertemplate": "%{customdata}<br>%{y:.2f}× the mean day<extra></extra>"}
    return _figure([bars], showlegend=False, bargap=0.3,
                   yaxis={"rangemode": "tozero", "tickformat": ".1f"},
                   shapes=[{"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": 1,
                            "y1": 1, "line": {"color": MUTED, "width": 1, "dash": "dot"}}])


def with_layout(figure: Figure, **layout: Any) -> Figure:
    """`figure` with more layout settings (nested ones merge); neither input changes."""
    return {"data": figure["data"], "layout": _merged(figure["layout"], layout)}


# --- marketing ----------------------------------------------------------------------------------

def interval_bar_figure(frame: pd.DataFrame, label_column: str, value: str, low: str,
                        high: str, count_column: str, unit: str = "percent",
                        currency: str = "", short: str = "not enough posts") -> Figure:
    """Bars of an estimate per group with its interval as error bars and the group's count
    under its label; a group without an estimate (too few rows) is named, not drawn."""
    labels = [f"{label}<br>n={count:,}" for label, count in
              zip(_labels(frame[label_column]), frame[count_column], strict=True)]
    estimate = frame[value]
    number = _hover_number("y", unit, currency)
    bars = {
        "type": "bar", "x": labels, "y": _values(estimate), "name": "Estimate",
        "marker": {"color": [PRIMARY if pd.notna(v) and v >= 0 else NEGATIVE
                             for v in estimate]},
        "error_y": {"type": "data", "symmetric": False, "color": MUTED, "thickness": 1.2,
                    "array": _values(frame[high] - estimate),
                    "arrayminus": _values(estimate - frame[low])},
        "customdata": [[lo, hi] for lo, hi in zip(_values(frame[low]), _values(frame[high]),
                                                  strict=True)],
        "hovertemplate": f"%{{x}}<br>{number} ({_hover_number('customdata[0]', unit, currency)}"
                         f" to {_hover_number('customdata[1]', unit, currency)})"
                         "<extra></extra>"}
    # Upright, a word a line: a sideways note is as hard to read as a sideways label.
    notes = [{"x": label, "y": 0, "text": "<br>".join(_text(short).split()), "showarrow": False,
              "yanchor": "bottom", "font": {"size": 11, "color": MUTED}}
             for label, v in zip(labels, estimate, strict=True) if pd.isna(v)]
    return _figure([bars], showlegend=False, bargap=0.35, annotations=notes,
                   yaxis={**_value_axis(unit, currency, frame[low], frame[high], estimate),
                          "zeroline": True, "zerolinecolor": MUTED},
                   xaxis={"type": "category", "tickangle": 0, "automargin": True})


def grouped_scatter_figure(frame: pd.DataFrame, x: str, y: str, group_column: str,
                           hover_column: str, x_title: str, y_title: str,
                           y_unit: str = "money", currency: str = "",
                           x_log: bool = False) -> Figure:
    """One marker per row, a colour per group; `hover_column` names the row in the hover."""
    traces = []
    palette = entity_colours(frame[group_column])
    for group, part in frame.groupby(group_column, sort=True):
        traces.append({
            "type": "scatter", "mode": "markers", "x": _values(part[x]), "y": _values(part[y]),
            "name": _text(str(group)), "text": _labels(part[hover_column]),
            "marker": {"color": palette[group], "size": 7, "opacity": 0.75},
            "hovertemplate": f"%{{text}}<br>{_text(x_title)}: %{{x:,.0f}}<br>{_text(y_title)}: "
                             f"{_hover_number('y', y_unit, currency)}"
                             f"<extra>{_text(str(group))}</extra>"})
    x_axis = {"title": {"text": _text(x_title)},
              **(_log_axis(frame[x]) if x_log else {})}
    return _figure(traces, showlegend=True, hovermode="closest", xaxis=x_axis,
                   yaxis={**_value_axis(y_unit, currency, frame[y]),
                          "title": {"text": _text(y_title)},
                          "zeroline": True, "zerolinecolor": MUTED})


def _log_axis(values: pd.Series) -> dict[str, Any]:
    """A log axis ticked at whole numbers written in full (1, 10, 100, 1k): plotly's own
    log ticks mix bare digits between decades ("5, 100, 2, 5, 1000")."""
    positive = values[values > 0]
    if positive.empty:
        return {"type": "log"}
    first = math.floor(math.log10(float(positive.min())))
    last = math.ceil(math.log10(float(positive.max())))
    # Over two and a half decades or less, 2 and 5 between the powers of ten; over more,
    # the powers alone (plotly draws only the ticks inside the axis range).
    decades = math.log10(float(positive.max()) / float(positive.min()))
    steps = (1, 2, 5) if decades <= 2.5 else (1,)
    ticks = [step * 10 ** power for power in range(first, last + 1) for step in steps]
    return {"type": "log", "tickmode": "array", "tickvals": ticks,
            "ticktext": [_compact_tick(tick) for tick in ticks]}


def _compact_tick(value: float) -> str:
    """'0.5', '20', '1k', '2.5M': SI's 'm' for a thousandth would read as millions."""
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if value >= size:
            return f"{value / size:g}{suffix}"
    return f"{value:g}"


def timeline_markers_figure(daily: pd.DataFrame, markers: pd.DataFrame, group_column: str,
                            hover_column: str, currency: str, name: str = "Net revenue",
                            groups: Sequence[str] = ()) -> Figure:
    """A daily value as a line with a marker per event on its day, a colour per group (in
    `groups` order); `hover_column` is the event's text, `customdata` its key (`key`)."""
    traces: list[dict[str, Any]] = [{
        "type": "scatter", "mode": "lines", "x": _values(daily["day"]),
        "y": _values(daily["net_revenue"]), "name": _text(name),
        "line": {"color": COMPARISON, "width": 1.4},
        "hovertemplate": f"%{{x|%a %d %b %Y}}<br>{_hover_number('y', 'money', currency)}"
                         f"<extra>{_text(name)}</extra>"}]
    # Each marker sits on the line: its day's value, looked up once for all of them.
    height = daily.set_index("day")["net_revenue"].reindex(markers["day"]).fillna(0)
    placed = markers.assign(height=height.to_numpy())
    rows_of = placed.groupby(group_column, sort=False).indices
    order = list(groups) or sorted(rows_of)
    palette = entity_colours(order)
    for group in order:
        if group not in rows_of:
            continue
        part = placed.iloc[rows_of[group]]
        traces.append({
            "type": "scatter", "mode": "markers", "x": _values(part["day"]),
            "y": _values(part["height"]), "name": _text(str(group)),
            "text": _labels(part[hover_column]), "customdata": _values(part["key"]),
            "marker": {"color": palette[group], "size": 8, "symbol": "diamond",
                       "line": {"color": "#ffffff", "width": 1}},
            "hovertemplate": f"%{{x|%a %d %b %Y}}<br>%{{text}}<extra>{_text(str(group))}</extra>"})
    return _figure(traces, showlegend=True, hovermode="closest", clickmode="event",
                   xaxis={"type": "date"},
                   yaxis={**_money_axis(currency, daily["net_revenue"]), "rangemode": "tozero"})


def stacked_bar_figure(frame: pd.DataFrame, label_column: str,
                       series: Sequence[tuple[str, str, str]], currency: str) -> Figure:
    """Horizontal stacked money bars per label (`series`: column, name, colour), first row on
    top."""
    ordered = frame.iloc[::-1]
    labels = _labels(ordered[label_column])
    number = _hover_number("x", "money", currency)
    traces = [{"type": "bar", "orientation": "h", "x": _values(ordered[column]), "y": labels,
               "name": _text(name), "marker": {"color": colour},
               "hovertemplate": f"%{{y}}<br>{number}<extra>{_text(name)}</extra>"}
              for column, name, colour in series]
    return _figure(traces, barmode="stack", bargap=0.25, showlegend=True,
                   xaxis=_money_axis(currency, *_stacked(ordered, series)),
                   yaxis={"automargin": True})


def heatmap_counts_figure(cells: pd.DataFrame, value: str, count: str, name: str,
                          unit: str, currency: str, what: str = "posts") -> Figure:
    """`heatmap_figure` with each cell's count written in it and in the hover; when no cell
    has enough of them for a value, a chart that says so rather than a blank grid."""
    if not cells[value].notna().any():
        return empty_figure(f"Too few {what} in any one weekday and hour to show "
                            f"{name.lower()}: see the note below.")
    figure = heatmap_figure(cells, value, name, unit, currency)
    counts = cells.pivot(index="weekday", columns="hour", values=count).reindex(
        index=range(7), columns=range(24)).fillna(0).astype(int)
    heat = figure["data"][0]
    text = [[str(number) if number else "" for number in row] for row in counts.to_numpy()]
    hover = heat["hovertemplate"].replace("<extra>", f"<br>%{{text}} {_text(what)}<extra>")
    return {"data": [{**heat, "text": text, "texttemplate": "%{text}",
                      "textfont": {"size": 9}, "hovertemplate": hover}],
            "layout": figure["layout"]}


def daily_lines_figure(frame: pd.DataFrame, series: Sequence[tuple[str, str, str]],
                       currency: str, span: tuple[Any, Any] | None = None,
                       span_label: str = "") -> Figure:
    """Money per day (`day`), one line per series ((column, name, colour)); `span` (first,
    last day) is shaded and labelled, e.g. the days a campaign ran."""
    traces = [{"type": "scatter", "mode": "lines", "x": _values(frame["day"]),
               "y": _values(frame[column]), "name": _text(name),
               "line": {"color": colour, "width": 1.8},
               "hovertemplate": f"%{{x|%a %d %b %Y}}<br>{_hover_number('y', 'money', currency)}"
                                f"<extra>{_text(name)}</extra>"}
              for column, name, colour in series]
    extra: dict[str, Any] = {}
    if span is not None:
        extra["shapes"] = [{"type": "rect", "xref": "x", "yref": "paper", "x0": str(span[0]),
                            "x1": str(span[1]), "y0": 0, "y1": 1, "layer": "below",
                            "fillcolor": ACCENT, "opacity": 0.12, "line": {"width": 0}}]
        extra["annotations"] = [{"x": str(span[0]), "y": 1, "xref": "x", "yref": "paper",
                                 "text": _text(span_label), "showarrow": False,
                                 "xanchor": "left", "yanchor": "bottom",
                                 "font": {"size": 11}}]
        extra["margin"] = {"t": 24}  # room for the span's label above the plot
    return _figure(traces, showlegend=True, hovermode="x unified", xaxis={"type": "date"},
                   yaxis={**_money_axis(currency, *(frame[column] for column, _, _ in series)),
                          "rangemode": "tozero"},
                   legend={"orientation": "h", "y": -0.2}, **extra)


def model_history_figure(runs: pd.DataFrame) -> Figure:
    """The backtested mean MAPE and WAPE of a model and of its baseline per training run,
    in the order of the runs; the hover names the run's data (`label`), its as-of date and
    data revision."""
    about = [[_text(label), revision, _json_value(asof)] for label, revision, asof in zip(
        runs["label"], runs["data_revision"], runs["asof"], strict=True)]
    # One slot per run in time order (runs come minutes or months apart; a date axis would
    # zoom to milliseconds for two runs of one afternoon).
    runs_at = [f"Run {run}<br>{pd.Timestamp(at):%-d %b %Y %H:%M}" for run, at in zip(
        runs["run_id"], runs["trained_at"], strict=True)]
    traces = [{"type": "scatter", "mode": "lines+markers", "x": runs_at,
               "y": _values(runs[column]), "name": name, "customdata": about,
               "line": {"color": colour, "width": 1.8, "dash": dash}, "marker": {"size": 7},
               "hovertemplate": f"{name} %{{y:.1%}}<br>%{{customdata[0]}}<br>as of "
                                "%{customdata[2]|%-d %b %Y}, data revision %{customdata[1]}"
                                "<extra></extra>"}
              for column, name, colour, dash in (
                  ("model_mape", "Model MAPE", ACCENT, "solid"),
                  ("baseline_mape", "Baseline MAPE", COMPARISON, "solid"),
                  ("model_wape", "Model WAPE", ACCENT, "dot"),
                  ("baseline_wape", "Baseline WAPE", COMPARISON, "dot"))]
    return _figure(traces, showlegend=True, xaxis={"type": "category", "automargin": True},
                   yaxis={"tickformat": PERCENT_TICKS, "rangemode": "tozero"},
                   legend={"orientation": "h", "y": -0.3})
