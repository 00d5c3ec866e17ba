"""Rows of the catalogue, customer, order and marketing tables, as columns of values."""
from __future__ import annotations

import zoneinfo
from typing import Any

import numpy as np
import pandas as pd

from services.demo_data.catalog import Catalog
from services.demo_data.days import Calendar
from services.demo_data.marketing import MarketingPlan
from services.demo_data.plan import (
    COMPANY_SUFFIXES,
    FIRST_NAMES,
    LAST_NAMES,
    PLANTED,
    PLATFORM_AUDIENCE,
    PLATFORMS,
    POST_TYPE_ENGAGEMENT,
)
from services.timezones import local_to_utc

# A table to insert: column name -> values, as a list or a numpy array (masked where NULL).
# Arrays stay arrays until the writer: the bulk writer makes Python values a chunk at a time.
Columns = dict[str, Any]


def row_ids(n: int) -> np.ndarray:
    """Ids 1..n: the generator assigns the primary keys itself."""
    return np.arange(1, n + 1)


def nullable(values: np.ndarray, missing: np.ndarray) -> np.ma.MaskedArray:
    """`values` with NULL where `missing` is true."""
    return np.ma.masked_array(values, mask=missing)


def cents(values: np.ndarray) -> np.ma.MaskedArray:
    """Rounded to cents; NaN (unknown) becomes NULL."""
    return np.ma.masked_invalid(np.round(values, 2))


def product_rows(catalog: Catalog) -> Columns:
    """Rows of the products table."""
    return {"id": row_ids(len(catalog.sku)), "sku": catalog.sku, "name": catalog.name,
            "category": catalog.category, "brand": catalog.brand,
            "unit_cost": cents(catalog.unit_cost), "list_price": cents(catalog.list_price),
            "active": catalog.active}


def customer_rows(rng: np.random.Generator, customers: dict[str, np.ndarray],
                  platform_id: np.ndarray) -> Columns:
    """Rows of the customers table: people for consumers, companies else."""
    n = len(customers["segment"])
    person = np.char.add(np.char.add(rng.choice(np.array(FIRST_NAMES), n), " "),
                         rng.choice(np.array(LAST_NAMES), n))
    company = np.char.add(np.char.add(rng.choice(np.array(LAST_NAMES), n), " "),
                          rng.choice(np.array(COMPANY_SUFFIXES), n))
    regions = {country: region for country, (region, _share) in PLANTED["countries"].items()}
    return {
        "id": row_ids(n),
        "external_id": [f"CUST-{i:07d}" for i in range(1, n + 1)],
        "name": np.where(customers["segment"] == "consumer", person, company),
        "segment": customers["segment"],
        "country": customers["country"],
        "region": np.array([regions[c] for c in customers["country"].tolist()]),
        "first_seen": customers["first_seen"],
        "acquisition_platform_id": platform_id[customers["acquisition_platform"]],
    }


def order_rows(orders: dict[str, np.ndarray], platform_id: np.ndarray) -> Columns:
    """Rows of the orders table (sales and returns, in time order)."""
    return {
        "id": row_ids(len(orders["order_number"])),
        "order_number": orders["order_number"],
        "ordered_at": orders["ordered_at"],
        "sale_date": orders["sale_date"],
        "sale_hour": orders["sale_hour"],
        "platform_id": platform_id[orders["platform"]],
        "customer_id": nullable(orders["customer"] + 1, orders["customer"] < 0),
        "country": orders["country"],
    }


def line_rows(lines: dict[str, np.ndarray], order_country: np.ndarray,
              platform_id: np.ndarray) -> Columns:
    """Rows of the order_lines table, with the order's fields copied onto them."""
    return {
        "id": row_ids(len(lines["order"])),
        "order_id": lines["order"] + 1,
        "product_id": lines["product"] + 1,
        "quantity": lines["quantity"],
        "unit_price": cents(lines["unit_price"]),
        "unit_cost": cents(lines["unit_cost"]),
        "sale_date": lines["sale_date"],
        "sale_hour": lines["sale_hour"],
        "platform_id": platform_id[lines["platform"]],
        "customer_id": nullable(lines["customer"] + 1, lines["customer"] < 0),
        "country": order_country[lines["order"]],
    }


def influencer_rows(influencers: dict[str, np.ndarray], platform_ids: dict[str, int]) -> Columns:
    """Rows of the influencers table."""
    return {"id": row_ids(len(influencers["handle"])), "handle": influencers["handle"].tolist(),
            "name": influencers["name"].tolist(),
            "platform_id": [platform_ids[p] for p in influencers["platform"].tolist()],
            "followers": influencers["followers"].tolist(), "niche": influencers["niche"].tolist()}


def campaign_rows(calendar: Calendar, catalog: Catalog, plan: MarketingPlan,
                  money: dict[str, np.ndarray], platform_ids: dict[str, int]) -> Columns:
    """Rows of the campaigns table, named by number, brand and start month."""
    campaigns = plan.campaigns
    n = len(campaigns["start"])
    start_dates = calendar.days[campaigns["start"]]
    names = [f"C{i + 1:02d} {catalog.brand[p]} · {pd.Timestamp(d).strftime('%b %Y')}"
             for i, (p, d) in enumerate(zip(campaigns["product"], start_dates, strict=True))]
    return {"id": row_ids(n), "name": names,
            "platform_id": [platform_ids[p] for p in campaigns["platform"].tolist()],
            "influencer_id": nullable(campaigns["influencer"] + 1, campaigns["influencer"] < 0),
            "product_id": (campaigns["product"] + 1).tolist(),
            "start_date": start_dates.tolist(),
            "end_date": calendar.days[campaigns["end"]].tolist(),
            "budget": money["budget"].tolist()}


def post_rows(rng: np.random.Generator, calendar: Calendar, catalog: Catalog,
              plan: MarketingPlan, platform_ids: dict[str, int],
              zone: zoneinfo.ZoneInfo) -> Columns:
    """Rows of the media_posts table: when, what, engagement and cost."""
    posts = plan.posts
    n = len(posts["day"])
    local = (calendar.days[posts["day"]].astype("datetime64[s]")
             + (posts["hour"] * 3600 + posts["minute"] * 60).astype("timedelta64[s]"))
    placed = local_to_utc(local, zone)
    engagement = _engagement(rng, posts, plan.influencers, calendar)
    organic_cost = np.array([POST_TYPE_ENGAGEMENT[t][2] for t in posts["type"]])
    cost = np.where(posts["campaign"] >= 0, 0.0,  # influencers are paid through payouts
                    np.round(organic_cost * np.exp(rng.normal(0, 0.3, n)), 2))
    prefixes = {name: prefix for name, (_kind, prefix) in PLATFORMS.items()}
    return {
        "id": row_ids(n),
        "external_id": [f"{prefixes[p]}-P{i:06d}"
                        for i, p in enumerate(posts["platform"].tolist(), start=1)],
        "platform_id": [platform_ids[p] for p in posts["platform"].tolist()],
        "post_type": posts["type"].tolist(),
        "posted_at": placed["ordered_at"].tolist(),
        "post_date": placed["sale_date"].tolist(),
        "caption": _captions(rng, posts, catalog),
        "product_id": nullable(posts["product"] + 1, posts["product"] < 0),
        "campaign_id": nullable(posts["campaign"] + 1, posts["campaign"] < 0),
        "influencer_id": nullable(posts["influencer"] + 1, posts["influencer"] < 0),
        **engagement,
        "cost": cost.tolist(),
    }


def _engagement(rng: np.random.Generator, posts: dict[str, np.ndarray],
                influencers: dict[str, np.ndarray], calendar: Calendar) -> Columns:
    """Impressions scale with the audience, type and growth; the rest follows from reach."""
    n = len(posts["day"])
    audience = np.array([PLATFORM_AUDIENCE[p] for p in posts["platform"]], dtype=float)
    sponsored = posts["influencer"] >= 0
    followers = influencers["followers"][np.maximum(posts["influencer"], 0)]
    audience = np.where(sponsored, followers * 0.25, audience)
    type_reach = np.array([POST_TYPE_ENGAGEMENT[t][0] for t in posts["type"]])
    like_rate = np.array([POST_TYPE_ENGAGEMENT[t][1] for t in posts["type"]])
    growth = (1 + PLANTED["annual_growth"]) ** (posts["day"] / 365.25)
    impressions = np.round(audience * type_reach * growth * posts["noise"]).astype(np.int64) + 50
    reach = np.round(impressions * rng.uniform(0.55, 0.85, n)).astype(np.int64)
    likes = np.round(reach * like_rate * np.exp(rng.normal(0, 0.3, n))).astype(np.int64)
    return {"impressions": impressions.tolist(), "reach": reach.tolist(),
            "likes": likes.tolist(),
            "comments": np.round(likes * rng.uniform(0.02, 0.08, n)).astype(np.int64).tolist(),
            "shares": np.round(likes * rng.uniform(0.03, 0.12, n)).astype(np.int64).tolist(),
            "saves": np.round(likes * rng.uniform(0.02, 0.10, n)).astype(np.int64).tolist()}


def _captions(rng: np.random.Generator, posts: dict[str, np.ndarray],
              catalog: Catalog) -> list[str]:
    brand_lines = ("Behind the scenes at our studio", "Meet the team packing your orders",
                   "Thank you for 10k orders this season", "Our sustainability promise")
    product_lines = ("New drop: {}", "Why everyone loves the {}", "3 ways to style the {}",
                     "Back in stock: {}", "Unboxing the {}")
    brand_pick = rng.integers(0, len(brand_lines), len(posts["day"]))
    product_pick = rng.integers(0, len(product_lines), len(posts["day"]))
    captions = []
    for product, campaign, b, p in zip(posts["product"].tolist(), posts["campaign"].tolist(),
                                       brand_pick.tolist(), product_pick.tolist(), strict=True):
        if product < 0:
            captions.append(brand_lines[b])
            continue
        caption = product_lines[p].format(catalog.name[product])
        captions.append(f"{caption} #ad" if campaign >= 0 else caption)
    return captions
