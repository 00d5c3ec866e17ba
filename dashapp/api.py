"""JSON API: `/api/v1/<page>?<the page's own query string>` returns what the page shows."""
from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pandas as pd
from flask import Blueprint, Response, abort, current_app, jsonify, request

from dashapp.context import fetch
from dashapp.filters import View, to_query
from dashapp.views import checked_view
from layouts.pages import Page, page_for
from services import overview, product_analysis, sales_analysis
from services.errors import NotFound
from services.filters import Period
from services.sales import totals

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def _json_value(value: Any) -> Any:
    if isinstance(value, (dt.date, pd.Timestamp)):
        return value.isoformat()[:10]
    if value is None or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item"):  # numpy scalars
        return _json_value(value.item())
    return value


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A DataFrame as JSON-ready rows: ISO dates, NaN as null."""
    return [{key: _json_value(value) for key, value in row.items()}
            for row in frame.to_dict(orient="records")]


def _error(message: str, status: int, **extra: Any) -> tuple[Response, int]:
    return jsonify(error=message, **extra), status


def page_view(path: str) -> tuple[Page, View, Period]:
    """The request's query string checked as the page at `path` checks it.

    Invalid parameters abort with a 400 naming them: an API client gets a refusal, not a
    silently different answer.
    """
    page = page_for(path)
    view, period = checked_view(request.args.to_dict(flat=False), page.params)
    if view.notices:
        response, status = _error("Invalid query parameters.", status=400,
                                  notices=list(view.notices))
        response.status_code = status
        abort(response)
    return page, view, period


def envelope(page: Page, view: View, period: Period) -> dict[str, Any]:
    """What every page endpoint answers with besides its data: the canonical query, the
    currency, the resolved dates and the page-level choices."""
    return {"query": to_query(view.filters, view.page, page.params),
            "currency": current_app.config["CURRENCY"], "period": period.as_dict(),
            "page": dict(view.page)}


@bp.route("/overview")
def overview_api() -> Response:
    """KPIs, trend, revenue by platform and category and top products for the filters."""
    page, view, period = page_view("/")
    filters = view.filters
    return jsonify(
        **envelope(page, view, period),
        kpis=fetch(overview.kpis, filters, period),
        trend=records(fetch(overview.revenue_trend, filters, period)),
        by_platform=records(fetch(overview.revenue_by_platform, filters, period)),
        by_category=records(fetch(overview.revenue_by_category, filters, period)),
        top_products=records(fetch(overview.top_products, filters, period)),
    )


@bp.route("/sales")
def sales_api() -> Response:
    """Everything the Sales page shows: trend with growth, weekdays and hours, geography,
    platforms and channels, returns; `country`, `metric` and `sort` as on the page."""
    page, view, period = page_view("/sales")
    filters, country = view.filters, view.page.get("country", "")
    weekdays = fetch(sales_analysis.by_weekday, filters, period, country)
    countries = fetch(sales_analysis.by_country, filters, period)
    return jsonify(
        **envelope(page, view, period),
        trend=records(fetch(sales_analysis.metric_trend, filters, period,
                            view.page.get("metric", "net_revenue"), country)),
        by_weekday=records(weekdays),
        best_day=sales_analysis.best_day(weekdays),
        by_weekday_hour=records(fetch(sales_analysis.by_weekday_hour, filters, period,
                                      country)),
        by_country=records(sales_analysis.sorted_countries(countries,
                                                           view.page.get("sort", ""))),
        by_region=records(fetch(sales_analysis.by_region, filters, period, country)),
        by_platform=records(fetch(sales_analysis.by_platform, filters, period, country)),
        by_channel=records(fetch(sales_analysis.by_channel, filters, period, country)),
        returns=fetch(sales_analysis.returns_summary, filters, period, country),
        returns_by_category=records(fetch(sales_analysis.returns_by_category, filters, period,
                                          country)),
        top_returned_products=records(fetch(sales_analysis.top_returned_products, filters,
                                            period, country)),
    )


@bp.route("/products")
def products_api() -> tuple[Response, int] | Response:
    """Everything the Products page shows; with `sku`, that product's drill-down."""
    page, view, period = page_view("/products")
    sku = view.page.get("sku", "")
    if sku:
        try:
            return jsonify(**envelope(page, view, period), **_product_drill(view, period, sku))
        except NotFound as error:
            return _error(str(error), 404)
    filters = view.filters
    frame = fetch(product_analysis.product_performance, filters, period)
    return jsonify(
        **envelope(page, view, period),
        best_sellers=records(product_analysis.best_sellers(frame)),
        most_profitable=records(product_analysis.most_profitable(frame)),
        profit_coverage=product_analysis.profit_coverage(frame),
        low_performers=records(fetch(product_analysis.low_performers, filters, period)),
        share_by_product=records(product_analysis.revenue_share_by_product(frame)),
        share_by_category=records(fetch(overview.revenue_by_category, filters, period)),
        price_vs_margin=records(product_analysis.price_vs_margin(frame)),
        products=records(product_analysis.product_table(frame, view.page.get("q", ""),
                                                        view.page.get("sort", ""))),
    )


def _product_drill(view: View, period: Period, sku: str) -> dict[str, Any]:
    product = fetch(product_analysis.product_info, sku)
    filters = product_analysis.drill_filters(view.filters, sku)
    return {
        "product": product,
        "kpis": fetch(totals, filters, period.start, period.end),
        "trend": records(fetch(overview.revenue_trend, filters, period)),
        "by_platform": records(fetch(overview.revenue_by_platform, filters, period)),
        "by_country": records(fetch(sales_analysis.by_country, filters, period)),
        "top_customers": records(fetch(product_analysis.top_customers, filters, period)),
        "posts": records(fetch(product_analysis.posts_featuring, filters, period)),
    }


@bp.errorhandler(404)
def _not_found(_error_value: Exception) -> tuple[Response, int]:
    return _error("No such API endpoint.", 404)
