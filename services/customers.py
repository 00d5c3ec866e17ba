"""The Customers page: KPIs, RFM segments, the customer segments of the data, lifetime value,
cohort retention, new vs returning and the top customers. The API returns what these compute.

A view's customers are the known customers who bought in its range under its filters (platform,
product/category, order country) and the user's scope: a customer who also buys elsewhere is
counted only with the activity the view can see. Per-customer numbers are aggregated in SQL
(`customer_rows`, one row per customer, summed from the customer-day rollup unless a product or
category filter needs the order lines); new vs returning and the cohorts are summed per bucket
in SQL from those rows; everything else is pandas over them.

The lifetime value models are trained in the background (`train_clv`); training also scores
every customer and stores the scores with the run (`store_scores`, `models.CustomerScore`),
so a page view sums and lists stored scores in SQL and never calls the models.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import (
    ColumnElement,
    Float,
    FromClause,
    Select,
    Subquery,
    and_,
    case,
    cast,
    delete,
    func,
    insert,
    or_,
    select,
)
from sqlalchemy.orm import Session

from models import Customer, CustomerScore, ModelRun
from services import model_store
from services.cache import cached
from services.customer_models import BgNbd, GammaGamma, fit_bgnbd, fit_gamma_gamma
from services.filters import Filters, Period
from services.metrics import change, money, money_values
from services.model_store import ModelKey, Trained
from services.periods import bucket_starts, month_start
from services.query import as_date, as_dates, bucket, days_between, driver_rows, frame_of
from services.query import month_start as sql_month_start
from services.rollups import Lines, pass_over_earlier_days, per_customer
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

def customer_rows(scope: Scope, filters: Filters, start: dt.date, end: dt.date) -> Select[Any]:
    """The SELECT of one row per known customer who bought in start..end: orders, net
    revenue, gross sales, first and last order day in the range and the first purchase ever
    (under the same filters, up to `end`). From the customer-day rollup unless a product or
    category filter needs the lines."""
    source = per_customer(Lines(filters, scope, start, end))
    orders = source.measures["orders"]
    bought = (select(source.customer_id.label("customer_id"), orders,
                     source.measures["net_revenue"], source.measures["gross_sales"],
                     func.min(source.sale_day()).label("first_order"),
                     func.max(source.sale_day()).label("last_order"))
              .where(*source.conditions).group_by(source.customer_id)
              .having(orders.element > 0).cte("bought"))
    if start == dt.date.min:
        return select(bought, bought.c.first_order.label("first_purchase"))
    earlier = earlier_purchase(scope, filters, start, bought.c.customer_id)
    return select(bought, func.coalesce(earlier, bought.c.first_order).label("first_purchase"))


def earlier_purchase(scope: Scope, filters: Filters, start: dt.date,
                     customer_id: ColumnElement[int]) -> Any:
    """The first purchase before `start` (under the filters) of the customer `customer_id`
    names, as a correlated scalar subquery (NULL when there is none)."""
    # The first purchase is the range's first order, unless the customer bought before it:
    # one look-up per customer of the range, through the customer index (PostgreSQL and
    # SQLite read only the first matching row of a customer's earlier days).
    before = per_customer(Lines(filters, scope, dt.date.min, start - dt.timedelta(days=1)))
    return (select(func.min(before.day))
            .where(*before.conditions, before.sale, before.customer_id == customer_id)
            .scalar_subquery())


def earlier_purchases(scope: Scope, filters: Filters, start: dt.date) -> Subquery:
    """Every customer's first purchase before `start` (under the filters), one row each, in
    one grouped pass over the days before it."""
    before = per_customer(Lines(filters, scope, dt.date.min, start - dt.timedelta(days=1)))
    return (select(before.customer_id.label("customer_id"),
                   func.min(before.day).label("first_day"))
            .where(*before.conditions, before.sale).group_by(before.customer_id)
            .subquery("earlier"))


# A look-up per row of the range costs about two rows of one pass over the days before it
# (1.3 against 0.65 µs on PostgreSQL at 1M lines): at 12 months of two years the pass took
# 440 ms against 640 ms of look-ups; at 30 days the look-ups win, 25,000 of them against a
# pass over 500,000 rows.
ROW_LOOK_UP_COST = 2.0


@cached
def customer_base(session: Session, scope: Scope, filters: Filters, start: dt.date,
                  end: dt.date) -> pd.DataFrame:
    """`customer_rows` with each customer's id, name, segment and country, in one query.

    A customer whose lines in the range are only returns is not a customer of the range
    (SPEC §3: customers are those with an order).
    """
    rows = customer_rows(scope, filters, start, end).subquery("per_customer")
    # Sums cast to floats in SQL, and the rows read as the driver gives them: turning
    # 175,000 rows of decimals into floats took a quarter of the read.
    stmt = (select(rows.c.customer_id, Customer.external_id.label("customer"), Customer.name,
                   Customer.segment, Customer.country, rows.c.orders,
                   cast(rows.c.net_revenue, Float), cast(rows.c.gross_sales, Float),
                   rows.c.first_order, rows.c.last_order, rows.c.first_purchase)
            .join(Customer, Customer.id == rows.c.customer_id).order_by(rows.c.customer_id))
    frame = pd.DataFrame(driver_rows(session, stmt), columns=list(BASE_COLUMNS))
    for column in ("first_order", "last_order", "first_purchase"):
        frame[column] = as_dates(frame[column])
    for column in ("net_revenue", "gross_sales"):
        frame[column] = money_values(frame[column])
    frame["orders"] = frame["orders"].astype(int)
    frame["segment"] = frame["segment"].fillna(NOT_SET)
    frame["country"] = frame["country"].fillna(UNKNOWN_COUNTRY)
    frame["new"] = frame["first_purchase"] >= start
    return frame


def history_from(start: dt.date, period: Period) -> dt.date:
    """`start`, or the first day there is when no line the user can see lies before it: a
    range from the first sale has no earlier purchase to look up for each customer (at all
    time, 175,000 look-ups that find nothing, 0.4 s of every per-customer query at 1M lines).
    """
    first = period.first_data
    return dt.date.min if first is not None and start <= first else start


def whole_history(session: Session, scope: Scope, filters: Filters,
                  end: dt.date) -> pd.DataFrame:
    """`customer_base` of every customer who bought up to `end`, over all their history:
    what the models learn from and score."""
    # From the first day there is: no earlier purchase to look up for each customer.
    return customer_base(session, scope, filters, dt.date.min, end)


# --- KPI cards ------------------------------------------------------------------------------------

def customer_kpis(session: Session, scope: Scope, filters: Filters, start: dt.date,
                  end: dt.date, period: Period) -> dict[str, float | int | None]:
    """The KPI values of the customers who bought in start..end, summed in SQL over their
    per-customer rows (one statement: the rows never leave the database)."""
    rows = customer_rows(scope, filters, history_from(start, period), end).cte("per_customer")
    repeat = rows.c.orders >= 2
    gap = (days_between(rows.c.last_order, rows.c.first_order) / (rows.c.orders - 1))
    gaps = (select(gap.label("gap"), func.row_number().over(order_by=gap).label("place"),
                   func.count().over().label("repeaters"))
            .where(repeat).subquery("gaps"))
    # The median: the middle gap, or the mean of the middle two.
    median = (select(func.avg(gaps.c.gap))
              .where(gaps.c.place.between((gaps.c.repeaters + 1) // 2,
                                          gaps.c.repeaters // 2 + 1))
              .scalar_subquery())
    count, new, repeaters, revenue, middle = session.execute(select(
        func.count(), func.coalesce(func.sum(case((rows.c.first_purchase >= start, 1),
                                                  else_=0)), 0),
        func.coalesce(func.sum(case((repeat, 1), else_=0)), 0),
        func.sum(rows.c.net_revenue), median)).one()
    return {
        "customers": count,
        "new_customers": int(new),
        "returning_customers": count - int(new),
        "repeat_rate": int(repeaters) / count if count else None,
        "revenue_per_customer": money(revenue) / count if count else None,
        "median_days_between_orders": None if middle is None else float(middle),
    }


@cached
def kpis(session: Session, scope: Scope, filters: Filters,
         period: Period) -> dict[str, dict[str, float | int | None]]:
    """Each customer KPI with its value in the comparison range and the change."""
    current = customer_kpis(session, scope, filters, period.start, period.end, period)
    previous: dict[str, Any] = {}
    if period.compare_start and period.compare_end:
        previous = customer_kpis(session, scope, filters, period.compare_start,
                                 period.compare_end, period)
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
    # Per distinct last day (a few hundred), not per customer: numpy converts dates one by
    # one in Python.
    codes, days = pd.factorize(frame["last_order"])
    frame["recency_days"] = np.array([(asof - day).days for day in days], dtype=int)[codes] \
        if len(days) else np.zeros(0, dtype=int)
    frame["r_score"] = quintile_scores(-frame["recency_days"])
    frame["f_score"] = quintile_scores(frame["orders"])
    frame["m_score"] = quintile_scores(frame["net_revenue"])
    # `segment_of` of every R, F and M score, looked up for all customers at once.
    scores = range(1, 6)
    cube = np.array([[[segment_of(r, f, m) for m in scores] for f in scores] for r in scores],
                    dtype=object)
    frame["rfm_segment"] = cube[frame["r_score"].to_numpy() - 1, frame["f_score"].to_numpy() - 1,
                                frame["m_score"].to_numpy() - 1]
    return frame


@cached
def rfm(session: Session, scope: Scope, filters: Filters, period: Period) -> pd.DataFrame:
    """The RFM table of the view's customers as of the range's last day."""
    return rfm_table(customer_base(session, scope, filters, history_from(period.start, period),
                                   period.end), period.end)


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


# --- cohorts and new vs returning -------------------------------------------------------------

def _buckets_by_first_purchase(session: Session, scope: Scope, filters: Filters,
                               period: Period, start: dt.date, grain: str,
                               first: Callable[[Any, Any], Any]) -> pd.DataFrame:
    """Customers who bought in the range (with an order in the bucket) and their net
    revenue, per bucket of the lines start..end and per `first(first_purchase, bucket)`
    (customers for whom it is NULL left out), summed in SQL from each customer's rows per
    bucket."""
    source = per_customer(Lines(filters, scope, start, period.end))
    period_of = bucket(source.day, grain).label("bucket")
    orders = source.measures["orders"]
    # Each customer's first order from `start` on, over their rows (a window over the
    # groups): no second pass over the lines to find it.
    first_order = func.min(func.min(source.sale_day())).over(partition_by=source.customer_id)
    activity = (select(source.customer_id.label("customer_id"), period_of,
                       source.measures["net_revenue"], first_order.label("first_order"))
                .where(*source.conditions).group_by(source.customer_id, period_of)
                .having(orders.element > 0).subquery("activity"))
    # With no line before `start`, the first order from it on is the first purchase.
    first_purchase: ColumnElement[Any] = activity.c.first_order
    rows: FromClause = activity
    if history_from(start, period) != dt.date.min:
        if pass_over_earlier_days(period.first_data or dt.date.min, start, period.end,
                                  ROW_LOOK_UP_COST):
            earlier = earlier_purchases(scope, filters, start)
            rows = activity.outerjoin(earlier, earlier.c.customer_id == activity.c.customer_id)
            first_purchase = func.coalesce(earlier.c.first_day, first_purchase)
        else:
            first_purchase = func.coalesce(
                earlier_purchase(scope, filters, start, activity.c.customer_id),
                first_purchase)
    # A customer first seen after `start` but only before the range's own first day (the
    # cohorts read from the first month's start) has no `first` in the range: left out.
    # Materialised: PostgreSQL otherwise runs a look-up twice per row, once for the
    # grouping and once for the filter (520,000 look-ups at 12 months instead of 260,000;
    # spreading one look-up per customer over their rows by a window cost more than it saved).
    bought = (select(*activity.c, first_purchase.label("first_purchase")).select_from(rows)
              .cte("bought").prefix_with("MATERIALIZED", dialect="postgresql"))
    first_of = first(bought.c.first_purchase, bought.c.bucket)
    stmt = (select(bought.c.bucket, first_of.label("first"), func.count().label("customers"),
                   func.sum(bought.c.net_revenue).label("net_revenue"))
            .where(first_of.is_not(None)).group_by(bought.c.bucket, first_of))
    frame = frame_of(session.execute(stmt).all(),
                     ["bucket", "first", "customers", "net_revenue"])
    frame["bucket"] = frame["bucket"].map(as_date)
    frame["net_revenue"] = frame["net_revenue"].map(money).astype(float)
    return frame


@cached
def new_vs_returning(session: Session, scope: Scope, filters: Filters,
                     period: Period) -> pd.DataFrame:
    """Per bucket of the range: customers buying for the first time (under the filters) and
    returning customers, with their net revenue and the new customers' share of it."""
    grain = filters.grain
    # Grouped by bucket and new or not, not by the first purchase's bucket: per day over
    # two years that was 200,000 groups to send back, against 1,460.
    cells = _buckets_by_first_purchase(
        session, scope, filters, period, period.start, grain,
        lambda day, period_of: case((bucket(day, grain) == period_of, 1), else_=0))
    cells["new"] = cells["first"].astype(int) == 1
    out = pd.DataFrame({"bucket": bucket_starts(period.start, period.end, grain)})
    for label, rows in (("new", cells.loc[cells["new"]]),
                        ("returning", cells.loc[~cells["new"]])):
        summed = rows.groupby("bucket")[["customers", "net_revenue"]].sum()
        out[f"{label}_customers"] = out["bucket"].map(summed["customers"]).fillna(0).astype(int)
        out[f"{label}_revenue"] = out["bucket"].map(summed["net_revenue"]).fillna(0.0) \
            .map(money)
    total = out["new_revenue"] + out["returning_revenue"]
    out["new_revenue_share"] = (out["new_revenue"] / total).where(total != 0)
    return out


def cohort_matrix(cells: pd.DataFrame, first_month: dt.date,
                  last_month: dt.date) -> pd.DataFrame:
    """Long-form cohort cells from the customers and net revenue per acquisition month
    (`first`) and month (`bucket`): for each cohort in first_month..last_month and each
    month since it (0-12, up to `last_month`), the customers of the cohort who bought then,
    their net revenue, and both as shares of the cohort's size and first-month revenue.

    A cohort's size is its customers in month 0: each bought in their first month.
    """
    found = {(as_date(cohort), as_date(month)): (int(active), float(revenue))
             for cohort, month, active, revenue in
             cells[["first", "bucket", "customers", "net_revenue"]].itertuples(index=False)}
    records = []
    for cohort in bucket_starts(first_month, last_month, "month"):
        cohort_size, start_revenue = found.get((cohort, cohort), (0, 0.0))
        if not cohort_size:
            continue
        start_revenue = money(start_revenue)
        months = bucket_starts(cohort, last_month, "month")[:COHORT_MONTHS + 1]
        for age, month in enumerate(months):
            active, revenue = found.get((cohort, month), (0, 0.0))
            revenue = money(revenue)
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
    # Only the range's own days count as acquisitions: a customer first seen on a day of the
    # first month before the range started is not a customer acquired in the range (their
    # first purchase is before the range: `first` is NULL for them).
    cells = _buckets_by_first_purchase(
        session, scope, filters, period, first_month, "month",
        lambda day, _month: case((day >= period.start, sql_month_start(day))))
    return cohort_matrix(cells, first_month, last_month)


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
    pages = max(1, -(-len(frame) // TOP_PAGE))
    page = min(max(page, 1), pages)
    ordered = _first_in_order(frame, column, ascending, page * TOP_PAGE)
    shown = ordered.iloc[(page - 1) * TOP_PAGE: page * TOP_PAGE]
    return {"rows": shown[["customer", "name", "orders", "net_revenue", "aov", "first_order",
                           "last_order", "country", "segment", "rfm_segment"]]
            .reset_index(drop=True), "matches": len(frame), "page": page, "pages": pages}


def _first_in_order(frame: pd.DataFrame, column: str, ascending: bool,
                    count: int) -> pd.DataFrame:
    """The first `count` rows (at least) of `frame` sorted by `column`, then customer id.

    By a number, only the rows whose value can be among them are sorted (every row tied
    with the last one kept): sorting all 175,000 customers by value and id took 0.2 s to
    show 25 of them."""
    key = [column, "customer"], [ascending, True]
    values = frame[column]
    if (count < len(frame) // 2 and pd.api.types.is_numeric_dtype(values)
            and values.notna().all()):  # (NaN would be left out, not sorted last)
        first = values.nsmallest(count, keep="all") if ascending \
            else values.nlargest(count, keep="all")
        frame = frame.loc[first.index]
    return frame.sort_values(key[0], ascending=key[1])


# --- geography ----------------------------------------------------------------------------

def countries(base: pd.DataFrame) -> pd.DataFrame:
    """Per customer country: customers, net revenue and revenue per customer."""
    grouped = base.groupby("country").agg(customers=("customer_id", "size"),
                                          net_revenue=("net_revenue", "sum")).reset_index()
    grouped["net_revenue"] = grouped["net_revenue"].map(money)
    grouped["revenue_per_customer"] = grouped["net_revenue"] / grouped["customers"]
    return grouped.sort_values(["customers", "country"], ascending=[False, True]) \
        .reset_index(drop=True)


# --- predicted lifetime value --------------------------------------------------------------------

HOLDOUT_DAYS = 182  # the hold-out: the last 6 months of the history
CLV_DAYS = 365  # the prediction: the next 12 months
MIN_MODEL_CUSTOMERS = 200
MIN_REPEAT_CUSTOMERS = 30
CLV_METHOD = ("BG/NBD (Fader, Hardie & Lee 2005) for the number of orders and Gamma-Gamma "
              "(Fader & Hardie 2013) for their value, fitted by maximum likelihood on every "
              "customer's history under the filters; 12-month value = expected orders × "
              "expected order value, not discounted.")
CLV_LISTED = 50  # the most valuable customers a view lists (the export and the API)
CLV_COLUMNS = ("customer", "name", "orders", "net_revenue", "predicted_orders",
               "predicted_value")
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
            "end": period.end,
            # Runs stored before their scores were (none of theirs) are trained again.
            "scores": "stored"}


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
    models, metrics, _history = _fit_clv(session, scope, filters, period)
    return models, metrics


def _fit_clv(session: Session, scope: Scope, filters: Filters, period: Period
             ) -> tuple[tuple[BgNbd, GammaGamma | None] | None, dict[str, Any], pd.DataFrame]:
    """`fit_clv`, with the whole history the models were fitted on (empty when refused)."""
    first = period.first_data or period.start
    cutoff = period.end - dt.timedelta(days=HOLDOUT_DAYS)
    calibration = whole_history(session, scope, filters, cutoff)
    metrics: dict[str, Any] = {"refused": _refusal(calibration, (cutoff - first).days + 1),
                               "holdout": None, "parameters": None}
    if metrics["refused"]:
        return None, metrics, calibration.iloc[0:0]
    holdout = customer_base(session, scope, filters, cutoff + dt.timedelta(days=1), period.end)
    metrics["holdout"] = evaluate_holdout(calibration, holdout, cutoff)
    history = whole_history(session, scope, filters, period.end)
    bgnbd, gamma = fitted_models(histories(history, period.end))
    metrics["parameters"] = {"bgnbd": vars(bgnbd), "gamma_gamma": vars(gamma) if gamma else None}
    return (bgnbd, gamma), metrics, history


def clv_scores(models: tuple[BgNbd, GammaGamma | None], history: pd.DataFrame,
               end: dt.date) -> pd.DataFrame:
    """Every customer of the history with their expected orders and net revenue in the
    `CLV_DAYS` after `end` under `models`: the scores stored with the run."""
    orders, value = predict_value(*models, histories(history, end), CLV_DAYS)
    return history[list(SCORED_FACTS)].assign(predicted_orders=orders, predicted_value=value)


def train_clv(session: Session, scope: Scope, filters: Filters, period: Period) -> Trained:
    """Fit and evaluate the view's lifetime value models and store them with every
    customer's predicted value (in the background)."""
    def fit() -> tuple[Any, dict[str, Any], pd.DataFrame | None]:
        models, metrics, history = _fit_clv(session, scope, filters, period)
        return models, metrics, None if models is None else clv_scores(models, history,
                                                                       period.end)
    return train_with_scores(session, clv_key(scope, filters, period), fit)


# --- the stored scores ------------------------------------------------------------------------

# What a score row keeps of the customer's history, next to the score.
SCORED_FACTS = ("customer_id", "first_order", "last_order", "orders", "net_revenue")
_INSERT_BATCH = 5_000


def train_with_scores(session: Session, key: ModelKey,
                      fit: Callable[[], tuple[Any, dict[str, Any], pd.DataFrame | None]]
                      ) -> Trained:
    """Train `key` with `fit` (the artefact, its evaluation and every customer's score, None
    when it predicts nothing) and store the scores with the run, in the commit that marks it
    done."""
    scored: list[pd.DataFrame] = []

    def trainer() -> tuple[Any, dict[str, Any]]:
        artefact, metrics, scores = fit()
        if scores is not None:
            scored.append(scores)
        return artefact, metrics
    return model_store.train(session, key, trainer,
                             keep=lambda run_id: store_scores(session, key, run_id, scored))


def store_scores(session: Session, key: ModelKey, run_id: int,
                 scores: list[pd.DataFrame]) -> None:
    """Store `scores` (frames of `SCORED_FACTS` and score columns) as run `run_id`'s, and
    drop the scores of the key's earlier runs and of every run of an older data revision:
    retraining replaces them, and nothing reads those again. The caller commits."""
    revision = model_store.data_revision(session)
    # Only the key's *earlier* runs: two trainings of one view can overlap, and the one
    # finishing last must not delete the scores of a newer run, the one `stored` serves.
    stale = select(ModelRun.id).where(
        ModelRun.id != run_id,
        or_(and_(ModelRun.kind == key.kind, ModelRun.digest == key.digest,
                 ModelRun.id < run_id),
            ModelRun.data_revision < revision))
    session.execute(delete(CustomerScore).where(CustomerScore.run_id.in_(stale)))
    for frame in scores:
        records = frame.assign(run_id=run_id).replace({np.nan: None}).to_dict("records")
        for at in range(0, len(records), _INSERT_BATCH):
            session.execute(insert(CustomerScore), records[at:at + _INSERT_BATCH])


def scored_in_view(run_id: int, period: Period) -> list[ColumnElement[bool]]:
    """The conditions on a run's scores for the view's customers: an order in the range,
    i.e. the last one (up to the range's end, where the run's history ends) on or after its
    first day."""
    return [CustomerScore.run_id == run_id, CustomerScore.last_order >= period.start]


def _stored_clv(session: Session, run_id: int, period: Period
                ) -> tuple[pd.DataFrame, int, float]:
    """The view's `CLV_LISTED` most valuable customers by their stored prediction, how many
    customers the view has and their total predicted value, summed in SQL."""
    scores = CustomerScore
    where = scored_in_view(run_id, period)
    count, total = session.execute(select(func.count(), func.sum(scores.predicted_value))
                                   .where(*where)).one()
    # The top values are found on the scores alone, and only the rows from the last of them
    # on (ties included) are joined to the customers: joined first, the whole history's
    # 175,000 customers were read to list 50 (0.7 s at 1M lines).
    # (A customer without a prediction is never among them: PostgreSQL sorts NULL first.)
    top = (select(scores.predicted_value.label("value"))
           .where(*where, scores.predicted_value.is_not(None))
           .order_by(scores.predicted_value.desc()).limit(CLV_LISTED).subquery("top"))
    lowest = select(func.min(top.c.value)).scalar_subquery()
    stmt = (select(Customer.external_id.label("customer"), Customer.name, scores.orders,
                   scores.net_revenue, scores.predicted_orders, scores.predicted_value)
            .join(Customer, Customer.id == scores.customer_id)
            .where(*where, scores.predicted_value >= lowest)
            .order_by(scores.predicted_value.desc(), Customer.external_id).limit(CLV_LISTED))
    listed = frame_of(session.execute(stmt).all(), list(CLV_COLUMNS))
    listed["net_revenue"] = listed["net_revenue"].map(money).astype(float)
    return listed, int(count), money(total or 0.0)


def clv_result(session: Session, scope: Scope, filters: Filters, period: Period,
               trained: Trained | None) -> dict[str, Any]:
    """The view's answer from stored models: its customers' 12-month predicted value (the
    scores stored at training) and the models' hold-out error next to the baseline;
    `pending` while none is stored."""
    result: dict[str, Any] = {"method": CLV_METHOD, "baseline_method": BASELINE_METHOD,
                              "horizon_days": CLV_DAYS, "holdout_days": HOLDOUT_DAYS,
                              "pending": trained is None, "failed": None, "refused": "",
                              "holdout": None, "parameters": None, "model": None,
                              "customers": pd.DataFrame(columns=list(CLV_COLUMNS)),
                              "scored_customers": 0, "total_predicted": None}
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
    result["customers"], result["scored_customers"], result["total_predicted"] = \
        _stored_clv(session, trained.run_id, period)
    return result


@cached
def predicted_clv(session: Session, scope: Scope, filters: Filters,
                  period: Period) -> dict[str, Any]:
    """The view's predicted customer value from its stored models ("pending", and not
    cached, until the background job has trained them)."""
    trained, failed = model_store.stored_or_pending(session, clv_key(scope, filters, period))
    # `failed`: why it is still pending, when its last training failed (Retrain tries again).
    return {**clv_result(session, scope, filters, period, trained), "failed": failed}
