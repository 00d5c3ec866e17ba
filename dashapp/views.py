"""From a query string to a checked view and its dates, for pages and the API alike."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from dashapp.context import fetch
from dashapp.filters import View, drop_unknown, parse_query, to_query
from services.dimensions import known_values
from services.filters import ParamSpec, Period
from services.sales import resolve


def checked_view(query: str | Mapping[str, Sequence[str]],
                 params: Sequence[ParamSpec] = ()) -> tuple[View, Period]:
    """Parse, drop what does not exist or is not visible to the user, resolve the dates."""
    view = parse_query(query, params)
    filters, notices = drop_unknown(view.filters, *fetch(known_values, view.filters))
    period = fetch(resolve, filters)
    return replace(view, filters=filters, notices=view.notices + tuple(notices)), period


def store_payload(path: str, view: View, period: Period,
                  params: Sequence[ParamSpec]) -> dict[str, Any]:
    """What the browser keeps of the current view (read by every chart callback)."""
    return {"path": path, "query": to_query(view.filters, view.page, params),
            "period": period.as_dict()}


def view_from_store(data: Mapping[str, Any] | None,
                    params: Sequence[ParamSpec] = ()) -> tuple[View, Period] | None:
    """Inverse of `store_payload`; None for a missing or malformed payload.

    The payload comes from the browser and may be crafted: it only ever narrows what the
    services return, because they apply the user's scope themselves.
    """
    if not data or not isinstance(data.get("query"), str):
        return None
    try:
        period = Period.from_dict(data["period"])
    except (KeyError, TypeError, ValueError):
        return None
    return parse_query(data["query"], params), period
