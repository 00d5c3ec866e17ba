"""Generating a demo data set: the plan, the simulation and the writing, in that order."""
from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import asdict, dataclass

import numpy as np
from sqlalchemy.orm import Session

from services import rollups
from services.demo_data.catalog import Catalog
from services.demo_data.days import Calendar
from services.demo_data.funnel import funnel_rows
from services.demo_data.marketing import MarketingPlan
from services.demo_data.pipeline import pipeline_rows
from services.demo_data.plan import DEFAULT_END, DEFAULT_LINES, MIN_LINES, PLATFORMS, RANDOM_STREAMS
from services.demo_data.rows import (
    Columns,
    campaign_rows,
    customer_rows,
    influencer_rows,
    line_rows,
    order_rows,
    post_rows,
    product_rows,
)
from services.demo_data.sales import Sales, orders_per_unit_rate, simulate_sales
from services.demo_data.tracking import campaign_money, payout_rows, tracking_rows
from services.demo_data.writer import require_empty, write_tables
from services.errors import InvalidInput
from services.platforms import ensure_platform


@dataclass(frozen=True)
class DemoSummary:
    """Row counts per table and the first/last sale date of a generated demo data set."""

    platforms: int
    products: int
    customers: int
    orders: int
    order_lines: int
    media_posts: int
    influencers: int
    campaigns: int
    tracking: int
    payouts: int
    funnel_days: int
    pipeline_stages: int
    accounts: int
    sales_reps: int
    opportunities: int
    stage_changes: int
    first_sale: dt.date
    last_sale: dt.date

    def __str__(self) -> str:
        counts = ", ".join(f"{value:,} {name.replace('_', ' ')}"
                           for name, value in asdict(self).items() if isinstance(value, int))
        return f"{counts}; sales from {self.first_sale} to {self.last_sale}"


def generate_demo_data(session: Session, lines: int = DEFAULT_LINES, seed: int = 42,
                       end: dt.date = DEFAULT_END, timezone: str = "UTC") -> DemoSummary:
    """Insert two years of deterministic demo data ending at `end`; flushes, never commits."""
    zone = _zone(timezone)
    if lines < MIN_LINES:
        raise InvalidInput(f"Demo data needs at least {MIN_LINES:,} order lines.")
    require_empty(session)
    streams = np.random.default_rng(seed).spawn(len(RANDOM_STREAMS))
    rngs = dict(zip(RANDOM_STREAMS, streams, strict=True))
    calendar = Calendar.build(end, rngs["calendar"])
    platform_ids = {name: ensure_platform(session, name, kind).id
                    for name, (kind, _prefix) in PLATFORMS.items()}
    catalog = Catalog.build(rngs["catalog"])
    plan = MarketingPlan.build(rngs["marketing"], calendar, catalog)
    scale = orders_per_unit_rate(lines, calendar, catalog, plan)
    sales = simulate_sales(rngs["sales"], rngs["customers"], calendar, catalog, plan, scale, zone)
    tables = _all_tables(rngs, calendar, catalog, plan, sales, platform_ids, scale, zone)
    write_tables(session, tables)
    rollups.refresh(session)
    session.flush()
    return _summary(tables, sales, len(platform_ids))


def _zone(name: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as error:
        raise InvalidInput(f"“{name}” is not a known time zone.") from error


def _all_tables(rngs: dict[str, np.random.Generator], calendar: Calendar, catalog: Catalog,
                plan: MarketingPlan, sales: Sales, platform_ids: dict[str, int], scale: float,
                zone: zoneinfo.ZoneInfo) -> dict[str, Columns]:
    platform_id = np.array([platform_ids[name] for name in PLATFORMS])
    tracking = tracking_rows(rngs["tracking"], calendar, plan, sales, platform_ids, scale)
    money = campaign_money(catalog, plan, tracking, scale)
    tables = {
        "products": product_rows(catalog),
        "customers": customer_rows(rngs["customers"], sales.customers, platform_id),
        "influencers": influencer_rows(plan.influencers, platform_ids),
        "campaigns": campaign_rows(calendar, catalog, plan, money, platform_ids),
        "media_posts": post_rows(rngs["engagement"], calendar, catalog, plan, platform_ids, zone),
        "orders": order_rows(sales.orders, platform_id),
        "order_lines": line_rows(sales.lines, sales.orders["country"], platform_id),
        "tracking": tracking,
        "payouts": payout_rows(rngs["tracking"], calendar, plan, money),
        "funnel_days": funnel_rows(rngs["funnel"], calendar, sales, platform_ids),
    }
    tables.update(pipeline_rows(rngs["pipeline"], calendar, platform_ids["Wholesale"]))
    return tables


def _summary(tables: dict[str, Columns], sales: Sales, n_platforms: int) -> DemoSummary:
    positive = sales.lines["quantity"] > 0
    dates = sales.lines["sale_date"][positive]
    counts = {name: len(columns["id"]) for name, columns in tables.items()}
    return DemoSummary(platforms=n_platforms, first_sale=dates.min().item(),
                       last_sale=dates.max().item(), **counts)
