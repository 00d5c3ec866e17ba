"""The OpenAPI 3.1 description of the API, generated from the page and panel registries.

Nothing here is written per page: every page with an `api_name` becomes a path; its query
parameters are the global filters (`dashapp.filters.GLOBAL_PARAMS`, with the allowed values
and defaults of `services.filters`) and the page's own `params`; its response keys are the
envelope's and every panel's `api_keys`, described by the panel's title and subtitle. A page,
panel or choice added to the registry appears in the description (and in the reference page
rendered from it) without touching this module.
"""
from __future__ import annotations

import datetime as dt
import inspect
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from dashapp.filters import GLOBAL_PARAMS
from layouts.panels import FILTERS, Panel
from services.filters import (
    COMPARES,
    CUSTOM,
    DEFAULT_COMPARE,
    DEFAULT_GRAIN,
    DEFAULT_RANGE,
    GRAINS,
    MAX_TEXT,
    PAGE_FILTERS,
    PRESETS,
    REFRESHES,
    ParamSpec,
    Period,
)

if TYPE_CHECKING:  # layouts.pages imports every page layout, and they import the web package
    from layouts.pages import Page

OPENAPI_VERSION = "3.1.0"
JSON = "application/json"
SPEC_PATH = "openapi.json"  # under the API prefix, like the page endpoints
REFERENCE_PATH = "reference"  # the HTML reference rendered from this description
# The repeatable global filters, with what each of their values names.
_REPEATABLE = {"platform": "platform slug (e.g. online-store)",
               "product": "product SKU", "category": "product category"}
# The single-valued global filters; a new one in GLOBAL_PARAMS fails here until described.
_GLOBAL_TEXT = {
    "range": "The date range: a preset counted back from `asof`, or `custom` with `from` and "
             "`to` (the dates win over a preset when both are given).",
    "from": "First day of a custom range (YYYY-MM-DD); needs `to`.",
    "to": "Last day of a custom range (YYYY-MM-DD), inclusive; needs `from`.",
    "asof": "The day relative presets count back from (YYYY-MM-DD); default: the last day "
            "with data.",
    "grain": "The time bucket of time series.",
    "compare": "The period the numbers are compared with (`custom` with `cfrom` and `cto`).",
    "cfrom": "First day of a custom comparison range (YYYY-MM-DD); needs `cto`; wins over "
             "`compare`. Day d of the range meets the day as far from `cfrom`.",
    "cto": "Last day of a custom comparison range (YYYY-MM-DD), inclusive; needs `cfrom`.",
    "refresh": "A live view re-runs on this timer in the browser (no effect on the data "
               "returned).",
}
_ENVELOPE_TEXT = {
    "query": "The canonical query string of the view answered (the page URL's query).",
    "currency": "The currency of every money amount (ISO 4217 code).",
    "period": "The resolved dates of the view.",
    "page": "The page-level choices answered, defaults filled in.",
}
_PERIOD_TEXT = {
    "start": "First day of the range.", "end": "Last day of the range (inclusive).",
    "compare_start": "First day of the comparison range, if any.",
    "compare_end": "Last day of the comparison range, if any.",
    "asof": "The day relative presets were counted back from.",
    "first_data": "The first day with data in the caller's scope, if any.",
    "last_data": "The last day with data in the caller's scope, if any.",
    "label": "The dates in words, as the page shows them.",
    "compare_note": "Why the comparison is not like for like (it starts before the first "
                    "sale: no change is given; or it overlaps the range), else null.",
}
SECURITY_SCHEMES = {
    "bearerAuth": {"type": "http", "scheme": "bearer",
                   "description": "An API token (`Authorization: Bearer <token>`), created "
                                  "per user by an admin (Admin page, API tokens, or "
                                  "`pulseboard tokens create EMAIL`); shown once, revocable. "
                                  "The token's user's role and platform limits apply."},
    "sessionCookie": {"type": "apiKey", "in": "cookie", "name": "session",
                      "description": "The browser session of a logged-in user."},
}


def openapi_spec(pages: Sequence[Page], version: str, *, prefix: str = "/api/v1",
                 cookie: str = "session") -> dict[str, Any]:
    """The OpenAPI 3.1 description of every page endpoint of `pages` (a pure function).

    `prefix` is where the API is mounted and `cookie` the name of the session cookie.
    """
    paths: dict[str, Any] = {f"{prefix}/{page.api_name}": {"get": _operation(page)}
                             for page in pages if page.api_name}
    paths.update({f"{prefix}/{page.api_name}.pdf": {"get": _pdf_operation(page)}
                  for page in pages if page.api_name})
    paths[f"{prefix}/{SPEC_PATH}"] = {"get": _spec_operation()}
    schemes = {**SECURITY_SCHEMES,
               "sessionCookie": {**SECURITY_SCHEMES["sessionCookie"], "name": cookie}}
    return {
        "openapi": OPENAPI_VERSION,
        "info": {"title": "Pulseboard API", "version": version,
                 "description": "What each page of the app shows, as JSON: the same query "
                                "string as the page URL, the same numbers and the same "
                                "access rules. Invalid parameters are refused (400), never "
                                "silently replaced."},
        "security": [{"bearerAuth": []}, {"sessionCookie": []}],
        "paths": paths,
        "components": {"securitySchemes": schemes, "schemas": _error_schemas(),
                       "responses": _error_responses()},
    }


def _operation(page: Page) -> dict[str, Any]:
    return {
        "operationId": f"get_{page.api_name}",
        "summary": f"What the {page.title} page shows",
        "description": f"The data of every panel of the {page.title} page ({page.path}) for "
                       "the same query string as the page URL.",
        "tags": [page.title],
        "x-page": page.path,
        "parameters": global_parameters() + [_page_parameter(page, spec)
                                             for spec in page.params],
        "responses": {
            "200": {"description": f"The {page.title} page's data.",
                    "content": {JSON: {"schema": _response_schema(page)}}},
            "400": {"$ref": "#/components/responses/InvalidParameters"},
            "401": {"$ref": "#/components/responses/Unauthorized"},
            "404": {"$ref": "#/components/responses/NotFound"},
        },
    }


def _pdf_operation(page: Page) -> dict[str, Any]:
    """The page as a PDF: the same parameters, plus the paper (no `x-page`: the reference
    lists it with the page's JSON endpoint)."""
    paper = {"name": "paper", "in": "query", "required": False,
             "description": "The paper size of the PDF.",
             "schema": {"type": "string", "enum": ["A4", "Letter"], "default": "A4"}}
    return {
        "operationId": f"get_{page.api_name}_pdf",
        "summary": f"The {page.title} page as a PDF",
        "description": f"The {page.title} page ({page.path}) printed by headless Chromium as "
                       "the caller sees it: charts, KPI cards, tables (first rows and the "
                       "total count), a header with the filters in words and the dates.",
        "tags": [page.title],
        "parameters": global_parameters() + [_page_parameter(page, spec)
                                             for spec in page.params] + [paper],
        "responses": {
            "200": {"description": f"The {page.title} page as a PDF.",
                    "content": {"application/pdf": {"schema": {"type": "string",
                                                               "format": "binary"}}}},
            "400": {"$ref": "#/components/responses/InvalidParameters"},
            "401": {"$ref": "#/components/responses/Unauthorized"},
            "503": {"description": "The PDF could not be made (no Chromium on the server, "
                                   "or the page did not draw in time).",
                    "content": {JSON: {"schema": {"$ref": "#/components/schemas/Error"}}}},
        },
    }


def _spec_operation() -> dict[str, Any]:
    return {"operationId": "get_openapi", "summary": "This description",
            "tags": ["API"],
            "responses": {"200": {"description": "The OpenAPI 3.1 description of the API.",
                                  "content": {JSON: {"schema": {"type": "object"}}}},
                          "401": {"$ref": "#/components/responses/Unauthorized"}}}


def _enum(values: Iterable[str], default: str, labels: Mapping[str, str] | None = None,
          ) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string", "enum": list(values)}
    if default:
        schema["default"] = default
    if labels:
        schema["x-enumDescriptions"] = dict(labels)
    return schema


def _global_schema(name: str) -> dict[str, Any]:
    if name == "range":
        labels = {**PRESETS, CUSTOM: "Custom dates (from/to)"}
        return _enum(labels, DEFAULT_RANGE, labels)
    if name == "grain":
        return _enum(GRAINS, DEFAULT_GRAIN, GRAINS)
    if name == "compare":
        labels = {**COMPARES, CUSTOM: "Custom dates (cfrom/cto)"}
        return _enum(labels, DEFAULT_COMPARE, labels)
    if name == "refresh":
        return _enum(REFRESHES, "", REFRESHES)
    if name == "platform":
        return {"type": "array", "items": {"type": "string", "minLength": 1}}
    if name in _REPEATABLE:
        return {"type": "array", "items": {"type": "string", "minLength": 1,
                                           "maxLength": MAX_TEXT}}
    return {"type": "string", "format": "date"}  # from, to, asof


def global_parameters() -> list[dict[str, Any]]:
    """The global filters every page takes, as OpenAPI query parameters."""
    found = []
    for name in GLOBAL_PARAMS:
        parameter: dict[str, Any] = {"name": name, "in": "query", "required": False,
                                     "schema": _global_schema(name)}
        if name in _REPEATABLE:
            parameter.update(style="form", explode=True,
                             description=f"Only these: repeat it for several "
                                         f"(`{name}=a&{name}=b`), each a {_REPEATABLE[name]}. "
                                         "Unknown or not visible values are refused.")
        else:
            parameter["description"] = _GLOBAL_TEXT[name]
        found.append(parameter)
    return found


def _page_parameter(page: Page, spec: ParamSpec) -> dict[str, Any]:
    if spec.choices:
        schema = _enum(spec.choices, spec.default)
        kind = "One of the page's choices"
    else:
        schema = {"type": "string", "minLength": 1, "maxLength": MAX_TEXT}
        if spec.default:
            schema["default"] = spec.default
        kind = "Checked by the server" if spec.validate else f"Text, up to {MAX_TEXT} characters"
    role = (f"A filter of the {page.title} page only" if spec.name in PAGE_FILTERS
            else f"A choice of the {page.title} page")
    omitted = "" if spec.default else "; leave it out for none"
    return {"name": spec.name, "in": "query", "required": False, "schema": schema,
            "description": f"{role}, as in its URL. {kind}{omitted}."}


def accepted_filters(page: Page) -> frozenset[str]:
    """The filters (`layouts.panels.FILTERS`) a request to this page's endpoint can set."""
    return FILTERS & (frozenset(GLOBAL_PARAMS) | {spec.name for spec in page.params})


def ignored_filters(panel: Panel, page: Page) -> list[str]:
    """The filters the page takes that this panel does not obey (sorted)."""
    return sorted(accepted_filters(page) - panel.applies)


def shown_when(panel: Panel) -> str:
    """When a panel with a `when` condition is in the answer, from the condition's docstring
    ('Whether the view shows …' reads 'Only when the view shows …'); '' for every view."""
    if panel.when is None:
        return ""
    doc = (inspect.getdoc(panel.when) or "").split("\n", 1)[0].strip()
    if doc.startswith("Whether "):
        return "Only when " + doc.removeprefix("Whether ")
    return "Only in the views that show this panel."


def _panel_text(panel: Panel, page: Page) -> str:
    text = panel.title + (f": {panel.subtitle}" if panel.subtitle else "")
    text = text if text.endswith((".", ")")) else text + "."
    ignored = ignored_filters(panel, page)
    if ignored:
        text += f" Not filtered by {', '.join(ignored)}."
    return f"{text} {shown_when(panel)}".strip()


def response_keys(page: Page) -> dict[str, list[Panel]]:
    """Every key a panel of the page fills in its API response, with the panels filling it."""
    found: dict[str, list[Panel]] = {}
    for panel in page.panels:
        for key in panel.api_keys:
            found.setdefault(key, []).append(panel)
    return found


def _period_schema() -> dict[str, Any]:
    day = dt.date(2000, 1, 1)
    sample = Period(day, day, None, None, day, "", first_data=None).as_dict()
    properties = {}
    for key, value in sample.items():
        kind: dict[str, Any] = ({"type": "string"} if key == "label"
                                else {"type": "string", "format": "date"})
        if value is None:
            kind["type"] = ["string", "null"]
        properties[key] = {**kind, "description": _PERIOD_TEXT.get(key, key)}
    return {"type": "object", "properties": properties, "required": list(sample)}


def _response_schema(page: Page) -> dict[str, Any]:
    choices = {spec.name: {"type": "string"} for spec in page.params}
    properties: dict[str, Any] = {
        "query": {"type": "string", "description": _ENVELOPE_TEXT["query"]},
        "currency": {"type": "string", "description": _ENVELOPE_TEXT["currency"]},
        "period": {**_period_schema(), "description": _ENVELOPE_TEXT["period"]},
        "page": {"type": "object", "properties": choices, "description": _ENVELOPE_TEXT["page"]},
    }
    required = list(properties)
    for key, panels in response_keys(page).items():
        properties[key] = {
            "description": " ".join(_panel_text(panel, page) for panel in panels),
            "x-panels": [{"key": panel.key, "title": panel.title,
                          "subtitle": panel.subtitle or "",
                          "not_filtered_by": ignored_filters(panel, page),
                          "shown_when": shown_when(panel)} for panel in panels],
        }
        if all(panel.when is None for panel in panels):
            required.append(key)
    return {"type": "object", "properties": properties, "required": required}


def _error_schemas() -> dict[str, Any]:
    return {
        "Error": {"type": "object", "required": ["error"],
                  "properties": {"error": {"type": "string",
                                           "description": "What went wrong, in words."}}},
        "InvalidParameters": {
            "type": "object", "required": ["error", "notices"],
            "properties": {"error": {"type": "string"},
                           "notices": {"type": "array", "items": {"type": "string"},
                                       "description": "One message per refused parameter."}}},
    }


def _error_responses() -> dict[str, Any]:
    def answer(text: str, schema: str) -> dict[str, Any]:
        return {"description": text,
                "content": {JSON: {"schema": {"$ref": f"#/components/schemas/{schema}"}}}}
    return {
        "InvalidParameters": answer("Invalid, unknown or not visible parameters: nothing is "
                                    "answered, the notices name each one.",
                                    "InvalidParameters"),
        "Unauthorized": answer("Not logged in and no valid API token: no data.", "Error"),
        "NotFound": answer("Something the query names does not exist (an unknown SKU on the "
                           "products endpoint, or no such endpoint).", "Error"),
    }


def example_query(operation: Mapping[str, Any]) -> str:
    """A query string for an operation: every single-valued parameter at its default."""
    pairs = [(parameter["name"], parameter["schema"]["default"])
             for parameter in operation.get("parameters", ())
             if "default" in parameter["schema"] and parameter["name"] in GLOBAL_PARAMS]
    return urlencode(pairs)


def endpoints(spec: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The page endpoints of a description, in order, as the reference page lists them:
    path, operation, example URL, parameters and response keys."""
    found = []
    for path, item in spec["paths"].items():
        operation = item["get"]
        if "x-page" not in operation:
            continue  # the description itself
        schema = operation["responses"]["200"]["content"][JSON]["schema"]
        found.append({"path": path, "operation": operation,
                      "example": f"{path}?{example_query(operation)}",
                      "parameters": operation["parameters"],
                      "keys": schema["properties"], "required": set(schema["required"])})
    return found
