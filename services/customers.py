"""The Customers page: KPIs, RFM segments, the customer segments of the data, lifetime value,
cohort retention, new vs returning and the top customers. The API returns what these compute.

A view's customers are the known customers who bought in its range under its filters (platform,
product/category, order country) and the user's scope: a customer who also buys elsewhere is
counted only with the activity the view can see. Per-customer numbers are aggregated in SQL
(`customer_base`, one row per customer); everything else is pandas over those rows.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Subquery, case, func, select
from sqlalchemy.orm import Session

from models import Customer, CustomerDay, OrderLine
from services import model_store
from services.cache import cached
from services.customer_models import BgNbd, GammaGamma, fit_bgnbd, fit_gamma_gamma
from services.filters import Filters, Period
from services.metrics import change, is_sale, line_measures, money
from services.model_store import ModelKey, Trained
from services.periods import bucket_of, bucket_starts, month_start
from services.query import as_date, bucket, line_conditions
from services.rollups import CUSTOMERS, Lines
from services.scope import Scope

NOT_SET = "Not set"
UNKNOWN_COUNTRY = "Unknown"
BASE_COLUMNS = ("customer_id", "customer", "name", "segment", "country", "orders",
                "net_revenue", "gross_sales", "first_order", "last_order", "first_purchase")
KPI_KEYS = ("customers", "new_customers", "returning_customers", "repeat_rate",
            "revenue_per_customer", "median_days_between_orders")
KPI_LABELS = {"customers": "Customers", "new_customers": "New customers",
              "returning_customers": "Returning customers",
              "repeat_rate": "Repeat-purchase rate",
              "revenue_per_customer": "Revenue per customer",
              "median_days_between_orders": "Median days between orders"}
KPI_UNITS = {"customers": "count", "new_customers": "count", "returning_customers": "count",
             "repeat_rate": "ratio", "revenue_per_customer": "money",
             "median_days_between_orders": "days"}

# RFM: each score is the quintile (1-5, 5 best) of the customers in the view; the segment is
# read off a grid of the recency score (rows) and the mean of the frequency and monetary
# scores, rounded half up (columns). The grid covers all 25 cells.
SEGMENTS = ("Champions", "Loyal", "Potential loyalists", "New", "Promising", "Need attention",
            "At risk", "Can't lose them", "Hibernating", "Lost")
SEGMENT_GRID: dict[int, tuple[str, str, str, str, str]] = {
    # FM score:   1              2                      3                      4         5
    5: ("New", "Potential loyalists", "Potential loyalists", "Champions", "Champions"),
    4: ("Promising", "Potential loyalists", "Potential loyalists", "Loyal", "Loyal"),
    3: ("Need attention", "Need attention", "Need attention", "Loyal", "Loyal"),
    2: ("Hibernating", "Hibernating", "At risk", "At risk", "Can't lose them"),
    1: ("Lost", "Lost", "At risk", "At risk", "Can't lose them"),
}
SEGMENT_DEFINITIONS = {
    "Champions": "bought very recently (R 5) and often, for a lot (F+M 4-5)",
    "Loyal": "bought recently (R 3-4) and often, for a lot (F+M 4-5)",
    "Potential loyalists": "bought recently (R 4-5), moderately often and much (F+M 2-3)",
    "New": "bought very recently (R 5), once or little (F+M 1)",
    "Promising": "bought recently (R 4), once or little (F+M 1)",
    "Need attention": "middle recency (R 3), low to middling frequency and value (F+M 1-3)",
    "At risk": "not for a while (R 1-2) but used to buy moderately often (F+M 3-4)",
    "Can't lose them": "not for a while (R 1-2), among the best buyers (F+M 5)",
    "Hibernating": "not for a while (R 2), little and seldom (F+M 1-2)",
    "Lost": "longest ago (R 1), little and seldom (F+M 1-2)",
}
COHORT_MONTHS = 12  # months since the first purchase shown
MIN_COHORT = 10  # cohorts with fewer customers are greyed: their shares are noise
HISTOGRAM_BINS = 30
TOP_SHARE = 0.01  # the top 1% of customers by revenue, stated under the histogram
TOP_PAGE = 25  # rows per page of the top customers table
TOP_SORTS = {"net_revenue": ("net_revenue", False), "orders": ("orders", False),
             "aov": ("aov", False), "last_order": ("last_order", False),
             "first_order": ("first_order", True), "customer": ("customer", True)}


# --- per-customer rows from SQL -----------------------------------------------------------------

def _first_purchases(session: Session, scope: Scope, filters: Filters,
                     end: dt.date) -> Subquery:
    """Each known customer's first purchase day up to `end` under the filters: from the
    customer-day rollup when it keeps every filtered column, else from the lines."""
    lines = Lines(filters, scope, dt.date.min, end)
    if lines.filtered_columns() <= CUSTOMERS.keeps:
        table = CustomerDay.__table__
        return (select(table.c.customer_id, func.min(table.c.sale_date).label("first_purchase"))
                .where(*lines.conditions(table)).group_by(table.c.customer_id)
                .subquery("first"))
    return (select(OrderLine.customer_id, func.min(OrderLine.sale_date).label("first_purchase"))
            .where(*lines.conditions(), is_sale(), OrderLine.customer_id.is_not(None))
            .group_by(OrderLine.customer_id).subquery("first"))


@cached
def customer_base(session: Session, scope: Scope, filters: Filters, start: dt.date,
                  end: dt.date) -> pd.DataFrame:
    """One row per known customer who bought in start..end: orders, net revenue, gross sales,
    first and last order day in the range, and the first purchase ever (under the same
    filters, up to `end`).

    A customer whose lines in the range are only returns is not a customer of the range
    (SPEC §3: customers are those with an order).
    """
    measures = line_measures()
    sale_day = case((is_sale(), OrderLine.sale_date))
    grouped = (select(OrderLine.customer_id.label("customer_id"), measures["orders"],
                      measures["net_revenue"], measures["gross_sales"],
                      func.min(sale_day).label("first_order"),
                      func.max(sale_day).label("last_order"))
               .where(*line_conditions(filters, scope, start, end),
                      OrderLine.customer_id.is_not(None))
               .group_by(OrderLine.customer_id).subquery("bought"))
    first = _first_purchases(session, scope, filters, end)
    stmt = (select(grouped.c.customer_id, Customer.external_id.label("customer"),
                   Customer.name, Customer.segment, Customer.country, grouped.c.orders,
                   grouped.c.net_revenue, grouped.c.gross_sales, grouped.c.first_order,
                   grouped.c.last_order, first.c.first_purchase)
            .join(Customer, Customer.id == grouped.c.customer_id)
            .join(first, first.c.customer_id == grouped.c.customer_id)
            .where(grouped.c.orders > 0)
            .order_by(grouped.c.customer_id))
    frame = pd.DataFrame(session.execute(stmt).all(), columns=list(BASE_COLUMNS))
    for column in ("first_order", "last_order", "first_purchase"):
        frame[column] = frame[column].map(as_date)
    for column in ("net_revenue", "gross_sales"):
        frame[column] = frame[column].map(money).astype(float)
    frame["orders"] = frame["orders"].astype(int)
    frame["segment"] = frame["segment"].fillna(NOT_SET)
    frame["country"] = frame["country"].fillna(UNKNOWN_COUNTRY)
    frame["new"] = frame["first_purchase"] >= start
    return frame


# --- KPI cards ------------------------------------------------------------------------------------

def customer_kpis(base: pd.DataFrame) -> dict[str, float | int | None]:
    """The KPI values of one range's customers."""
    count = len(base)
    repeat = base.loc[base["orders"] >= 2]
    gaps = [(last - first).days / (orders - 1) for first, last, orders in
            zip(repeat["first_order"], repeat["last_order"], repeat["orders"], strict=True)]
    new = int(base["new"].sum()) if count else 0
    return {
        "customers": count,
        "new_customers": new,
        "returning_customers": count - new,
        "repeat_rate": len(repeat) / count if count else None,
        "revenue_per_customer": money(base["net_revenue"].sum()) / count if count else None,
        "median_days_between_orders": float(np.median(gaps)) if gaps else None,
    }


@cached
def kpis(session: Session, scope: Scope, filters: Filters,
         period: Period) -> dict[str, dict[str, float | int | None]]:
    """Each customer KPI with its value in the comparison range and the change."""
    current = customer_kpis(customer_base(session, scope, filters, period.start, period.end))
    previous: dict[str, Any] = {}
    if period.compare_start and period.compare_end:
        previous = customer_kpis(customer_base(session, scope, filters, period.compare_start,
                                               period.compare_end))
    return {key: {"current": current[key], "comparison": previous.get(key),
                  # a rate's change is in points, like every ratio metric
                  "change": (None if current[key] is None or previous.get(key) is None
                             else current[key] - previous[key]) if key == "repeat_rate"
                  else change(key, current[key], previous.get(key))}
            for key in KPI_KEYS}


# --- RFM --------------------------------------------------------------------------------------

def quintile_scores(values: pd.Series) -> pd.Series:
    """1-5 by quintile of rank, higher values scoring higher; ties share the lowest score of
    their rank (so every customer who bought once has the same frequency score)."""
    if values.empty:
        return pd.Series(dtype=int, index=values.index)
    ranks = values.rank(method="min")
    return (np.floor((ranks - 1) / len(values) * 5) + 1).astype(int)


def segment_of(recency: int, frequency: int, monetary: int) -> str:
    """The named segment of an R, F and M score."""
    return SEGMENT_GRID[recency][(frequency + monetary + 1) // 2 - 1]


def rfm_table(base: pd.DataFrame, asof: dt.date) -> pd.DataFrame:
    """Every customer of the view with recency (days since the last order, as of `asof`),
    frequency (orders), monetary value (net revenue), their scores and segment."""
    frame = base.copy()
    frame["recency_days"] = [(asof - day).days for day in frame["last_order"]]
    frame["r_score"] = quintile_scores(-frame["recency_days"])
    frame["f_score"] = quintile_scores(frame["orders"])
    frame["m_score"] = quintile_scores(frame["net_revenue"])
    frame["rfm_segment"] = [segment_of(r, f, m) for r, f, m in
                            zip(frame["r_score"], frame["f_score"], frame["m_score"],
                                strict=True)]
    return frame


@cached
def rfm(session: Session, scope: Scope, filters: Filters, period: Period) -> pd.DataFrame:
    """The RFM table of the view's customers as of the range's last day."""
    return rfm_table(customer_base(session, scope, filters, period.start, period.end),
                     period.end)


def segment_summary(table: pd.DataFrame) -> pd.DataFrame:
    """Per RFM segment (every segment, in `SEGMENTS` order): customers, net revenue, their
    shares, and the mean recency, orders and revenue of its customers."""
    grouped = table.groupby("rfm_segment").agg(
        customers=("customer_id", "size"), net_revenue=("net_revenue", "sum"),
        recency_days=("recency_days", "mean"), orders=("orders", "mean"),
        revenue_per_customer=("net_revenue", "mean"))
    frame = grouped.reindex(list(SEGMENTS)).rename_axis("segment").reset_index()
    frame[["customers", "net_revenue"]] = frame[["customers", "net_revenue"]].fillna(0)
    frame["customers"] = frame["customers"].astype(int)
    frame["net_revenue"] = frame["net_revenue"].map(money)
    total_customers, total_revenue = frame["customers"].sum(), frame["net_revenue"].sum()
    frame["customer_share"] = frame["customers"] / total_customers if total_customers else np.nan
    frame["revenue_share"] = frame["net_revenue"] / total_revenue if total_revenue else np.nan
    frame["definition"] = frame["segment"].map(SEGMENT_DEFINITIONS)
    return frame


def segment_members(table: pd.DataFrame, segment: str) -> pd.DataFrame:
    """The customers of one RFM segment, highest net revenue first (none without a
    segment chosen)."""
    chosen = table.loc[table["rfm_segment"] == segment] if segment else table.iloc[0:0]
    return chosen.sort_values(["net_revenue", "customer"], ascending=[False, True])[
        ["customer", "name", "segment", "country", "orders", "net_revenue", "recency_days",
         "r_score", "f_score", "m_score", "rfm_segment"]].reset_index(drop=True)


# --- the customer segments of the data ----------------------------------------------------------

def data_segments(base: pd.DataFrame) -> pd.DataFrame:
    """Per imported customer segment (consumer, SMB, …; 'Not set' where missing): customers,
    net revenue, orders, AOV (gross sales / orders) and revenue per customer."""
    grouped = base.groupby("segment").agg(
        customers=("customer_id", "size"), net_revenue=("net_revenue", "sum"),
        gross_sales=("gross_sales", "sum"), orders=("orders", "sum"))
    frame = grouped.reset_index().sort_values(["net_revenue", "segment"],
                                              ascending=[False, True])
    frame["net_revenue"] = frame["net_revenue"].map(money)
    frame["aov"] = (frame["gross_sales"] / frame["orders"]).where(frame["orders"] > 0)
    frame["revenue_per_customer"] = frame["net_revenue"] / frame["customers"]
    total = frame["net_revenue"].sum()
    frame["revenue_share"] = frame["net_revenue"] / total if total else np.nan
    return frame.drop(columns="gross_sales").reset_index(drop=True)


@cached
def segments(session: Session, scope: Scope, filters: Filters, period: Period) -> pd.DataFrame:
    """The customer segments of the data in the view."""
    return data_segments(customer_base(session, scope, filters, period.start, period.end))


# --- lifetime value: the historical distribution ------------------------------------------------

def revenue_distribution(base: pd.DataFrame, bins: int = HISTOGRAM_BINS) -> dict[str, Any]:
    """A histogram of net revenue per customer and what the top 1% of customers hold."""
    values = base["net_revenue"].to_numpy(dtype=float)
    if not len(values):
        return {"histogram": pd.DataFrame(columns=["low", "high", "customers"]),
                "customers": 0, "top_customers": 0, "top_revenue_share": None,
                "top_threshold": None, "median": None, "mean": None}
    counts, edges = np.histogram(values, bins=bins)
    ordered = np.sort(values)[::-1]
    top = max(1, int(np.ceil(len(values) * TOP_SHARE)))
    total = float(values.sum())
    return {"histogram": pd.DataFrame({"low": edges[:-1], "high": edges[1:],
                                       "customers": counts.astype(int)}),
            "customers": len(values), "top_customers": top,
            "top_revenue_share": float(ordered[:top].sum()) / total if total else None,
            "top_threshold": float(ordered[top - 1]),
            "median": float(np.median(values)), "mean": float(values.mean())}


@cached
def lifetime_value(session: Session, scope: Scope, filters: Filters,
                   period: Period) -> dict[str, Any]:
    """The distribution of net revenue per customer in the view."""
    return revenue_distribution(customer_base(session, scope, filters, period.start,
                                              period.end))


# --- cohorts and new vs returning -------------------------------------------------------------

def _per_customer_bucket(session: Session, lines: Lines, grain: str) -> pd.DataFrame:
    """Net revenue per known customer and bucket of the lines (customers with an order in
    the bucket only)."""
    measures = line_measures()
    period = bucket(OrderLine.sale_date, grain).label("bucket")
    inner = (select(OrderLine.customer_id.label("customer_id"), period, measures["orders"],
                    measures["net_revenue"])
             .where(*lines.conditions(), OrderLine.customer_id.is_not(None))
             .group_by(OrderLine.customer_id, period).subquery("per_bucket"))
    stmt = select(inner).where(inner.c.orders > 0)
    frame = pd.DataFrame(session.execute(stmt).all(),
                         columns=["customer_id", "bucket", "orders", "net_revenue"])
    frame["bucket"] = frame["bucket"].map(as_date)
    frame["net_revenue"] = frame["net_revenue"].map(money).astype(float)
    return frame


def _first_purchase_by_customer(session: Session, scope: Scope, filters: Filters,
                                end: dt.date) -> pd.Series:
    rows = session.execute(select(_first_purchases(session, scope, filters, end))).all()
    return pd.Series({customer: as_date(day) for customer, day in rows}, dtype=object)


@cached
def new_vs_returning(session: Session, scope: Scope, filters: Filters,
                     period: Period) -> pd.DataFrame:
    """Per bucket of the range: customers buying for the first time (under the filters) and
    returning customers, with their net revenue and the new customers' share of it."""
    grain = filters.grain
    activity = _per_customer_bucket(session, Lines(filters, scope, period.start, period.end),
                                    grain)
    first = _first_purchase_by_customer(session, scope, filters, period.end)
    first_bucket = first.map(lambda day: bucket_of(day, grain))
    activity["new"] = activity["customer_id"].map(first_bucket) == activity["bucket"]
    out = pd.DataFrame({"bucket": bucket_starts(period.start, period.end, grain)})
    for label, rows in (("new", activity.loc[activity["new"]]),
                        ("returning", activity.loc[~activity["new"]])):
        summed = rows.groupby("bucket").agg(customers=("customer_id", "size"),
                                            net_revenue=("net_revenue", "sum"))
        out[f"{label}_customers"] = out["bucket"].map(summed["customers"]).fillna(0).astype(int)
        out[f"{label}_revenue"] = out["bucket"].map(summed["net_revenue"]).fillna(0.0) \
            .map(money)
    total = out["new_revenue"] + out["returning_revenue"]
    out["new_revenue_share"] = (out["new_revenue"] / total).where(total != 0)
    return out


def cohort_matrix(activity: pd.DataFrame, first: pd.Series, first_month: dt.date,
                  last_month: dt.date) -> pd.DataFrame:
    """Long-form cohort cells: for each acquisition month in first_month..last_month and each
    month since it (0-12, up to `last_month`), the customers of the cohort who bought then,
    their net revenue, and both as shares of the cohort's size and first-month revenue."""
    acquired = first.map(month_start)
    cohorts = acquired[(acquired >= first_month) & (acquired <= last_month)]
    rows = activity.loc[activity["customer_id"].isin(cohorts.index)].copy()
    rows["cohort"] = rows["customer_id"].map(cohorts)
    rows["age"] = [(b.year - c.year) * 12 + b.month - c.month
                   for b, c in zip(rows["bucket"], rows["cohort"], strict=True)]
    rows = rows.loc[rows["age"].between(0, COHORT_MONTHS)]
    cells = rows.groupby(["cohort", "age"]).agg(active=("customer_id", "size"),
                                                net_revenue=("net_revenue", "sum"))
    size = cohorts.value_counts()
    records = []
    for cohort in bucket_starts(first_month, last_month, "month"):
        ages = (last_month.year - cohort.year) * 12 + last_month.month - cohort.month
        cohort_size = int(size.get(cohort, 0))
        if not cohort_size:
            continue
        start_revenue = float(cells["net_revenue"].get((cohort, 0), 0.0))
        for age in range(min(ages, COHORT_MONTHS) + 1):
            active = int(cells["active"].get((cohort, age), 0))
            revenue = money(cells["net_revenue"].get((cohort, age), 0.0))
            records.append({
                "cohort": cohort, "age": age, "cohort_size": cohort_size, "active": active,
                "retention": active / cohort_size, "net_revenue": revenue,
                "revenue_retention": revenue / start_revenue if start_revenue else None,
                "small": cohort_size < MIN_COHORT})
    return pd.DataFrame(records, columns=["cohort", "age", "cohort_size", "active", "retention",
                                          "net_revenue", "revenue_retention", "small"])


@cached
def cohorts(session: Session, scope: Scope, filters: Filters, period: Period) -> pd.DataFrame:
    """Monthly acquisition cohorts of the range (customers whose first purchase under the
    filters falls in it) and their activity in each month since, up to the range's end."""
    first_month, last_month = month_start(period.start), month_start(period.end)
    lines = Lines(filters, scope, first_month, period.end)
    activity = _per_customer_bucket(session, lines, "month")
    first = _first_purchase_by_customer(session, scope, filters, period.end)
    # Only the range's own days count as acquisitions: a customer first seen on a day of the
    # first month before the range started is not a customer acquired in the range.
    first = first[first >= period.start]
    return cohort_matrix(activity, first, first_month, last_month)


# --- top customers ------------------------------------------------------------------------

def customer_table(table: pd.DataFrame, search: str = "", sort: str = "net_revenue",
                   page: int = 1, search_names: bool = True) -> dict[str, Any]:
    """One page of the customers of the view matching `search` (id, country, segment, RFM
    segment, and the name when `search_names`: a user who may not see names must not find
    customers by them either), sorted; with how many match and how many pages there are."""
    frame = table.assign(aov=(table["gross_sales"] / table["orders"]).where(table["orders"] > 0))
    needle = search.strip().casefold()
    if needle:
        names = frame["name"].fillna("") + " " if search_names else ""
        text = (frame["customer"] + " " + names + frame["country"]
                + " " + frame["segment"] + " " + frame["rfm_segment"]).str.casefold()
        frame = frame.loc[text.str.contains(needle, regex=False)]
    column, ascending = TOP_SORTS.get(sort, TOP_SORTS["net_revenue"])
    frame = frame.sort_values([column, "customer"], ascending=[ascending, True])
    pages = max(1, -(-len(frame) // TOP_PAGE))
    page = min(max(page, 1), pages)
    shown = frame.iloc[(page - 1) * TOP_PAGE: page * TOP_PAGE]
    return {"rows": shown[["customer", "name", "orders", "net_revenue", "aov", "first_order",
                           "last_order", "country", "segment", "rfm_segment"]]
            .reset_index(drop=True), "matches": len(frame), "page": page, "pages": pages}


# --- geography ----------------------------------------------------------------------------

def countries(base: pd.DataFrame) -> pd.DataFrame:
    """Per customer country: customers, net revenue and revenue per customer."""
    grouped = base.groupby("country").agg(customers=("customer_id", "size"),
                                          net_revenue=("net_revenue", "sum")).reset_index()
    grouped["net_revenue"] = grouped["net_revenue"].map(money)
    grouped["revenue_per_customer"] = grouped["net_revenue"] / grouped["customers"]
    return grouped.sort_values(["customers", "country"], ascending=[False, True]) \
        .reset_index(drop=True)


@cached
def by_country(session: Session, scope: Scope, filters: Filters,
               period: Period) -> pd.DataFrame:
    """Customers and revenue per customer by the customer's country."""
    return countries(customer_base(session, scope, filters, period.start, period.end))


# --- predicted lifetime value --------------------------------------------------------------------

HOLDOUT_DAYS = 182  # the hold-out: the last 6 months of the history
CLV_DAYS = 365  # the prediction: the next 12 months
MIN_MODEL_CUSTOMERS = 200
MIN_REPEAT_CUSTOMERS = 30
CLV_METHOD = ("BG/NBD (Fader, Hardie & Lee 2005) for the number of orders and Gamma-Gamma "
              "(Fader & Hardie 2013) for their value, fitted by maximum likelihood on every "
              "customer's history under the filters; 12-month value = expected orders × "
              "expected order value, not discounted.")
BASELINE_METHOD = ("Each customer repeats their past rate: repeat orders per day since their "
                   "first order, times the days ahead, at their own average order value.")


def histories(base: pd.DataFrame, end: dt.date) -> dict[str, np.ndarray]:
    """The models' inputs from per-customer rows of a history ending on `end` (days)."""
    first, last = base["first_order"], base["last_order"]
    orders = base["orders"].to_numpy(dtype=float)
    return {"x": orders - 1,
            "t_x": np.array([(b - a).days for a, b in zip(first, last, strict=True)], float),
            "T": np.array([(end - a).days for a in first], float),
            "m": base["net_revenue"].to_numpy(dtype=float) / orders}


def _refusal(base: pd.DataFrame, history_days: int) -> str:
    """Why the models may not be fitted on this history ('' when they may)."""
    repeaters = int((base["orders"] > 1).sum())
    if history_days < HOLDOUT_DAYS:
        return (f"The history before the hold-out is {history_days} days; the models need at "
                f"least {HOLDOUT_DAYS} days before the last {HOLDOUT_DAYS} days.")
    if len(base) < MIN_MODEL_CUSTOMERS or repeaters < MIN_REPEAT_CUSTOMERS:
        return (f"{len(base):,} customers, {repeaters:,} of them with a repeat order, before "
                f"the hold-out: the models need at least {MIN_MODEL_CUSTOMERS} customers and "
                f"{MIN_REPEAT_CUSTOMERS} repeat customers.")
    return ""


def fitted_models(data: dict[str, np.ndarray]) -> tuple[BgNbd, GammaGamma | None]:
    """BG/NBD on every customer; Gamma-Gamma on those with a repeat order and a positive
    average value (None when fewer than ten have)."""
    bgnbd = fit_bgnbd(data["x"], data["t_x"], data["T"])
    spenders = (data["x"] > 0) & (data["m"] > 0)
    if spenders.sum() < 10:
        return bgnbd, None
    return bgnbd, fit_gamma_gamma(data["x"][spenders] + 1, data["m"][spenders])


def predict_value(bgnbd: BgNbd, gamma: GammaGamma | None, data: dict[str, np.ndarray],
                  days: float) -> tuple[np.ndarray, np.ndarray]:
    """Expected orders and net revenue of each customer in the `days` after their history."""
    orders = bgnbd.expected_orders(days, data["x"], data["t_x"], data["T"])
    fallback = float(np.nanmean(data["m"])) if len(data["m"]) else 0.0
    value = (np.full(len(orders), fallback) if gamma is None
             else gamma.expected_value(data["x"] + 1, np.clip(data["m"], 0, None), fallback))
    return orders, orders * value


def baseline_value(data: dict[str, np.ndarray], days: float) -> tuple[np.ndarray, np.ndarray]:
    """The naive baseline: each customer's past repeat rate carried forward."""
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(data["T"] > 0, data["x"] / data["T"], 0.0)
    orders = rate * days
    return orders, orders * data["m"]


def holdout_errors(predicted: tuple[np.ndarray, np.ndarray],
                   actual: tuple[np.ndarray, np.ndarray]) -> dict[str, float | None]:
    """Mean absolute error per customer of orders and revenue, and the error of the totals."""
    def total_error(guess: np.ndarray, truth: np.ndarray) -> float | None:
        return abs(float(guess.sum()) - float(truth.sum())) / abs(float(truth.sum())) \
            if truth.sum() else None
    return {"orders_mae": float(np.mean(np.abs(predicted[0] - actual[0]))),
            "revenue_mae": float(np.mean(np.abs(predicted[1] - actual[1]))),
            "orders_total_error": total_error(predicted[0], actual[0]),
            "revenue_total_error": total_error(predicted[1], actual[1])}


def evaluate_holdout(calibration: pd.DataFrame, holdout: pd.DataFrame,
                     cutoff: dt.date) -> dict[str, Any]:
    """Fit on the history up to `cutoff`, predict the next `HOLDOUT_DAYS` of the customers
    known then, and score model and baseline against what those customers did."""
    data = histories(calibration, cutoff)
    bgnbd, gamma = fitted_models(data)
    later = holdout.set_index("customer_id").reindex(calibration["customer_id"])
    actual = (later["orders"].fillna(0).to_numpy(dtype=float),
              later["net_revenue"].fillna(0).to_numpy(dtype=float))
    model = holdout_errors(predict_value(bgnbd, gamma, data, HOLDOUT_DAYS), actual)
    baseline = holdout_errors(baseline_value(data, HOLDOUT_DAYS), actual)
    beats = float(model["revenue_mae"] or 0) < float(baseline["revenue_mae"] or 0)
    return {"customers": len(calibration), "cutoff": cutoff, "model": model,
            "baseline": baseline, "beats_baseline": beats,
            "actual_orders": float(actual[0].sum()), "actual_revenue": money(actual[1].sum())}


def model_inputs(filters: Filters, period: Period) -> dict[str, object]:
    """What a customer model's fit depends on (its key's inputs): the filters it obeys, the
    first day of the history and the range's last day. Not the range's start: the models
    learn from the whole history and only score the customers of the view's range."""
    return {"platforms": filters.platforms, "products": filters.products,
            "categories": filters.categories, "country": filters.country,
            "state": filters.state, "first": period.first_data or period.start,
            "end": period.end}


def model_label(what: str, filters: Filters, period: Period) -> str:
    """A customer model in words: 'Churn · Instagram, Germany · to 2011-12-09'."""
    narrowed = [*filters.platforms, *filters.categories, *filters.products, filters.country,
                filters.state]
    return (f"{what} · {', '.join(name for name in narrowed if name) or 'all sales'} · "
            f"to {period.end.isoformat()}")


def clv_key(scope: Scope, filters: Filters, period: Period) -> ModelKey:
    """The stored BG/NBD + Gamma-Gamma models a view scores."""
    return model_store.model_key("clv", scope, model_label("Lifetime value", filters, period),
                                 **model_inputs(filters, period))


def fit_clv(session: Session, scope: Scope, filters: Filters,
            period: Period) -> tuple[tuple[BgNbd, GammaGamma | None] | None, dict[str, Any]]:
    """The models fitted on the whole history (None when it is too thin) and their
    evaluation: fitted again up to `HOLDOUT_DAYS` before the end and scored on what the
    customers known then did afterwards, next to the naive baseline."""
    first = period.first_data or period.start
    cutoff = period.end - dt.timedelta(days=HOLDOUT_DAYS)
    calibration = customer_base(session, scope, filters, first, cutoff)
    metrics: dict[str, Any] = {"refused": _refusal(calibration, (cutoff - first).days + 1),
                               "holdout": None, "parameters": None}
    if metrics["refused"]:
        return None, metrics
    holdout = customer_base(session, scope, filters, cutoff + dt.timedelta(days=1), period.end)
    metrics["holdout"] = evaluate_holdout(calibration, holdout, cutoff)
    history = customer_base(session, scope, filters, first, period.end)
    bgnbd, gamma = fitted_models(histories(history, period.end))
    metrics["parameters"] = {"bgnbd": vars(bgnbd), "gamma_gamma": vars(gamma) if gamma else None}
    return (bgnbd, gamma), metrics


def train_clv(session: Session, scope: Scope, filters: Filters, period: Period) -> Trained:
    """Fit and evaluate the view's lifetime value models and store them (in the background)."""
    return model_store.train(session, clv_key(scope, filters, period),
                             lambda: fit_clv(session, scope, filters, period))


def clv_result(session: Session, scope: Scope, filters: Filters, period: Period,
               trained: Trained | None) -> dict[str, Any]:
    """The view's answer from stored models: the 12-month predicted value of its customers
    and the models' hold-out error next to the baseline; `pending` while none is stored."""
    empty = pd.DataFrame(columns=["customer", "name", "orders", "net_revenue",
                                  "predicted_orders", "predicted_value"])
    result: dict[str, Any] = {"method": CLV_METHOD, "baseline_method": BASELINE_METHOD,
                              "horizon_days": CLV_DAYS, "holdout_days": HOLDOUT_DAYS,
                              "pending": trained is None, "failed": None, "refused": "",
                              "holdout": None,
                              "parameters": None, "model": None, "customers": empty,
                              "total_predicted": None}
    if trained is None:
        return result
    holdout = trained.metrics.get("holdout")
    if holdout:  # stored as JSON: the cut-off day is text there
        holdout = {**holdout, "cutoff": dt.date.fromisoformat(str(holdout["cutoff"]))}
    result.update(refused=trained.metrics.get("refused", ""), holdout=holdout,
                  parameters=trained.metrics.get("parameters"),
                  model=model_store.describe(trained))
    if trained.artefact is None:
        return result
    bgnbd, gamma = trained.artefact
    history = customer_base(session, scope, filters, period.first_data or period.start,
                            period.end)
    orders, value = predict_value(bgnbd, gamma, histories(history, period.end), CLV_DAYS)
    predicted = history[["customer_id", "customer", "name", "orders", "net_revenue"]].assign(
        predicted_orders=orders, predicted_value=value)
    # The view's customers: an order in the range, i.e. the last one on or after its start.
    predicted = predicted.loc[history["last_order"] >= period.start]
    result["customers"] = predicted.sort_values(["predicted_value", "customer"],
                                                ascending=[False, True]) \
        .drop(columns="customer_id").reset_index(drop=True)
    result["total_predicted"] = money(predicted["predicted_value"].sum())
    return result


@cached
def predicted_clv(session: Session, scope: Scope, filters: Filters,
                  period: Period) -> dict[str, Any]:
    """The view's predicted customer value from its stored models ("pending", and not
    cached, until the background job has trained them)."""
    trained, failed = model_store.stored_or_pending(session, clv_key(scope, filters, period))
    # `failed`: why it is still pending, when its last training failed (Retrain tries again).
    return {**clv_result(session, scope, filters, period, trained), "failed": failed}
