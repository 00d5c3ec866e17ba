"""Influencer campaigns on the Marketing page: cost, attributed revenue, ROI and ROAS against
benchmarks, payouts recomputed from the data, and attribution reconciled with sales.

Attributed orders and revenue are the tracking data's (`tracking`: orders a tracking link or
code tied to a campaign or a post, per day). A campaign's measured lift is read from the
sales instead (`LIFT_RULE`), so the two can be set against each other. Sums are taken in
the database per campaign, per payout or per platform; pandas only divides the few summed
rows.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats  # type: ignore[import-untyped]
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from models import Campaign, Influencer, MediaPost, OrderLine, Payout, Platform, Product, Tracking
from services.cache import cached
from services.errors import NotFound
from services.filters import Filters, Period
from services.marketing import daily_sums, day_sums, filtered
from services.metrics import ratio
from services.query import as_date, frame_of, scope_condition
from services.rollups import Lines, aggregate
from services.sales import data_bounds
from services.scope import Scope

COST_RULE = ("Cost = the campaign's budget (it includes the influencer's fee) or, where its "
             "payouts (not cancelled) exceed the budget or no budget is stored, the payouts. "
             "Revenue and orders: every tracked order of the campaign, whatever its date. "
             "ROI = (revenue − cost) / cost; ROAS = revenue / cost.")
ATTRIBUTION_RULE = ("An order is attributed when the tracking data ties it to a campaign or a "
                    "post (its link or code), on the day it was placed; nothing else is "
                    "attributed (no modelled touches). Tracked revenue is the order's gross "
                    "sales; it is set against the gross sales of the same platforms and days.")
NO_CAMPAIGN = "Organic posts (no campaign)"
LIFT_WEEKS = 4  # the weeks before a campaign its counterfactual is read from
LIFT_LEVEL = 0.90
LIFT_RULE = ("Measured lift = the promoted product's orders (on every platform you may see) "
             "on the campaign's days, against a counterfactual: the product's share of the "
             "shop's orders in each of the four weeks before the campaign, times the shop's "
             "orders on the campaign's days. The 90% interval adds the campaign's own count "
             "noise (Poisson) to the error of the mean of the four weekly baselines (Student "
             "t, 3 degrees of freedom). It is "
             "measured from the sales, not from the tracking data, so extra orders can be set "
             "against the tracked ones; a campaign without a product, or whose four weeks "
             "before it are not all in the data, is not measured.")


def campaign_conditions(scope: Scope, filters: Filters,
                        period: Period) -> list[ColumnElement[bool]]:
    """Campaigns that ran in the range, on the scope's and the filter's platforms, promoting a
    filtered product."""
    return [Campaign.start_date <= period.end, Campaign.end_date >= period.start,
            *filtered(scope, filters, Campaign.platform_id, Campaign.product_id)]


def _sums(session: Session, column: str, value: Any, key: Any,
          where: Sequence[ColumnElement[bool]]) -> pd.Series:
    """Σ value (or, for None, the row count) per key, as a Series by key."""
    total = func.count() if value is None else func.coalesce(func.sum(value), 0)
    rows = session.execute(select(key, total).where(*where).group_by(key)).all()
    return pd.Series({row[0]: row[1] for row in rows}, dtype=float, name=column)


@cached
def campaign_performance(session: Session, scope: Scope, filters: Filters,
                         period: Period) -> pd.DataFrame:
    """Per campaign: cost, tracked orders and revenue, ROI, ROAS, cost per order and the
    engagement rate of its posts, best ROAS first.

    Columns: campaign_id, campaign, platform, influencer, followers, sku, start, end, budget,
    payouts, cost, orders, revenue, roi, roas, cost_per_order, engagement_rate, posts.
    """
    stmt = (select(Campaign.id, Campaign.name, Platform.name, Influencer.handle,
                   Influencer.followers, Product.sku, Campaign.product_id, Campaign.start_date,
                   Campaign.end_date, Campaign.budget)
            .join(Platform, Platform.id == Campaign.platform_id)
            .outerjoin(Influencer, Influencer.id == Campaign.influencer_id)
            .outerjoin(Product, Product.id == Campaign.product_id)
            .where(*campaign_conditions(scope, filters, period)))
    frame = frame_of(session.execute(stmt).all(), [
        "campaign_id", "campaign", "platform", "influencer", "followers", "sku", "product_id",
        "start", "end", "budget"])
    ids = frame["campaign_id"].tolist()
    for column in ("start", "end"):
        frame[column] = frame[column].map(as_date)
    paid = _sums(session, "payouts", Payout.amount, Payout.campaign_id,
                 [Payout.campaign_id.in_(ids), Payout.status != "cancelled"])
    tracked = [Tracking.campaign_id.in_(ids), scope_condition(scope, Tracking.platform_id)]
    orders = _sums(session, "orders", Tracking.orders, Tracking.campaign_id, tracked)
    revenue = _sums(session, "revenue", Tracking.revenue, Tracking.campaign_id, tracked)
    engagement = MediaPost.likes + MediaPost.comments + MediaPost.shares + MediaPost.saves
    posted = [MediaPost.campaign_id.in_(ids)]
    engaged = _sums(session, "engagement", engagement, MediaPost.campaign_id, posted)
    reach = _sums(session, "reach", MediaPost.reach, MediaPost.campaign_id, posted)
    posts = _sums(session, "posts", None, MediaPost.campaign_id, posted)
    by_id = frame["campaign_id"]
    frame["budget"] = frame["budget"].astype(float)
    frame["payouts"] = by_id.map(paid).fillna(0.0)
    frame["cost"] = np.fmax(frame["budget"], frame["payouts"])
    frame["orders"] = by_id.map(orders).fillna(0).astype("int64")
    frame["revenue"] = by_id.map(revenue).fillna(0.0)
    frame["posts"] = by_id.map(posts).fillna(0).astype("int64")
    frame = frame.join(campaign_lift(session, scope, frame), on="campaign_id") \
        .drop(columns="product_id")
    return _with_returns(frame, by_id.map(engaged).fillna(0.0), by_id.map(reach).fillna(0.0))


LIFT_COLUMNS = ["measured_orders", "expected_orders", "extra_orders", "lift_pct", "lift_low",
                "lift_high"]


def _lift_windows(frame: pd.DataFrame, first: dt.date | None,
                  last: dt.date | None) -> pd.DataFrame:
    """The measurable campaigns' days in the data from `first` to `last` (start, end, days),
    by campaign id: with a product, and the four weeks before them in the data."""
    windows = frame.loc[frame["product_id"].notna(), ["campaign_id", "product_id", "start",
                                                      "end"]].set_index("campaign_id")
    if first is None or last is None:
        return windows.iloc[:0].assign(days=[])
    windows["end"] = [min(end, last) for end in windows["end"]]
    windows["days"] = [(end - start).days + 1
                       for start, end in zip(windows["start"], windows["end"], strict=True)]
    before = [start - dt.timedelta(days=7 * LIFT_WEEKS) for start in windows["start"]]
    return windows.loc[(np.array(before) >= first) & (windows["days"] > 0).to_numpy()] \
        if len(windows) else windows.assign(days=[])


def _lift_spans(windows: pd.DataFrame) -> pd.DataFrame:
    """Each campaign's days (segment 0) and the four weeks before it (segment j: the j-th
    week back). Columns: campaign_id, product_id, segment, low, high."""
    rows = []
    for campaign_id, row in windows.iterrows():
        rows += [(campaign_id, int(row["product_id"]), 0, row["start"], row["end"]),
                 *[(campaign_id, int(row["product_id"]), j,
                    row["start"] - dt.timedelta(days=7 * j),
                    row["start"] - dt.timedelta(days=7 * j - 6))
                   for j in range(1, LIFT_WEEKS + 1)]]
    return pd.DataFrame(rows, columns=["campaign_id", "product_id", "segment", "low", "high"])


def _product_orders(session: Session, scope: Scope, spans: pd.DataFrame) -> pd.DataFrame:
    """Orders of each campaign's product per campaign (rows) and segment (columns), summed
    from the products' orders per day (the product-day rollup: an order lies in one day)."""
    products = sorted({int(product_id) for product_id in spans["product_id"]})
    return _segment_sums(session, Lines(Filters(), scope, spans["low"].min(),
                                        spans["high"].max()), spans, products,
                         np.searchsorted(products, spans["product_id"].to_numpy()))


def _shop_orders(session: Session, scope: Scope, spans: pd.DataFrame) -> pd.DataFrame:
    """The shop's orders per campaign and segment, summed from its orders per day (a few
    hundred rows of the day rollup)."""
    return _segment_sums(session, Lines(Filters(), scope, spans["low"].min(),
                                        spans["high"].max()), spans, None,
                         np.zeros(len(spans), dtype=int))


def _segment_sums(session: Session, lines: Lines, spans: pd.DataFrame,
                  products: list[int] | None, rows: np.ndarray) -> pd.DataFrame:
    """Orders per campaign and segment from the daily orders of the lines (of `products`,
    each span's row of them in `rows`)."""
    daily = daily_sums(session, lines, "orders", products)
    first = np.array([(low - lines.start).days for low in spans["low"]])
    last = np.array([(high - lines.start).days for high in spans["high"]])
    return _by_segment(spans.assign(orders=day_sums(daily, rows, first, last)))


def _by_segment(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.pivot(index="campaign_id", columns="segment", values="orders").reindex(
        columns=range(LIFT_WEEKS + 1)).fillna(0.0).astype(float)


def campaign_lift(session: Session, scope: Scope, frame: pd.DataFrame) -> pd.DataFrame:
    """Per campaign id: the measured lift of its product's orders under `LIFT_RULE`, with
    the 90% interval of the lift % (a campaign that is not measured has no row).

    Columns: measured_orders, expected_orders, extra_orders, lift_pct, lift_low, lift_high.
    """
    windows = _lift_windows(frame, *data_bounds(session, scope))
    if windows.empty:
        return pd.DataFrame(columns=LIFT_COLUMNS, index=pd.Index([], dtype="int64"),
                            dtype=float)
    spans = _lift_spans(windows)
    product = _product_orders(session, scope, spans).reindex(windows.index, fill_value=0.0)
    shop = _shop_orders(session, scope, spans).reindex(windows.index, fill_value=0.0)
    return lift_of(product, shop)


def lift_of(product: pd.DataFrame, shop: pd.DataFrame) -> pd.DataFrame:
    """The lift columns from the orders per campaign and segment (pure): week j's baseline
    is the product's share of the shop's orders that week times the shop's orders on the
    campaign's days."""
    weeks = list(range(1, LIFT_WEEKS + 1))
    baselines = ratio(product[weeks].to_numpy(), shop[weeks].to_numpy()) \
        * shop[0].to_numpy()[:, None]
    expected = baselines.mean(axis=1)
    measured = product[0].to_numpy()
    # The campaign's own count varies as a Poisson count (variance = the count), the
    # counterfactual as the mean of four weekly baselines (variance = their spread / 4).
    half = stats.t.ppf(0.5 + LIFT_LEVEL / 2, LIFT_WEEKS - 1) * np.sqrt(
        measured + baselines.var(axis=1, ddof=1) / LIFT_WEEKS)
    extra = measured - expected
    return pd.DataFrame({"measured_orders": measured, "expected_orders": expected,
                         "extra_orders": extra, "lift_pct": ratio(extra, expected),
                         "lift_low": ratio(extra - half, expected),
                         "lift_high": ratio(extra + half, expected)}, index=product.index)


def _with_returns(frame: pd.DataFrame, engagement: pd.Series, reach: pd.Series) -> pd.DataFrame:
    """ROI, ROAS, cost per order and engagement rate of summed rows, best ROAS first."""
    frame = frame.copy()
    frame["roi"] = ratio(frame["revenue"] - frame["cost"], frame["cost"])
    frame["roas"] = ratio(frame["revenue"], frame["cost"])
    frame["cost_per_order"] = ratio(frame["cost"], frame["orders"])
    frame["engagement_rate"] = ratio(engagement, reach)
    frame["engagement"], frame["reach"] = engagement.to_numpy(), reach.to_numpy()
    return frame.sort_values(["roas", "campaign" if "campaign" in frame else "influencer"],
                             ascending=[False, True], ignore_index=True, na_position="last")


def by_influencer(campaigns: pd.DataFrame) -> pd.DataFrame:
    """The campaigns summed per influencer, with their ROI, ROAS and cost per order."""
    with_one = campaigns.loc[campaigns["influencer"].notna()]
    summed = (with_one.groupby(["influencer", "platform"], as_index=False)
              .agg(followers=("followers", "max"), campaigns=("campaign_id", "size"),
                   cost=("cost", "sum"), orders=("orders", "sum"), revenue=("revenue", "sum"),
                   engagement=("engagement", "sum"), reach=("reach", "sum")))
    return _with_returns(summed.drop(columns=["engagement", "reach"]), summed["engagement"],
                         summed["reach"])


@cached
def payouts(session: Session, scope: Scope, filters: Filters, period: Period) -> pd.DataFrame:
    """The payouts of the campaigns in the view, each recomputed from the data: units are the
    influencer's posts of the campaign (per post) or its tracked orders (per order), amount
    = rate × units; a stored amount that differs by a cent or more is a mismatch.

    Columns: payout_id, influencer, campaign, campaign_id, basis, rate, units, amount,
    computed_units, computed_amount, mismatch, status, due_date, paid_on, overdue.
    """
    stmt = (select(Payout.id, Influencer.handle, Campaign.name, Payout.campaign_id,
                   Payout.influencer_id, Payout.basis, Payout.rate, Payout.units, Payout.amount,
                   Payout.status, Payout.due_date, Payout.paid_on)
            .join(Influencer, Influencer.id == Payout.influencer_id)
            .join(Campaign, Campaign.id == Payout.campaign_id)
            .where(*campaign_conditions(scope, filters, period))
            .order_by(Payout.due_date, Payout.id))
    frame = frame_of(session.execute(stmt).all(), [
        "payout_id", "influencer", "campaign", "campaign_id", "influencer_id", "basis", "rate",
        "units", "amount", "status", "due_date", "paid_on"])
    ids = frame["campaign_id"].tolist()
    posts = session.execute(select(MediaPost.campaign_id, MediaPost.influencer_id, func.count())
                            .where(MediaPost.campaign_id.in_(ids))
                            .group_by(MediaPost.campaign_id, MediaPost.influencer_id)).all()
    post_units = {(row[0], row[1]): row[2] for row in posts}
    orders = _sums(session, "orders", Tracking.orders, Tracking.campaign_id,
                   [Tracking.campaign_id.in_(ids)])
    frame["computed_units"] = [
        post_units.get((row.campaign_id, row.influencer_id), 0) if row.basis == "post"
        else int(orders.get(row.campaign_id, 0)) for row in frame.itertuples()]
    frame["rate"] = frame["rate"].astype(float)
    frame["amount"] = frame["amount"].astype(float)
    frame["computed_amount"] = (frame["rate"] * frame["computed_units"]).round(2)
    frame["mismatch"] = (frame["computed_amount"] - frame["amount"]).abs() >= 0.01
    for column in ("due_date", "paid_on"):
        frame[column] = [as_date(value) if value is not None else None
                         for value in frame[column]]
    frame["overdue"] = [row.status in ("pending", "approved") and row.due_date is not None
                        and row.due_date < period.asof for row in frame.itertuples()]
    return frame.drop(columns=["influencer_id"])


DRILL_MARGIN = 14  # days shown before and after a campaign in its drill-down


@cached
def campaign_detail(session: Session, scope: Scope, filters: Filters, period: Period,
                    campaign: str) -> dict[str, Any]:
    """One campaign (in the scope, whatever the range): its ROI and ROAS, its payouts, and per
    day from two weeks before it to two weeks after, its tracked (attributed) revenue next
    to the promoted product's net revenue on every platform in the scope (the whole shop's
    for a campaign without a product); NotFound otherwise.

    Keys: campaign (the `campaign_performance` row as a dict), payouts, daily (day,
    attributed, orders, product_revenue), product (its name or the whole shop).
    """
    found = session.execute(
        select(Campaign.start_date, Campaign.end_date, Product.sku, Product.name)
        .outerjoin(Product, Product.id == Campaign.product_id)
        .where(Campaign.id == int(campaign or 0), scope_condition(scope, Campaign.platform_id))
    ).first()
    if found is None:
        raise NotFound(f"No campaign #{campaign} that you may see.")
    ran = replace(period, start=as_date(found[0]), end=as_date(found[1]))
    everything = Filters(range="custom", start=ran.start, end=ran.end)
    row = campaign_performance(session, scope, everything, ran)
    row = row.loc[row["campaign_id"] == int(campaign)]
    paid = payouts(session, scope, everything, ran)
    # Days outside the data are unknown, not days without sales.
    start = max(ran.start - dt.timedelta(days=DRILL_MARGIN), period.first_data or dt.date.min)
    end = min(ran.end + dt.timedelta(days=DRILL_MARGIN), period.last_data or dt.date.max)
    return {"campaign": row.iloc[0].to_dict(),
            "payouts": paid.loc[paid["campaign_id"] == int(campaign)].reset_index(drop=True),
            "daily": _campaign_days(session, scope, int(campaign), found[2], start, end),
            "product": found[3] or "the whole shop"}


def _campaign_days(session: Session, scope: Scope, campaign_id: int, sku: str | None,
                   start: dt.date, end: dt.date) -> pd.DataFrame:
    """Per day: the campaign's tracked revenue and orders, the product's net revenue."""
    tracked = session.execute(
        select(Tracking.date, func.sum(Tracking.revenue), func.sum(Tracking.orders))
        .where(Tracking.campaign_id == campaign_id, Tracking.date.between(start, end),
               scope_condition(scope, Tracking.platform_id))
        .group_by(Tracking.date)).all()
    sales = aggregate(session, Lines(Filters(products=(sku,) if sku else ()), scope, start, end),
                      ["net_revenue"], [OrderLine.sale_date.label("day")])
    days = pd.DataFrame({"day": pd.date_range(start, end, freq="D").date})
    attributed = {as_date(day): (float(revenue), int(orders)) for day, revenue, orders in tracked}
    sold = {as_date(row["day"]): float(row["net_revenue"]) for row in sales}
    days["attributed"] = [attributed.get(day, (0.0, 0))[0] for day in days["day"]]
    days["orders"] = [attributed.get(day, (0.0, 0))[1] for day in days["day"]]
    days["product_revenue"] = [sold.get(day, 0.0) for day in days["day"]]
    return days


def payout_totals(frame: pd.DataFrame) -> pd.DataFrame:
    """Stored amounts per status, with how many are overdue or mismatched."""
    return (frame.groupby("status", as_index=False)
            .agg(payouts=("payout_id", "size"), amount=("amount", "sum"),
                 overdue=("overdue", "sum"), mismatched=("mismatch", "sum")))


@cached
def attribution(session: Session, scope: Scope, filters: Filters,
                period: Period) -> dict[str, Any]:
    """Tracked revenue in the range by platform (set against the platform's gross sales) and
    by campaign, under the one rule `ATTRIBUTION_RULE`.

    Keys: by_platform (slug, platform, gross_sales, attributed, capped, unattributed, share),
    by_campaign (campaign, orders, revenue), total (dict), rule.
    """
    where = [Tracking.date.between(period.start, period.end),
             scope_condition(scope, Tracking.platform_id)]
    if filters.platforms:
        where.append(Tracking.platform_id.in_(
            select(Platform.id).where(Platform.slug.in_(filters.platforms))))
    tracked = frame_of(session.execute(
        select(Tracking.platform_id, func.coalesce(func.sum(Tracking.revenue), 0))
        .where(*where).group_by(Tracking.platform_id)).all(), ["platform_id", "attributed"])
    sales_filters = Filters(platforms=filters.platforms)
    sales = pd.DataFrame(aggregate(session, Lines(sales_filters, scope, period.start, period.end),
                                   ["gross_sales"], [OrderLine.platform_id.label("platform_id")]),
                         columns=["platform_id", "gross_sales"])
    names = frame_of(session.execute(select(Platform.id, Platform.slug, Platform.name)).all(),
                     ["platform_id", "slug", "platform"])
    platforms = (names.merge(sales, on="platform_id", how="inner")
                 .merge(tracked, on="platform_id", how="left").fillna({"attributed": 0.0}))
    money = ["gross_sales", "attributed"]
    platforms[money] = platforms[money].astype(float)
    # Tracking can claim more than was sold (refunds, a tool's double count): never more.
    platforms["capped"] = platforms["attributed"] > platforms["gross_sales"]
    platforms["attributed"] = np.minimum(platforms["attributed"], platforms["gross_sales"])
    platforms["unattributed"] = platforms["gross_sales"] - platforms["attributed"]
    platforms["share"] = ratio(platforms["attributed"], platforms["gross_sales"])
    platforms = platforms.sort_values(["attributed", "slug"], ascending=[False, True],
                                      ignore_index=True).drop(columns="platform_id")
    campaigns = frame_of(session.execute(
        select(func.coalesce(Campaign.name, NO_CAMPAIGN), func.sum(Tracking.orders),
               func.sum(Tracking.revenue))
        .select_from(Tracking).outerjoin(Campaign, Campaign.id == Tracking.campaign_id)
        .where(*where).group_by(func.coalesce(Campaign.name, NO_CAMPAIGN))).all(),
        ["campaign", "orders", "revenue"])
    campaigns["revenue"] = campaigns["revenue"].astype(float)
    campaigns = campaigns.sort_values(["revenue", "campaign"], ascending=[False, True],
                                      ignore_index=True)
    gross, claimed = float(platforms["gross_sales"].sum()), float(platforms["attributed"].sum())
    total = {"gross_sales": gross, "attributed": claimed, "unattributed": gross - claimed,
             "share": float(ratio(claimed, gross)), "capped": int(platforms["capped"].sum())}
    return {"by_platform": platforms, "by_campaign": campaigns, "total": total,
            "rule": ATTRIBUTION_RULE}
