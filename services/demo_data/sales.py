"""Simulated sales: the scale that gives the requested lines, then orders, their lines,
cancellations and returns."""
from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from services.demo_data.catalog import Catalog, mean_lines_per_order, return_rates
from services.demo_data.customers import assign_customers
from services.demo_data.days import Calendar
from services.demo_data.marketing import MarketingPlan
from services.demo_data.plan import PLANTED, PLATFORMS
from services.timezones import local_to_utc


def orders_per_unit_rate(lines: int, calendar: Calendar, catalog: Catalog,
                         plan: MarketingPlan) -> float:
    """Solve expected total lines (sales, lifts, cancellations, returns) = `lines`."""
    positive = (mean_lines_per_order() * calendar.rate.sum()
                + plan.post_lift["expected"].sum() + plan.campaign_lift["expected"].sum())
    return_rate = float(np.dot(catalog.weight, return_rates(catalog)))
    cancel = PLANTED["cancellation_rate"]
    return lines / (positive * (1 + cancel + return_rate * (1 - cancel)))


@dataclass(frozen=True)
class Sales:
    """The simulated orders, lines and customers, numbered as they are stored."""

    orders: dict[str, Any]  # index + 1 = id; arrays, but "order_number" is a list of str
    lines: dict[str, np.ndarray]  # index + 1 = id
    customers: dict[str, np.ndarray]  # index + 1 = id
    sales_orders: dict[str, np.ndarray]  # the positive orders before returns: source, id


def simulate_sales(rng: np.random.Generator, customer_rng: np.random.Generator,
                   calendar: Calendar, catalog: Catalog, plan: MarketingPlan, scale: float,
                   zone: zoneinfo.ZoneInfo) -> Sales:
    """Orders with customers and lines, cancellations and returns."""
    orders = _order_headers(rng, calendar, plan, scale, zone)
    customers = assign_customers(customer_rng, orders)
    lines = _sale_lines(rng, orders, catalog)
    lines = _with_cancellations(rng, orders, lines)
    returns, return_lines = _returns(rng, orders, lines, catalog, calendar, zone)
    return _number_everything(orders, lines, returns, return_lines, customers)


def _order_headers(rng: np.random.Generator, calendar: Calendar, plan: MarketingPlan,
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


def _restrict_to_history(orders: dict[str, np.ndarray], calendar: Calendar,
                         ) -> dict[str, np.ndarray]:
    inside = ((orders["sale_date"] >= calendar.days[0])
              & (orders["sale_date"] <= calendar.days[-1]))
    orders = {key: values[inside] for key, values in orders.items()}
    orders["day"] = (orders["sale_date"] - calendar.days[0]).astype(np.int64)
    return orders


def _sale_lines(rng: np.random.Generator, orders: dict[str, np.ndarray],
                catalog: Catalog) -> dict[str, np.ndarray]:
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
                     catalog: Catalog) -> np.ndarray:
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
             lines: dict[str, np.ndarray], catalog: Catalog, calendar: Calendar,
             zone: zoneinfo.ZoneInfo) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Return orders (negative lines only) dated a few days after the original order."""
    eligible = (lines["quantity"] > 0) & ~orders["cancelled"][lines["order"]]
    returned = eligible & (rng.random(len(eligible)) < return_rates(catalog)[lines["product"]])
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
                       customers: dict[str, np.ndarray]) -> Sales:
    """Merge sales and returns in time order, assign ids and copy order fields to lines."""
    n_sales = len(orders["day"])
    columns = ("ordered_at", "sale_date", "sale_hour", "platform", "customer", "country")
    merged: dict[str, Any] = {key: np.concatenate([orders[key], returns[key]])
                              for key in columns}
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
    return Sales(merged, all_lines, customers, sales_orders)


def _order_numbers(platform: np.ndarray, is_return: np.ndarray) -> list[str]:
    """'<PREFIX>-0000001' per platform in time order; returns get an 'R' before the number."""
    frame = pd.DataFrame({"platform": platform})
    sequence = frame.groupby("platform").cumcount().to_numpy() + 1
    prefixes = [prefix for _kind, prefix in PLATFORMS.values()]
    return [f"{prefixes[p]}-{'R' if r else ''}{s:07d}"
            for p, r, s in zip(platform.tolist(), is_return.tolist(), sequence.tolist(),
                               strict=True)]
