"""Customers page: KPIs, RFM segments (a click lists a segment's customers), the customer
segments of the data, lifetime value, cohort retention, new vs returning, top customers and
their countries."""
from __future__ import annotations

import datetime as dt
from typing import Any

import dash_bootstrap_components as dbc
import pandas as pd
from dash import dcc, html
from flask import has_request_context
from flask_login import current_user

from dashapp.filters import View
from layouts import figures
from layouts.controls import button_group
from layouts.country import COUNTRY_PARAM, country_picker
from layouts.model_status import ModelJob, pending, pending_figure, trained_line
from layouts.panels import NO_COMPARE, TIMELESS, Context, Drawn, Panel, Source, panel_card
from layouts.shell import PAGE_PARAM, export_menu
from services import customer_churn as churn
from services import customers as service
from services.filters import ParamSpec, format_range

PATH = "/customers"
COUNTRY_BANNER = "customers-country-banner"
TITLE = "Customers"
COHORT_VIEWS = {"customers": "Customers who bought", "revenue": "Revenue"}
SORT_LABELS = {"net_revenue": "Net revenue", "orders": "Orders", "aov": "AOV",
               "last_order": "Last order", "first_order": "First order",
               "customer": "Customer id"}
NAME_ROLES = frozenset({"admin", "analyst"})  # viewers see customer ids only
MEMBERS_SHOWN = 25


def _is_month(text: str) -> bool:
    try:
        return dt.date.fromisoformat(text).day == 1
    except ValueError:
        return False


PARAMS = (
    ParamSpec("segment", default="", choices=("", *service.SEGMENTS)),
    ParamSpec("cohort", default="customers", choices=tuple(COHORT_VIEWS)),
    ParamSpec("acquired", default="", validate=lambda text: text == "" or _is_month(text)),
    COUNTRY_PARAM,  # the order country: a filter of this page
    ParamSpec("q", default=""),
    ParamSpec("sort", default="net_revenue", choices=tuple(SORT_LABELS)),
    ParamSpec("page", default="1", validate=lambda text: text.isdigit() and 0 < int(text) < 10**6),
)
COHORT = {"type": PAGE_PARAM, "name": "cohort"}
SEARCH = {"type": PAGE_PARAM, "name": "q"}
SORT = {"type": PAGE_PARAM, "name": "sort"}
PAGE = {"type": PAGE_PARAM, "name": "page"}


# --- who sees names --------------------------------------------------------------------------

def names_visible() -> bool:
    """Whether this request's user may see customer names (analysts and admins; an admin
    previewing the app as a viewer sees what the viewer sees)."""
    return has_request_context() and bool(current_user.is_authenticated) and \
        current_user.role in NAME_ROLES


def _private(frame: pd.DataFrame) -> pd.DataFrame:
    """Customer rows without their names unless the user may see them: every way out of a
    panel (its drawing, export and API entry) reads these rows, never the service's."""
    return frame if names_visible() else frame.drop(columns="name")


def _named(headers: list[str], rows: list[list[Any]], frame: pd.DataFrame) -> None:
    """A "Name" column after the customer id, when the rows carry names (the user may see
    them; the drawn output is cached per role)."""
    if "name" not in frame.columns or \
            not frame["name"].fillna("").astype(str).str.strip().ne("").any():
        return  # none to show (the UCI file has no names)
    headers.insert(1, "Name")
    for row, name in zip(rows, frame["name"], strict=True):
        row.insert(1, "" if name is None or pd.isna(name) else str(name))


# --- presentation helpers (pure) ---------------------------------------------------------------

def format_kpi(key: str, value: float | None, currency: str) -> str:
    """A customer KPI in its unit."""
    unit = service.KPI_UNITS[key]
    if unit == "money":
        return figures.format_money(value, currency)
    if unit == "ratio":
        return figures.format_percent(value)
    if unit == "days":
        return "n/a" if value is None else f"{value:,.1f} days"
    return figures.format_number(value)


def kpi_change(key: str, kpi: dict[str, Any], compare: str, currency: str) -> Any:
    """'▲ 12.3% vs 1,234' (points for the repeat rate); fewer days between orders is good."""
    if compare == "none":
        return html.Span("No comparison selected", className="text-muted")
    previous = format_kpi(key, kpi["comparison"], currency)
    delta = kpi["change"]
    if delta is None:
        return html.Span(f"n/a vs {previous}", className="text-muted")
    text = (f"{delta * 100:+.1f} pp" if service.KPI_UNITS[key] == "ratio"
            else figures.format_percent(delta, signed=True))
    good = (delta >= 0) != (key == "median_days_between_orders")
    arrow = "▲" if delta > 0 else ("▼" if delta < 0 else "■")
    return html.Span([html.Span(f"{arrow} {text}", className="change-up" if good
                                else "change-down"),
                      html.Span(f" vs {previous}", className="text-muted")])


def _card(title: str, value: Any, change: Any = None) -> dbc.Card:
    return dbc.Card(dbc.CardBody([html.Div(title, className="kpi-title"),
                                  html.Div(value, className="kpi-value"),
                                  html.Div(change, className="kpi-change")]),
                    className="kpi-card h-100")


def _cards(cards: list[dbc.Card]) -> dbc.Row:
    return dbc.Row([dbc.Col(card, xs=6, md=4, xl=2) for card in cards], className="g-3 mb-1")


def _table(headers: list[str], rows: list[list[Any]], empty: str, numbers_from: int,
           numbers_to: int | None = None) -> Any:
    """A small table; columns numbers_from..numbers_to (the last when None) are right-aligned
    numbers."""
    if not rows:
        return html.P(empty, className="text-muted small mb-0")
    last = len(headers) - 1 if numbers_to is None else numbers_to

    def cell(tag: Any, value: Any, i: int) -> Any:
        return tag(value, className="text-end" if numbers_from <= i <= last else None)
    return html.Div(dbc.Table(
        [html.Thead(html.Tr([cell(html.Th, name, i) for i, name in enumerate(headers)])),
         html.Tbody([html.Tr([cell(html.Td, value, i) for i, value in enumerate(row)])
                     for row in rows])],
        size="sm", hover=True, className="mb-0 numeric-table"), className="table-responsive")


def _day(value: Any) -> str:
    return "" if value is None or pd.isna(value) else format_range(value, value)


# --- drawing the panels -------------------------------------------------------------------------

def draw_kpis(kpis: dict[str, Any], context: Context) -> Drawn:
    """The KPI cards with the change against the comparison range."""
    compare, currency = context.view.filters.compare, context.currency
    return Drawn(_cards([_card(service.KPI_LABELS[key], format_kpi(key, kpis[key]["current"],
                                                                   currency),
                               kpi_change(key, kpis[key], compare, currency))
                         for key in service.KPI_KEYS]),
                 "Customers are the known customers who bought in the range (guests have no "
                 "customer id). New: first purchase ever, under these filters, in the range.")


def kpi_table(kpis: dict[str, Any], _view: View) -> pd.DataFrame:
    """The KPI cards as rows: metric, current, comparison, change."""
    return pd.DataFrame([{"metric": key, **values} for key, values in kpis.items()])


def _rfm_rows(table: pd.DataFrame, _view: View) -> pd.DataFrame:
    return service.segment_summary(table)


def draw_segments(summary: pd.DataFrame, context: Context) -> Drawn:
    """The RFM segments as tiles sized by customers, shaded by their share of revenue."""
    if not summary["customers"].any():
        return Drawn(figures.empty_figure(context.empty))
    chosen = context.view.page["segment"]
    note = (f"{chosen} is selected: its customers are listed below; click it again to clear."
            if chosen else "")
    return Drawn(figures.treemap_figure(summary, "segment", "customers", "revenue_share",
                                        selected=chosen), note)


def segment_rows(table: pd.DataFrame, view: View) -> pd.DataFrame:
    """The chosen segment's customers (names only for those who may see them)."""
    return _private(service.segment_members(table, view.page["segment"]))


def draw_members(members: pd.DataFrame, context: Context) -> Drawn:
    """The chosen segment's customers, highest revenue first (with names for those who may
    see them)."""
    segment = context.view.page["segment"]
    if not segment:
        return Drawn(html.P("Click a segment above to list its customers.",
                            className="text-muted small mb-0"))
    money = figures.format_money
    shown = members.head(MEMBERS_SHOWN)
    rows = [[row.customer, row.segment, row.country, figures.format_number(row.orders),
             money(row.net_revenue, context.currency), f"{row.recency_days:,}",
             f"{row.r_score}-{row.f_score}-{row.m_score}"] for row in shown.itertuples()]
    headers = ["Customer", "Segment", "Country", "Orders", "Net revenue",
               "Days since last order", "R-F-M"]
    _named(headers, rows, shown)
    note = (f"{len(members):,} customers in {segment}"
            + (f"; the {MEMBERS_SHOWN} with the highest revenue are shown, the export has all."
               if len(members) > MEMBERS_SHOWN else "."))
    return Drawn(_table(headers, rows, f"No customer of this view is in {segment}.",
                        headers.index("Orders")), note)


def draw_data_segments(frame: pd.DataFrame, context: Context) -> Drawn:
    """Customers, revenue and AOV per imported customer segment."""
    money, currency = figures.format_money, context.currency
    rows = [[row.segment, figures.format_number(row.customers), money(row.net_revenue, currency),
             figures.format_percent(row.revenue_share), money(row.aov, currency),
             money(row.revenue_per_customer, currency)] for row in frame.itertuples()]
    return Drawn(_table(["Segment", "Customers", "Net revenue", "Share", "AOV",
                         "Revenue per customer"], rows, context.empty, 1))


def _data_segment_rows(table: pd.DataFrame, _view: View) -> pd.DataFrame:
    return service.data_segments(table)


def _country_rows(table: pd.DataFrame, _view: View) -> pd.DataFrame:
    return service.countries(table)


def ltv_rows(table: pd.DataFrame, _view: View) -> dict[str, Any]:
    """The histogram of net revenue per customer and what it says (the top 1%, median)."""
    data = service.revenue_distribution(table)
    return {"revenue_histogram": data.pop("histogram"), "revenue_distribution": data}


def _ltv_table(rows: dict[str, Any], _view: View) -> pd.DataFrame:
    return rows["revenue_histogram"]


def draw_ltv(rows: dict[str, Any], context: Context) -> Drawn:
    """The distribution of net revenue per customer, the top 1% stated."""
    data, histogram = rows["revenue_distribution"], rows["revenue_histogram"]
    if not data["customers"]:
        return Drawn(figures.empty_figure(context.empty))
    money = figures.format_money
    note = (f"The top 1% ({data['top_customers']:,} of {data['customers']:,} customers, "
            f"{money(data['top_threshold'], context.currency)} or more each) hold "
            f"{figures.format_percent(data['top_revenue_share'])} of the revenue. Median "
            f"{money(data['median'], context.currency)}, mean "
            f"{money(data['mean'], context.currency)} per customer.")
    return Drawn(figures.histogram_figure(histogram, context.currency), note)


def draw_cohorts(cells: pd.DataFrame, context: Context) -> Drawn:
    """The cohort heatmap: share of each cohort buying again by month since acquisition."""
    if cells.empty:
        return Drawn(figures.empty_figure(context.empty))
    revenue = context.view.page["cohort"] == "revenue"
    value, label = (("revenue_retention", "Revenue vs month 0") if revenue
                    else ("retention", "Customers who bought"))
    small = f"Fewer than {service.MIN_COHORT} customers: too few for a stable share."
    notes = ["Month 0 is the month of the first purchase (100% by definition)."]
    if cells["small"].any():
        notes.append(f"Grey rows: cohorts of fewer than {service.MIN_COHORT} customers.")
    if context.view.page["acquired"]:
        notes.append("The chosen cohort's customers are counted in the detail below.")
    return Drawn(figures.cohort_figure(cells, value, label, small), " ".join(notes))


def acquired_rows(cells: pd.DataFrame, view: View) -> pd.DataFrame:
    """The cells of the cohort chosen by a click (none without one)."""
    chosen = view.page["acquired"]
    if not chosen:
        return cells.iloc[0:0]
    return cells.loc[cells["cohort"] == dt.date.fromisoformat(chosen)].reset_index(drop=True)


def draw_acquired(cells: pd.DataFrame, context: Context) -> Drawn:
    """One cohort month by month."""
    chosen = context.view.page["acquired"]
    if not chosen:
        return Drawn(html.P("Click a cohort cell to see that cohort month by month.",
                            className="text-muted small mb-0"))
    month = f"{dt.date.fromisoformat(chosen):%B %Y}"
    rows = [[str(row.age), figures.format_number(row.active),
             figures.format_percent(row.retention),
             figures.format_money(row.net_revenue, context.currency),
             figures.format_percent(row.revenue_retention)] for row in cells.itertuples()]
    size = f"{int(cells['cohort_size'].iloc[0]):,} customers" if len(cells) else ""
    return Drawn(_table(["Month", "Bought", "Share", "Net revenue", "Revenue vs month 0"], rows,
                        f"No cohort acquired in {month} in this view.", 1),
                 f"Cohort of {month}: {size}." if size else "")


def draw_new_returning(frame: pd.DataFrame, context: Context) -> Drawn:
    """New and returning customers' revenue per bucket, with the new customers' share."""
    if not (frame["new_customers"].any() or frame["returning_customers"].any()):
        return Drawn(figures.empty_figure(context.empty))
    series = (("new_revenue", "New customers", figures.ACCENT),
              ("returning_revenue", "Returning customers", figures.PRIMARY))
    return Drawn(figures.stacked_share_figure(frame, series, "new_revenue_share",
                                              "New customers' share", context.currency),
                 "New: the customer's first purchase under these filters falls in that "
                 "bucket. Guests are not counted.")


def top_rows(table: pd.DataFrame, view: View) -> dict[str, Any]:
    """The page of the top customers table the URL asks for (names as the user may see)."""
    visible = names_visible()
    page = service.customer_table(table, view.page["q"], view.page["sort"],
                                  int(view.page["page"]), search_names=visible)
    rows = page["rows"] if visible else page["rows"].drop(columns="name")
    return {"top_customers": rows, "top_matches": page["matches"],
            "top_page": page["page"], "top_pages": page["pages"]}


def top_table(page: dict[str, Any], _view: View) -> pd.DataFrame:
    """The export of the top customers table: the rows of the page shown."""
    return page["top_customers"]


def draw_top(page: dict[str, Any], context: Context) -> Drawn:
    """The page of the top customers table."""
    money, currency = figures.format_money, context.currency
    rows = [[row.customer, row.country, row.segment, row.rfm_segment,
             figures.format_number(row.orders), money(row.net_revenue, currency),
             money(row.aov, currency), _day(row.first_order), _day(row.last_order)]
            for row in page["top_customers"].itertuples()]
    headers = ["Customer", "Country", "Segment", "RFM segment", "Orders", "Net revenue", "AOV",
               "First order", "Last order"]
    _named(headers, rows, page["top_customers"])
    note = (f"Page {page['top_page']} of {page['top_pages']} ({page['top_matches']:,} customers"
            f"{' match the search' if context.view.page['q'] else ''}).")
    return Drawn(_table(headers, rows, "No customer matches.", headers.index("Orders")), note)


def draw_countries(frame: pd.DataFrame, context: Context) -> Drawn:
    """Customers per customer country (largest 12), revenue per customer in the hover."""
    if frame.empty:
        return Drawn(figures.empty_figure(context.empty))
    shown = frame.head(12)
    note = (f"The 12 largest of {len(frame)} countries; the export lists all."
            if len(frame) > 12 else "")
    return Drawn(figures.ranked_bar_figure(shown, "country", "country", context.currency,
                                           value="customers", value_name="Customers",
                                           unit="number"), note)


def verdict(beats: bool, baseline: str, advice: str) -> str:
    """Whether a model beat its baseline on the hold-out, and what to do when it did not."""
    if beats:
        return f"The model beats {baseline}."
    return f"The model does NOT beat {baseline} on this data: {advice}"


def refused(model: dict[str, Any], what: str, trained: Any) -> Drawn:
    """A model panel that predicts nothing, with the reason, when it was decided (its
    training) and the method."""
    return Drawn(html.Div([html.P(f"{what}: {model['refused']}",
                                  className="text-muted small mb-0"), trained]),
                 model["method"])


CLV_LABEL = "lifetime value model"
CHURN_LABEL = "churn model"
CLV_SHOWN = service.CLV_LISTED  # customers in the panel's rows (export, API); 5 on screen


def clv_rows(data: dict[str, Any], _view: View) -> dict[str, Any]:
    """The predicted values of the view's most valuable customers, the hold-out scores and
    the method (names only for those who may see them)."""
    return {"clv_customers": _private(data["customers"].head(CLV_SHOWN)),
            "clv_holdout": data["holdout"],
            "clv_model": {key: data[key] for key in (
                "method", "baseline_method", "pending", "failed", "refused", "model",
                "parameters", "total_predicted", "scored_customers", "horizon_days",
                "holdout_days")}}


def clv_verdict(holdout: dict[str, Any], currency: str) -> str:
    """The hold-out result in words: does the model beat the naive baseline?"""
    model, baseline = holdout["model"], holdout["baseline"]
    money = figures.format_money
    cutoff = holdout["cutoff"]
    text = (f"Hold-out: fitted on the history up to {format_range(cutoff, cutoff)}, then asked "
            f"for the next {service.HOLDOUT_DAYS} days of its {holdout['customers']:,} "
            f"customers. Mean error per customer {money(model['revenue_mae'], currency)} "
            f"(baseline {money(baseline['revenue_mae'], currency)}). ")
    return text + verdict(holdout["beats_baseline"], "the naive baseline",
                          "treat its predictions with caution.")


def draw_clv(rows: dict[str, Any], context: Context) -> Drawn:
    """The models' hold-out error next to the baseline, and the most valuable customers."""
    model = rows["clv_model"]
    if model["pending"]:
        return Drawn(pending(CLV_LABEL, "clv", model["failed"]), model["method"])
    trained = trained_line(model["model"], "clv", context.business.timezone)
    if model["refused"]:
        return refused(model, "No prediction", trained)
    holdout, currency = rows["clv_holdout"], context.currency
    money, percent = figures.format_money, figures.format_percent
    scores = [[name, money(errors["revenue_mae"], currency),
               f"{errors['orders_mae']:.2f}", percent(errors["revenue_total_error"]),
               percent(errors["orders_total_error"])]
              for name, errors in (("Model", holdout["model"]),
                                   ("Baseline", holdout["baseline"]))]
    best = rows["clv_customers"].head(5)
    top = [[row.customer, figures.format_number(row.orders),
            money(row.net_revenue, currency), f"{row.predicted_orders:.1f}",
            money(row.predicted_value, currency)] for row in best.itertuples()]
    headers = ["Customer", "Orders so far", "Revenue so far", "Predicted orders",
               "Predicted 12-month value"]
    _named(headers, top, best)
    return Drawn(html.Div([
        html.P([html.Strong(money(model["total_predicted"], currency, compact=True)),
                f" predicted from the view's {model['scored_customers']:,} customers in the "
                "next 12 months."],
               className="mb-2"),
        _table(["Hold-out error", "Revenue per customer", "Orders per customer",
                "Total revenue", "Total orders"], scores, "", 1),
        html.P(clv_verdict(holdout, currency), className="small mt-2 mb-2"),
        _table(headers, top, "No customer in this view.", headers.index("Orders so far")),
        trained,
    ]), f"Method: {model['method']} Baseline: {model['baseline_method']}")


def clv_table(rows: dict[str, Any], _view: View) -> pd.DataFrame:
    """The export: the predicted values of the view's most valuable customers."""
    return rows["clv_customers"]


AT_RISK_ON_SCREEN = 15


def churn_rows(data: dict[str, Any], _view: View) -> dict[str, Any]:
    """The churn model's hold-out scores, its method and the at-risk customers (names only
    for those who may see them)."""
    listed = data["at_risk"].head(churn.AT_RISK_SHOWN)
    columns = ["customer", "name", "segment", "country", "orders", "net_revenue",
               "recency_days", "days_between_orders", "risk", "value_at_risk", "action"]
    listed = listed[columns] if len(listed) else pd.DataFrame(columns=columns)
    return {"churn_holdout": data["holdout"], "at_risk": _private(listed),
            "churn_model": {key: data[key] for key in (
                "method", "baseline_method", "pending", "failed", "refused", "model",
                "train_date", "test_date", "at_risk_customers")}}


def churn_verdict(holdout: dict[str, Any]) -> str:
    """The hold-out result in words."""
    model, baseline = holdout["model"], holdout["baseline"]
    text = (f"On {holdout['customers']:,} customers it never saw, ROC AUC {model['auc']:.3f} "
            f"against {baseline['auc']:.3f} for recency alone; "
            f"{figures.format_percent(model['top_decile_precision'])} of its top tenth did "
            f"churn ({figures.format_percent(baseline['top_decile_precision'])} for the "
            f"baseline; {figures.format_percent(model['churn_rate'])} churned overall). ")
    return text + verdict(holdout["beats_baseline"], "the recency-only baseline",
                          "rank by days since the last order instead, or read the risks "
                          "with caution.")


def draw_churn(rows: dict[str, Any], context: Context) -> Drawn:
    """Hold-out scores next to the baseline, and the at-risk customers with an action."""
    model = rows["churn_model"]
    if model["pending"]:
        return Drawn(pending(CHURN_LABEL, "churn", model["failed"]), model["method"])
    trained = trained_line(model["model"], "churn", context.business.timezone)
    if model["refused"]:
        return refused(model, "No churn prediction", trained)
    holdout = rows["churn_holdout"]
    money, percent = figures.format_money, figures.format_percent
    scores = [[name, f"{part['auc']:.3f}", percent(part["top_decile_precision"])]
              for name, part in (("Model", holdout["model"]),
                                 ("Recency only", holdout["baseline"]))]
    shown = rows["at_risk"].head(AT_RISK_ON_SCREEN)
    listed = [[row.customer, figures.format_number(row.orders),
               money(row.net_revenue, context.currency), percent(row.risk, 0), row.action]
              for row in shown.itertuples()]
    headers = ["Customer", "Orders", "Net revenue", "Risk", "Suggested action"]
    _named(headers, listed, shown)
    return Drawn(html.Div([
        _table(["Hold-out", "ROC AUC", "Precision of the top 10%"], scores, "", 1),
        html.P(churn_verdict(holdout), className="small mt-2 mb-2"),
        html.P(f"{model['at_risk_customers']:,} customers with two orders or more have a risk "
               f"of {percent(churn.AT_RISK, 0)} or more of no order in the next "
               f"{churn.HORIZON_DAYS} days; the highest risk × revenue first.",
               className="small mb-1"),
        _table(headers, listed, "No repeat customer of this view is at risk.",
               headers.index("Orders"), headers.index("Risk")),
        trained,
    ]), f"Method: {model['method']} Baseline: {model['baseline_method']}")


def churn_table(rows: dict[str, Any], _view: View) -> pd.DataFrame:
    """The export: the at-risk customers with their risk and suggested action."""
    return rows["at_risk"]


def _risk_rows(key: str) -> Any:
    return lambda data, _view: data["revenue_at_risk"][key]


def _draw_risk(label: str) -> Any:
    def draw(frame: pd.DataFrame, context: Context) -> Drawn:
        if context.data["pending"]:
            return Drawn(pending_figure(CHURN_LABEL, context.data["failed"]))
        if frame.empty:
            reason = context.data["refused"] or "No customer of this view is at risk."
            return Drawn(figures.empty_figure(reason))
        return Drawn(figures.ranked_bar_figure(frame.head(12), label, label, context.currency,
                                               colour=figures.NEGATIVE),
                     "Net revenue of the at-risk customers in the 12 months up to the "
                     "range's end.")
    return draw


# --- the panels ---------------------------------------------------------------------------------

RFM = Source(service.rfm)
KPIS = Panel("customers-kpis", "Customer KPIs", Source(service.kpis), draw_kpis,
             api_key="kpis", kind="html", applies=TIMELESS, table=kpi_table,
             placeholder=_cards([_card(service.KPI_LABELS[key], "…")
                                 for key in service.KPI_KEYS]))
SEGMENTS = Panel("customers-rfm", "RFM segments", RFM, draw_segments, rows=_rfm_rows,
                 api_key="rfm_segments", applies=NO_COMPARE, xfilter="segment",
                 toolbar=False, height=380,
                 subtitle="Tile size: customers; shade: share of revenue. Click a segment to "
                          "list its customers")
MEMBERS = Panel("customers-segment-members", "Customers of the segment", RFM, draw_members,
                rows=segment_rows, api_key="segment_customers", applies=NO_COMPARE,
                kind="html", export_title="Customers of the RFM segment")
# The range's customers, read once for every panel below that shows them (RFM, segments,
# lifetime value so far, top customers, countries): one source call fills them together.
DATA_SEGMENTS = Panel("customers-segments", "Customer segments", RFM, draw_data_segments,
                      rows=_data_segment_rows, api_key="customer_segments", applies=NO_COMPARE,
                      kind="html", subtitle="As imported (consumer, SMB, mid-market, "
                                            "enterprise); AOV = gross sales / orders")
LTV = Panel("customers-ltv", "Lifetime value so far", RFM, draw_ltv, rows=ltv_rows,
            api_key=("revenue_histogram", "revenue_distribution"), table=_ltv_table,
            applies=NO_COMPARE, toolbar=False, height=320,
            subtitle="Net revenue per customer in the range")
CLV = Panel("customers-clv", "Predicted 12-month value", Source(service.predicted_clv),
            draw_clv, rows=clv_rows, api_key=("clv_customers", "clv_holdout", "clv_model"),
            applies=NO_COMPARE, kind="html", table=clv_table,
            export_title="Predicted 12-month customer value",
            subtitle="BG/NBD + Gamma-Gamma, checked on the last 6 months it did not see")
CHURN_SOURCE = Source(churn.churn_risk)
CHURN = Panel("customers-churn", "Churn risk", CHURN_SOURCE, draw_churn, rows=churn_rows,
              api_key=("churn_holdout", "at_risk", "churn_model"), applies=NO_COMPARE,
              kind="html", table=churn_table, export_title="Customers at risk",
              subtitle="No order in the next 90 days: a classifier checked on a hold-out it "
                       "never saw, next to recency alone")
RISK_CATEGORIES = Panel("customers-risk-categories", "Revenue at risk by category",
                        CHURN_SOURCE, _draw_risk("category"), rows=_risk_rows("by_category"),
                        api_key="revenue_at_risk_by_category", applies=NO_COMPARE,
                        toolbar=False, height=320)
RISK_PLATFORMS = Panel("customers-risk-platforms", "Revenue at risk by platform",
                       CHURN_SOURCE, _draw_risk("platform"), rows=_risk_rows("by_platform"),
                       api_key="revenue_at_risk_by_platform", applies=NO_COMPARE,
                       toolbar=False, height=320)
COHORTS = Panel("customers-cohorts", "Cohort retention", Source(service.cohorts), draw_cohorts,
                api_key="cohorts", applies=NO_COMPARE, xfilter="acquired", height=420,
                toolbar=False,
                tools=lambda view: _cohort_tools(view),
                subtitle="Monthly acquisition cohorts of the range × months since the first "
                         "purchase. Click a cell to open its cohort")
ACQUIRED = Panel("customers-cohort-detail", "The chosen cohort", Source(service.cohorts),
                 draw_acquired, rows=acquired_rows, api_key="cohort_detail",
                 applies=NO_COMPARE, kind="html", export_title="Cohort month by month")
NEW_RETURNING = Panel("customers-new-returning", "New vs returning",
                      Source(service.new_vs_returning), draw_new_returning,
                      api_key="new_vs_returning", applies=NO_COMPARE | {"grain"}, height=320,
                      subtitle="Net revenue per bucket, stacked; the line is the new "
                               "customers' share")
TOP = Panel("customers-top", "Top customers", RFM, draw_top, rows=top_rows,
            api_key=("top_customers", "top_matches", "top_page", "top_pages"),
            applies=NO_COMPARE, kind="html",
            table=top_table, export_title="Top customers (this page)",
            tools=lambda view: _top_tools(view),
            subtitle="Sortable and searchable; 25 per page")
COUNTRIES = Panel("customers-countries", "Customers by country", RFM, draw_countries,
                  rows=_country_rows, api_key="by_country", applies=NO_COMPARE, toolbar=False,
                  height=380, subtitle="The customer's own country")
PANELS = (KPIS, SEGMENTS, MEMBERS, DATA_SEGMENTS, LTV, CLV, COHORTS, ACQUIRED, NEW_RETURNING,
          TOP, COUNTRIES, CHURN, RISK_CATEGORIES, RISK_PLATFORMS)
# Trained in the background for the view (callbacks/model_jobs.py); the panels score them.
MODELS = (ModelJob("clv", CLV.key, service.clv_key, service.train_clv, CLV_LABEL),
          ModelJob("churn", CHURN.key, churn.churn_key, churn.train_churn, CHURN_LABEL))


def _cohort_tools(view: View) -> Any:
    return button_group(COHORT, view.page["cohort"], COHORT_VIEWS)


def _top_tools(view: View) -> Any:
    return html.Div([
        dcc.Input(id=SEARCH, type="search", value=view.page["q"], debounce=True,
                  placeholder="Search id, name, country, segment",
                  className="form-control form-control-sm product-search"),
        dcc.Dropdown(id=SORT, value=view.page["sort"], clearable=False, searchable=False,
                     className="sort-picker",
                     options=[{"label": f"Sort: {label}", "value": key}
                              for key, label in SORT_LABELS.items()]),
        dcc.Input(id=PAGE, type="number", min=1, step=1, value=int(view.page["page"]),
                  debounce=True, className="form-control form-control-sm",
                  style={"width": "5rem"}),
    ], className="d-flex gap-2 align-items-center flex-wrap")


def layout(view: View) -> html.Div:
    """The Customers page for a view."""
    def card(panel: Panel) -> Any:
        return panel_card(panel, view)

    return html.Div([
        html.H1(TITLE, className="visually-hidden"),
        html.Div([html.Span("Orders to", className="small text-muted"), country_picker(view)],
                 className="d-flex align-items-center gap-2 mb-2 customers-country"),
        html.Div(id=COUNTRY_BANNER),
        html.Div(KPIS.placeholder, id=KPIS.key),
        html.Div([html.Div(id=KPIS.note_id, className="small text-muted"),
                  export_menu(KPIS.key)], className="d-flex justify-content-between mb-3"),
        dbc.Row([dbc.Col(card(SEGMENTS), lg=7), dbc.Col(card(DATA_SEGMENTS), lg=5)],
                className="g-3 mb-3"),
        dbc.Row(dbc.Col(card(MEMBERS)), className="mb-3"),
        dbc.Row([dbc.Col(card(LTV), lg=5), dbc.Col(card(CLV), lg=7)], className="g-3 mb-3"),
        dbc.Row(dbc.Col(card(COHORTS)), className="mb-3"),
        dbc.Row(dbc.Col(card(ACQUIRED)), className="mb-3"),
        dbc.Row([dbc.Col(card(NEW_RETURNING), lg=8), dbc.Col(card(COUNTRIES), lg=4)],
                className="g-3 mb-3"),
        dbc.Row(dbc.Col(card(TOP)), className="mb-3"),
        dbc.Row(dbc.Col(card(CHURN)), className="mb-3"),
        dbc.Row([dbc.Col(card(RISK_CATEGORIES), lg=6), dbc.Col(card(RISK_PLATFORMS), lg=6)],
                className="g-3 mb-3"),
    ])
