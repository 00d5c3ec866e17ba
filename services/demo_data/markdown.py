"""The documentation: the planted effects as the Markdown tables docs/demo-data.md embeds
(a test keeps the two identical)."""
from __future__ import annotations

from typing import Any

from services.demo_data.plan import CATEGORIES, PLANTED, PLATFORMS, STAGE_ORDER


def planted_effects_markdown() -> str:
    """The planted effects as Markdown tables (embedded verbatim in docs/demo-data.md)."""
    return "\n".join(_markdown_sections()) + "\n"


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
