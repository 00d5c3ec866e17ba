"""Tracking of the planted extra orders, campaign budgets and influencer payouts."""
from __future__ import annotations

import numpy as np
import pandas as pd

from services.demo_data.catalog import Catalog
from services.demo_data.days import Calendar
from services.demo_data.marketing import MarketingPlan, influencer_tier
from services.demo_data.plan import PLANTED
from services.demo_data.rows import Columns, nullable, row_ids
from services.demo_data.sales import Sales


def tracking_rows(rng: np.random.Generator, calendar: Calendar, plan: MarketingPlan,
                  sales: Sales, platform_ids: dict[str, int], scale: float) -> Columns:
    """Daily orders/revenue of exactly the planted extra orders, per campaign or post."""
    revenue = _order_revenue(sales)
    source_orders = pd.DataFrame({
        "source": sales.sales_orders["source"], "source_id": sales.sales_orders["source_id"],
        "day": sales.sales_orders["day"], "revenue": revenue[sales.sales_orders["id"] - 1]})
    actual = (source_orders[source_orders["source"] > 0]
              .groupby(["source", "source_id", "day"])["revenue"].agg(["size", "sum"]))
    campaign_plan = pd.DataFrame({"source": 2, "source_id": plan.campaign_lift["campaign"],
                                  "day": plan.campaign_lift["day"],
                                  "expected": plan.campaign_lift["expected"] * scale})
    post_plan = pd.DataFrame({"source": 1, "source_id": plan.post_lift["post"],
                              "day": plan.post_lift["day"],
                              "expected": plan.post_lift["expected"] * scale})
    rows = (pd.concat([campaign_plan, post_plan], ignore_index=True)
            .join(actual, on=["source", "source_id", "day"])
            .fillna({"size": 0, "sum": 0.0})
            .sort_values(["day", "source", "source_id"], kind="stable", ignore_index=True))
    orders = rows["size"].to_numpy(dtype=np.int64)
    clicks = orders + rng.poisson(rows["expected"].to_numpy()
                                  * (PLANTED["campaign_lift"]["clicks_per_order"] - 1))
    is_campaign = rows["source"].to_numpy() == 2
    source_id = rows["source_id"].to_numpy()
    day = rows["day"].to_numpy()
    campaign = np.where(is_campaign, source_id, -1)
    post = np.where(is_campaign, _latest_campaign_post(plan.posts, campaign, day), source_id)
    platform = np.where(is_campaign, plan.campaigns["platform"][np.maximum(campaign, 0)],
                        plan.posts["platform"][np.maximum(source_id, 0)])
    influencer = np.where(is_campaign, plan.campaigns["influencer"][np.maximum(campaign, 0)], -1)
    return {"id": row_ids(len(rows)), "date": calendar.days[day].tolist(),
            "platform_id": [platform_ids[p] for p in platform.tolist()],
            "campaign_id": nullable(campaign + 1, campaign < 0),
            "influencer_id": nullable(influencer + 1, influencer < 0),
            "post_id": nullable(post + 1, post < 0),
            "clicks": clicks, "orders": orders, "revenue": np.round(rows["sum"].to_numpy(), 2)}


def _order_revenue(sales: Sales) -> np.ndarray:
    """Gross revenue (positive lines) per order, indexed by order id - 1."""
    lines = sales.lines
    positive = lines["quantity"] > 0
    return np.bincount(lines["order"][positive],
                       weights=(lines["quantity"] * lines["unit_price"])[positive],
                       minlength=len(sales.orders["order_number"]))


def _latest_campaign_post(posts: dict[str, np.ndarray], campaign: np.ndarray,
                          day: np.ndarray) -> np.ndarray:
    """Index of the campaign's last post on or before `day` (-1 before its first post)."""
    result = np.full(len(campaign), -1)
    for c in np.unique(campaign[campaign >= 0]):
        post_index = np.flatnonzero(posts["campaign"] == c)  # posts are in time order
        rows = np.flatnonzero(campaign == c)
        found = np.searchsorted(posts["day"][post_index], day[rows], side="right") - 1
        result[rows] = np.where(found >= 0, post_index[np.maximum(found, 0)], -1)
    return result


def campaign_money(catalog: Catalog, plan: MarketingPlan, tracking: Columns,
                   scale: float) -> dict[str, np.ndarray]:
    """Per campaign: budget and the influencer payout (basis, rate, units, amount)."""
    campaigns = plan.campaigns
    n = len(campaigns["start"])
    lift = plan.campaign_lift
    expected_orders = np.bincount(lift["campaign"], weights=lift["expected"] * scale, minlength=n)
    expected_revenue = expected_orders * _expected_line_revenue(catalog.list_price[
        campaigns["product"]])
    has_influencer = campaigns["influencer"] >= 0
    followers = plan.influencers["followers"][np.maximum(campaigns["influencer"], 0)]
    tier = np.where(has_influencer, influencer_tier(followers), "none")
    settings = PLANTED["campaign_budget"]
    target_roas = np.array([settings["target_roas"][t] for t in tier])
    budget = np.maximum(np.round(expected_revenue / target_roas, -1), 10.0)
    fee = budget * settings["influencer_fee_share"] * has_influencer
    per_post = followers >= PLANTED["payouts"]["per_post_min_followers"]
    posts = np.bincount(plan.posts["campaign"][plan.posts["campaign"] >= 0], minlength=n)
    tracked = np.zeros(n)
    campaign_ids = tracking["campaign_id"].filled(0) - 1
    np.add.at(tracked, campaign_ids[campaign_ids >= 0], tracking["orders"][campaign_ids >= 0])
    rate = np.round(fee / np.where(per_post, posts, np.maximum(expected_orders, 1.0)), 2)
    units = np.where(per_post, posts, tracked).astype(np.int64)
    return {"budget": budget, "basis": np.where(per_post, "post", "order"), "rate": rate,
            "units": units, "amount": np.round(rate * units, 2)}


def _expected_line_revenue(list_price: np.ndarray) -> np.ndarray:
    """Expected revenue of one non-wholesale line of a product at this list price."""
    quantity = sum(q * share for q, share in PLANTED["quantity"].items())
    discount = PLANTED["discount"]
    mean_discount = discount["probability"] * float(np.mean(discount["rates"]))
    return list_price * quantity * (1 - mean_discount)


def payout_rows(rng: np.random.Generator, calendar: Calendar, plan: MarketingPlan,
                payout: dict[str, np.ndarray]) -> Columns:
    """Rows of the payouts table: one per influencer campaign, its status by age."""
    settings = PLANTED["payouts"]
    campaigns = np.flatnonzero(plan.campaigns["influencer"] >= 0)
    ended_days_ago = calendar.size - 1 - plan.campaigns["end"][campaigns]
    status = np.select([ended_days_ago > settings["paid_after_days"],
                        ended_days_ago > settings["approved_after_days"]],
                       ["paid", "approved"], "pending")
    due = calendar.days[plan.campaigns["end"][campaigns]] + settings["due_days"]
    paid_on = due - rng.integers(0, 11, len(campaigns))
    return {"id": row_ids(len(campaigns)),
            "influencer_id": (plan.campaigns["influencer"][campaigns] + 1).tolist(),
            "campaign_id": (campaigns + 1).tolist(),
            "basis": payout["basis"][campaigns].tolist(),
            "rate": payout["rate"][campaigns].tolist(),
            "units": payout["units"][campaigns].tolist(),
            "amount": payout["amount"][campaigns].tolist(),
            "status": status.tolist(),
            "due_date": due.tolist(),
            "paid_on": nullable(paid_on, status != "paid")}
