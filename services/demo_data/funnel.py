"""The daily shopping funnel of each online platform, built backwards from its purchases."""
from __future__ import annotations

import numpy as np

from services.demo_data.days import Calendar
from services.demo_data.plan import PLANTED, PLATFORMS
from services.demo_data.rows import Columns, row_ids
from services.demo_data.sales import Sales


def funnel_rows(rng: np.random.Generator, calendar: Calendar, sales: Sales,
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
    return {"id": row_ids(len(columns["date"])), **columns}


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
