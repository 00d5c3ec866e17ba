"""The business health score (0-100) of the Overview and the top recommended actions, from the
view's numbers. Every rule is in docs/insights.md; each component says its value, its score,
its weight and a sentence, each action the numbers behind it and the view that shows them.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any
from urllib.parse import urlencode

import pandas as pd
from sqlalchemy import Subquery, exists, func, select
from sqlalchemy.orm import Session

from services import forecasting
from services.cache import cached, reuse
from services.filters import Filters, Period
from services.overview import kpis, revenue_by_platform, top_products
from services.rollups import Lines, buyers, pass_over_earlier_days, per_customer
from services.sales import data_bounds
from services.sales_analysis import returns_by_category
from services.scope import Scope

# key: (label, weight). Weights add up to 100; a component without data drops out and the
# others share its weight in proportion.
WEIGHTS: dict[str, tuple[str, int]] = {
    "growth": ("Growth vs the comparison period", 25),
    "margin": ("Gross margin", 15),
    "returns": ("Return rate", 15),
    "repeat": ("Repeat customers", 15),
    "dependence": ("Dependence on one platform or product", 15),
    "forecast": ("Forecast trend", 15),
}
TOP_ACTIONS = 3
# Under a product or category filter, a range shorter than a quarter of the history before
# it counts returning customers by look-ups per customer in `order_lines`
# (`pass_over_earlier_days` with this cost); else one pass over the earlier lines.
SHORT_RANGE = 4
FORECAST_DAYS = 30


def clamp(value: float) -> float:
    """A score between 0 and 100."""
    return max(0.0, min(100.0, value))


# --- the scores (pure, the rules of docs/insights.md) -----------------------------------------

def growth_score(change: float) -> float:
    """+20% or more scores 100, no change 50, -20% or worse 0."""
    return clamp(50 + 250 * change)


def margin_score(margin: float) -> float:
    """A 50% gross margin or more scores 100, 0% or less 0."""
    return clamp(200 * margin)


def returns_score(rate: float) -> float:
    """No returns score 100, 20% of gross sales or more 0."""
    return clamp(100 - 500 * rate)


def repeat_score(rate: float) -> float:
    """Half the customers having bought before scores 100, none 0."""
    return clamp(200 * rate)


def dependence_score(share: float) -> float:
    """A largest share of 25% or less scores 100, 80% or more 0."""
    return clamp(100 * (0.80 - share) / 0.55)


def total_score(components: Sequence[Mapping[str, Any]]) -> float | None:
    """The weighted mean of the components that have a score."""
    scored = [c for c in components if c["score"] is not None]
    weight = sum(c["weight"] for c in scored)
    return sum(c["score"] * c["weight"] for c in scored) / weight if weight else None


def _component(key: str, value: float | None, score: float | None, sentence: str) -> dict[str, Any]:
    label, weight = WEIGHTS[key]
    return {"key": key, "label": label, "value": value, "score": score, "weight": weight,
            "sentence": sentence}


def _link(path: str, **params: str) -> str:
    query = urlencode({key: value for key, value in params.items() if value})
    return f"{path}?{query}" if query else path


# --- from the database ------------------------------------------------------------------------

def _buyers(lines: Lines) -> Subquery:
    """The distinct known customers with a sale among the lines: from the customer-day
    rollup when it keeps every filtered column (about half the rows, no product join)."""
    source = per_customer(lines)  # the rollup or the lines: the one rule of services.rollups
    return (select(source.customer_id).where(*source.conditions, source.sale)
            .distinct().subquery())


def repeat_rate(session: Session, scope: Scope, filters: Filters, period: Period,
                customers: int | None = None) -> tuple[int, int]:
    """(customers who bought in range, those of them who had bought before the range).
    `customers`: their number when the caller has it (the KPIs' customers: the same rule),
    which saves counting them again where the customer sets cannot answer."""
    first, _last = data_bounds(session, scope)
    lines = Lines(filters, scope, period.start, period.end)
    before = None if first is None or first >= period.start else \
        Lines(filters, scope, first, period.start - dt.timedelta(days=1))
    buyer_set = buyers(session, lines)
    if buyer_set is not None:  # the customer sets: both counts exact, in milliseconds
        earlier = None if before is None else buyers(session, before)
        return len(buyer_set), 0 if earlier is None else \
            buyer_set.intersection_cardinality(earlier)
    # Lines of some products or categories: from `order_lines`.
    in_range = _buyers(lines)
    total = customers if customers is not None else \
        session.scalar(select(func.count()).select_from(in_range)) or 0
    if before is None:
        return int(total), 0
    if not pass_over_earlier_days(before.start, period.start, period.end, SHORT_RANGE):
        # A short range's customers are few next to history's lines: one indexed look-up
        # per customer beats reading every earlier line. A product's or category's earlier
        # lines are few: there the hash is the better plan.
        source = per_customer(before)
        counted = select(func.count()).select_from(in_range).where(exists().where(
            source.customer_id == in_range.c.customer_id, *source.conditions, source.sale))
    else:
        earlier_buyers = _buyers(before)
        counted = select(func.count()).select_from(in_range.join(
            earlier_buyers, earlier_buyers.c.customer_id == in_range.c.customer_id))
    return int(total), int(session.scalar(counted) or 0)


def _growth(figures: Mapping[str, Any], period: Period) -> dict[str, Any]:
    change = figures["net_revenue"]["change"]
    if change is None:
        why = ("no comparison period is chosen" if period.compare_start is None
               else "the comparison period has no net revenue")
        return _component("growth", None, None, f"Not scored: {why}.")
    word = "up" if change >= 0 else "down"
    return _component("growth", change, growth_score(change),
                      f"Net revenue is {word} {abs(change):.0%} on the comparison period.")


def _margin(figures: Mapping[str, Any]) -> dict[str, Any]:
    margin, coverage = figures["margin"]["current"], figures["cost_coverage"]["current"]
    if margin is None:
        return _component("margin", None, None, "Not scored: no sale with a known unit cost.")
    return _component("margin", margin, margin_score(margin),
                      f"Gross margin is {margin:.0%} on the {coverage or 0:.0%} of net revenue "
                      "whose cost is known.")


def _returns(categories: pd.DataFrame) -> dict[str, Any]:
    gross, returned = float(categories["gross_sales"].sum()), float(categories["returns"].sum())
    if gross <= 0:
        return _component("returns", None, None, "Not scored: no gross sales in the range.")
    rate = returned / gross
    return _component("returns", rate, returns_score(rate),
                      f"Returns and cancellations are {rate:.1%} of gross sales.")


def _repeat(total: int, returning: int) -> dict[str, Any]:
    if not total:
        return _component("repeat", None, None, "Not scored: no known customer bought in range.")
    rate = returning / total
    return _component("repeat", rate, repeat_score(rate),
                      f"{rate:.0%} of the {total:,} customers of the range had bought before it.")


def _dependence(platforms: pd.DataFrame, products: pd.DataFrame) -> dict[str, Any]:
    shares = [(float(frame["share"].iloc[0]), str(frame[name].iloc[0]))
              for frame, name in ((platforms, "platform"), (products, "name"))
              if len(frame) and pd.notna(frame["share"].iloc[0])]
    if not shares:
        return _component("dependence", None, None, "Not scored: no net revenue in the range.")
    share, name = max(shares)
    return _component("dependence", share, dependence_score(share),
                      f"The largest part of net revenue, {share:.0%}, comes from {name}.")


def _forecast(outlook: Mapping[str, Any]) -> dict[str, Any]:
    if outlook["shown"] == "none":
        return _component("forecast", None, None, f"Not scored: {outlook['reason']}")
    # Until the view's model is trained (in the background), the seasonal-naive forecast.
    pending = outlook["shown"] == "pending"
    daily = outlook["naive"] if pending else outlook["forecast"]
    ahead = float(daily["forecast"].iloc[:FORECAST_DAYS].sum())
    recent = float(outlook["recent"])
    if recent <= 0:
        return _component("forecast", None, None, "Not scored: no net revenue in the last "
                                                  f"{FORECAST_DAYS} days.")
    change = ahead / recent - 1
    word = "above" if change >= 0 else "below"
    which = ("While the forecast model is being trained, the seasonal-naive" if pending
             else f"The {outlook['shown']}")
    return _component("forecast", change, growth_score(change),
                      f"{which} forecast puts the next {FORECAST_DAYS} days "
                      f"{abs(change):.0%} {word} the last {FORECAST_DAYS}.")


def _outlook(session: Session, scope: Scope, filters: Filters,
             period: Period) -> dict[str, Any]:
    """The daily forecast of the next 30 days (scored from the stored model, as on the
    Forecasts page) and the last 30 days' actual net revenue."""
    daily = replace(filters, grain="day", compare="none")
    series = forecasting.daily_series(session, scope, daily, period.asof, "net_revenue")
    outlook = forecasting.scored(session, scope, daily, period, series, "net_revenue",
                                 FORECAST_DAYS)
    return {**outlook, "recent": float(series.iloc[-FORECAST_DAYS:].sum())}


# --- actions ----------------------------------------------------------------------------------

def _actions(components: Mapping[str, Mapping[str, Any]], categories: pd.DataFrame,
             platforms: pd.DataFrame) -> list[dict[str, Any]]:
    """Candidate actions with how urgent each is (0-100), the most urgent first."""
    found: list[dict[str, Any]] = []
    shop = components["returns"]["value"]
    rated = categories.loc[categories["gross_sales"] > 0]
    if shop and len(rated):
        share = rated["gross_sales"] / rated["gross_sales"].sum()
        worst = rated.loc[(share >= 0.05) & (rated["return_rate"] >= 1.5 * shop)]
        if len(worst):
            row = worst.iloc[0]
            found.append({
                "urgency": clamp(100 * (row["return_rate"] - shop) / max(shop, 0.01) / 3),
                "text": f"{row['category']} returns are {row['return_rate']:.0%} of its sales "
                        f"vs {shop:.0%} across the shop: check its sizing, descriptions and "
                        "quality.",
                "link": _link("/products", category=row["category"])})
    dependence = components["dependence"]
    top = platforms.iloc[0] if len(platforms) else None
    if dependence["value"] is not None and dependence["value"] >= 0.5 and top is not None \
            and dependence["value"] == top["share"]:
        found.append({"urgency": 100 - dependence["score"],
                      "text": f"{top['platform']} brings {top['share']:.0%} of net revenue: "
                              "one outage or fee change there hits the whole business; grow "
                              "a second channel.",
                      "link": _link("/sales", platform=top["slug"])})
    growth = components["growth"]
    if growth["value"] is not None and growth["value"] <= -0.05:
        found.append({"urgency": 100 - growth["score"],
                      "text": f"Net revenue is down {abs(growth['value']):.0%} on the "
                              "comparison period: see which platforms and countries fell.",
                      "link": _link("/sales", compare="prev")})
    outlook = components["forecast"]
    if outlook["value"] is not None and outlook["value"] <= -0.05:
        found.append({"urgency": 100 - outlook["score"],
                      "text": f"The forecast puts the next {FORECAST_DAYS} days "
                              f"{abs(outlook['value']):.0%} below the last {FORECAST_DAYS}: "
                              "plan stock and campaigns for the dip.",
                      "link": _link("/forecasts", h="90")})
    repeat = components["repeat"]
    if repeat["value"] is not None and repeat["value"] < 0.25:
        found.append({"urgency": 100 - repeat["score"],
                      "text": f"Only {repeat['value']:.0%} of this range's customers had "
                              "bought before: a follow-up offer to first-time buyers pays.",
                      "link": _link("/customers")})
    margin = components["margin"]
    if margin["value"] is not None and margin["value"] < 0.3:
        found.append({"urgency": 100 - margin["score"],
                      "text": f"Gross margin is {margin['value']:.0%}: review discounts and "
                              "the least profitable products.",
                      "link": _link("/products", sort="margin")})
    return sorted(found, key=lambda action: -action["urgency"])[:TOP_ACTIONS]


@cached
def health(session: Session, scope: Scope, filters: Filters, period: Period) -> dict[str, Any]:
    """The health score (0-100, None without data), its components and the top actions."""
    # The KPIs and platforms through the cache: the page's KPI cards and platform chart
    # show the same, and one refresh computed them twice (0.35 s of SQL at all time).
    figures = reuse(kpis, session, scope, filters, period)
    categories = returns_by_category(session, scope, filters, period)
    platforms = reuse(revenue_by_platform, session, scope, filters, period)
    products = top_products(session, scope, filters, period, 1)
    components = [
        _growth(figures, period), _margin(figures), _returns(categories),
        _repeat(*repeat_rate(session, scope, filters, period,
                             int(figures["customers"]["current"] or 0))),
        # Chosen platforms make the platform share say nothing about the business.
        _dependence(platforms.iloc[:0] if filters.platforms else platforms, products),
        _forecast(_outlook(session, scope, filters, period)),
    ]
    by_key = {component["key"]: component for component in components}
    return {"score": total_score(components), "components": pd.DataFrame(components),
            "actions": _actions(by_key, categories, platforms)}
