"""Funnel page: sessions → product views → add to cart → checkout → purchase, by platform, the
conversion trend and the reconciliation of funnel purchases with recorded orders."""
from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
import pandas as pd
from dash import html

from dashapp.filters import View
from layouts import figures
from layouts.overview import selection_note
from layouts.panels import Context, Drawn, Panel, Source, panel_card
from services import funnel as service
from services.filters import ParamSpec, Period, comparison_name, format_range

PATH = "/funnel"
TITLE = "Funnel"
PARAMS: tuple[ParamSpec, ...] = ()
# Funnel counts have no product and no order country: those filters never apply here (the
# note under each panel names a chosen product or category as not applied).
FUNNEL_FILTERS = frozenset({"platform", "compare"})
COUNT_SOURCE = "Counts from the analytics tools (funnel days); the product filter does not " \
               "apply to them"
TRANSITIONS = tuple((step, f"→ {service.STEP_LABELS[step]}") for step in service.STEPS[1:])


def funnel_empty(context: Context) -> str:
    """Why a funnel chart is empty, in words."""
    platforms = context.filters.platforms
    where = f" for {', '.join(platforms)}" if platforms else ""
    return (f"No funnel counts{where} in {format_range(context.period.start, context.period.end)}"
            ": import funnel days on the Data page.")


def steps_table(steps: pd.DataFrame, comparing: bool) -> Any:
    """The steps with their counts and conversions (and the comparison's) as a table."""
    percent, number = figures.format_percent, figures.format_number
    headers = ["Step", "Count", "Step conv.", "Of sessions", "Lost"]
    if comparing:
        headers += ["Then", "Then of sessions"]
    rows = []
    for row in steps.itertuples():
        cells = [row.label, number(row.count), percent(row.step_rate),
                 percent(row.overall_rate), number(row.lost) if row.lost else ""]
        if comparing:
            cells += [number(row.compare_count), percent(row.compare_overall_rate)]
        rows.append(html.Tr([html.Td(cell, className="text-end" if i else None)
                             for i, cell in enumerate(cells)]))
    return dbc.Table([html.Thead(html.Tr([html.Th(name, className="text-end" if i else None)
                                          for i, name in enumerate(headers)])),
                      html.Tbody(rows)], size="sm", className="mb-0 numeric-table")


def reconciliation_table(frame: pd.DataFrame, total: dict[str, Any]) -> Any:
    """Funnel purchases, recorded orders and the gap per platform, the total in words."""
    if frame.empty:
        return html.P(total["text"], className="text-muted small mb-0")
    number = figures.format_number
    rows = [html.Tr([html.Td(row.platform), html.Td(number(row.days), className="text-end"),
                     html.Td(number(row.funnel_purchases), className="text-end"),
                     html.Td(number(row.orders), className="text-end"),
                     html.Td(f"{row.gap:+,}", className="text-end"),
                     html.Td(figures.format_percent(row.gap_share, signed=True),
                             className="text-end")])
            for row in frame.itertuples()]
    headers = ["Platform", "Days", "Funnel purchases", "Orders recorded", "Gap", "Gap %"]
    return html.Div([
        html.P(total["text"], className="mb-2", id="funnel-reconciliation-text"),
        html.Div(dbc.Table([html.Thead(html.Tr([html.Th(name, className="text-end" if i else None)
                                                for i, name in enumerate(headers)])),
                            html.Tbody(rows)], size="sm", className="mb-0 numeric-table"),
                 className="table-responsive")])


def _comparing(context: Context) -> bool:
    """Whether the funnel totals have a comparison: only one the data covers wholly."""
    return context.period.comparison is not None


def comparison_note(context: Context) -> str:
    """Why a chosen comparison is not shown, or that it overlaps the range."""
    return context.period.compare_note or ""


# --- drawing the panels -------------------------------------------------------------------------

def draw_steps(steps: pd.DataFrame, context: Context) -> Drawn:
    """The funnel of the five steps, the comparison beside it, the biggest drop above."""
    drop = service.biggest_drop(steps)
    if int(steps["count"].iloc[0]) == 0:
        return Drawn(figures.empty_figure(funnel_empty(context)), lead="")
    comparison = comparison_name(context.filters) if _comparing(context) else None
    figure = figures.funnel_figure(steps["label"], steps["count"], steps["step"], "Visitors",
                                   compare=steps["compare_count"], compare_label=comparison)
    return Drawn(figure, comparison_note(context), lead=drop["text"])


def draw_steps_table(steps: pd.DataFrame, context: Context) -> Drawn:
    """Counts, step conversion and overall conversion of each step."""
    return Drawn(steps_table(steps, _comparing(context)), comparison_note(context))


def draw_platforms(rates: pd.DataFrame, context: Context) -> Drawn:
    """Step and overall conversion per platform side by side; a click filters by platform."""
    if rates.empty or rates["rate"].isna().all():
        return Drawn(figures.empty_figure(funnel_empty(context)))
    chosen = context.view.filters.platforms
    comparison = comparison_name(context.filters) if _comparing(context) else None
    figure = figures.grouped_rate_figure(overall_labels(rates), "label", "slug", "step",
                                         TRANSITIONS, comparison, selected=chosen)
    note = "Each bar: the share of the step before that reached this step. The legend gives " \
           "each platform's overall conversion (purchases / sessions)."
    if comparison:
        note += " The dark tick on a bar is the same rate in the comparison period."
    return Drawn(figure, " ".join(part for part in (note, selection_note(chosen, "platform"))
                                  if part))


def overall_labels(rates: pd.DataFrame) -> pd.DataFrame:
    """The rates with a 'label' per platform: its name and overall conversion."""
    overall = rates.loc[rates["step"] == service.OVERALL].set_index("slug")["rate"]
    names = rates.drop_duplicates("slug").set_index("slug")["platform"]
    labels = {slug: f"{names[slug]} · {figures.format_percent(overall.get(slug))}"
              for slug in names.index}
    return rates.assign(label=rates["slug"].map(labels))


def trend_note(trend: pd.DataFrame, period: Period, grain: str) -> str:
    """Which buckets are only partly in the range."""
    if trend["complete"].all():
        return ""
    return f"The first or last {grain} is only partly inside the range " \
           f"({format_range(period.start, period.end)})."


def draw_trend(trend: pd.DataFrame, context: Context) -> Drawn:
    """Purchase / sessions per bucket, the comparison period overlaid."""
    if not trend["sessions"].any():
        return Drawn(figures.empty_figure(funnel_empty(context)))
    grain = context.filters.grain
    comparison = comparison_name(context.filters)
    figure = figures.metric_trend_figure(trend, grain, (), "Conversion rate", "percent",
                                         context.currency, comparison)
    # Conversion rates are a few per cent: whole-per-cent ticks would repeat.
    notes = (trend_note(trend, context.period, grain), comparison_note(context))
    return Drawn(figures.with_layout(figure, yaxis={"tickformat": ".1%"}),
                 " ".join(note for note in notes if note))


def draw_reconciliation(frame: pd.DataFrame, _context: Context) -> Drawn:
    """Funnel purchases against recorded orders, the gap stated."""
    return Drawn(reconciliation_table(frame, service.reconciliation_total(frame)))


# --- the panels ---------------------------------------------------------------------------------

STEPS_SOURCE = Source(service.funnel_steps)
STEPS = Panel("funnel-steps", "Conversion funnel", STEPS_SOURCE, draw_steps,
              api_key="steps", api_extra=(("drop_off", service.biggest_drop),),
              applies=FUNNEL_FILTERS, lead=True, height=360, toolbar=False,
              subtitle=f"{COUNT_SOURCE}. Percentages are of sessions.")
STEPS_TABLE = Panel("funnel-steps-table", "Step by step", STEPS_SOURCE, draw_steps_table,
                    api_key="steps", applies=FUNNEL_FILTERS, kind="html",
                    export_title="Funnel steps",
                    subtitle="Step conversion = this step / the step before")
PLATFORMS = Panel("funnel-platforms", "Conversion by platform",
                  Source(service.funnel_by_platform), draw_platforms, api_key="by_platform",
                  applies=FUNNEL_FILTERS, xfilter="platform", height=380, toolbar=False,
                  subtitle="Click a bar to show only that platform")
TREND = Panel("funnel-trend", "Conversion rate over time", Source(service.conversion_trend),
              draw_trend, api_key="trend", applies=FUNNEL_FILTERS | {"grain"}, height=320,
              toolbar=False,
              subtitle="Purchases / sessions per bucket at the chosen granularity")
RECONCILIATION = Panel(
    "funnel-reconciliation", "Funnel purchases vs recorded orders",
    Source(service.reconciliation), draw_reconciliation, api_key="reconciliation",
    api_extra=(("reconciliation_total", service.reconciliation_total),),
    applies=FUNNEL_FILTERS - {"compare"}, kind="html",
    subtitle="The same platforms and days on both sides; orders = orders with a positive "
             "sale line, of every product")
PANELS = (STEPS, STEPS_TABLE, PLATFORMS, TREND, RECONCILIATION)


def layout(view: View) -> html.Div:
    """The Funnel page for a view."""
    return html.Div([
        html.H1(TITLE, className="visually-hidden"),
        dbc.Row([dbc.Col(panel_card(STEPS, view), lg=7),
                 dbc.Col(panel_card(STEPS_TABLE, view, html.Div(
                     html.Div(id=STEPS_TABLE.key, className="panel-body"),
                     className="table-responsive")), lg=5)], className="g-3 mb-3"),
        dbc.Row([dbc.Col(panel_card(PLATFORMS, view), lg=6),
                 dbc.Col(panel_card(TREND, view), lg=6)], className="g-3 mb-3"),
        dbc.Row(dbc.Col(panel_card(RECONCILIATION, view))),
    ])
