"""The Funnel page: sessions → product views → add to cart → checkout → purchase per platform.

Funnel counts are the daily counts an analytics tool reports per platform (`funnel_days`);
they know nothing of products, so the product and category filters never apply to them.
Every sum is taken in the database; pandas only divides the few summed rows.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session

from models import FunnelDay, OrderLine, Platform
from services.cache import cached
from services.filters import Filters, Period
from services.metrics import ratio
from services.periods import bucket_end, bucket_starts
from services.query import as_date, bucket, frame_of, scope_condition
from services.rollups import Lines, aggregate_select
from services.scope import Scope
from services.trends import comparison_spans

STEPS = ("sessions", "product_views", "add_to_cart", "checkout", "purchase")
STEP_LABELS = {"sessions": "Sessions", "product_views": "Product views",
               "add_to_cart": "Add to cart", "checkout": "Checkout", "purchase": "Purchase"}
# How a step reads inside a sentence ("lost between cart and checkout").
STEP_WORDS = {"sessions": "visit", "product_views": "product view", "add_to_cart": "cart",
              "checkout": "checkout", "purchase": "purchase"}
OVERALL = "overall"  # the step key of purchase / sessions in the per-platform rates


def funnel_conditions(filters: Filters, scope: Scope, start: dt.date,
                      end: dt.date) -> list[ColumnElement[bool]]:
    """WHERE conditions on `funnel_days`: the dates, the scope and the platform filter."""
    return [FunnelDay.date.between(start, end), *_platform_conditions(filters, scope)]


def _platform_conditions(filters: Filters, scope: Scope) -> list[ColumnElement[bool]]:
    conditions = [scope_condition(scope, FunnelDay.platform_id)]
    if filters.platforms:
        conditions.append(FunnelDay.platform_id.in_(
            select(Platform.id).where(Platform.slug.in_(filters.platforms))))
    return conditions


def _summed(session: Session, filters: Filters, scope: Scope,
            spans: Sequence[tuple[dt.date, dt.date]],
            dimensions: Sequence[ColumnElement[Any]] = (),
            joins: Sequence[tuple[Any, ColumnElement[bool]]] = ()) -> list[pd.DataFrame]:
    """The five step counts per group of `dimensions` (one row overall without any), a frame
    per span of days. One query: each sum keeps its own span's days (FILTER); a group
    without a day in the first span is left out (its rates would be of nothing)."""
    days = [FunnelDay.date.between(start, end) for start, end in spans]
    sums = [func.coalesce(func.sum(getattr(FunnelDay, step)).filter(within), 0)
            .label(f"{step}_{index}") for index, within in enumerate(days) for step in STEPS]
    stmt = select(*dimensions, func.count().filter(days[0]).label("in_first"), *sums) \
        .select_from(FunnelDay)
    for target, on in joins:
        stmt = stmt.join(target, on)
    stmt = stmt.where(or_(*days), *_platform_conditions(filters, scope))
    if dimensions:
        stmt = stmt.group_by(*dimensions).order_by(*dimensions)
    names = [dimension.name for dimension in dimensions]
    found = frame_of(session.execute(stmt).all(),
                     [*names, "in_first", *(sum_.name for sum_ in sums)])
    if dimensions:
        found = found.loc[found["in_first"] > 0].reset_index(drop=True)
    return [pd.DataFrame({**{name: found[name] for name in names},
                          **{step: found[f"{step}_{index}"].fillna(0).astype("int64")
                             for step in STEPS}})
            for index in range(len(spans))]


def _spans(period: Period) -> list[tuple[dt.date, dt.date]]:
    """The range, then the comparison dates when the data covers them wholly."""
    return [(period.start, period.end), *([period.comparison] if period.comparison else [])]


def _steps_frame(counts: Sequence[int]) -> pd.DataFrame:
    values = np.asarray(counts, dtype=float)
    previous = np.concatenate([[np.nan], values[:-1]])
    step_rate = ratio(values, previous)
    step_rate[0] = np.nan
    return pd.DataFrame({
        "step": list(STEPS), "label": [STEP_LABELS[step] for step in STEPS],
        "count": np.asarray(counts, dtype="int64"),
        "step_rate": step_rate, "overall_rate": ratio(values, np.full(len(values), values[0])),
        "lost": np.concatenate([[0], values[:-1] - values[1:]]).astype("int64"),
        "lost_share": 1 - step_rate,
    })


@cached
def funnel_steps(session: Session, scope: Scope, filters: Filters,
                 period: Period) -> pd.DataFrame:
    """Each step's count, its conversion from the step before and from sessions, and what
    was lost on the way in; `compare_*` for the comparison period (NaN without one).

    Columns: step, label, count, step_rate, overall_rate, lost, lost_share, compare_count,
    compare_step_rate, compare_overall_rate.
    """
    current, *compared = _summed(session, filters, scope, _spans(period))
    frame = _steps_frame(current.iloc[0].tolist())
    frame["compare_count"] = np.nan
    frame["compare_step_rate"] = np.nan
    frame["compare_overall_rate"] = np.nan
    if compared:  # only a comparison the data covers wholly
        previous = _steps_frame(compared[0].iloc[0].tolist())
        frame["compare_count"] = previous["count"].astype(float)
        frame["compare_step_rate"] = previous["step_rate"]
        frame["compare_overall_rate"] = previous["overall_rate"]
    return frame


def biggest_drop(steps: pd.DataFrame) -> dict[str, Any]:
    """The step where most visitors leave, in words ("… between cart and checkout: 61% leave")."""
    rated = steps.loc[steps["lost_share"].notna()]
    if rated.empty or int(steps["count"].iloc[0]) == 0:
        return {"after": None, "before": None, "lost_share": None,
                "overall_rate": None, "text": "No sessions in this view."}
    worst = rated.loc[rated["lost_share"].idxmax()]
    index = STEPS.index(worst["step"])
    after, before = STEPS[index - 1], STEPS[index]
    overall = float(steps["overall_rate"].iloc[-1])
    share = float(worst["lost_share"])
    text = (f"Most visitors are lost between {STEP_WORDS[after]} and {STEP_WORDS[before]}: "
            f"{share:.0%} leave. {overall:.1%} of sessions end in a purchase.")
    return {"after": after, "before": before, "lost_share": share, "overall_rate": overall,
            "text": text}


# Each rate of the per-platform panel: (from step, to step, its key).
RATES = (*((before, step, step) for before, step in zip(STEPS, STEPS[1:], strict=False)),
         ("sessions", "purchase", OVERALL))


def _platform_rates(counts: pd.DataFrame) -> pd.DataFrame:
    """Per platform, each step's rate from the step before, and purchase / sessions (a row
    per rate and platform, the platforms in the order of `counts` within each rate)."""
    from_count = np.concatenate([counts[before].to_numpy() for before, _step, _key in RATES])
    count = np.concatenate([counts[step].to_numpy() for _before, step, _key in RATES])
    return pd.DataFrame({
        "slug": np.tile(counts["slug"].to_numpy(), len(RATES)),
        "platform": np.tile(counts["platform"].to_numpy(), len(RATES)),
        "step": np.repeat([key for _before, _step, key in RATES], len(counts)),
        "from_count": from_count, "count": count, "rate": ratio(count, from_count)})


@cached
def funnel_by_platform(session: Session, scope: Scope, filters: Filters,
                       period: Period) -> pd.DataFrame:
    """Step conversion and overall conversion per platform, with the comparison period.

    One row per platform and step: `step` is the step reached (its rate is from the step
    before) or 'overall' (purchase / sessions); `compare_rate` is the same rate in the
    comparison period (NaN without one, or where the platform had no sessions then).
    """
    dims = [Platform.slug.label("slug"), Platform.name.label("platform")]
    joins = [(Platform, Platform.id == FunnelDay.platform_id)]
    current, *compared = _summed(session, filters, scope, _spans(period), dims, joins)
    rates = _platform_rates(current)
    rates["compare_rate"] = np.nan
    if compared:  # the same platforms in the same order: the same query answered both
        rates["compare_rate"] = _platform_rates(compared[0])["rate"].to_numpy()
    return rates


def _per_bucket(session: Session, filters: Filters, scope: Scope, start: dt.date,
                end: dt.date) -> pd.DataFrame:
    period = bucket(FunnelDay.date, filters.grain).label("bucket")
    found = _summed(session, filters, scope, [(start, end)], [period])[0]
    starts = bucket_starts(start, end, filters.grain)
    counts = found.set_index(found["bucket"].map(as_date))[["sessions", "purchase"]] \
        .reindex(starts, fill_value=0)
    frame = pd.DataFrame({"bucket": starts, "sessions": counts["sessions"].to_numpy(),
                          "purchase": counts["purchase"].to_numpy()})
    frame["value"] = ratio(frame["purchase"], frame["sessions"])
    return frame


@cached
def conversion_trend(session: Session, scope: Scope, filters: Filters,
                     period: Period) -> pd.DataFrame:
    """Purchase / sessions per bucket at the chosen grain, each bucket compared with its own
    days shifted by the comparison (`services.trends.comparison_spans`, as every trend).

    Columns: bucket, complete, sessions, purchase, value (the conversion rate, NaN without
    sessions), compare_bucket (the first compared day), compare_sessions, compare_purchase,
    compare_value (NaN for a span before the first day of data).
    """
    grain = filters.grain
    trend = _per_bucket(session, filters, scope, period.start, period.end)
    trend.insert(1, "complete", [start >= period.start and bucket_end(start, grain) <= period.end
                                 for start in trend["bucket"]])
    trend["compare_bucket"] = None
    for column in ("compare_sessions", "compare_purchase", "compare_value"):
        trend[column] = np.nan
    if period.compare_start and period.compare_end:
        _add_comparison(session, scope, filters, period, trend)
    return trend


def _add_comparison(session: Session, scope: Scope, filters: Filters, period: Period,
                    trend: pd.DataFrame) -> None:
    spans = comparison_spans(list(trend["bucket"]), filters, period)
    starts = pd.Index([first for first, _last in spans])
    observed = np.array([period.first_data is None or first >= period.first_data
                         for first in starts])
    trend["compare_bucket"] = list(starts)
    if not observed.any():  # every span starts before the data: gaps, nothing to read
        return
    day = FunnelDay.date.label("day")
    daily = _summed(session, filters, scope, [(spans[0][0], spans[-1][1])], [day])[0]
    # Each compared day belongs to the last span starting on or before it.
    span_of_day = starts.searchsorted(pd.Index(daily["day"].map(as_date)), side="right") - 1
    sums = daily[["sessions", "purchase"]].groupby(span_of_day).sum() \
        .reindex(range(len(spans)), fill_value=0)
    trend["compare_sessions"] = np.where(observed, sums["sessions"], np.nan)
    trend["compare_purchase"] = np.where(observed, sums["purchase"], np.nan)
    trend["compare_value"] = np.where(observed, ratio(sums["purchase"], sums["sessions"]),
                                      np.nan)


@cached
def reconciliation(session: Session, scope: Scope, filters: Filters,
                   period: Period) -> pd.DataFrame:
    """Funnel purchases against the orders recorded for the same platforms and days.

    Only the (platform, day) pairs that have a funnel row count on both sides: orders of
    days or platforms the analytics tool did not report are not a gap of the funnel. Both
    sides are summed per (platform, day) and joined in the database: one query, a row per
    platform back. Columns: slug, platform, days, funnel_purchases, orders, gap
    (purchases − orders), gap_share (gap / orders, NaN without orders).
    """
    purchases = func.sum(FunnelDay.purchase).label("purchase")
    funnel = (select(FunnelDay.platform_id, FunnelDay.date.label("day"), purchases)
              .where(*funnel_conditions(filters, scope, period.start, period.end))
              .group_by(FunnelDay.platform_id, FunnelDay.date).subquery("funnel"))
    # The panel's filters hold no product or category: every order counts, as in the funnel;
    # so the day rollup answers the orders per platform and day.
    orders = aggregate_select(Lines(filters, scope, period.start, period.end), ["orders"],
                              [OrderLine.platform_id.label("platform_id"),
                               OrderLine.sale_date.label("day")]).subquery("orders")
    summed = func.coalesce(func.sum(funnel.c.purchase), 0).label("funnel_purchases")
    stmt = (select(Platform.slug, Platform.name.label("platform"), func.count().label("days"),
                   summed, func.coalesce(func.sum(orders.c.orders), 0).label("orders"))
            .select_from(funnel).join(Platform, Platform.id == funnel.c.platform_id)
            .outerjoin(orders, and_(orders.c.platform_id == funnel.c.platform_id,
                                    orders.c.day == funnel.c.day))
            .group_by(Platform.id, Platform.slug, Platform.name)
            .order_by(summed.desc(), Platform.slug))
    columns = ["slug", "platform", "days", "funnel_purchases", "orders"]
    frame = frame_of(session.execute(stmt).all(), columns)
    counts = ["days", "funnel_purchases", "orders"]
    frame[counts] = frame[counts].map(int).astype("int64")  # PostgreSQL sums are numeric
    frame["gap"] = frame["funnel_purchases"] - frame["orders"]
    frame["gap_share"] = ratio(frame["gap"], frame["orders"])
    return frame


def reconciliation_total(frame: pd.DataFrame) -> dict[str, Any]:
    """The gap over every platform of the panel, in numbers and words."""
    purchases, orders = int(frame["funnel_purchases"].sum()), int(frame["orders"].sum())
    gap = purchases - orders
    share = gap / orders if orders else None
    if frame.empty:
        text = "No funnel data in this view."
    elif gap == 0:
        text = f"Funnel purchases match the {orders:,} orders recorded exactly."
    else:
        side = "more" if gap > 0 else "fewer"
        rate = f" ({abs(share):.1%})" if share is not None else ""
        text = (f"The funnel counts {abs(gap):,} {side} purchases than the {orders:,} orders "
                f"recorded{rate}. Funnel counts come from analytics tools (tracking blockers, "
                "test orders, time zones) and rarely match orders exactly.")
    return {"funnel_purchases": purchases, "orders": orders, "gap": gap, "gap_share": share,
            "text": text}
