"""The Overview page: KPIs with comparison, revenue trend, revenue by platform and category,
top products. The API returns exactly what these functions compute."""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import func
from sqlalchemy.orm import Session

from models import OrderLine, Platform, Product
from services.cache import cached, reuse
from services.filters import Filters, Period
from services.metrics import KPI_KEYS, change, money
from services.rollups import Lines
from services.sales import (
    grouped_metrics,
    metrics_by_period,
    net_revenue_by,
    totals,
)
from services.scope import Scope
from services.trends import ROLLING_WINDOWS, metric_trend

UNCATEGORISED = "Uncategorised"


@cached
def kpis(session: Session, scope: Scope, filters: Filters,
         period: Period) -> dict[str, dict[str, float | int | None]]:
    """Each KPI with its current value, comparison value and change."""
    current = totals(session, scope, filters, period.start, period.end)
    previous: dict[str, Any] = {}
    if period.comparison:  # only a comparison the data covers gives a change
        previous = totals(session, scope, filters, *period.comparison)
    result = {
        key: {
            "current": current[key],
            "comparison": previous.get(key),
            "change": change(key, current[key], previous.get(key)),
        }
        for key in KPI_KEYS
    }
    result["cost_coverage"] = {"current": current["cost_coverage"],
                               "comparison": previous.get("cost_coverage"), "change": None}
    return result


@cached
def kpi_cards(session: Session, scope: Scope, filters: Filters,
              period: Period) -> dict[str, Any]:
    """What the KPI cards show: each KPI with its comparison (`kpis`) and every KPI per
    bucket of the range at the chosen grain (`kpi_series`, for the sparklines)."""
    # Through the cache: the health card reads the same KPIs (`insights.health`).
    return {"kpis": reuse(kpis, session, scope, filters, period),
            "kpi_series": kpi_series(session, scope, filters, period)}


@cached
def kpi_series(session: Session, scope: Scope, filters: Filters, period: Period) -> pd.DataFrame:
    """Every KPI per bucket of the current range at the chosen grain (for sparklines)."""
    return metrics_by_period(session, Lines(filters, scope, period.start, period.end),
                             filters.grain)


@cached
def revenue_trend(session: Session, scope: Scope, filters: Filters,
                  period: Period) -> pd.DataFrame:
    """Net revenue per bucket with the comparison period aligned bucket by bucket.

    Columns: bucket, net_revenue, compare_bucket, compare_net_revenue and, at day grain,
    rolling_3/7/30 (trailing means of daily net revenue that include days before the range,
    so the first point of a 30-day average is not an average of one day). The same pipeline
    as every trend (`services.trends.metric_trend`), without growth rates.
    """
    trend = metric_trend(session, scope, filters, period, "net_revenue", growth=False)
    trend = trend.rename(columns={"value": "net_revenue", "compare_value": "compare_net_revenue"})
    rolling = [f"rolling_{window}" for window in ROLLING_WINDOWS]
    return trend[["bucket", "net_revenue", "compare_bucket", "compare_net_revenue", *rolling]]


def _with_share(frame: pd.DataFrame) -> pd.DataFrame:
    total = frame["net_revenue"].sum()
    frame["share"] = frame["net_revenue"] / total if total else np.nan
    return frame


@cached
def revenue_by_platform(session: Session, scope: Scope, filters: Filters,
                        period: Period) -> pd.DataFrame:
    """Metrics per platform in range (with comparison revenue), largest first."""
    dims = [Platform.slug.label("slug"), Platform.name.label("platform"),
            Platform.kind.label("kind")]
    joins = [(Platform, Platform.id == OrderLine.platform_id)]
    frame = grouped_metrics(session, Lines(filters, scope, period.start, period.end),
                            dims, joins, order_by_revenue=True, counts=("orders",))
    frame["compare_net_revenue"] = np.nan
    if period.comparison and len(frame):
        previous = net_revenue_by(session, Lines(filters, scope, *period.comparison),
                                  dims[:1], joins)
        frame["compare_net_revenue"] = frame["slug"].map(
            previous.set_index("slug")["net_revenue"]).fillna(0.0)
    return _with_share(frame)


@cached
def revenue_by_category(session: Session, scope: Scope, filters: Filters,
                        period: Period) -> pd.DataFrame:
    """Metrics per product category in range, largest first."""
    category = func.coalesce(Product.category, UNCATEGORISED).label("category")
    frame = grouped_metrics(session, Lines(filters, scope, period.start, period.end),
                            [category], [(Product, Product.id == OrderLine.product_id)],
                            order_by_revenue=True, counts=())
    return _with_share(frame)


@cached
def top_products(session: Session, scope: Scope, filters: Filters, period: Period,
                 limit: int = 10) -> pd.DataFrame:
    """The `limit` products with the highest net revenue in range."""
    dims = [Product.sku.label("sku"), Product.name.label("name"),
            func.coalesce(Product.category, UNCATEGORISED).label("category")]
    frame = grouped_metrics(session, Lines(filters, scope, period.start, period.end), dims,
                            [(Product, Product.id == OrderLine.product_id)],
                            order_by_revenue=True, limit=limit, with_total=True,
                            counts=("orders",))
    total = frame.pop("total_net_revenue").map(money)
    frame["share"] = (frame["net_revenue"] / total).where(total != 0)
    return frame
