"""From a query string to a checked view and its dates, for pages and the API alike."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from flask import Blueprint, abort, redirect
from werkzeug.wrappers import Response

from dashapp.context import current_role, fetch
from dashapp.filters import View, drop_unknown, parse_query, to_query
from layouts.pages import span_of
from services.dimensions import known_values
from services.errors import NotFound
from services.filters import Filters, ParamSpec, Period
from services.saved_views import view_url
from services.spans import SALES, resolve

bp = Blueprint("views", __name__)


def checked_view(query: str | Mapping[str, Sequence[str]],
                 params: Sequence[ParamSpec] = (), span: str = SALES) -> tuple[View, Period]:
    """Parse, drop what does not exist or is not visible to the user, resolve the dates
    against the page's data `span` (`layouts.pages.Page.span`)."""
    view = parse_query(query, params)
    filters, notices = drop_unknown(view.filters, *fetch(known_values, view.filters))
    return (replace(view, filters=filters, notices=view.notices + tuple(notices)),
            resolved(filters, span))


def resolved(filters: Filters, span: str = SALES) -> Period:
    """The concrete dates of `filters` against the span's data the user can see (cached:
    the sync callback resolves the same filters first, so a chart callback reads a hit)."""
    return fetch(resolve, filters, span)


def store_payload(path: str, view: View, period: Period,
                  params: Sequence[ParamSpec]) -> dict[str, Any]:
    """What the browser keeps of the current view (read by every chart callback).

    `period` is for the browser only (it shows what the server resolved): the server reads
    the query and resolves the dates again, see `view_from_store`.
    """
    return {"path": path, "query": to_query(view.filters, view.page, params),
            "period": period.as_dict()}


def view_from_store(data: Mapping[str, Any] | None,
                    params: Sequence[ParamSpec] = ()) -> tuple[View, Period] | None:
    """The view of a `store_payload`; None for a missing or malformed payload.

    The payload comes from the browser and may be crafted. Its query only ever narrows what
    the services return, because they apply the user's scope themselves; its `period` is
    never read: the dates are resolved again from the query, against the data, exactly as
    the sync callback resolved them (a forged period of years 100 to 9999 once made one
    trend request run for 25 s). The span is the payload's page's, looked up here: a
    crafted payload cannot pick another.
    """
    if not data or not isinstance(data.get("query"), str):
        return None
    view = parse_query(data["query"], params)
    path = data.get("path")
    return view, resolved(view.filters, span_of(path if isinstance(path, str) else None))


@bp.route("/v/<view_id>")
def permalink(view_id: str) -> Response:
    """A saved view's short link: a redirect to its page URL for a user who may open it, 404
    for anyone else (login is required like everywhere; the page then applies the opener's
    own platform limit to the view's filters)."""
    try:
        return redirect(fetch(view_url, current_role(), view_id))
    except NotFound:
        abort(404)
