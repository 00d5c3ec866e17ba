"""Pipeline page: the B2B deals by stage, conversion and days per stage, quota attainment,
the weighted forecast by close month, and the open opportunities (`/pipeline`)."""
from __future__ import annotations

from typing import Any

import dash_ag_grid as dag
import dash_bootstrap_components as dbc
import pandas as pd
from dash import dcc, html

from dashapp.filters import View
from layouts import figures
from layouts.components import chart_card
from layouts.controls import button_group
from layouts.panels import Context, Drawn, Panel, Source, panel_card
from layouts.shell import PAGE_PARAM
from services import pipeline as service
from services.filters import ParamSpec, Period, format_range

PATH = "/pipeline"
TITLE = "Pipeline"
ALL = ""
MEASURES = {"deals": "Deals", "value": "Value"}
SORT_LABELS = {"amount": "Amount", "weighted_value": "Weighted value",
               "probability": "Probability", "age_days": "Age",
               "days_since_change": "Days in stage", "expected_close": "Expected close"}
PARAMS = (
    ParamSpec("stage", default=ALL),  # the business's own stages: any name
    ParamSpec("rep", default=ALL),
    ParamSpec("team", default=ALL),
    ParamSpec("stale", default="30", choices=service.STALE_CHOICES),
    ParamSpec("measure", default="deals", choices=tuple(MEASURES)),
    ParamSpec("sort", default="amount", choices=service.OPEN_SORTS),
)
# A deal has no product and no order country: only the platform and the comparison apply.
DEAL_FILTERS = frozenset({"platform", "compare"})
NO_COMPARE = DEAL_FILTERS - {"compare"}

STAGE = {"type": PAGE_PARAM, "name": "stage"}
REP = {"type": PAGE_PARAM, "name": "rep"}
TEAM = {"type": PAGE_PARAM, "name": "team"}
STALE = {"type": PAGE_PARAM, "name": "stale"}
MEASURE = {"type": PAGE_PARAM, "name": "measure"}
SORT = {"type": PAGE_PARAM, "name": "sort"}

# (key, title, unit); a lower value is the better news for the cycle only.
KPI_CARDS = (("open_value", "Open pipeline", "money"),
             ("weighted_value", "Weighted pipeline", "money"),
             ("win_rate", "Win rate", "percent"),
             ("avg_deal_size", "Average deal size", "money"),
             ("avg_cycle_days", "Average sales cycle", "days"),
             ("won_value", "Won value", "money"))
LOWER_IS_BETTER = frozenset({"avg_cycle_days"})
TABLE_COLUMNS = (
    ("opportunity", "Deal", 110), ("account", "Account", 170), ("rep", "Rep", 140),
    ("team", "Team", 110), ("stage", "Stage", 110), ("amount", "Amount", 110),
    ("probability", "Probability", 110), ("weighted_value", "Weighted", 110),
    ("age_days", "Age (days)", 100), ("expected_close", "Expected close", 130),
    ("days_since_change", "Days in stage", 120), ("stale", "Stale", 90),
)
SHOWN_AS_TEXT = ("amount", "probability", "weighted_value")
PROBABILITY_MARKS = {"stage default": " (stage)", "stage win rate": " (est.)"}
TEXT_COLUMNS = frozenset({"opportunity", "account", "rep", "team", "stage", "expected_close",
                          "stale"})


def _range(period: Period) -> str:
    return format_range(period.start, period.end)


def _day(period: Period) -> str:
    return format_range(period.end, period.end)


def format_kpi(value: float | None, unit: str, currency: str) -> str:
    """A pipeline KPI in its unit."""
    if unit == "days":
        return "n/a" if value is None else f"{value:,.0f} days"
    return figures.format_value(value, unit, currency)


def kpi_change(key: str, unit: str, kpi: dict[str, Any], currency: str, comparing: bool) -> Any:
    """'▲ 4.3 pp vs 26.8%' coloured by whether the change is good news."""
    if not comparing:
        return html.Span("No comparison", className="text-muted")
    previous = format_kpi(kpi["comparison"], unit, currency)
    delta = kpi["change"]
    if delta is None:
        return html.Span(f"n/a vs {previous}", className="text-muted")
    text = f"{delta * 100:+.1f} pp" if key in service.RATIO_KPIS else \
        figures.format_percent(delta, signed=True)
    good = (delta >= 0) != (key in LOWER_IS_BETTER)
    arrow = "▲" if delta > 0 else ("▼" if delta < 0 else "■")
    return html.Span([html.Span(f"{arrow} {text}", className="change-up" if good else
                                "change-down"),
                      html.Span(f" vs {previous}", className="text-muted")])


def kpi_cards(data: dict[str, Any], context: Context) -> Any:
    """The KPI cards, each saying which deals it counts."""
    comparing = context.period.comparison is not None
    open_on = f"Deals open on {_day(context.period)}"
    closed_in = f"Deals closed in {_range(context.period)}"
    basis = {"open_value": open_on, "weighted_value": open_on + ", × probability",
             "win_rate": closed_in + ": won / (won + lost)",
             "avg_deal_size": "Won " + closed_in[0].lower() + closed_in[1:],
             "avg_cycle_days": "Created to won, " + closed_in[0].lower() + closed_in[1:],
             "won_value": "Won " + closed_in[0].lower() + closed_in[1:]}
    cards = []
    for key, title, unit in KPI_CARDS:
        kpi = data["kpis"][key]
        cards.append(dbc.Col(dbc.Card(dbc.CardBody([
            html.Div(title, className="kpi-title"),
            html.Div(format_kpi(kpi["current"], unit, context.currency), className="kpi-value",
                     id=f"pipeline-kpi-{key}"),
            html.Div(kpi_change(key, unit, kpi, context.currency, comparing),
                     className="kpi-change"),
            html.Div(basis[key], className="small text-muted"),
        ]), className="kpi-card h-100"), xs=6, md=4, xl=2))
    return dbc.Row(cards, className="g-3")


def stage_table(funnel: pd.DataFrame, currency: str, chosen: str) -> Any:
    """The stages: deals and value that reached each, conversion, days in the stage."""
    number, percent = figures.format_number, figures.format_percent
    headers = ["Stage", "Reached", "Value", "Still open here", "To next stage",
               "Days in stage", "Win rate from here"]
    rows = [html.Tr([html.Td(row.label),
                     *[html.Td(cell, className="text-end") for cell in (
                         number(row.deals), _stage_value(row, currency),
                         number(row.open_here) if row.stage != service.WON else "",
                         percent(row.conversion),
                         "n/a" if pd.isna(row.avg_days) else f"{row.avg_days:.1f}",
                         percent(row.win_rate))]],
                    className="table-active" if row.stage == chosen else None)
            for row in funnel.itertuples()]
    return dbc.Table([html.Thead(html.Tr([html.Th(name, className="text-end" if i else None)
                                          for i, name in enumerate(headers)])),
                      html.Tbody(rows)], size="sm", hover=True, className="mb-0 numeric-table")


def _stage_value(row: Any, currency: str) -> str:
    """The value of a stage's deals, saying how many have no amount."""
    value = figures.format_money(row.value, currency, True)
    return f"{value} ({row.no_amount:,} no amount)" if row.no_amount else value


def quota_table(reps: pd.DataFrame, currency: str) -> Any:
    """Every rep: team, region, won value, quota and attainment."""
    if reps.empty:
        return html.P("No sales reps in this view.", className="text-muted small mb-0")
    money = figures.format_money
    headers = ["Rep", "Team", "Region", "Won", "Deals won", "Quota", "Attainment"]
    rows = [html.Tr([html.Td(row.rep), html.Td(row.team or ""), html.Td(row.region or ""),
                     *[html.Td(cell, className="text-end") for cell in (
                         money(row.won_value, currency), figures.format_number(row.won_deals),
                         money(row.quota, currency),
                         figures.format_percent(row.attainment, 0))]])
            for row in reps.itertuples()]
    return dbc.Table([html.Thead(html.Tr([html.Th(name, className="text-end" if i > 2 else None)
                                          for i, name in enumerate(headers)])),
                      html.Tbody(rows)], size="sm", hover=True, className="mb-0 numeric-table")


def quota_window(reps: pd.DataFrame) -> str:
    """Which days the attainment counts and how many quarters of quota it is measured by."""
    if reps.empty:
        return ""
    first = reps.iloc[0]
    quarters = int(first["quarters"])
    return (f"Won deals closed {format_range(first['window_start'], first['window_end'])}: "
            f"the {quarters} calendar quarter{'s' if quarters != 1 else ''} the range touches, "
            f"the last to date; quota = quarterly quota × {quarters}.")


def open_rows(table: pd.DataFrame, currency: str, stale_days: str) -> list[dict[str, Any]]:
    """The open deals as grid rows: numbers stay numbers (the grid sorts by them) next to
    their text; a missing account or amount is said in words, stale deals say so."""
    money, percent = figures.format_money, figures.format_percent
    return [{
        "opportunity": row.opportunity, "account": _text(row.account, "unknown account"),
        "rep": _text(row.rep), "team": _text(row.team), "stage": row.stage,
        "amount": _number(row.amount), "probability": _number(row.probability),
        "amount_text": "no amount" if pd.isna(row.amount) else money(row.amount, currency),
        "probability_text": percent(row.probability, 0) + PROBABILITY_MARKS.get(
            row.probability_source, ""),
        "weighted_value_text": money(row.weighted_value, currency),
        "weighted_value": _number(row.weighted_value), "age_days": _number(row.age_days),
        "expected_close": row.expected_close.isoformat() if row.expected_close else "",
        "days_since_change": _number(row.days_since_change),
        "stale": f"stale > {stale_days} d" if row.stale else "",
    } for row in table.itertuples()]


def _text(value: Any, missing: str = "") -> str:
    """A text cell; `missing` for NULL (which pandas may hold as NaN)."""
    return missing if value is None or pd.isna(value) or value == "" else str(value)


def _number(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def open_note(table: pd.DataFrame, view: View, period: Period) -> str:
    """What the table holds and how many deals are stale."""
    chosen = [f"{name} {view.page[name]}" for name in ("stage", "rep", "team") if view.page[name]]
    where = f" ({', '.join(chosen)})" if chosen else ""
    stale = int(table["stale"].sum()) if len(table) else 0
    estimated = int((table["probability_source"] == "stage win rate").sum()) if len(table) else 0
    default = int((table["probability_source"] == "stage default").sum()) if len(table) else 0
    no_amount = int(table["amount"].isna().sum()) if len(table) else 0
    text = (f"{len(table)} open deal{'s' if len(table) != 1 else ''}{where}, created by "
            f"{_day(period)}; {stale} stale (no stage change in more than "
            f"{view.page['stale']} days before {_day(period)}).")
    if estimated:
        text += f" {estimated} probabilit{'ies' if estimated != 1 else 'y'} marked “est.” " \
                "are the historical win rate of the deal's stage (none is stored)."
    if default:
        text += f" {default} marked “stage” are the stage's default probability."
    if no_amount:
        text += f" {no_amount} without an amount show “no amount”."
    return text


# --- drawing the panels -------------------------------------------------------------------------

def draw_kpis(data: dict[str, Any], context: Context) -> Drawn:
    """The KPI cards and how the weighted pipeline was weighed."""
    notes = (service.stage_note(data), context.period.compare_note or "")
    return Drawn(kpi_cards(data, context), " ".join(note for note in notes if note))


def kpi_table(data: dict[str, Any], _view: View) -> pd.DataFrame:
    """The KPI cards as rows: kpi, current, comparison, change."""
    return pd.DataFrame([{"kpi": key, **values} for key, values in data["kpis"].items()])


def draw_stage_funnel(funnel: pd.DataFrame, context: Context) -> Drawn:
    """Deals (or their value) that reached each stage; a click lists a stage's open deals."""
    if not funnel["deals"].any():
        return Drawn(figures.empty_figure(f"No deals created in {_range(context.period)}."))
    by_value = context.view.page["measure"] == "value"
    column, name = ("value", "Value") if by_value else ("deals", "Deals")
    figure = figures.funnel_figure(funnel["label"], funnel[column], funnel["stage"], name,
                                   unit="money" if by_value else "number",
                                   currency=context.currency,
                                   selected=(context.view.page["stage"],))
    undated = int(funnel["undated"].max())
    note = ("Won is the outcome, not a stage to list: open deals are in the stages before "
            "it. Deals without stage history are taken to have passed every stage before "
            "their current one.")
    if undated:
        note += (f" {undated:,} deal{'s' if undated != 1 else ''} without a created date "
                 "are counted whatever the range.")
    return Drawn(figure, note)


def days_note(funnel: pd.DataFrame) -> str:
    """Why days in stage are n/a, in words ('' when every open stage has some)."""
    stages = funnel.loc[funnel["stage"] != service.WON]
    missing = stages.loc[stages["stays"] == 0, "label"].tolist()
    if not missing or not stages["deals"].any():
        return ""
    if len(missing) == len(stages):
        return (" Days in stage are n/a: these deals have no stage history (a CRM file "
                "lists each deal's current stage only), so no stay in a stage has a known "
                "start and end.")
    return (f" Days in stage are n/a for {', '.join(missing)}: no stay there has ended in "
            "these deals' stage history.")


def draw_stage_table(funnel: pd.DataFrame, context: Context) -> Drawn:
    """Stage conversion and days per stage as a table, saying why days are n/a."""
    return Drawn(stage_table(funnel, context.currency, context.view.page["stage"]),
                 "To next stage = deals that reached the next stage / deals that left this one "
                 "(reached it and are not still open in it). Days in stage: from entering it "
                 "to entering the next, over the stays that ended." + days_note(funnel) +
                 " Win rate from here: the share won of all closed deals that reached the "
                 "stage (all history).")


def _attainment_bars(reps: pd.DataFrame, context: Context, colour: str) -> Drawn:
    if reps.empty:
        return Drawn(figures.empty_figure("No rep has a quota in this view."))
    figure = figures.ranked_bar_figure(reps, "rep", "rep", context.currency,
                                       value="attainment", value_name="Quota attainment",
                                       unit="percent", colour=colour)
    return Drawn(figures.with_target_line(figure, 1.0, "quota"), quota_window(context.data))


def draw_top_reps(reps: pd.DataFrame, context: Context) -> Drawn:
    """The five reps with the highest attainment, the target line at 100%."""
    return _attainment_bars(reps, context, figures.POSITIVE)


def draw_bottom_reps(reps: pd.DataFrame, context: Context) -> Drawn:
    """The five reps with the lowest attainment, the target line at 100%."""
    return _attainment_bars(reps, context, figures.NEGATIVE)


def draw_quota_table(reps: pd.DataFrame, context: Context) -> Drawn:
    """Every rep with team, region, won value, quota and attainment."""
    return Drawn(quota_table(reps, context.currency), quota_window(reps))


def draw_forecast(months: pd.DataFrame, context: Context) -> Drawn:
    """Won value per month next to the weighted open pipeline by expected close month."""
    if not months["won_value"].any() and not months["weighted_value"].any():
        return Drawn(figures.empty_figure("No won or open deals in this view."))
    figure = figures.monthly_bars_figure(months, (
        ("won_value", "Won (closed that month)", figures.POSITIVE),
        ("weighted_value", "Weighted open pipeline (expected close)", figures.PRIMARY)),
        context.currency)
    overdue = months.loc[months["month"] < months["month"].max(), "weighted_value"]
    note = ("Won: deals closed in the range, by month. Forecast: deals open now, by expected "
            "close month from the range's first month on, past its end too; open deals with an "
            "expected close in a month already past are overdue.")
    note = note if overdue.any() else note.split(";")[0] + "."
    left_out = [f"{count:,} open deal{'s' if count != 1 else ''} {why}"
                for count, why in ((int(months["open_no_close"].iloc[0]),
                                    "without an expected close"),
                                   (int(months["open_no_amount"].iloc[0]),
                                    "without an amount")) if count]
    if left_out:
        note += " Left out of the forecast: " + " and ".join(left_out) + "."
    return Drawn(figure, note)


def open_table_rows(table: pd.DataFrame, view: View) -> pd.DataFrame:
    """The open deals in the URL's order (`sort`)."""
    return service.sorted_open(table, view.page["sort"])


def draw_open_table(table: pd.DataFrame, context: Context) -> Drawn:
    """The open deals, stale ones marked."""
    return Drawn(open_rows(table, context.currency, context.view.page["stale"]),
                 open_note(table, context.view, context.period))


# --- tools of the panels ------------------------------------------------------------------------

def _picker(component_id: dict[str, str], value: str, options: list[dict[str, str]],
            width: str) -> dcc.Dropdown:
    return dcc.Dropdown(id=component_id, value=value, options=options, clearable=False,
                        searchable=len(options) > 6, className="sort-picker",
                        style={"minWidth": width})


def chosen_options(everything: str, values: list[str], chosen: str) -> list[dict[str, str]]:
    """'All …' and every value, the chosen one kept even when no longer known."""
    if chosen and chosen not in values:
        values = [*values, chosen]
    return [{"label": everything, "value": ALL}, *[{"label": v, "value": v} for v in values]]


def stage_options(stages: list[str], chosen: str) -> list[dict[str, str]]:
    """'All stages' and every open stage by its label, the chosen one kept when unknown."""
    if chosen and chosen not in stages:
        stages = [*stages, chosen]
    return [{"label": "All stages", "value": ALL},
            *[{"label": service.stage_label(s), "value": s} for s in stages]]


def _table_tools(view: View) -> html.Div:
    page = view.page
    stages = stage_options([], page["stage"])
    stale = [{"label": f"Stale after {days} days", "value": days}
             for days in service.STALE_CHOICES]
    # Stage, rep and team options are filled by a callback (no query at layout time).
    return html.Div([
        _picker(STAGE, page["stage"], stages, "9rem"),
        _picker(REP, page["rep"], chosen_options("All reps", [], page["rep"]), "9rem"),
        _picker(TEAM, page["team"], chosen_options("All teams", [], page["team"]), "9rem"),
        _picker(STALE, page["stale"], stale, "11rem"),
        _picker(SORT, page["sort"], [{"label": f"Sort: {label}", "value": key}
                                     for key, label in SORT_LABELS.items()], "11rem"),
    ], className="d-flex flex-wrap gap-2 align-items-center")


def _measure_tools(view: View) -> dbc.RadioItems:
    return button_group(MEASURE, view.page["measure"], MEASURES)


# --- the panels ---------------------------------------------------------------------------------

KPIS = Panel("pipeline-kpis", "Pipeline KPIs", Source(service.pipeline_kpis), draw_kpis,
             api_key=("kpis", "probability", "counts"), kind="html", applies=DEAL_FILTERS,
             table=kpi_table, export_title="Pipeline KPIs",
             subtitle="Open and weighted: deals open on the range's last day. Win rate, deal "
                      "size, cycle and won value: deals closed in the range")
FUNNEL_SOURCE = Source(service.stage_funnel)
STAGE_FUNNEL = Panel("pipeline-stage-funnel", "Pipeline by stage", FUNNEL_SOURCE,
                     draw_stage_funnel, api_key="stage_funnel", applies=NO_COMPARE,
                     xfilter="stage", height=340, toolbar=False, tools=_measure_tools,
                     subtitle="Deals created in the range that reached each stage; click a "
                              "stage to list its open deals")
STAGE_TABLE = Panel("pipeline-stage-table", "Stage conversion and days in stage",
                    FUNNEL_SOURCE, draw_stage_table, api_key="stage_funnel",
                    applies=NO_COMPARE, kind="html",
                    subtitle="Deals created in the range, from their stage history")
QUOTA_SOURCE = Source(service.quota_attainment)
TOP_REPS = Panel("pipeline-top-reps", "Quota attainment: top 5", QUOTA_SOURCE, draw_top_reps,
                 rows=lambda reps, _view: service.top_reps(reps), api_key="top_reps",
                 applies=NO_COMPARE, height=280, toolbar=False,
                 subtitle="Won value / quota; deals by closed date")
BOTTOM_REPS = Panel("pipeline-bottom-reps", "Quota attainment: bottom 5", QUOTA_SOURCE,
                    draw_bottom_reps, rows=lambda reps, _view: service.bottom_reps(reps),
                    api_key="bottom_reps", applies=NO_COMPARE, height=280, toolbar=False,
                    subtitle="Won value / quota; deals by closed date")
QUOTA_TABLE = Panel("pipeline-quota-table", "All reps", QUOTA_SOURCE, draw_quota_table,
                    api_key="reps", applies=NO_COMPARE, kind="html",
                    export_title="Quota attainment",
                    subtitle="Team, region, won value, quota and attainment; deals by closed "
                             "date")
FORECAST = Panel("pipeline-forecast", "Weighted forecast and won value by month",
                 Source(service.forecast_by_month), draw_forecast, api_key="forecast",
                 applies=NO_COMPARE, height=320, toolbar=False,
                 subtitle="Won: by closed date. Forecast: open deals × probability, by "
                          "expected close date")
OPEN_TABLE = Panel("pipeline-open", "Open opportunities",
                   Source(service.open_opportunities, choices=("stage", "rep", "team", "stale")),
                   draw_open_table, rows=open_table_rows, api_key="open_opportunities",
                   applies=NO_COMPARE, kind="grid", export_title="Open opportunities",
                   subtitle="Deals open now, created by the range's end; the range does not "
                            "filter them further")
PANELS = (KPIS, STAGE_FUNNEL, STAGE_TABLE, TOP_REPS, BOTTOM_REPS, QUOTA_TABLE, FORECAST,
          OPEN_TABLE)


def open_grid() -> dag.AgGrid:
    """The open deals in the URL's order (the sort picker); stale rows are tinted."""
    columns: list[dict[str, Any]] = [
        {"field": field, "headerName": name, "width": width,
         "type": None if field in TEXT_COLUMNS else "rightAligned"}
        for field, name, width in TABLE_COLUMNS]
    for column in columns:
        if column["field"] in SHOWN_AS_TEXT:  # sorted by the number, shown as its text
            column["valueFormatter"] = {"function": f"params.data.{column['field']}_text"}
    return dag.AgGrid(
        id=OPEN_TABLE.key, columnDefs=columns, rowData=[],
        defaultColDef={"sortable": False, "resizable": True},
        getRowStyle={"styleConditions": [{"condition": "params.data.stale !== ''",
                                          "style": {"backgroundColor": "#fef3c7"}}]},
        dashGridOptions={"pagination": True, "paginationPageSize": 20,
                         "paginationPageSizeSelector": False, "suppressCellFocus": True},
        style={"height": "560px"})


def layout(view: View) -> html.Div:
    """The Pipeline page for a view (stage, rep, team and stale choices come from the URL)."""
    table = chart_card(OPEN_TABLE.title, open_grid(), OPEN_TABLE.note_id,
                       tools=_table_tools(view), subtitle=OPEN_TABLE.subtitle,
                       export_key=OPEN_TABLE.key)
    stage_body = html.Div(html.Div(id=STAGE_TABLE.key, className="panel-body"),
                          className="table-responsive")
    quota_body = html.Div(html.Div(id=QUOTA_TABLE.key, className="panel-body"),
                          className="table-responsive")
    return html.Div([
        html.H1(TITLE, className="visually-hidden"),
        dbc.Row(dbc.Col(panel_card(KPIS, view)), className="mb-3"),
        dbc.Row([dbc.Col(panel_card(STAGE_FUNNEL, view), lg=5),
                 dbc.Col(panel_card(STAGE_TABLE, view, stage_body), lg=7)],
                className="g-3 mb-3"),
        dbc.Row(dbc.Col(table), className="mb-3"),
        dbc.Row([dbc.Col(panel_card(TOP_REPS, view), lg=6),
                 dbc.Col(panel_card(BOTTOM_REPS, view), lg=6)], className="g-3 mb-3"),
        dbc.Row([dbc.Col(panel_card(QUOTA_TABLE, view, quota_body), lg=6),
                 dbc.Col(panel_card(FORECAST, view), lg=6)], className="g-3"),
    ])
