"""JSON API: `/api/v1/<page>?<the page's own query string>` returns what the page shows."""
from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pandas as pd
from flask import Blueprint, Response, current_app, jsonify, request

from dashapp.context import fetch
from dashapp.filters import to_query
from dashapp.views import checked_view
from layouts.pages import page_for
from services import overview

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


@bp.route("/overview")
def overview_api() -> tuple[Response, int] | Response:
    """KPIs, trend, revenue by platform and category and top products for the filters."""
    page = page_for("/")
    view, period = checked_view(request.args.to_dict(flat=False), page.params)
    if view.notices:
        return _error("Invalid query parameters.", 400, notices=list(view.notices))
    filters = view.filters
    return jsonify(
        query=to_query(filters, view.page, page.params),
        currency=current_app.config["CURRENCY"],
        period=period.as_dict(),
        kpis=fetch(overview.kpis, filters, period),
        trend=records(fetch(overview.revenue_trend, filters, period)),
        by_platform=records(fetch(overview.revenue_by_platform, filters, period)),
        by_category=records(fetch(overview.revenue_by_category, filters, period)),
        top_products=records(fetch(overview.top_products, filters, period)),
    )


@bp.errorhandler(404)
def _not_found(_error_value: Exception) -> tuple[Response, int]:
    return _error("No such API endpoint.", 404)
