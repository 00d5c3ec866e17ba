"""The catalogue: products, their prices and popularity, and their special roles."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from services.demo_data.plan import ADJECTIVES, CATEGORIES, PLANTED


@dataclass(frozen=True)
class Catalog:
    """The products as columns (index = product id - 1) and their roles."""

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
    def build(cls, rng: np.random.Generator) -> Catalog:
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
        first, last = settings["inactive_retired_days"]
        retired_day[inactive] = rng.integers(first, last, len(inactive))
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


def mean_lines_per_order() -> float:
    """Mean number of lines of a baseline order."""
    distribution = PLANTED["lines_per_order"]
    return sum(k * p for k, p in distribution.items())


def return_rates(catalog: Catalog) -> np.ndarray:
    """The planted return rate of each product (by its category)."""
    return np.array([PLANTED["return_rates"][c] for c in catalog.category])
