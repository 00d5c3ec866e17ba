"""Deterministic demo data: two years of sales, marketing and B2B pipeline with planted effects.

Every effect an analytics page is expected to find (best weekday, hour profile, seasonality,
trend, returns, post and campaign lifts, churn, ...) is a number in `PLANTED`. The document
docs/demo-data.md contains the tables rendered by `planted_effects_markdown()` (a test keeps
them identical), so analytics can be checked against a known truth.

Speed matters (the default size loads in a few seconds): rows are generated as numpy arrays
and inserted with executemany, or with COPY for the large tables on PostgreSQL. Primary keys
are assigned here (1..n), which is only valid because every table written must be empty.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import zoneinfo
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Table, insert, select, text
from sqlalchemy.orm import Session

from models import (
    Account,
    Campaign,
    Customer,
    FunnelDay,
    Influencer,
    MediaPost,
    Opportunity,
    Order,
    OrderLine,
    Payout,
    Product,
    SalesRep,
    StageChange,
    Tracking,
)
from services import rollups
from services.errors import InvalidInput
from services.platforms import ensure_platform
from services.timezones import local_to_utc

DEFAULT_LINES = 80_000
DEFAULT_END = dt.date(2026, 10, 31)  # fixed so that the default output is deterministic
MIN_LINES = 1_000

# ---------------------------------------------------------------------------------------------
# The planted effects: the single source of truth for the generator and docs/demo-data.md.
# ---------------------------------------------------------------------------------------------
PLANTED: dict[str, Any] = {
    "history_days": 730,
    # Relative order rate by local weekday; the mean is exactly 1 and Sunday is the best day.
    "weekday_weights": {
        "Mon": 0.92, "Tue": 0.85, "Wed": 0.90, "Thu": 0.95, "Fri": 1.03, "Sat": 1.07, "Sun": 1.28,
    },
    # Share (%) of a day's orders by local hour: online platforms (web, marketplace, social)...
    "hour_profile_online": (
        1.2, 0.7, 0.4, 0.3, 0.3, 0.5, 1.0, 2.0, 3.4, 4.2, 5.0, 5.6,
        6.2, 6.0, 5.4, 5.2, 5.3, 5.9, 7.0, 8.0, 9.0, 8.4, 6.0, 3.0,
    ),
    # ...and offline platforms (Retail store, Wholesale), open 9:00-20:59 only.
    "hour_profile_offline": (
        0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 7, 9,
        12, 11, 8, 7, 8, 10, 10, 8, 5, 0, 0, 0,
    ),
    # Relative order rate by calendar month (holiday peak, summer dip).
    "month_factors": {
        "Jan": 0.85, "Feb": 0.82, "Mar": 0.92, "Apr": 0.95, "May": 0.93, "Jun": 0.80,
        "Jul": 0.75, "Aug": 0.80, "Sep": 0.95, "Oct": 1.05, "Nov": 1.45, "Dec": 1.60,
    },
    "annual_growth": 0.25,  # order rate × 1.25^(days since start / 365.25)
    "daily_noise_sigma": 0.10,  # multiplicative log-normal day noise (mean 1)
    "special_days": {"Black Friday": 2.2, "Cyber Monday": 1.8},  # × that day's order rate
    # One bad day: most Online Store orders are lost (an anomaly with an obvious driver).
    "outage": {"platform": "Online Store", "days_before_end": 150, "kept_share": 0.15},
    "platform_shares": {
        "Online Store": 0.33, "Amazon": 0.22, "Retail store": 0.125, "Instagram": 0.09,
        "TikTok": 0.07, "eBay": 0.06, "Facebook": 0.05, "YouTube": 0.03, "Wholesale": 0.025,
    },
    "lines_per_order": {1: 0.55, 2: 0.25, 3: 0.12, 4: 0.05, 5: 0.03},
    "quantity": {1: 0.72, 2: 0.18, 3: 0.06, 4: 0.03, 5: 0.01},
    "wholesale": {"quantity_min": 4, "quantity_max": 12, "price_factor": 0.60},
    "discount": {"probability": 0.15, "rates": (0.10, 0.15, 0.20, 0.25, 0.30)},
    "guest_share": 0.12,  # of non-wholesale orders; wholesale orders always have a customer
    # Share of orders with a customer that are that customer's first order: 100% on the first
    # day (no customer history before the window), decaying to 30% with a 60-day time constant.
    "new_customer_share": 0.30,
    "new_customer_warmup_days": 60,
    "repeat_tries": 8,  # draws to find a repeat buyer still within their lifetime
    # A customer orders only within min + Exponential(mean) days after their first order.
    "customer_lifetime_days": {
        "min": 60,
        "mean_extra": {"consumer": 240, "SMB": 420, "mid-market": 540, "enterprise": 720},
    },
    "customer_activity_sigma": 1.0,  # log-normal repeat-purchase propensity per customer
    "segments": {
        "retail": {"consumer": 0.90, "SMB": 0.10},
        "wholesale": {"SMB": 0.60, "mid-market": 0.30, "enterprise": 0.10},
    },
    "countries": {
        "United States": ("North America", 0.38), "Canada": ("North America", 0.08),
        "United Kingdom": ("Europe", 0.12), "Germany": ("Europe", 0.10),
        "France": ("Europe", 0.07), "Spain": ("Europe", 0.04), "Netherlands": ("Europe", 0.03),
        "Australia": ("APAC", 0.07), "Japan": ("APAC", 0.05),
        "Brazil": ("Latin America", 0.03), "Mexico": ("Latin America", 0.03),
    },
    "catalog": {
        "products_per_category": 30,
        "popularity_exponent": 0.7,  # line share ∝ rank^-0.7 (random rank per product)
        "hero_products": 40,  # the most popular sellable products: promoted by posts/campaigns
        "unknown_cost": 10,  # products with unit_cost NULL
        "inactive": 10,  # discontinued: sold only before a day in [90, 450) of the history
        "inactive_retired_days": (90, 450),
        "never_sold": 6,  # active products that never appear on an order line
    },
    "return_rates": {
        "Apparel": 0.15, "Footwear": 0.08, "Electronics": 0.05, "Accessories": 0.04,
        "Sports & Outdoors": 0.04, "Home & Kitchen": 0.03, "Toys & Games": 0.03, "Beauty": 0.02,
    },
    "return_lag_days": {"min": 2, "mean_extra": 10, "max": 60},
    "cancellation_rate": 0.02,  # orders reversed in full on the same order
    "posts": {
        "organic": 820,
        # Uniform over the hero products, so one product's post windows rarely overlap.
        "with_product": 0.85,  # the others are brand posts without a product
        "posting_hours": (7, 22),  # local, inclusive, uniform
        "platform_shares": {"Instagram": 0.40, "TikTok": 0.30, "Facebook": 0.15, "YouTube": 0.15},
        "types": {
            "Instagram": {"reel": 0.35, "story": 0.30, "image": 0.20, "carousel": 0.15},
            "TikTok": {"short": 0.75, "live": 0.25},
            "Facebook": {"image": 0.40, "video": 0.30, "text": 0.20, "live": 0.10},
            "YouTube": {"video": 0.55, "short": 0.35, "live": 0.10},
        },
    },
    "post_lift": {
        # Extra orders of the promoted product over days +1..+3 after the post's local date, in
        # days' worth of that product's expected baseline sales on each of those days
        # (month × trend × weekday level, without noise or special days).
        "type_factors": {
            "reel": 3.0, "short": 2.5, "video": 2.0, "live": 1.6,
            "carousel": 1.3, "image": 1.0, "story": 0.5, "text": 0.3,
        },
        "window_weights": (0.5, 0.3, 0.2),  # share of the extra orders on day +1, +2, +3
        "hour_bands": ((18, 21, 1.5), (11, 14, 1.0)),  # local posting hour; else "other_hours"
        "other_hours": 0.6,
        "weekday_factors": {
            "Mon": 0.85, "Tue": 0.90, "Wed": 0.95, "Thu": 1.60, "Fri": 1.00, "Sat": 0.95,
            "Sun": 0.90,
        },
    },
    "influencers": 24,
    "campaigns": 36,
    "campaign_lift": {
        # Extra orders per day of the promoted product on the campaign platform, in days' worth
        # of its expected baseline sales: factor during the campaign, factor × after_share for
        # after_days days after it. Influencer tiers by followers.
        "tier_factors": {"nano": 0.6, "micro": 1.2, "macro": 2.0, "mega": 3.0},
        "tier_thresholds": {"micro": 10_000, "macro": 100_000, "mega": 1_000_000},
        "no_influencer": 0.8,
        "influencer_share": 0.85,
        "after_days": 7,
        "after_share": 0.3,
        "duration_days": (7, 28),
        "start_jitter_days": 10,  # starts evenly spaced over the history, plus 0..9 days
        "posts_per_campaign": (2, 6),
        "clicks_per_order": 25,
    },
    "campaign_budget": {
        # budget = expected attributed revenue / target ROAS, so big names lift the most but
        # pay back the least; influencer_fee_share of it is the influencer's fee (the payout
        # plan), the rest is ad spend.
        "target_roas": {"nano": 6.0, "micro": 5.0, "macro": 3.5, "mega": 2.0, "none": 3.0},
        "influencer_fee_share": 0.7,
    },
    "payouts": {
        "per_post_min_followers": 100_000,  # at or above: paid per post, else per order
        "approved_after_days": 14,  # campaign ended more than 14 days before `end`
        "paid_after_days": 60,
        "due_days": 30,
    },
    # Stage ratios: views/sessions, cart/views, checkout/cart, purchase/checkout.
    "funnel_rates": {
        "web": (0.60, 0.12, 0.55, 0.62),
        "marketplace": (0.70, 0.15, 0.65, 0.75),
        "social": (0.35, 0.08, 0.45, 0.55),
    },
    "pipeline": {
        "accounts": 30,
        "opportunities": 320,
        "account_segments": {"SMB": 0.5, "mid-market": 0.3, "enterprise": 0.2},
        "amount_median": {"SMB": 8_000, "mid-market": 30_000, "enterprise": 90_000},
        "stage_days_mean": {"lead": 14, "qualified": 21, "proposal": 28, "negotiation": 35},
        "advance_probability": {
            "lead": 0.75, "qualified": 0.80, "proposal": 0.75, "negotiation": 0.65,
        },
        "open_probability": {
            "lead": 0.10, "qualified": 0.25, "proposal": 0.50, "negotiation": 0.75,
        },
        # name, team, region, quarterly quota, skill (× the negotiation → won probability).
        # Accounts are owned round-robin by the reps of the team matching their segment.
        "reps": (
            ("Avery Johnson", "Enterprise", "North America", 65_000, 1.25),
            ("Blake Chen", "Enterprise", "Europe", 65_000, 1.00),
            ("Carmen Diaz", "Enterprise", "APAC", 65_000, 0.85),
            ("Dev Patel", "Mid-market", "North America", 35_000, 1.10),
            ("Elena Rossi", "Mid-market", "Europe", 35_000, 0.95),
            ("Farah Khan", "Mid-market", "APAC", 35_000, 0.90),
            ("Gabriel Stone", "SMB", "North America", 10_000, 1.00),
            ("Hana Sato", "SMB", "APAC", 10_000, 1.15),
            ("Ivan Petrov", "SMB", "Europe", 10_000, 0.80),
            ("Julia Novak", "SMB", "North America", 10_000, 0.70),
        ),
    },
}

# Catalogue content (not an effect): code, price range, cost/price range, nouns, brands.
CATEGORIES: dict[str, tuple[str, tuple[float, float], tuple[float, float], tuple[str, ...],
                            tuple[str, ...]]] = {
    "Apparel": ("APP", (15, 120), (0.30, 0.45),
                ("T-Shirt", "Hoodie", "Jacket", "Jeans", "Dress", "Sweater", "Shirt", "Joggers"),
                ("Northwind", "Urban Thread", "Lumen Wear")),
    "Footwear": ("FTW", (40, 180), (0.35, 0.50),
                 ("Sneakers", "Boots", "Sandals", "Loafers", "Running Shoes", "Slippers"),
                 ("Stride", "Northwind", "Trailhead")),
    "Accessories": ("ACC", (10, 90), (0.25, 0.40),
                    ("Backpack", "Wallet", "Cap", "Scarf", "Sunglasses", "Belt", "Tote"),
                    ("Lumen Wear", "Carry Co.", "Urban Thread")),
    "Beauty": ("BEA", (8, 60), (0.20, 0.35),
               ("Serum", "Moisturizer", "Lip Balm", "Cleanser", "Face Mask", "Perfume"),
               ("Glow Lab", "Pure Petal", "Everyday Co.")),
    "Home & Kitchen": ("HOM", (12, 150), (0.35, 0.55),
                       ("Mug", "Candle", "Throw Blanket", "Knife Set", "Cutting Board", "Lamp"),
                       ("Hearth", "Everyday Co.", "Nordnest")),
    "Electronics": ("ELE", (20, 400), (0.55, 0.75),
                    ("Earbuds", "Speaker", "Charger", "Smartwatch", "Power Bank", "Keyboard"),
                    ("Voltix", "Soundwave", "Pulse Tech")),
    "Sports & Outdoors": ("SPO", (15, 200), (0.40, 0.55),
                          ("Yoga Mat", "Water Bottle", "Dumbbells", "Tent", "Bike Light",
                           "Resistance Bands"),
                          ("Trailhead", "Peak Form", "Stride")),
    "Toys & Games": ("TOY", (10, 80), (0.35, 0.50),
                     ("Puzzle", "Board Game", "Building Set", "Plush", "Card Game", "Kite"),
                     ("Playbox", "Tiny Giants", "Everyday Co.")),
}
ADJECTIVES = ("Classic", "Essential", "Pro", "Lite", "Premium", "Eco", "Urban", "Nordic",
              "Vintage", "Sport", "Cloud", "Everyday")
# Influencer niches and the categories whose products they promote.
NICHES: dict[str, tuple[str, ...]] = {
    "fashion": ("Apparel", "Footwear", "Accessories"),
    "beauty": ("Beauty",),
    "fitness": ("Sports & Outdoors", "Footwear"),
    "tech": ("Electronics",),
    "home": ("Home & Kitchen",),
    "family": ("Toys & Games", "Home & Kitchen"),
}
PLATFORMS: dict[str, tuple[str, str]] = {  # name -> (kind, order number prefix)
    "Online Store": ("web", "WEB"), "Instagram": ("social", "IG"), "Facebook": ("social", "FB"),
    "TikTok": ("social", "TT"), "YouTube": ("social", "YT"), "Amazon": ("marketplace", "AMZ"),
    "eBay": ("marketplace", "EBY"), "Retail store": ("offline", "POS"),
    "Wholesale": ("offline", "WHS"),
}
FIRST_NAMES = ("Olivia", "Liam", "Emma", "Noah", "Ava", "Lucas", "Mia", "Ethan", "Sofia", "Leo",
               "Amelia", "Mateo", "Hannah", "Yuki", "Chloe", "Arjun", "Zoe", "Felix", "Ines",
               "Omar", "Nora", "Jonas", "Lea", "Diego")
LAST_NAMES = ("Smith", "Garcia", "Müller", "Martin", "Brown", "Rossi", "Tanaka", "Silva", "Wilson",
              "Dubois", "Kowalski", "Jensen", "Novak", "Santos", "Khan", "Lee", "Nguyen", "Taylor",
              "Schmidt", "Moreau", "Ito", "Lopez", "Clark", "Fischer")
COMPANY_WORDS = ("Alder", "Birch", "Cedar", "Dune", "Ember", "Fjord", "Granite", "Harbor", "Iris",
                 "Juniper", "Kestrel", "Lumen", "Maple", "Nimbus", "Orchid", "Pine", "Quarry",
                 "Ridge", "Summit", "Tidal")
COMPANY_SUFFIXES = ("Retail", "Outfitters", "Supply Co.", "Trading", "Group", "Stores", "Markets")
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# Engagement per post type: relative impressions, likes per reached person, production cost.
POST_TYPE_ENGAGEMENT: dict[str, tuple[float, float, float]] = {
    "reel": (1.8, 0.060, 150.0), "short": (1.6, 0.055, 100.0), "video": (1.2, 0.040, 300.0),
    "live": (0.8, 0.050, 80.0), "carousel": (1.1, 0.045, 60.0), "image": (1.0, 0.035, 40.0),
    "story": (0.6, 0.020, 15.0), "text": (0.4, 0.015, 5.0),
}
PLATFORM_AUDIENCE = {"Instagram": 12_000, "TikTok": 20_000, "Facebook": 6_000, "YouTube": 9_000}
STAGE_ORDER = ("lead", "qualified", "proposal", "negotiation")
BUSINESS_COUNTRIES = {
    "United States": "North America", "Canada": "North America", "United Kingdom": "Europe",
    "Germany": "Europe", "France": "Europe", "Netherlands": "Europe", "Australia": "APAC",
    "Japan": "APAC",
}
# One independent random stream per part, so that what does not depend on `lines` (catalogue,
# posts and their engagement, campaign dates, pipeline) stays the same when `lines` changes.
RANDOM_STREAMS = ("calendar", "catalog", "marketing", "sales", "customers", "funnel", "pipeline",
                  "engagement", "tracking")
COPY_MIN_ROWS = 10_000  # on PostgreSQL, tables at least this large are loaded with COPY
INSERT_BATCH = 50_000  # rows per executemany call
COPY_BATCH = 200_000  # rows per COPY statement
# A table to insert: column name -> values, as a list or a numpy array (masked where NULL).
# Arrays become Python values one insert batch at a time, which bounds memory at 1M lines.
Columns = dict[str, Any]

# Tables the generator fills with explicit ids, parents before children (foreign keys).
_TABLES: tuple[Table, ...] = tuple(
    model.__table__ for model in (  # type: ignore[attr-defined]
        Product, Customer, Influencer, Campaign, MediaPost, Order, OrderLine, Tracking, Payout,
        FunnelDay, Account, SalesRep, Opportunity, StageChange,
    )
)


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


# ---------------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------------
def has_sales(session: Session) -> bool:
    """True when the database already holds at least one order line."""
    return session.scalar(select(OrderLine.id).limit(1)) is not None


def generate_demo_data(session: Session, lines: int = DEFAULT_LINES, seed: int = 42,
                       end: dt.date = DEFAULT_END, timezone: str = "UTC") -> DemoSummary:
    """Insert two years of deterministic demo data ending at `end`; flushes, never commits."""
    zone = _zone(timezone)
    if lines < MIN_LINES:
        raise InvalidInput(f"Demo data needs at least {MIN_LINES:,} order lines.")
    _require_empty(session)
    streams = np.random.default_rng(seed).spawn(len(RANDOM_STREAMS))
    rngs = dict(zip(RANDOM_STREAMS, streams, strict=True))
    calendar = _Calendar.build(end, rngs["calendar"])
    platform_ids = {name: ensure_platform(session, name, kind).id
                    for name, (kind, _prefix) in PLATFORMS.items()}
    catalog = _Catalog.build(rngs["catalog"])
    plan = _MarketingPlan.build(rngs["marketing"], calendar, catalog)
    scale = _orders_per_unit_rate(lines, calendar, catalog, plan)
    sales = _simulate_sales(rngs["sales"], rngs["customers"], calendar, catalog, plan, scale,
                            zone)
    tables = _all_tables(rngs, calendar, catalog, plan, sales, platform_ids, scale, zone)
    for table in _TABLES:
        _insert_rows(session, table, tables[table.name])
    _reset_sequences(session)
    rollups.refresh(session)
    session.flush()
    return _summary(tables, sales, len(platform_ids))


def planted_effects_markdown() -> str:
    """The planted effects as Markdown tables (embedded verbatim in docs/demo-data.md)."""
    return "\n".join(_markdown_sections()) + "\n"


# ---------------------------------------------------------------------------------------------
# Checks
# ---------------------------------------------------------------------------------------------
def _zone(name: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as error:
        raise InvalidInput(f"“{name}” is not a known time zone.") from error


def _require_empty(session: Session) -> None:
    """Refuse unless every table written is empty: ids are assigned here, starting at 1."""
    if has_sales(session):
        raise InvalidInput("The database already has sales; demo data loads into an empty "
                           "database only.")
    for table in _TABLES:
        if session.execute(select(table.c.id).limit(1)).first() is not None:
            raise InvalidInput(f"The table “{table.name}” already has rows; demo data loads "
                               "into an empty database only.")


# ---------------------------------------------------------------------------------------------
# Calendar: days of the history and the relative order rate of each day
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Calendar:
    days: np.ndarray  # datetime64[D], one per day of the history
    weekday: np.ndarray  # 0 = Monday
    level: np.ndarray  # month factor × trend × weekday: the expected level lifts refer to
    rate: np.ndarray  # level × special days × noise: relative expected orders
    outage_day: int

    @classmethod
    def build(cls, end: dt.date, rng: np.random.Generator) -> _Calendar:
        """Days from `end` - 729 to `end` with the planted weekly/yearly pattern and trend."""
        n_days = PLANTED["history_days"]
        start = end - dt.timedelta(days=n_days - 1)
        days = np.datetime64(start, "D") + np.arange(n_days)
        weekday = (days.astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday
        month = days.astype("datetime64[M]").astype(np.int64) % 12
        month_factor = np.array([PLANTED["month_factors"][m] for m in MONTHS])[month]
        trend = (1 + PLANTED["annual_growth"]) ** (np.arange(n_days) / 365.25)
        weekday_factor = np.array([PLANTED["weekday_weights"][d] for d in WEEKDAYS])[weekday]
        level = month_factor * trend * weekday_factor
        sigma = PLANTED["daily_noise_sigma"]
        noise = np.exp(rng.normal(-sigma**2 / 2, sigma, n_days))
        rate = level * _special_day_factors(start, days) * noise
        return cls(days, weekday, level, rate,
                   n_days - 1 - PLANTED["outage"]["days_before_end"])

    @property
    def size(self) -> int:
        """Number of days in the history."""
        return len(self.days)


def _black_fridays(first_year: int, last_year: int) -> list[dt.date]:
    """The day after the fourth Thursday of November, for each year."""
    fridays = []
    for year in range(first_year, last_year + 1):
        november_first = dt.date(year, 11, 1)
        first_thursday = november_first + dt.timedelta(days=(3 - november_first.weekday()) % 7)
        fridays.append(first_thursday + dt.timedelta(days=22))
    return fridays


def _special_day_factors(start: dt.date, days: np.ndarray) -> np.ndarray:
    factors = np.ones(len(days))
    special = PLANTED["special_days"]
    for friday in _black_fridays(start.year, start.year + 3):
        for date, factor in ((friday, special["Black Friday"]),
                             (friday + dt.timedelta(days=3), special["Cyber Monday"])):
            index = (date - start).days
            if 0 <= index < len(days):
                factors[index] *= factor
    return factors


# ---------------------------------------------------------------------------------------------
# Catalogue: products, their popularity and their special roles
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Catalog:
    category: np.ndarray  # str
    brand: np.ndarray
    sku: list[str]
    name: list[str]
    list_price: np.ndarray
    unit_cost: np.ndarray  # NaN = unknown
    active: np.ndarray
    weight: np.ndarray  # share of baseline lines; 0 for never-sold products
    retired_day: np.ndarray  # first day an inactive product no longer sells (n_days if never)
    heroes: np.ndarray  # indices of the products posts and campaigns promote

    @classmethod
    def build(cls, rng: np.random.Generator) -> _Catalog:
        """About 240 products in 8 categories with prices, costs and a Zipf-like popularity."""
        settings = PLANTED["catalog"]
        per_category = settings["products_per_category"]
        category, brand, sku, names, prices, costs = [], [], [], [], [], []
        for name, (code, (low, high), (cost_low, cost_high), nouns, brands) in CATEGORIES.items():
            price = np.round(np.exp(rng.uniform(np.log(low), np.log(high), per_category))) - 0.01
            ratio = rng.uniform(cost_low, cost_high, per_category)
            chosen_brands = rng.choice(np.array(brands), per_category)
            adjectives = rng.choice(np.array(ADJECTIVES), per_category)
            chosen_nouns = rng.choice(np.array(nouns), per_category)
            category += [name] * per_category
            brand += chosen_brands.tolist()
            sku += [f"{code}-{i + 1:04d}" for i in range(per_category)]
            names += [f"{b} {a} {n}" for b, a, n in zip(chosen_brands, adjectives, chosen_nouns,
                                                          strict=True)]
            prices.append(price)
            costs.append(np.round(price * ratio, 2))
        n = len(sku)
        unit_cost = np.concatenate(costs)
        rank = rng.permutation(n) + 1
        weight = rank.astype(float) ** -settings["popularity_exponent"]
        by_popularity = np.argsort(rank)
        heroes = by_popularity[:settings["hero_products"]]
        # Special roles go to the less popular products so that the heroes keep selling.
        others = rng.permutation(by_popularity[settings["hero_products"]:])
        never_sold = others[:settings["never_sold"]]
        inactive = others[settings["never_sold"]:settings["never_sold"] + settings["inactive"]]
        unit_cost[rng.choice(n, settings["unknown_cost"], replace=False)] = np.nan
        weight[never_sold] = 0.0
        active = np.ones(n, dtype=bool)
        active[inactive] = False
        retired_day = np.full(n, PLANTED["history_days"])
        retired_day[inactive] = rng.integers(*settings["inactive_retired_days"], len(inactive))
        return cls(np.array(category), np.array(brand), sku, _unique_names(names),
                   np.concatenate(prices), unit_cost, active, weight / weight.sum(), retired_day,
                   heroes)

    @property
    def active_weight(self) -> np.ndarray:
        """Line shares restricted to active products (used after a product is retired)."""
        weight = np.where(self.active, self.weight, 0.0)
        return weight / weight.sum()


def _unique_names(names: list[str]) -> list[str]:
    """Distinct product names: repeats get a ' v2', ' v3', ... suffix."""
    seen: dict[str, int] = {}
    unique = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        unique.append(name if seen[name] == 1 else f"{name} v{seen[name]}")
    return unique


def _mean_lines_per_order() -> float:
    distribution = PLANTED["lines_per_order"]
    return sum(k * p for k, p in distribution.items())


# ---------------------------------------------------------------------------------------------
# Marketing plan: influencers, campaigns and posts, and the extra orders they cause
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _MarketingPlan:
    influencers: dict[str, np.ndarray]
    campaigns: dict[str, np.ndarray]
    posts: dict[str, np.ndarray]  # sorted by local posting time; index + 1 = id
    # Expected extra orders per unit of `scale` (see _orders_per_unit_rate), one per row:
    post_lift: dict[str, np.ndarray]  # post, day, product, platform, expected
    campaign_lift: dict[str, np.ndarray]  # campaign, day, product, platform, expected

    @classmethod
    def build(cls, rng: np.random.Generator, calendar: _Calendar,
              catalog: _Catalog) -> _MarketingPlan:
        """Influencers, campaigns and posts with the extra orders each one plants."""
        influencers = _influencers(rng)
        campaigns = _campaigns(rng, calendar, catalog, influencers)
        posts = _posts(rng, calendar, catalog, campaigns)
        return cls(influencers, campaigns, posts, _post_lift_plan(posts, calendar, catalog),
                   _campaign_lift_plan(campaigns, calendar, catalog))


def _influencers(rng: np.random.Generator) -> dict[str, np.ndarray]:
    count = PLANTED["influencers"]
    social = list(PLANTED["posts"]["platform_shares"])
    first = rng.choice(np.array(FIRST_NAMES), count)
    last = rng.choice(np.array(LAST_NAMES), count)
    niche = rng.choice(np.array(list(NICHES)), count)
    handles = [f"@{given.lower()}.{_ascii(family).lower()}{i + 1:02d}"
               for i, (given, family) in enumerate(zip(first, last, strict=True))]
    return {
        "handle": np.array(handles),
        "name": np.array([f"{given} {family}"
                          for given, family in zip(first, last, strict=True)]),
        "platform": rng.choice(np.array(social), count),
        "followers": np.round(10 ** rng.uniform(3.5, 6.5, count)).astype(np.int64),
        "niche": niche,
    }


def _ascii(word: str) -> str:
    return word.replace("ü", "ue").replace("é", "e")


def _tier(followers: np.ndarray) -> np.ndarray:
    thresholds = PLANTED["campaign_lift"]["tier_thresholds"]
    return np.select(
        [followers >= thresholds["mega"], followers >= thresholds["macro"],
         followers >= thresholds["micro"]],
        ["mega", "macro", "micro"], "nano")


def _campaigns(rng: np.random.Generator, calendar: _Calendar, catalog: _Catalog,
               influencers: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    settings = PLANTED["campaign_lift"]
    count = PLANTED["campaigns"]
    spacing = (calendar.size - settings["duration_days"][0]) / count
    start = (np.arange(count) * spacing).astype(np.int64) + rng.integers(
        0, settings["start_jitter_days"], count)
    duration = rng.integers(settings["duration_days"][0], settings["duration_days"][1] + 1, count)
    end = np.minimum(start + duration - 1, calendar.size - 1)
    has_influencer = rng.random(count) < settings["influencer_share"]
    influencer = np.where(has_influencer, rng.integers(0, len(influencers["handle"]), count), -1)
    social = np.array(list(PLANTED["posts"]["platform_shares"]))
    platform = np.where(has_influencer, influencers["platform"][np.maximum(influencer, 0)],
                        rng.choice(social, count))
    tiers = _tier(influencers["followers"])
    factor = np.where(
        has_influencer,
        np.array([settings["tier_factors"][t] for t in tiers])[np.maximum(influencer, 0)],
        settings["no_influencer"])
    product = np.array([
        _hero_for_niche(rng, catalog, influencers["niche"][i] if i >= 0 else None)
        for i in influencer])
    return {"start": start, "end": end, "influencer": influencer, "platform": platform,
            "factor": factor, "product": product}


def _hero_for_niche(rng: np.random.Generator, catalog: _Catalog, niche: str | None) -> int:
    """A hero product of the influencer's niche (any hero when none matches)."""
    heroes = catalog.heroes
    if niche is not None:
        matching = heroes[np.isin(catalog.category[heroes], NICHES[niche])]
        if len(matching):
            heroes = matching
    return int(rng.choice(heroes))


def _choose_by_platform(rng: np.random.Generator, platforms: np.ndarray,
                        choices: dict[str, dict[str, float]]) -> np.ndarray:
    """For each row, a value drawn from the distribution of that row's platform."""
    result = np.empty(len(platforms), dtype=object)
    for platform, distribution in choices.items():
        mask = platforms == platform
        result[mask] = rng.choice(np.array(list(distribution)), int(mask.sum()),
                                  p=np.array(list(distribution.values())))
    return result.astype(str)


def _posts(rng: np.random.Generator, calendar: _Calendar, catalog: _Catalog,
           campaigns: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    settings = PLANTED["posts"]
    count = settings["organic"]
    shares = settings["platform_shares"]
    organic_platform = rng.choice(np.array(list(shares)), count, p=np.array(list(shares.values())))
    with_product = rng.random(count) < settings["with_product"]
    organic = {
        "day": rng.integers(0, calendar.size, count),
        "platform": organic_platform,
        "product": np.where(with_product, rng.choice(catalog.heroes, count), -1),
        "campaign": np.full(count, -1),
    }
    low, high = PLANTED["campaign_lift"]["posts_per_campaign"]
    per_campaign = rng.integers(low, high + 1, len(campaigns["start"]))
    campaign = np.repeat(np.arange(len(per_campaign)), per_campaign)
    span = campaigns["end"][campaign] - campaigns["start"][campaign] + 1
    sponsored = {
        "day": campaigns["start"][campaign] + (rng.random(len(campaign)) * span).astype(np.int64),
        "platform": campaigns["platform"][campaign],
        "product": campaigns["product"][campaign],
        "campaign": campaign,
    }
    posts = {key: np.concatenate([organic[key], sponsored[key]]) for key in organic}
    first_hour, last_hour = settings["posting_hours"]
    n = len(posts["day"])
    posts["hour"] = rng.integers(first_hour, last_hour + 1, n)
    posts["minute"] = rng.integers(0, 60, n)
    posts["type"] = _choose_by_platform(rng, posts["platform"], settings["types"])
    posts["influencer"] = np.where(posts["campaign"] >= 0,
                                   campaigns["influencer"][np.maximum(posts["campaign"], 0)], -1)
    order = np.lexsort((np.arange(n), posts["minute"], posts["hour"], posts["day"]))
    posts = {key: values[order] for key, values in posts.items()}
    posts["lift"] = _post_lift_factor(posts, calendar)
    posts["noise"] = np.exp(rng.normal(0, 0.5, n))  # engagement noise, independent of the lift
    return posts


def _post_lift_factor(posts: dict[str, np.ndarray], calendar: _Calendar) -> np.ndarray:
    """Type × posting-hour × posting-weekday factor; 0 for brand and campaign posts."""
    settings = PLANTED["post_lift"]
    factor = np.array([settings["type_factors"][t] for t in posts["type"]])
    hour_factor = np.full(len(factor), settings["other_hours"])
    for first, last, value in settings["hour_bands"]:
        hour_factor[(posts["hour"] >= first) & (posts["hour"] <= last)] = value
    weekday = np.array([settings["weekday_factors"][d] for d in WEEKDAYS])
    factor = factor * hour_factor * weekday[calendar.weekday[posts["day"]]]
    # Campaign posts are covered by the campaign lift, so they carry none of their own.
    return np.where((posts["product"] >= 0) & (posts["campaign"] < 0), factor, 0.0)


def _baseline_lines(catalog: _Catalog, calendar: _Calendar, product: np.ndarray,
                    day: np.ndarray) -> np.ndarray:
    """Expected baseline lines of `product` on `day` per unit of scale (without noise)."""
    return _mean_lines_per_order() * catalog.weight[product] * calendar.level[day]


def _post_lift_plan(posts: dict[str, np.ndarray], calendar: _Calendar,
                    catalog: _Catalog) -> dict[str, np.ndarray]:
    """Day k after a post gets lift × window share k × the product's expected lines that day."""
    lifted = np.flatnonzero(posts["lift"] > 0)
    product = posts["product"][lifted]
    rows = []
    for offset, share in enumerate(PLANTED["post_lift"]["window_weights"], start=1):
        day = posts["day"][lifted] + offset
        inside = day < calendar.size
        expected = (posts["lift"][lifted][inside] * share
                    * _baseline_lines(catalog, calendar, product[inside], day[inside]))
        rows.append({"post": lifted[inside], "day": day[inside], "product": product[inside],
                     "platform": posts["platform"][lifted][inside], "expected": expected})
    return {key: np.concatenate([row[key] for row in rows]) for key in rows[0]}


def _campaign_lift_plan(campaigns: dict[str, np.ndarray], calendar: _Calendar,
                        catalog: _Catalog) -> dict[str, np.ndarray]:
    settings = PLANTED["campaign_lift"]
    last_day = np.minimum(campaigns["end"] + settings["after_days"], calendar.size - 1)
    length = last_day - campaigns["start"] + 1
    campaign = np.repeat(np.arange(len(length)), length)
    day = campaigns["start"][campaign] + _ranges(length)
    during = day <= campaigns["end"][campaign]
    factor = campaigns["factor"][campaign] * np.where(during, 1.0, settings["after_share"])
    product = campaigns["product"][campaign]
    return {"campaign": campaign, "day": day, "product": product,
            "platform": campaigns["platform"][campaign],
            "expected": factor * _baseline_lines(catalog, calendar, product, day)}


def _ranges(lengths: np.ndarray) -> np.ndarray:
    """0..n-1 for each n in `lengths`, concatenated."""
    starts = np.repeat(np.cumsum(lengths) - lengths, lengths)
    return np.arange(int(lengths.sum())) - starts


# ---------------------------------------------------------------------------------------------
# Scale: how many orders per unit of relative rate give the requested number of lines
# ---------------------------------------------------------------------------------------------
def _orders_per_unit_rate(lines: int, calendar: _Calendar, catalog: _Catalog,
                          plan: _MarketingPlan) -> float:
    """Solve expected total lines (sales, lifts, cancellations, returns) = `lines`."""
    positive = (_mean_lines_per_order() * calendar.rate.sum()
                + plan.post_lift["expected"].sum() + plan.campaign_lift["expected"].sum())
    return_rate = float(np.dot(catalog.weight, _return_rates(catalog)))
    cancel = PLANTED["cancellation_rate"]
    return lines / (positive * (1 + cancel + return_rate * (1 - cancel)))


def _return_rates(catalog: _Catalog) -> np.ndarray:
    return np.array([PLANTED["return_rates"][c] for c in catalog.category])


# ---------------------------------------------------------------------------------------------
# Sales: orders, customers and lines
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Sales:
    orders: dict[str, np.ndarray]  # index + 1 = id
    lines: dict[str, np.ndarray]  # index + 1 = id
    customers: dict[str, np.ndarray]  # index + 1 = id
    sales_orders: dict[str, np.ndarray]  # the positive orders before returns: source, id


def _simulate_sales(rng: np.random.Generator, customer_rng: np.random.Generator,
                    calendar: _Calendar, catalog: _Catalog, plan: _MarketingPlan, scale: float,
                    zone: zoneinfo.ZoneInfo) -> _Sales:
    orders = _order_headers(rng, calendar, plan, scale, zone)
    customers = _assign_customers(customer_rng, orders)
    lines = _sale_lines(rng, orders, catalog)
    lines = _with_cancellations(rng, orders, lines)
    returns, return_lines = _returns(rng, orders, lines, catalog, calendar, zone)
    return _number_everything(orders, lines, returns, return_lines, customers)


def _order_headers(rng: np.random.Generator, calendar: _Calendar, plan: _MarketingPlan,
                   scale: float, zone: zoneinfo.ZoneInfo) -> dict[str, np.ndarray]:
    """Baseline and lift orders with their local time, sorted by when they were placed."""
    counts = rng.poisson(scale * calendar.rate)
    day = np.repeat(np.arange(calendar.size), counts)
    shares = PLANTED["platform_shares"]
    platform = rng.choice(_platform_index(list(shares)), len(day),
                          p=np.array(list(shares.values())))
    outage = _platform_index([PLANTED["outage"]["platform"]])[0]
    lost = ((day == calendar.outage_day) & (platform == outage)
            & (rng.random(len(day)) >= PLANTED["outage"]["kept_share"]))
    day, platform = day[~lost], platform[~lost]
    parts = [{"day": day, "platform": platform, "source": np.zeros(len(day), np.int64),
              "source_id": np.full(len(day), -1), "product": np.full(len(day), -1)}]
    for source, lift, key in ((1, plan.post_lift, "post"), (2, plan.campaign_lift, "campaign")):
        extra = rng.poisson(scale * lift["expected"])
        parts.append({"day": np.repeat(lift["day"], extra),
                      "platform": np.repeat(_platform_index(lift["platform"]), extra),
                      "source": np.full(int(extra.sum()), source),
                      "source_id": np.repeat(lift[key], extra),
                      "product": np.repeat(lift["product"], extra)})
    orders = {key: np.concatenate([part[key] for part in parts]) for key in parts[0]}
    local = _local_times(rng, calendar.days[orders["day"]], orders["platform"])
    orders.update(local_to_utc(local, zone))
    order = np.lexsort((np.arange(len(local)), orders["ordered_at"]))
    return _restrict_to_history({k: v[order] for k, v in orders.items()}, calendar)


def _platform_index(names: Any) -> np.ndarray:
    """Positions in PLATFORMS of platform names."""
    position = {name: i for i, name in enumerate(PLATFORMS)}
    return np.array([position[name] for name in names], dtype=np.int64)


def _is_offline(platform: np.ndarray) -> np.ndarray:
    offline = np.array([kind == "offline" for kind, _prefix in PLATFORMS.values()])
    return offline[platform]


def _local_times(rng: np.random.Generator, dates: np.ndarray,
                 platform: np.ndarray) -> np.ndarray:
    """Local wall-clock times on `dates`, hours drawn from the online or offline profile."""
    n = len(dates)
    hours = np.empty(n, dtype=np.int64)
    offline = _is_offline(platform)
    for mask, key in ((~offline, "hour_profile_online"), (offline, "hour_profile_offline")):
        profile = np.array(PLANTED[key], dtype=float)
        hours[mask] = rng.choice(24, int(mask.sum()), p=profile / profile.sum())
    seconds = hours * 3600 + rng.integers(0, 3600, n)
    return dates.astype("datetime64[s]") + seconds.astype("timedelta64[s]")


def _restrict_to_history(orders: dict[str, np.ndarray], calendar: _Calendar,
                         ) -> dict[str, np.ndarray]:
    inside = ((orders["sale_date"] >= calendar.days[0])
              & (orders["sale_date"] <= calendar.days[-1]))
    orders = {key: values[inside] for key, values in orders.items()}
    orders["day"] = (orders["sale_date"] - calendar.days[0]).astype(np.int64)
    return orders


def _assign_customers(rng: np.random.Generator,
                      orders: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Guests, first orders of new customers and repeat orders of customers still active.

    Adds `customer` (-1 for guests) and `country` to `orders`, which are in time order. A
    repeat order goes to an earlier customer drawn by their activity weight, redrawn while
    that customer's lifetime is over (churned); after `repeat_tries` draws it goes to the
    most recently acquired customer of its pool. Wholesale orders form their own pool of
    business customers.
    """
    n = len(orders["day"])
    wholesale = orders["platform"] == list(PLATFORMS).index("Wholesale")
    guest = (rng.random(n) < PLANTED["guest_share"]) & ~wholesale
    new_candidate = rng.random(n) < _new_customer_share(orders["day"])
    customer = np.full(n, -1)
    pools = []
    for pool_name, in_pool in (("retail", ~wholesale & ~guest), ("wholesale", wholesale)):
        positions = np.flatnonzero(in_pool)
        if len(positions) == 0:
            continue
        pool = _customer_pool(rng, pool_name, positions, new_candidate[positions],
                              orders["day"][positions])
        customer[positions] = pool.pop("order_customer") + sum(len(p["first_order"])
                                                               for p in pools)
        pools.append(pool)
    merged = {key: np.concatenate([p[key] for p in pools]) for key in pools[0]}
    by_first_order = np.argsort(merged["first_order"], kind="stable")
    new_id = np.empty(len(by_first_order), dtype=np.int64)
    new_id[by_first_order] = np.arange(len(by_first_order))
    orders["customer"] = np.where(customer >= 0, new_id[np.maximum(customer, 0)], -1)
    customers = {key: values[by_first_order] for key, values in merged.items()}
    customers["country"] = _countries(rng, len(by_first_order))
    orders["country"] = np.where(orders["customer"] >= 0,
                                 customers["country"][np.maximum(orders["customer"], 0)],
                                 _countries(rng, n))
    return customers


def _new_customer_share(day: np.ndarray) -> np.ndarray:
    share = PLANTED["new_customer_share"]
    return share + (1 - share) * np.exp(-day / PLANTED["new_customer_warmup_days"])


def _customer_pool(rng: np.random.Generator, pool_name: str, positions: np.ndarray,
                   new: np.ndarray, day: np.ndarray) -> dict[str, np.ndarray]:
    new = new.copy()
    new[0] = True  # the first order of a pool has nobody to repeat
    segment_shares = PLANTED["segments"][pool_name]
    n_new = int(new.sum())
    segment = rng.choice(np.array(list(segment_shares)), n_new,
                         p=np.array(list(segment_shares.values())))
    lifetime_settings = PLANTED["customer_lifetime_days"]
    mean_extra = np.array([lifetime_settings["mean_extra"][s] for s in segment])
    lifetime = lifetime_settings["min"] + rng.exponential(mean_extra)
    activity = np.exp(rng.normal(0, PLANTED["customer_activity_sigma"], n_new))
    first_day = day[new]
    created_before = np.cumsum(new) - new  # customers acquired strictly before each order
    order_customer = np.where(new, np.cumsum(new) - 1, -1)
    repeat = np.flatnonzero(~new)
    cumulative = np.cumsum(activity)
    chosen = np.full(len(repeat), -1)
    pending = np.arange(len(repeat))
    for _ in range(PLANTED["repeat_tries"]):
        if len(pending) == 0:
            break
        eligible = created_before[repeat[pending]]
        target = rng.random(len(pending)) * cumulative[eligible - 1]
        candidate = np.minimum(np.searchsorted(cumulative, target, side="right"), eligible - 1)
        active = day[repeat[pending]] < first_day[candidate] + lifetime[candidate]
        chosen[pending[active]] = candidate[active]
        pending = pending[~active]
    chosen[pending] = created_before[repeat[pending]] - 1
    order_customer[repeat] = chosen
    return {"order_customer": order_customer, "first_order": positions[new],
            "segment": segment, "lifetime": lifetime}


def _countries(rng: np.random.Generator, n: int) -> np.ndarray:
    countries = PLANTED["countries"]
    shares = np.array([share for _region, share in countries.values()])
    return rng.choice(np.array(list(countries)), n, p=shares / shares.sum())


def _sale_lines(rng: np.random.Generator, orders: dict[str, np.ndarray],
                catalog: _Catalog) -> dict[str, np.ndarray]:
    """Lines of the positive orders: products, quantities, prices and cost snapshots."""
    n_orders = len(orders["day"])
    distribution = PLANTED["lines_per_order"]
    per_order = rng.choice(np.array(list(distribution)), n_orders,
                           p=np.array(list(distribution.values())))
    lifted = orders["product"] >= 0
    per_order[lifted] = 1  # a lift order is the promoted product alone
    order = np.repeat(np.arange(n_orders), per_order)
    product = rng.choice(len(catalog.weight), len(order), p=catalog.weight)
    product[lifted[order]] = orders["product"][order[lifted[order]]]
    day = orders["day"][order]
    retired = day >= catalog.retired_day[product]
    product[retired] = rng.choice(len(catalog.weight), int(retired.sum()),
                                  p=catalog.active_weight)
    product = _without_repeats(rng, order, product, catalog)
    wholesale = orders["platform"][order] == list(PLATFORMS).index("Wholesale")
    return {"order": order, "product": product, "quantity": _quantities(rng, wholesale),
            "unit_price": _unit_prices(rng, catalog.list_price[product], wholesale),
            "unit_cost": catalog.unit_cost[product]}


def _without_repeats(rng: np.random.Generator, order: np.ndarray, product: np.ndarray,
                     catalog: _Catalog) -> np.ndarray:
    """Redraw a product that already appears earlier on the same order."""
    product = product.copy()
    for _ in range(20):
        sort = np.lexsort((np.arange(len(order)), product, order))
        repeated = np.zeros(len(order), dtype=bool)
        repeated[sort[1:]] = ((order[sort[1:]] == order[sort[:-1]])
                              & (product[sort[1:]] == product[sort[:-1]]))
        if not repeated.any():
            break
        product[repeated] = rng.choice(len(catalog.weight), int(repeated.sum()),
                                       p=catalog.active_weight)
    return product


def _quantities(rng: np.random.Generator, wholesale: np.ndarray) -> np.ndarray:
    distribution = PLANTED["quantity"]
    quantity = rng.choice(np.array(list(distribution)), len(wholesale),
                          p=np.array(list(distribution.values())))
    settings = PLANTED["wholesale"]
    bulk = rng.integers(settings["quantity_min"], settings["quantity_max"] + 1, len(wholesale))
    return np.where(wholesale, bulk, quantity)


def _unit_prices(rng: np.random.Generator, list_price: np.ndarray,
                 wholesale: np.ndarray) -> np.ndarray:
    settings = PLANTED["discount"]
    discounted = rng.random(len(list_price)) < settings["probability"]
    rate = np.where(discounted, rng.choice(np.array(settings["rates"]), len(list_price)), 0.0)
    factor = np.where(wholesale, PLANTED["wholesale"]["price_factor"], 1 - rate)
    return np.round(list_price * factor, 2)


def _with_cancellations(rng: np.random.Generator, orders: dict[str, np.ndarray],
                        lines: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Reverse every line of cancelled orders on the same order (net zero, same date).

    Marks `orders["cancelled"]` so that cancelled orders are not returned as well.
    """
    cancelled = rng.random(len(orders["day"])) < PLANTED["cancellation_rate"]
    orders["cancelled"] = cancelled
    reversed_lines = {key: values[cancelled[lines["order"]]] for key, values in lines.items()}
    reversed_lines["quantity"] = -reversed_lines["quantity"]
    return {key: np.concatenate([lines[key], reversed_lines[key]]) for key in lines}


def _returns(rng: np.random.Generator, orders: dict[str, np.ndarray],
             lines: dict[str, np.ndarray], catalog: _Catalog, calendar: _Calendar,
             zone: zoneinfo.ZoneInfo) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Return orders (negative lines only) dated a few days after the original order."""
    eligible = (lines["quantity"] > 0) & ~orders["cancelled"][lines["order"]]
    returned = eligible & (rng.random(len(eligible)) < _return_rates(catalog)[lines["product"]])
    original = np.unique(lines["order"][returned])
    settings = PLANTED["return_lag_days"]
    lag = np.minimum(settings["min"] + np.floor(rng.exponential(settings["mean_extra"],
                                                                len(original))),
                     settings["max"]).astype(np.int64)
    day = orders["day"][original] + lag
    inside = day < calendar.size
    original, day = original[inside], day[inside]
    local = _local_times(rng, calendar.days[day], orders["platform"][original])
    returns = {"original": original, "platform": orders["platform"][original],
               "customer": orders["customer"][original], "country": orders["country"][original],
               **local_to_utc(local, zone)}
    returns = _restrict_to_history(returns, calendar)
    return_of = np.full(len(orders["day"]), -1)
    return_of[returns["original"]] = np.arange(len(returns["original"]))
    picked = returned & (return_of[lines["order"]] >= 0)
    return_lines = {key: values[picked] for key, values in lines.items()}
    return_lines["quantity"] = -return_lines["quantity"]
    return_lines["order"] = return_of[return_lines["order"]]
    return returns, return_lines


def _number_everything(orders: dict[str, np.ndarray], lines: dict[str, np.ndarray],
                       returns: dict[str, np.ndarray], return_lines: dict[str, np.ndarray],
                       customers: dict[str, np.ndarray]) -> _Sales:
    """Merge sales and returns in time order, assign ids and copy order fields to lines."""
    n_sales = len(orders["day"])
    columns = ("ordered_at", "sale_date", "sale_hour", "platform", "customer", "country")
    merged = {key: np.concatenate([orders[key], returns[key]]) for key in columns}
    merged["is_return"] = np.r_[np.zeros(n_sales, bool), np.ones(len(returns["day"]), bool)]
    sequence = np.lexsort((np.arange(len(merged["is_return"])), merged["ordered_at"]))
    merged = {key: values[sequence] for key, values in merged.items()}
    position = np.empty(len(sequence), dtype=np.int64)
    position[sequence] = np.arange(len(sequence))
    all_lines = {key: np.concatenate([lines[key], return_lines[key]]) for key in lines}
    all_lines["order"] = np.concatenate([position[lines["order"]],
                                         position[n_sales + return_lines["order"]]])
    line_order = np.argsort(all_lines["order"], kind="stable")
    all_lines = {key: values[line_order] for key, values in all_lines.items()}
    for key in ("sale_date", "sale_hour", "platform", "customer"):
        all_lines[key] = merged[key][all_lines["order"]]
    merged["order_number"] = _order_numbers(merged["platform"], merged["is_return"])
    sales_orders = {"id": position[:n_sales] + 1, "source": orders["source"],
                    "source_id": orders["source_id"], "day": orders["day"],
                    "platform": orders["platform"]}
    first_order = merged["platform"][position[customers["first_order"]]]
    customers = {**customers, "first_seen": merged["sale_date"][position[customers["first_order"]]],
                 "acquisition_platform": first_order}
    return _Sales(merged, all_lines, customers, sales_orders)


def _order_numbers(platform: np.ndarray, is_return: np.ndarray) -> list[str]:
    """'<PREFIX>-0000001' per platform in time order; returns get an 'R' before the number."""
    frame = pd.DataFrame({"platform": platform})
    sequence = frame.groupby("platform").cumcount().to_numpy() + 1
    prefixes = [prefix for _kind, prefix in PLATFORMS.values()]
    return [f"{prefixes[p]}-{'R' if r else ''}{s:07d}"
            for p, r, s in zip(platform.tolist(), is_return.tolist(), sequence.tolist(),
                               strict=True)]


# ---------------------------------------------------------------------------------------------
# Rows for every table
# ---------------------------------------------------------------------------------------------
def _all_tables(rngs: dict[str, np.random.Generator], calendar: _Calendar, catalog: _Catalog,
                plan: _MarketingPlan, sales: _Sales, platform_ids: dict[str, int], scale: float,
                zone: zoneinfo.ZoneInfo) -> dict[str, Columns]:
    platform_id = np.array([platform_ids[name] for name in PLATFORMS])
    tracking = _tracking_rows(rngs["tracking"], calendar, plan, sales, platform_ids, scale)
    money = _campaign_money(catalog, plan, tracking, scale)
    tables = {
        "products": _product_rows(catalog),
        "customers": _customer_rows(rngs["customers"], sales.customers, platform_id),
        "influencers": _influencer_rows(plan.influencers, platform_ids),
        "campaigns": _campaign_rows(calendar, catalog, plan, money, platform_ids),
        "media_posts": _post_rows(rngs["engagement"], calendar, catalog, plan, platform_ids,
                                  zone),
        "orders": _order_rows(sales.orders, platform_id),
        "order_lines": _line_rows(sales.lines, sales.orders["country"], platform_id),
        "tracking": tracking,
        "payouts": _payout_rows(rngs["tracking"], calendar, plan, money),
        "funnel_days": _funnel_rows(rngs["funnel"], calendar, sales, platform_ids),
    }
    tables.update(_pipeline_rows(rngs["pipeline"], calendar, platform_ids["Wholesale"]))
    return tables


def _ids(n: int) -> np.ndarray:
    return np.arange(1, n + 1)


def _nullable(values: np.ndarray, missing: np.ndarray) -> np.ma.MaskedArray:
    """`values` with NULL where `missing` is true."""
    return np.ma.masked_array(values, mask=missing)


def _money(values: np.ndarray) -> np.ma.MaskedArray:
    """Rounded to cents; NaN (unknown) becomes NULL."""
    return np.ma.masked_invalid(np.round(values, 2))


def _product_rows(catalog: _Catalog) -> Columns:
    return {"id": _ids(len(catalog.sku)), "sku": catalog.sku, "name": catalog.name,
            "category": catalog.category, "brand": catalog.brand,
            "unit_cost": _money(catalog.unit_cost), "list_price": _money(catalog.list_price),
            "active": catalog.active}


def _customer_rows(rng: np.random.Generator, customers: dict[str, np.ndarray],
                   platform_id: np.ndarray) -> Columns:
    n = len(customers["segment"])
    person = np.char.add(np.char.add(rng.choice(np.array(FIRST_NAMES), n), " "),
                         rng.choice(np.array(LAST_NAMES), n))
    company = np.char.add(np.char.add(rng.choice(np.array(LAST_NAMES), n), " "),
                          rng.choice(np.array(COMPANY_SUFFIXES), n))
    regions = {country: region for country, (region, _share) in PLANTED["countries"].items()}
    return {
        "id": _ids(n),
        "external_id": [f"CUST-{i:07d}" for i in range(1, n + 1)],
        "name": np.where(customers["segment"] == "consumer", person, company),
        "segment": customers["segment"],
        "country": customers["country"],
        "region": np.array([regions[c] for c in customers["country"].tolist()]),
        "first_seen": customers["first_seen"],
        "acquisition_platform_id": platform_id[customers["acquisition_platform"]],
    }


def _order_rows(orders: dict[str, np.ndarray], platform_id: np.ndarray) -> Columns:
    return {
        "id": _ids(len(orders["order_number"])),
        "order_number": orders["order_number"],
        "ordered_at": orders["ordered_at"],
        "sale_date": orders["sale_date"],
        "sale_hour": orders["sale_hour"],
        "platform_id": platform_id[orders["platform"]],
        "customer_id": _nullable(orders["customer"] + 1, orders["customer"] < 0),
        "country": orders["country"],
    }


def _line_rows(lines: dict[str, np.ndarray], order_country: np.ndarray,
               platform_id: np.ndarray) -> Columns:
    return {
        "id": _ids(len(lines["order"])),
        "order_id": lines["order"] + 1,
        "product_id": lines["product"] + 1,
        "quantity": lines["quantity"],
        "unit_price": _money(lines["unit_price"]),
        "unit_cost": _money(lines["unit_cost"]),
        "sale_date": lines["sale_date"],
        "sale_hour": lines["sale_hour"],
        "platform_id": platform_id[lines["platform"]],
        "customer_id": _nullable(lines["customer"] + 1, lines["customer"] < 0),
        "country": order_country[lines["order"]],
    }


def _influencer_rows(influencers: dict[str, np.ndarray], platform_ids: dict[str, int]) -> Columns:
    return {"id": _ids(len(influencers["handle"])), "handle": influencers["handle"].tolist(),
            "name": influencers["name"].tolist(),
            "platform_id": [platform_ids[p] for p in influencers["platform"].tolist()],
            "followers": influencers["followers"].tolist(), "niche": influencers["niche"].tolist()}


def _campaign_rows(calendar: _Calendar, catalog: _Catalog, plan: _MarketingPlan,
                   money: dict[str, np.ndarray], platform_ids: dict[str, int]) -> Columns:
    campaigns = plan.campaigns
    n = len(campaigns["start"])
    start_dates = calendar.days[campaigns["start"]]
    names = [f"C{i + 1:02d} {catalog.brand[p]} · {pd.Timestamp(d).strftime('%b %Y')}"
             for i, (p, d) in enumerate(zip(campaigns["product"], start_dates, strict=True))]
    return {"id": _ids(n), "name": names,
            "platform_id": [platform_ids[p] for p in campaigns["platform"].tolist()],
            "influencer_id": _nullable(campaigns["influencer"] + 1, campaigns["influencer"] < 0),
            "product_id": (campaigns["product"] + 1).tolist(),
            "start_date": start_dates.tolist(),
            "end_date": calendar.days[campaigns["end"]].tolist(),
            "budget": money["budget"].tolist()}


def _post_rows(rng: np.random.Generator, calendar: _Calendar, catalog: _Catalog,
               plan: _MarketingPlan, platform_ids: dict[str, int],
               zone: zoneinfo.ZoneInfo) -> Columns:
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
        "id": _ids(n),
        "external_id": [f"{prefixes[p]}-P{i:06d}"
                        for i, p in enumerate(posts["platform"].tolist(), start=1)],
        "platform_id": [platform_ids[p] for p in posts["platform"].tolist()],
        "post_type": posts["type"].tolist(),
        "posted_at": placed["ordered_at"].tolist(),
        "post_date": placed["sale_date"].tolist(),
        "caption": _captions(rng, posts, catalog),
        "product_id": _nullable(posts["product"] + 1, posts["product"] < 0),
        "campaign_id": _nullable(posts["campaign"] + 1, posts["campaign"] < 0),
        "influencer_id": _nullable(posts["influencer"] + 1, posts["influencer"] < 0),
        **engagement,
        "cost": cost.tolist(),
    }


def _engagement(rng: np.random.Generator, posts: dict[str, np.ndarray],
                influencers: dict[str, np.ndarray], calendar: _Calendar) -> Columns:
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
              catalog: _Catalog) -> list[str]:
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


def _tracking_rows(rng: np.random.Generator, calendar: _Calendar, plan: _MarketingPlan,
                   sales: _Sales, platform_ids: dict[str, int], scale: float) -> Columns:
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
    return {"id": _ids(len(rows)), "date": calendar.days[day].tolist(),
            "platform_id": [platform_ids[p] for p in platform.tolist()],
            "campaign_id": _nullable(campaign + 1, campaign < 0),
            "influencer_id": _nullable(influencer + 1, influencer < 0),
            "post_id": _nullable(post + 1, post < 0),
            "clicks": clicks, "orders": orders, "revenue": np.round(rows["sum"].to_numpy(), 2)}


def _order_revenue(sales: _Sales) -> np.ndarray:
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


def _campaign_money(catalog: _Catalog, plan: _MarketingPlan, tracking: Columns,
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
    tier = np.where(has_influencer, _tier(followers), "none")
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


def _payout_rows(rng: np.random.Generator, calendar: _Calendar, plan: _MarketingPlan,
                 payout: dict[str, np.ndarray]) -> Columns:
    settings = PLANTED["payouts"]
    campaigns = np.flatnonzero(plan.campaigns["influencer"] >= 0)
    ended_days_ago = calendar.size - 1 - plan.campaigns["end"][campaigns]
    status = np.select([ended_days_ago > settings["paid_after_days"],
                        ended_days_ago > settings["approved_after_days"]],
                       ["paid", "approved"], "pending")
    due = calendar.days[plan.campaigns["end"][campaigns]] + settings["due_days"]
    paid_on = due - rng.integers(0, 11, len(campaigns))
    return {"id": _ids(len(campaigns)),
            "influencer_id": (plan.campaigns["influencer"][campaigns] + 1).tolist(),
            "campaign_id": (campaigns + 1).tolist(),
            "basis": payout["basis"][campaigns].tolist(),
            "rate": payout["rate"][campaigns].tolist(),
            "units": payout["units"][campaigns].tolist(),
            "amount": payout["amount"][campaigns].tolist(),
            "status": status.tolist(),
            "due_date": due.tolist(),
            "paid_on": _nullable(paid_on, status != "paid")}


def _funnel_rows(rng: np.random.Generator, calendar: _Calendar, sales: _Sales,
                 platform_ids: dict[str, int]) -> Columns:
    """Daily funnel per online platform, built backwards from that day's purchases."""
    purchases = np.zeros((len(PLATFORMS), calendar.size), dtype=np.int64)
    np.add.at(purchases, (sales.sales_orders["platform"], sales.sales_orders["day"]), 1)
    columns: Columns = {name: [] for name in ("date", "platform_id", "sessions", "product_views",
                                              "add_to_cart", "checkout", "purchase")}
    outage = PLANTED["outage"]
    for index, (name, (kind, _prefix)) in enumerate(PLATFORMS.items()):
        if kind not in PLANTED["funnel_rates"]:
            continue
        purchase = purchases[index]
        intended = purchase.astype(float)
        if name == outage["platform"]:
            # Shoppers arrive and check out as usual on the outage day; purchases fail.
            intended[calendar.outage_day] /= outage["kept_share"]
        stages = _funnel_stages(rng, purchase, intended, PLANTED["funnel_rates"][kind])
        columns["date"] += calendar.days.tolist()
        columns["platform_id"] += [platform_ids[name]] * calendar.size
        for key, values in zip(("checkout", "add_to_cart", "product_views", "sessions"), stages,
                               strict=True):
            columns[key] += values.tolist()
        columns["purchase"] += purchase.tolist()
    return {"id": _ids(len(columns["date"])), **columns}


def _funnel_stages(rng: np.random.Generator, purchase: np.ndarray, intended: np.ndarray,
                   ratios: tuple[float, ...]) -> list[np.ndarray]:
    """Checkout, cart, views and sessions: each the next stage / its ratio, with 5% noise.

    Each stage is at least the one after it, so sessions ≥ views ≥ cart ≥ checkout ≥ purchase.
    """
    expected = np.maximum(intended, 0.5)  # a day without purchases still has visitors
    stages = [purchase]
    for ratio in reversed(ratios):
        expected = expected / ratio * np.exp(rng.normal(0, 0.05, len(purchase)))
        stages.append(np.maximum(np.round(expected).astype(np.int64), stages[-1]))
    return stages[1:]


# ---------------------------------------------------------------------------------------------
# B2B pipeline
# ---------------------------------------------------------------------------------------------
def _pipeline_rows(rng: np.random.Generator, calendar: _Calendar,
                   wholesale_id: int) -> dict[str, Columns]:
    settings = PLANTED["pipeline"]
    reps = settings["reps"]
    accounts = _accounts(rng, settings)
    opportunities, stage_changes = _opportunities(rng, calendar, accounts, settings)
    return {
        "accounts": {"id": _ids(len(accounts["name"])), "name": accounts["name"].tolist(),
                     "segment": accounts["segment"].tolist(),
                     "country": accounts["country"].tolist()},
        "sales_reps": {"id": _ids(len(reps)), "name": [r[0] for r in reps],
                       "team": [r[1] for r in reps], "region": [r[2] for r in reps],
                       "quarterly_quota": [float(r[3]) for r in reps]},
        "opportunities": {**opportunities,
                          "platform_id": [wholesale_id] * len(opportunities["id"])},
        "stage_changes": stage_changes,
    }


def _accounts(rng: np.random.Generator, settings: dict[str, Any]) -> dict[str, np.ndarray]:
    """Accounts with exact segment counts, each owned by a rep of the matching team."""
    count = settings["accounts"]
    combos = rng.choice(len(COMPANY_WORDS) * len(COMPANY_SUFFIXES), count, replace=False)
    names = [f"{COMPANY_WORDS[c // len(COMPANY_SUFFIXES)]} "
             f"{COMPANY_SUFFIXES[c % len(COMPANY_SUFFIXES)]}" for c in combos.tolist()]
    shares = settings["account_segments"]
    sizes = [round(share * count) for share in shares.values()]
    sizes[0] += count - sum(sizes)
    segment = rng.permutation(np.repeat(np.array(list(shares)), sizes))
    return {"name": np.array(names), "segment": segment,
            "country": rng.choice(np.array(list(BUSINESS_COUNTRIES)), count),
            "owner": _account_owners(segment, settings["reps"])}


def _account_owners(segment: np.ndarray, reps: tuple[tuple[Any, ...], ...]) -> np.ndarray:
    """Round-robin over the reps of the team serving each segment, so every rep has accounts."""
    team_of_segment = {"SMB": "SMB", "mid-market": "Mid-market", "enterprise": "Enterprise"}
    owner = np.empty(len(segment), dtype=np.int64)
    for name, team in team_of_segment.items():
        members = [k for k, rep in enumerate(reps) if rep[1] == team]
        accounts = np.flatnonzero(segment == name)
        owner[accounts] = np.array(members)[np.arange(len(accounts)) % len(members)]
    return owner


def _opportunities(rng: np.random.Generator, calendar: _Calendar, accounts: dict[str, np.ndarray],
                   settings: dict[str, Any]) -> tuple[Columns, Columns]:
    """Deals walking lead → qualified → proposal → negotiation → closed (won or lost)."""
    count = settings["opportunities"]
    growth = (1 + PLANTED["annual_growth"]) ** (np.arange(calendar.size) / 365.25)
    created = np.sort(rng.choice(calendar.size, count, p=growth / growth.sum()))
    account = rng.integers(0, len(accounts["name"]), count)
    segment = accounts["segment"][account]
    rep = accounts["owner"][account]
    skill = np.array([r[4] for r in settings["reps"]])[rep]
    median = np.array([settings["amount_median"][s] for s in segment])
    amount = np.round(median * np.exp(rng.normal(0, 0.5, count)), -2)
    entered = created.copy()
    stage = np.full(count, "lead", dtype=object)
    outcome = np.full(count, "open", dtype=object)
    closed = np.full(count, -1)
    changes: list[tuple[int, str, int]] = []
    moving = np.ones(count, dtype=bool)
    for name in STAGE_ORDER:
        stage[moving] = name
        changes += [(i, name, entered[i]) for i in np.flatnonzero(moving).tolist()]
        leaves = entered + 1 + np.floor(rng.exponential(settings["stage_days_mean"][name], count))
        # The rep's skill shows where it matters most: closing the negotiation.
        closing_skill = skill if name == STAGE_ORDER[-1] else 1.0
        advance = rng.random(count) < np.minimum(
            settings["advance_probability"][name] * closing_skill, 0.97)
        decided = moving & (leaves < calendar.size)  # the rest is still open at this stage
        final = decided & (~advance | (name == STAGE_ORDER[-1]))
        outcome[final] = np.where(advance[final], "won", "lost")
        closed[final] = leaves[final]
        stage[final] = "closed"
        changes += [(i, "closed", int(leaves[i])) for i in np.flatnonzero(final).tolist()]
        moving = decided & ~final
        entered = np.where(moving, leaves, entered).astype(np.int64)
    probability = np.array([settings["open_probability"].get(s, 0.0) for s in stage])
    probability = np.where(outcome == "won", 1.0, np.where(outcome == "lost", 0.0, probability))
    expected_days = sum(settings["stage_days_mean"].values())
    expected_close = created + expected_days + rng.integers(-10, 21, count)
    changes.sort(key=lambda change: (change[0], change[2]))
    opportunities = {
        "id": _ids(count),
        "external_id": [f"OPP-{i:05d}" for i in range(1, count + 1)],
        "account_id": (account + 1).tolist(), "rep_id": (rep + 1).tolist(),
        "stage": stage.tolist(), "outcome": outcome.tolist(), "amount": amount.tolist(),
        "probability": probability.tolist(), "created_on": calendar.days[created].tolist(),
        "expected_close": (calendar.days[created] + (expected_close - created)).tolist(),
        "closed_on": _nullable(calendar.days[np.maximum(closed, 0)], closed < 0),
    }
    stage_changes = {"id": _ids(len(changes)),
                     "opportunity_id": [i + 1 for i, _s, _d in changes],
                     "stage": [s for _i, s, _d in changes],
                     "entered_on": calendar.days[[d for _i, _s, d in changes]].tolist()}
    return opportunities, stage_changes


# ---------------------------------------------------------------------------------------------
# Insertion
# ---------------------------------------------------------------------------------------------
def _insert_rows(session: Session, table: Table, columns: Columns) -> None:
    """Bulk insert: COPY for large tables on PostgreSQL (psycopg2), executemany otherwise."""
    keys = list(columns)
    n = len(columns[keys[0]])
    if n == 0:
        return
    connection = session.connection()
    dbapi_connection = connection.connection.dbapi_connection
    copy_cursor = (dbapi_connection.cursor()
                   if connection.dialect.name == "postgresql" and n >= COPY_MIN_ROWS else None)
    if copy_cursor is not None and hasattr(copy_cursor, "copy_expert"):
        _copy_rows(connection.dialect, copy_cursor, table, columns)
        return
    for first in range(0, n, INSERT_BATCH):
        batch = [dict(zip(keys, values, strict=True))
                 for values in _python_rows(columns, first, INSERT_BATCH)]
        session.execute(insert(table), batch)


def _python_rows(columns: Columns, first: int, count: int) -> Any:
    """Rows `first` .. `first + count - 1` as tuples of Python values (None = NULL)."""
    return zip(*(values[first:first + count].tolist() if isinstance(values, np.ndarray)
                 else values[first:first + count] for values in columns.values()), strict=True)


def _copy_rows(dialect: Any, cursor: Any, table: Table, columns: Columns) -> None:
    """COPY ... FROM STDIN in CSV: None is written as an unquoted empty field (NULL)."""
    preparer = dialect.identifier_preparer
    names = ", ".join(preparer.quote(key) for key in columns)
    statement = f"COPY {preparer.format_table(table)} ({names}) FROM STDIN WITH (FORMAT csv)"
    for first in range(0, len(columns["id"]), COPY_BATCH):
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerows(
            _python_rows(columns, first, COPY_BATCH))
        buffer.seek(0)
        cursor.copy_expert(statement, buffer)


def _reset_sequences(session: Session) -> None:
    """Point PostgreSQL id sequences past the explicit ids so later inserts do not collide."""
    dialect = session.connection().dialect
    if dialect.name != "postgresql":
        return  # SQLite continues from the largest rowid by itself
    preparer = dialect.identifier_preparer
    for table in _TABLES:
        name = preparer.format_table(table)
        session.execute(text(
            f"SELECT setval(pg_get_serial_sequence(:table, 'id'), "
            f"COALESCE((SELECT MAX(id) FROM {name}), 0) + 1, false)"), {"table": name})


def _summary(tables: dict[str, Columns], sales: _Sales, n_platforms: int) -> DemoSummary:
    positive = sales.lines["quantity"] > 0
    dates = sales.lines["sale_date"][positive]
    counts = {name: len(columns["id"]) for name, columns in tables.items()}
    return DemoSummary(platforms=n_platforms, first_sale=dates.min().item(),
                       last_sale=dates.max().item(), **counts)


# ---------------------------------------------------------------------------------------------
# The planted effects as Markdown (docs/demo-data.md embeds this text)
# ---------------------------------------------------------------------------------------------
def _table(header: tuple[str, ...], rows: list[tuple[Any, ...]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(value) for value in row) + " |" for row in rows]
    return lines + [""]


def _percent(value: float) -> str:
    return f"{value * 100:g}%"


def _markdown_sections() -> list[str]:
    sections: list[str] = []
    for part in (_md_calendar, _md_orders, _md_customers, _md_catalog, _md_posts,
                 _md_campaigns, _md_funnel, _md_pipeline):
        sections += part(PLANTED)
    return sections[:-1]


def _md_calendar(p: dict[str, Any]) -> list[str]:
    online, offline = p["hour_profile_online"], p["hour_profile_offline"]
    outage = p["outage"]
    lines = ["### Weekday weights (local date; mean 1)", ""]
    lines += _table(tuple(p["weekday_weights"]), [tuple(p["weekday_weights"].values())])
    lines += ["### Hour-of-day profile (% of a day's orders, local hour)", ""]
    lines += _table(("hour", "online platforms", "offline platforms"),
                    [(f"{h:02d}", online[h], offline[h]) for h in range(24)])
    lines += ["### Yearly seasonality (× order rate by month)", ""]
    lines += _table(tuple(p["month_factors"]), [tuple(p["month_factors"].values())])
    lines += ["### Trend, noise, special days", ""]
    return lines + _table(("effect", "value"), [
        ("history", f"{p['history_days']} days ending at `end` (inclusive)"),
        ("trend", f"× (1 + {p['annual_growth']})^(days since start / 365.25)"),
        ("daily noise", f"× exp(N(−σ²/2, σ)), σ = {p['daily_noise_sigma']}"),
        *[(name, f"× {factor}") for name, factor in p["special_days"].items()],
        ("outage", f"{outage['platform']} on `end` − {outage['days_before_end']} days: only "
                   f"{_percent(outage['kept_share'])} of its baseline orders kept"),
    ])


def _md_orders(p: dict[str, Any]) -> list[str]:
    wholesale, discount, lag = p["wholesale"], p["discount"], p["return_lag_days"]
    lines = ["### Platforms (share of baseline orders)", ""]
    lines += _table(("platform", "kind", "share"),
                    [(name, PLATFORMS[name][0], _percent(share))
                     for name, share in p["platform_shares"].items()])
    lines += ["### Orders and lines", ""]
    lines += _table(("setting", "value"), [
        ("lines per baseline order", _distribution(p["lines_per_order"])),
        ("quantity per line (not wholesale)", _distribution(p["quantity"])),
        ("wholesale quantity", f"uniform {wholesale['quantity_min']}–"
                               f"{wholesale['quantity_max']}"),
        ("wholesale price", f"{_percent(wholesale['price_factor'])} of list price"),
        ("discount (not wholesale)", f"{_percent(discount['probability'])} of lines, "
                                     f"one of {', '.join(map(_percent, discount['rates']))}"),
        ("cancellations", f"{_percent(p['cancellation_rate'])} of orders, every line reversed "
                          "on the same order"),
        ("return lag", f"{lag['min']} + floor(Exponential(mean {lag['mean_extra']})) days, at "
                       f"most {lag['max']}"),
    ])
    lines += ["### Return rates (share of sold lines returned, by category)", ""]
    return lines + _table(("category", "return rate"),
                          [(c, _percent(r)) for c, r in p["return_rates"].items()])


def _md_customers(p: dict[str, Any]) -> list[str]:
    lifetime = p["customer_lifetime_days"]
    lines = ["### Customers", ""]
    lines += _table(("setting", "value"), [
        ("guest orders", f"{_percent(p['guest_share'])} of non-wholesale orders"),
        ("first orders of new customers",
         f"{_percent(p['new_customer_share'])} + {_percent(1 - p['new_customer_share'])} × "
         f"exp(−day / {p['new_customer_warmup_days']}) of orders with a customer"),
        ("repeat-buyer propensity", f"log-normal, σ = {p['customer_activity_sigma']}"),
        ("draws to find an active repeat buyer", p["repeat_tries"]),
        ("retail segments", _distribution(p["segments"]["retail"])),
        ("wholesale segments", _distribution(p["segments"]["wholesale"])),
        *[(f"lifetime, {segment}", f"{lifetime['min']} + Exponential(mean {mean}) days")
          for segment, mean in lifetime["mean_extra"].items()],
    ])
    return lines + _table(("country", "region", "share"),
                          [(c, r, _percent(s)) for c, (r, s) in p["countries"].items()])


def _md_catalog(p: dict[str, Any]) -> list[str]:
    catalog = p["catalog"]
    first, last = catalog["inactive_retired_days"]
    lines = ["### Catalogue", ""]
    return lines + _table(("setting", "value"), [
        ("products", f"{catalog['products_per_category'] * len(CATEGORIES)} "
                     f"({catalog['products_per_category']} in each of {len(CATEGORIES)} "
                     "categories)"),
        ("popularity", f"line share ∝ rank^−{catalog['popularity_exponent']}"),
        ("hero products (promoted)", f"the {catalog['hero_products']} most popular"),
        ("unknown unit cost", f"{catalog['unknown_cost']} products"),
        ("inactive (retired)", f"{catalog['inactive']} products; each sells until its "
                               f"retirement day, a random day {first}–{last - 1} of the "
                               "history"),
        ("active, never sold", f"{catalog['never_sold']} products"),
    ])


def _md_posts(p: dict[str, Any]) -> list[str]:
    lift, posts = p["post_lift"], p["posts"]
    hour_bands = ", ".join(f"{a}:00–{b}:59 ×{f}" for a, b, f in lift["hour_bands"])
    lines = ["### Post lift (extra orders of the promoted product)", ""]
    lines += _table(("post type", "lift factor"), list(lift["type_factors"].items()))
    lines += _table(("setting", "value"), [
        ("window", "days +1, +2, +3 after the local post date, shares "
                   + " / ".join(map(_percent, lift["window_weights"]))),
        ("posting hour", f"{hour_bands}, other hours ×{lift['other_hours']}"),
        ("posting weekday", ", ".join(f"{d} ×{f}" for d, f in lift["weekday_factors"].items())),
        ("organic posts", f"{posts['organic']}, {_percent(posts['with_product'])} promote a "
                          "hero product (uniformly chosen)"),
        ("posting hours", f"{posts['posting_hours'][0]}:00–{posts['posting_hours'][1]}:59 "
                          "local, uniform"),
        ("platforms", _distribution(posts["platform_shares"])),
    ])
    return lines + _table(("platform", "post types (share)"),
                          [(name, _distribution(types))
                           for name, types in posts["types"].items()])


def _md_campaigns(p: dict[str, Any]) -> list[str]:
    campaign, budget, payouts = p["campaign_lift"], p["campaign_budget"], p["payouts"]
    lines = ["### Campaign lift and budgets", ""]
    lines += _table(("influencer tier", "followers from", "daily lift factor", "target ROAS"), [
        ("nano", 0, campaign["tier_factors"]["nano"], budget["target_roas"]["nano"]),
        *[(tier, f"{campaign['tier_thresholds'][tier]:,}", campaign["tier_factors"][tier],
           budget["target_roas"][tier]) for tier in ("micro", "macro", "mega")],
        ("no influencer", "–", campaign["no_influencer"], budget["target_roas"]["none"]),
    ])
    lines += _table(("setting", "value"), [
        ("campaigns / influencers", f"{p['campaigns']} / {p['influencers']}"),
        ("with an influencer", _percent(campaign["influencer_share"])),
        ("starts", f"evenly spaced over the history + 0–{campaign['start_jitter_days'] - 1} "
                   "days"),
        ("duration", f"{campaign['duration_days'][0]}–{campaign['duration_days'][1]} days"),
        ("after the campaign", f"{campaign['after_days']} days at "
                               f"{_percent(campaign['after_share'])} of the lift"),
        ("influencer posts per campaign", f"{campaign['posts_per_campaign'][0]}–"
                                          f"{campaign['posts_per_campaign'][1]}"),
        ("clicks", f"orders + Poisson(expected orders × {campaign['clicks_per_order'] - 1})"),
        ("influencer fee", f"{_percent(budget['influencer_fee_share'])} of the budget"),
    ])
    lines += ["### Payouts", ""]
    return lines + _table(("setting", "value"), [
        ("per post", f"followers ≥ {payouts['per_post_min_followers']:,}: rate = fee / posts, "
                     "units = the campaign's posts"),
        ("per order", "otherwise: rate = fee / expected orders, units = tracked orders"),
        ("amount", "rate × units (rate rounded to cents first)"),
        ("status", f"paid when the campaign ended > {payouts['paid_after_days']} days before "
                   f"`end`, approved when > {payouts['approved_after_days']}, else pending"),
        ("due date", f"campaign end + {payouts['due_days']} days"),
    ])


def _md_funnel(p: dict[str, Any]) -> list[str]:
    lines = ["### Funnel ratios (each stage / the stage before)", ""]
    return lines + _table(("kind", "views/sessions", "cart/views", "checkout/cart",
                           "purchase/checkout"),
                          [(kind, *ratios) for kind, ratios in p["funnel_rates"].items()])


def _md_pipeline(p: dict[str, Any]) -> list[str]:
    pipeline = p["pipeline"]
    lines = ["### Pipeline stages and reps", ""]
    lines += _table(("stage", "days in stage", "advance probability", "open-deal probability"),
                    [(s, f"1 + floor(Exponential(mean {pipeline['stage_days_mean'][s]}))",
                      pipeline["advance_probability"][s], pipeline["open_probability"][s])
                     for s in STAGE_ORDER])
    lines += _table(("rep", "team", "region", "quarterly quota", "skill (× close probability)"),
                    [(n, t, r, f"{q:,}", s) for n, t, r, q, s in pipeline["reps"]])
    return lines + _table(("setting", "value"), [
        ("accounts / opportunities", f"{pipeline['accounts']} / {pipeline['opportunities']}"),
        ("account segments (exact counts)", _distribution(pipeline["account_segments"])),
        ("amount median (log-normal σ 0.5)",
         ", ".join(f"{s} {m:,}" for s, m in pipeline["amount_median"].items())),
    ])


def _distribution(distribution: dict[Any, float]) -> str:
    return ", ".join(f"{key}: {_percent(share)}" for key, share in distribution.items())
