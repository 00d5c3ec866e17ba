"""Simulated customers: who places each order, from first purchase to churn."""
from __future__ import annotations

import numpy as np

from services.demo_data.plan import PLANTED, PLATFORMS


def assign_customers(rng: np.random.Generator,
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
    pools: list[dict[str, np.ndarray]] = []
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
