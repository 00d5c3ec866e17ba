"""The OpenAPI description and the API reference page: generated from the page and panel
registries (so nothing can be added without appearing), valid OpenAPI 3.1, and behind the
same login as every API route."""
from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from markupsafe import escape
from openapi_spec_validator import OpenAPIV31SpecValidator, validate
from sqlalchemy import select

import dashapp
from dashapp import api
from dashapp.filters import GLOBAL_PARAMS, parse_query
from dashapp.openapi import endpoints, openapi_spec
from layouts.pages import PAGES, Page
from layouts.panels import FILTERS
from services.filters import (
    COMPARES,
    CUSTOM,
    DEFAULT_COMPARE,
    DEFAULT_GRAIN,
    DEFAULT_RANGE,
    GRAINS,
    PRESETS,
    ParamSpec,
)
from services.users import create_user
from tests.conftest import PASSWORD, TestDatabase, login

SPEC_URL = "/api/v1/openapi.json"
REFERENCE_URL = "/api/v1/reference"
VIEWER = "openapi-viewer@example.com"
REFUSED = {"error": "Authentication required: log in or send a valid API token."}
API_PAGES = [page for page in PAGES if page.api_name]
CRAFTED = "<script>alert('x')</script>"


def spec_of(pages: Any = PAGES) -> dict[str, Any]:
    """The description of `pages` as the app builds it."""
    return openapi_spec(pages, dashapp.__version__)


def operation(spec: dict[str, Any], page: Page) -> dict[str, Any]:
    """The GET operation of a page's endpoint."""
    return spec["paths"][f"/api/v1/{page.api_name}"]["get"]


def parameters(spec: dict[str, Any], page: Page) -> dict[str, dict[str, Any]]:
    """A page endpoint's query parameters by name."""
    return {parameter["name"]: parameter for parameter in operation(spec, page)["parameters"]}


def response_properties(spec: dict[str, Any], page: Page) -> dict[str, Any]:
    """The keys of a page endpoint's 200 answer."""
    answer = operation(spec, page)["responses"]["200"]["content"]["application/json"]
    return answer["schema"]["properties"]


@pytest.fixture(scope="module")
def viewer(app: Flask) -> FlaskClient:
    """A client logged in as a viewer (the least role)."""
    from dashapp.extensions import db
    from models import User

    with app.app_context():
        if db.session.scalar(select(User).where(User.email == VIEWER)) is None:
            create_user(db.session, VIEWER, PASSWORD, "viewer")
            db.session.commit()
    return login(app.test_client(), VIEWER)


def test_every_page_endpoint_is_described_with_its_panels_and_params() -> None:
    spec = spec_of()
    assert API_PAGES, "the registry declares pages with an API"
    assert {f"/api/v1/{page.api_name}" for page in API_PAGES} <= set(spec["paths"])
    for page in API_PAGES:
        found = parameters(spec, page)
        assert list(found) == [*GLOBAL_PARAMS, *(spec_.name for spec_ in page.params)]
        for param in page.params:
            schema = found[param.name]["schema"]
            if param.choices:
                assert schema["enum"] == list(param.choices), (page.path, param.name)
            else:
                assert "enum" not in schema
            assert schema.get("default", "") == param.default
        keys = response_properties(spec, page)
        assert {"query", "currency", "period", "page"} <= set(keys)
        assert set(keys["page"]["properties"]) == {param.name for param in page.params}
        for panel in page.panels:
            for key in panel.api_keys:
                assert panel.title in keys[key]["description"], (page.path, key)
                assert panel.key in [entry["key"] for entry in keys[key]["x-panels"]]
        panel_keys = {key for panel in page.panels for key in panel.api_keys}
        assert set(keys) == {"query", "currency", "period", "page"} | panel_keys
        # A key is promised in every answer only when no panel filling it is conditional.
        required = set(operation(spec, page)["responses"]["200"]["content"][
            "application/json"]["schema"]["required"])
        always = {key for key in panel_keys if all(
            panel.when is None for panel in page.panels if key in panel.api_keys)}
        assert required == {"query", "currency", "period", "page"} | always
        for panel in page.panels:
            if panel.when is not None:
                entry = next(e for key in panel.api_keys for e in keys[key]["x-panels"]
                             if e["key"] == panel.key)
                assert entry["shown_when"].startswith("Only ")


def test_global_parameters_take_the_registry_values() -> None:
    found = parameters(spec_of(), API_PAGES[0])
    assert found["range"]["schema"]["enum"] == [*PRESETS, CUSTOM]
    assert found["range"]["schema"]["default"] == DEFAULT_RANGE
    assert found["grain"]["schema"]["enum"] == list(GRAINS)
    assert found["grain"]["schema"]["default"] == DEFAULT_GRAIN
    assert found["compare"]["schema"]["enum"] == list(COMPARES)
    assert found["compare"]["schema"]["default"] == DEFAULT_COMPARE
    assert found["range"]["schema"]["x-enumDescriptions"]["7d"] == PRESETS["7d"]


def _valid_value(schema: dict[str, Any]) -> str:
    if schema.get("type") == "array":
        return "a"
    if "enum" in schema:
        return schema["enum"][0]
    return "2011-01-01"  # a date


@pytest.mark.parametrize("name", GLOBAL_PARAMS)
def test_repeatable_parameters_are_exactly_those_the_parser_repeats(name: str) -> None:
    parameter = parameters(spec_of(), API_PAGES[0])[name]
    value = _valid_value(parameter["schema"])
    notices = parse_query(f"{name}={value}&{name}={value}").notices
    repeatable = not any("times; used the first" in notice for notice in notices)
    assert (parameter["schema"]["type"] == "array") == repeatable
    if repeatable:
        assert (parameter["style"], parameter["explode"]) == ("form", True)


def test_a_panel_or_param_added_to_a_page_appears_in_the_description() -> None:
    page = API_PAGES[0]
    added = replace(page.panels[-1], key="new-panel", title="A brand new panel",
                    subtitle="Its subtitle", api_key="new_rows",
                    api_extra=(("new_total", len),), applies=FILTERS - {"grain"}, when=None)
    param = ParamSpec("newparam", default="b", choices=("a", "b"))
    grown = replace(page, panels=page.panels + (added,), params=page.params + (param,))
    spec = spec_of([grown])
    keys = response_properties(spec, grown)
    for key in ("new_rows", "new_total"):
        assert "A brand new panel: Its subtitle" in keys[key]["description"]
        assert keys[key]["x-panels"][0]["not_filtered_by"] == ["grain"]
        assert key in operation(spec, grown)["responses"]["200"]["content"][
            "application/json"]["schema"]["required"]
    assert parameters(spec, grown)["newparam"]["schema"]["enum"] == ["a", "b"]
    assert "new_rows" not in response_properties(spec_of(), page)


def test_each_panel_names_the_filters_it_does_not_obey() -> None:
    spec = spec_of()
    for page in API_PAGES:
        offered = set(parameters(spec, page))
        keys = response_properties(spec, page)
        for panel in page.panels:
            for key in panel.api_keys:
                entry = next(e for e in keys[key]["x-panels"] if e["key"] == panel.key)
                # Every filter the page takes and the panel ignores, and no other.
                assert set(entry["not_filtered_by"]) == (FILTERS - panel.applies) & offered
                for name in entry["not_filtered_by"]:
                    assert name in keys[key]["description"]


def test_the_description_is_valid_openapi_3_1() -> None:
    spec = spec_of()
    assert spec["openapi"].startswith("3.1")
    assert spec["info"]["version"] == dashapp.__version__
    validate(spec, cls=OpenAPIV31SpecValidator)
    schemes = spec["components"]["securitySchemes"]
    assert schemes["bearerAuth"] == {**schemes["bearerAuth"], "type": "http",
                                     "scheme": "bearer"}
    assert (schemes["sessionCookie"]["type"], schemes["sessionCookie"]["in"]) == (
        "apiKey", "cookie")
    for page in API_PAGES:
        assert set(operation(spec, page)["responses"]) == {"200", "400", "401", "404"}
    errors = spec["components"]["schemas"]
    assert errors["InvalidParameters"]["required"] == ["error", "notices"]


def test_the_validator_catches_a_broken_description() -> None:
    # The check can fail: a parameter without its location is not OpenAPI.
    spec = spec_of()
    del operation(spec, API_PAGES[0])["parameters"][0]["in"]
    with pytest.raises(Exception, match="in"):
        validate(spec, cls=OpenAPIV31SpecValidator)


@pytest.mark.parametrize("url", [SPEC_URL, REFERENCE_URL])
def test_anonymous_requests_get_401_and_no_data(app: Flask, url: str) -> None:
    response = app.test_client().get(url)
    assert response.status_code == 401
    assert response.get_json() == REFUSED
    body = response.get_data(as_text=True)
    assert "paths" not in body and "<html" not in body


@pytest.mark.parametrize("url", [SPEC_URL, REFERENCE_URL])
def test_a_wrong_token_gets_401(app: Flask, url: str) -> None:
    response = app.test_client().get(url, headers={"Authorization": "Bearer pb_not-a-token"})
    assert response.status_code == 401 and response.get_json() == REFUSED


def test_a_viewer_gets_the_description_the_registry_generates(viewer: FlaskClient) -> None:
    response = viewer.get(SPEC_URL)
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.get_json() == json.loads(json.dumps(spec_of()))
    assert list(response.get_json()["paths"]) == list(spec_of()["paths"])  # registry order


def test_a_bearer_token_gets_the_description(app: Flask, sqlite_db: TestDatabase) -> None:
    response = app.test_client().get(
        SPEC_URL, headers={"Authorization": f"Bearer {sqlite_db.limited_token}"})
    assert response.status_code == 200 and "paths" in response.get_json()


def test_the_reference_shows_every_endpoint_parameter_and_key(viewer: FlaskClient) -> None:
    response = viewer.get(REFERENCE_URL)
    assert response.status_code == 200 and response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    spec = spec_of()
    for endpoint in endpoints(spec):
        assert f"<code class=\"api-ref-path\">{endpoint['path']}</code>" in html
        assert str(escape(endpoint["example"])) in html
        assert f'"http://localhost{escape(endpoint["example"])}"' in html  # the curl example
        for parameter in endpoint["parameters"]:
            assert f"<td data-label=\"Name\"><code>{parameter['name']}</code></td>" in html
            for value in parameter["schema"].get("enum", ()):
                assert f"<code>{escape(value)}</code>" in html
        for key, schema in endpoint["keys"].items():
            assert f"<td data-label=\"Key\"><code>{key}</code></td>" in html
            for panel in schema.get("x-panels", ()):
                assert str(escape(panel["title"])) in html
    assert "Authorization: Bearer $PULSEBOARD_TOKEN" in html
    assert {endpoint["path"] for endpoint in endpoints(spec)} == {
        f"/api/v1/{page.api_name}" for page in API_PAGES}


def test_the_reference_uses_only_our_own_assets_and_no_scripts(viewer: FlaskClient) -> None:
    response = viewer.get(REFERENCE_URL)
    html = response.get_data(as_text=True)
    assert "<script" not in html
    links = re.findall(r'(?:href|src)="([^"]*)"', html)
    assert links and all(link.startswith(("/", "#")) for link in links)
    assert "/assets/pulseboard.css" in links
    policy = response.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in policy.split("script-src", 1)[1].split(";", 1)[0]


@pytest.fixture
def crafted_pages(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The registry with a page whose panel, param and choice are HTML."""
    page = API_PAGES[0]
    panel = replace(page.panels[0], title=CRAFTED, subtitle=f"<b>{CRAFTED}</b>")
    param = ParamSpec("evil", default=CRAFTED, choices=(CRAFTED, "<img src=x onerror=alert(1)>"))
    crafted = replace(page, panels=(panel, *page.panels[1:]), params=(*page.params, param))
    monkeypatch.setattr(api, "PAGES", (crafted, *PAGES[1:]))
    yield CRAFTED


def test_the_reference_escapes_what_it_shows(viewer: FlaskClient, crafted_pages: str) -> None:
    html = viewer.get(REFERENCE_URL).get_data(as_text=True)
    assert crafted_pages not in html and "<img src=x" not in html and "<b>" not in html
    assert str(escape(crafted_pages)) in html
    assert "<script" not in html
