"""The marketing plan: influencers, campaigns and posts, and the extra orders they cause."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from services.demo_data.catalog import Catalog, mean_lines_per_order
from services.demo_data.days import Calendar
from services.demo_data.plan import FIRST_NAMES, LAST_NAMES, NICHES, PLANTED, WEEKDAYS


@dataclass(frozen=True)
class MarketingPlan:
    """What marketing happens, and the extra orders it is planned to cause."""

    influencers: dict[str, np.ndarray]
    campaigns: dict[str, np.ndarray]
    posts: dict[str, np.ndarray]  # sorted by local posting time; index + 1 = id
    # Expected extra orders per unit of `scale` (see orders_per_unit_rate), one per row:
    post_lift: dict[str, np.ndarray]  # post, day, product, platform, expected
    campaign_lift: dict[str, np.ndarray]  # campaign, day, product, platform, expected

    @classmethod
    def build(cls, rng: np.random.Generator, calendar: Calendar,
              catalog: Catalog) -> MarketingPlan:
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


def influencer_tier(followers: np.ndarray) -> np.ndarray:
    """Influencer tier (nano, micro, macro, mega) by followers."""
    thresholds = PLANTED["campaign_lift"]["tier_thresholds"]
    return np.select(
        [followers >= thresholds["mega"], followers >= thresholds["macro"],
         followers >= thresholds["micro"]],
        ["mega", "macro", "micro"], "nano")


def _campaigns(rng: np.random.Generator, calendar: Calendar, catalog: Catalog,
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
    tiers = influencer_tier(influencers["followers"])
    factor = np.where(
        has_influencer,
        np.array([settings["tier_factors"][t] for t in tiers])[np.maximum(influencer, 0)],
        settings["no_influencer"])
    product = np.array([
        _hero_for_niche(rng, catalog, influencers["niche"][i] if i >= 0 else None)
        for i in influencer])
    return {"start": start, "end": end, "influencer": influencer, "platform": platform,
            "factor": factor, "product": product}


def _hero_for_niche(rng: np.random.Generator, catalog: Catalog, niche: str | None) -> int:
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


def _posts(rng: np.random.Generator, calendar: Calendar, catalog: Catalog,
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


def _post_lift_factor(posts: dict[str, np.ndarray], calendar: Calendar) -> np.ndarray:
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


def _baseline_lines(catalog: Catalog, calendar: Calendar, product: np.ndarray,
                    day: np.ndarray) -> np.ndarray:
    """Expected baseline lines of `product` on `day` per unit of scale (without noise)."""
    return mean_lines_per_order() * catalog.weight[product] * calendar.level[day]


def _post_lift_plan(posts: dict[str, np.ndarray], calendar: Calendar,
                    catalog: Catalog) -> dict[str, np.ndarray]:
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


def _campaign_lift_plan(campaigns: dict[str, np.ndarray], calendar: Calendar,
                        catalog: Catalog) -> dict[str, np.ndarray]:
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
