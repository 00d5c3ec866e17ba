"""The plan: what the demo business looks like (platforms, catalogue content, names) and the
effects planted in it.

`PLANTED` is the single source of truth for the generator and for the tables of
docs/demo-data.md (rendered by `markdown.py`).
"""
from __future__ import annotations

import datetime as dt
from typing import Any

DEFAULT_LINES = 80_000
DEFAULT_END = dt.date(2026, 10, 31)  # fixed so that the default output is deterministic
MIN_LINES = 1_000

# Every effect an analytics page is expected to find, as a number.
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
