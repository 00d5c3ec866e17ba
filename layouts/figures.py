"""Pure figure builders and number formats: the one visual language of every chart.

Each builder takes a small DataFrame from a service and returns a `go.Figure`; none of them
queries anything. Empty data gives an empty-state figure that says why.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd
import plotly.graph_objects as go

PRIMARY = "#2563eb"
COMPARISON = "#94a3b8"
ACCENT = "#f59e0b"
POSITIVE = "#16a34a"
NEGATIVE = "#dc2626"
MUTED = "#64748b"
SERIES = ("#2563eb", "#0891b2", "#7c3aed", "#db2777", "#ea580c", "#65a30d", "#0d9488",
          "#9333ea", "#ca8a04", "#475569")
ROLLING_COLOURS = {3: "#0891b2", 7: "#7c3aed", 30: "#ea580c"}
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"
CURRENCY_SYMBOLS = {"USD": "$", "GBP": "£", "EUR": "€", "JPY": "¥", "INR": "₹", "AUD": "A$",
                    "CAD": "C$", "CHF": "CHF ", "SEK": "kr ", "NZD": "NZ$"}


def currency_symbol(currency: str) -> str:
    """Symbol for an ISO currency code, the code itself (with a space) when unknown."""
    return CURRENCY_SYMBOLS.get(currency.upper(), currency.upper() + " ")


def _is_missing(value: float | None) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def format_money(value: float | None, currency: str, compact: bool = False) -> str:
    """'£12,345', '-£1.2M' (compact), or 'n/a' for a missing value."""
    if _is_missing(value):
        return "n/a"
    sign = "-" if value < 0 else ""
    symbol = currency_symbol(currency)
    amount = abs(value)
    if compact and amount >= 1_000_000:
        return f"{sign}{symbol}{amount / 1_000_000:.2f}M"
    if compact and amount >= 10_000:
        return f"{sign}{symbol}{amount / 1_000:.1f}k"
    decimals = 2 if amount < 1_000 else 0
    return f"{sign}{symbol}{amount:,.{decimals}f}"


def format_number(value: float | None) -> str:
    """'12,345' or 'n/a'."""
    return "n/a" if _is_missing(value) else f"{value:,.0f}"


def format_percent(value: float | None, decimals: int = 1, signed: bool = False) -> str:
    """'12.3%' from 0.123 ('+12.3%' when signed), or 'n/a'."""
    if _is_missing(value):
        return "n/a"
    return f"{value * 100:{'+' if signed else ''}.{decimals}f}%"


def _style(figure: go.Figure) -> go.Figure:
    figure.update_layout(
        template="plotly_white",
        font={"family": FONT, "size": 12, "color": "#1e293b"},
        margin={"l": 8, "r": 8, "t": 8, "b": 8},
        hoverlabel={"font": {"family": FONT}},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0},
        separators=".,",
    )
    return figure


def empty_figure(message: str) -> go.Figure:
    """A blank chart that says why it is empty."""
    figure = go.Figure()
    figure.add_annotation(text=message, showarrow=False, xref="paper", yref="paper",
                          x=0.5, y=0.5, font={"size": 14, "color": MUTED})
    figure.update_xaxes(visible=False)
    figure.update_yaxes(visible=False)
    return _style(figure)


def sparkline(dates: Sequence, values: Sequence[float], colour: str = PRIMARY) -> go.Figure:
    """A tiny axis-less line for a KPI card."""
    figure = go.Figure(go.Scatter(x=list(dates), y=list(values), mode="lines",
                                  line={"color": colour, "width": 1.6}, fill="tozeroy",
                                  fillcolor="rgba(37, 99, 235, 0.08)", hoverinfo="skip"))
    figure.update_xaxes(visible=False)
    figure.update_yaxes(visible=False, rangemode="tozero")
    figure.update_layout(margin={"l": 0, "r": 0, "t": 0, "b": 0}, height=42,
                         showlegend=False, template="plotly_white",
                         plot_bgcolor="rgba(0,0,0,0)", paper_bgcolor="rgba(0,0,0,0)")
    return figure


def _money_axis(currency: str) -> dict[str, str]:
    return {"tickprefix": currency_symbol(currency), "tickformat": "~s"}


def trend_figure(trend: pd.DataFrame, grain: str, rolling: Sequence[int], currency: str,
                 compare_label: str | None) -> go.Figure:
    """Net revenue per bucket, the comparison period overlaid and chosen rolling means."""
    symbol = currency_symbol(currency)
    figure = go.Figure()
    figure.add_bar(
        x=trend["bucket"], y=trend["net_revenue"], name="Net revenue", marker_color=PRIMARY,
        opacity=0.85 if grain == "day" else 1.0,
        hovertemplate=f"%{{x|%a %d %b %Y}}<br>{symbol}%{{y:,.2f}}<extra>Net revenue</extra>")
    if compare_label and trend["compare_net_revenue"].notna().any():
        figure.add_scatter(
            x=trend["bucket"], y=trend["compare_net_revenue"], name=compare_label,
            mode="lines", line={"color": COMPARISON, "width": 2, "dash": "dot"},
            customdata=trend["compare_bucket"].astype(str),
            hovertemplate=f"%{{customdata}}<br>{symbol}%{{y:,.2f}}<extra>{compare_label}</extra>")
    for window in rolling:
        column = f"rolling_{window}"
        if column in trend and trend[column].notna().any():
            figure.add_scatter(
                x=trend["bucket"], y=trend[column], name=f"{window}-day average", mode="lines",
                line={"color": ROLLING_COLOURS.get(window, ACCENT), "width": 2},
                hovertemplate=f"%{{x|%d %b %Y}}<br>{symbol}%{{y:,.2f}}"
                              f"<extra>{window}-day average</extra>")
    figure.update_yaxes(**_money_axis(currency), rangemode="tozero")
    figure.update_xaxes(type="date")
    figure.update_layout(bargap=0.15, hovermode="x unified" if grain != "day" else "closest")
    return _style(figure)


def ranked_bar_figure(frame: pd.DataFrame, label_column: str, key_column: str, currency: str,
                      compare: bool = False, colour: str = PRIMARY,
                      selected: Sequence[str] = ()) -> go.Figure:
    """Horizontal bars of net revenue, largest on top; `customdata` carries the filter key.

    With `compare`, a grey bar under each shows the comparison period. Bars of already
    selected keys are drawn in the accent colour so a cross-filter shows.
    """
    ordered = frame.iloc[::-1]
    symbol = currency_symbol(currency)
    hover = f"%{{y}}<br>{symbol}%{{x:,.2f}}<extra>%{{fullData.name}}</extra>"
    figure = go.Figure()
    has_comparison = bool("compare_net_revenue" in ordered
                          and ordered["compare_net_revenue"].notna().any())
    if compare and has_comparison:
        figure.add_bar(x=ordered["compare_net_revenue"], y=ordered[label_column],
                       orientation="h", name="Comparison period", marker_color=COMPARISON,
                       customdata=ordered[key_column], hovertemplate=hover)
    figure.add_bar(
        x=ordered["net_revenue"], y=ordered[label_column], orientation="h", name="Net revenue",
        marker_color=[ACCENT if key in selected else colour for key in ordered[key_column]],
        customdata=ordered[key_column], hovertemplate=hover,
        text=[format_money(value, currency, compact=True) for value in ordered["net_revenue"]],
        textposition="auto", cliponaxis=False)
    values = pd.concat([ordered["net_revenue"], ordered.get("compare_net_revenue",
                                                            pd.Series(dtype=float))]).dropna()
    # Room on the right for the value labels printed outside the longest bar.
    figure.update_xaxes(**_money_axis(currency),
                        range=[min(0.0, float(values.min())) * 1.25,
                               max(0.0, float(values.max())) * 1.25 or 1.0])
    figure.update_yaxes(automargin=True)
    figure.update_layout(showlegend=compare and has_comparison, clickmode="event",
                         barmode="group", bargap=0.25, bargroupgap=0.05,
                         legend={"traceorder": "reversed"})
    return _style(figure)
