"""JSON API: `/api/v1/<page>?<the page's own query string>` returns what the page shows:
the rows of every panel the page declares (`layouts.panels`), under its API key."""
from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    jsonify,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from dashapp import __version__, pdf
from dashapp.context import setting
from dashapp.filters import View, page_choices, to_query
from dashapp.model_jobs import train_for_view, untrained
from dashapp.openapi import REFERENCE_PATH, SPEC_PATH, endpoints, openapi_spec
from dashapp.panels import source_data, source_key
from dashapp.views import checked_view
from layouts.pages import PAGES, Page, nav_links, page_for
from services.errors import NotFound
from services.filters import Period

bp = Blueprint("api", __name__, url_prefix="/api/v1")
bp.register_blueprint(pdf.bp)  # the PDF renderer's one-time sign-in route


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


def page_view(path: str, args: MultiDict[str, str] | None = None) -> tuple[Page, View, Period]:
    """The request's query string (or `args`) checked as the page at `path` checks it.

    Invalid parameters abort with a 400 naming them: an API client gets a refusal, not a
    silently different answer.
    """
    page = page_for(path)
    assert page is not None  # the API asks only for the paths of registered pages
    query = request.args if args is None else args
    view, period = checked_view(query.to_dict(flat=False), page.params, page.span)
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
            "currency": setting("CURRENCY"), "period": period.as_dict(),
            "page": page_choices(view, page.params)}


def jsonable(value: Any) -> Any:
    """A panel's rows as JSON: frames as records, dicts and lists value by value."""
    if isinstance(value, pd.DataFrame):
        return records(value)
    if isinstance(value, Mapping):
        return {key: jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(item) for item in value]
    return _json_value(value)


def page_data(page: Page, view: View, period: Period) -> dict[str, Any]:
    """Every panel the view shows, under its API key, from one call per source."""
    found: dict[str, Any] = {}
    results: dict[tuple[Any, ...], Any] = {}
    for panel in page.panels:
        if not panel.shown(view):
            continue
        key = source_key(panel)
        if key not in results:
            results[key] = source_data(panel, view, period)[0]
        data = results[key]
        rows = panel.rows(data, view)
        if isinstance(panel.api_key, str):
            found[panel.api_key] = jsonable(rows)
        else:
            found.update({name: jsonable(rows[name]) for name in panel.api_key})
        found.update({name: jsonable(extra(data)) for name, extra in panel.api_extra})
    return found


def page_endpoint(page: Page) -> Callable[[], tuple[Response, int] | Response]:
    """The API endpoint of a page: what the page shows, for its own query string."""
    def answer() -> tuple[Response, int] | Response:
        checked, view, period = page_view(page.path)
        if checked.models and untrained(checked, view, period):
            # A page redraws a model's panels once its background training ends; an API
            # answer cannot, so the view's missing models are trained before it is made
            # (the check first: most answers find them stored, and need no app context).
            server = current_app._get_current_object()  # type: ignore[attr-defined]  # a proxy
            query = to_query(view.filters, view.page, checked.params)
            train_for_view(server, current_user.id, f"{checked.path}?{query}")
        try:
            return jsonify(**envelope(checked, view, period), **page_data(checked, view, period))
        except NotFound as error:
            return _error(str(error), 404)
    answer.__doc__ = f"What the {page.title} page shows (see the OpenAPI description)."
    return answer


def pdf_endpoint(page: Page) -> Callable[[], tuple[Response, int] | Response]:
    """The PDF of a page for its own query string (plus `paper=A4|Letter`), as the caller
    sees it."""
    def answer() -> tuple[Response, int] | Response:
        args = request.args.copy()
        paper = args.pop("paper", "A4")
        if paper not in pdf.PAPERS:
            return _error(f"Unknown paper {paper!r}: choose {' or '.join(pdf.PAPERS)}.", 400)
        checked, view, _period = page_view(page.path, args)
        query = to_query(view.filters, view.page, checked.params)
        server = current_app._get_current_object()  # type: ignore[attr-defined]  # a proxy
        try:
            document = pdf.render_pdf(server, current_user.id, f"{page.path}?{query}", paper,
                                      base_url=request.host_url)
        except pdf.PdfRefused as error:
            return _error(str(error), 403)
        except pdf.PdfError as error:
            return _error(str(error), 503)
        response = current_app.response_class(document, mimetype="application/pdf")
        response.headers["Content-Disposition"] = \
            f'attachment; filename="{pdf.file_name(page.title)}"'
        return response
    answer.__doc__ = f"The {page.title} page as a PDF (see the OpenAPI description)."
    return answer


for _page in PAGES:  # one route per page with an API name: /api/v1/overview, /api/v1/sales, …
    if _page.api_name:
        bp.add_url_rule(f"/{_page.api_name}", endpoint=f"{_page.api_name}_api",
                        view_func=page_endpoint(_page))
        bp.add_url_rule(f"/{_page.api_name}.pdf", endpoint=f"{_page.api_name}_pdf",
                        view_func=pdf_endpoint(_page))


@bp.errorhandler(404)
def _not_found(_error_value: Exception) -> tuple[Response, int]:
    return _error("No such API endpoint.", 404)


def api_description() -> dict[str, Any]:
    """The OpenAPI description of this API, generated from the page registry."""
    return openapi_spec(PAGES, __version__, prefix=bp.url_prefix or "",
                        cookie=current_app.config["SESSION_COOKIE_NAME"])


@bp.get(f"/{SPEC_PATH}")
def openapi_json() -> Response:
    """The OpenAPI 3.1 description, in the registry's order (jsonify would sort the keys)."""
    return current_app.response_class(json.dumps(api_description(), indent=2) + "\n",
                                      mimetype="application/json")


@bp.get(f"/{REFERENCE_PATH}")
def reference() -> str:
    """The API reference for people: the same description, as a page of the app."""
    spec = api_description()
    return render_template("api_reference.html", spec=spec, endpoints=endpoints(spec),
                           base=request.host_url.rstrip("/"), spec_url=url_for(".openapi_json"),
                           links=nav_links(current_user.role), email=current_user.email)
