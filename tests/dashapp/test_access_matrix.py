"""The access matrix, kept as data: every route × method × role with its expected outcome.

The test enumerates the app's routes: a route that is not in the matrix fails CI, so nobody
can add an endpoint without deciding who may use it.
"""
from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from layouts.pages import PAGES
from services.users import create_user
from tests.conftest import ADMIN, ANALYST, LIMITED, PASSWORD, login, view_inputs

ROLES = ("anonymous", "viewer", "analyst", "limited", "admin")
VIEWER = "matrix-viewer@example.com"
EVERYONE = {"anonymous": 401, "viewer": 200, "analyst": 200, "limited": 200, "admin": 200}
PAGE = {"anonymous": 302, "viewer": 200, "analyst": 200, "limited": 200, "admin": 200}
PUBLIC = dict.fromkeys(ROLES, 200)

# endpoint -> method -> (url, {role: expected status})
MATRIX: dict[str, dict[str, tuple[str, dict[str, int]]]] = {
    "auth.login": {"GET": ("/login", PUBLIC),
                   "POST": ("/login", dict.fromkeys(ROLES, 400))},  # no CSRF token
    "health.healthz": {"GET": ("/healthz", PUBLIC)},
    # The e-mailed links: public by design, each needs a signed, expiring token (a made-up
    # one is 404; a post without the form's CSRF token is 400, whoever sends it).
    "auth.forgot_password": {"GET": ("/forgot-password", PUBLIC),
                             "POST": ("/forgot-password", dict.fromkeys(ROLES, 400))},
    "auth.choose_password": {"GET": ("/account/password/not-a-token", dict.fromkeys(ROLES, 404)),
                             "POST": ("/account/password/not-a-token", dict.fromkeys(ROLES, 400))},
    "auth.unsubscribe_digest": {
        "GET": ("/digests/unsubscribe/not-a-token", dict.fromkeys(ROLES, 404)),
        "POST": ("/digests/unsubscribe/not-a-token", dict.fromkeys(ROLES, 400))},
    "_dash_assets.static": {"GET": ("/assets/pulseboard.css", PUBLIC)},
    "/_favicon.ico": {"GET": ("/_favicon.ico", PUBLIC)},
    "auth.favicon": {"GET": ("/favicon.ico", dict.fromkeys(ROLES, 301))},  # to /_favicon.ico
    "static": {"GET": ("/static/missing.css", dict.fromkeys(ROLES, 404))},
    "auth.logout": {"POST": ("/logout", {"anonymous": 302, "viewer": 400, "analyst": 400,
                                         "limited": 400, "admin": 400})},  # no CSRF token
    "auth.stop_viewing_as": {"POST": ("/view-as/stop", {"anonymous": 302, "viewer": 400,
                                                        "analyst": 400, "limited": 400,
                                                        "admin": 400})},
    "auth.start_viewing_as": {"POST": ("/view-as/start", {"anonymous": 302, "viewer": 400,
                                                          "analyst": 400, "limited": 400,
                                                          "admin": 400})},  # no CSRF token
    "/_dash-layout": {"GET": ("/_dash-layout", EVERYONE)},
    "/_dash-dependencies": {"GET": ("/_dash-dependencies", EVERYONE)},
    "/_dash-update-component": {"POST": ("/_dash-update-component", {
        "anonymous": 401, "viewer": 204, "analyst": 204, "limited": 204, "admin": 204})},
    "/_dash-component-suites/<string:package_name>/<path:fingerprinted_path>": {"GET": (
        "/_dash-component-suites/dash/dcc/dash_core_components.v4_4_1m1.js", EVERYONE)},
    "/_reload-hash": {"GET": ("/_reload-hash", EVERYONE)},  # Dash dev-tools hash, no data
    "/": {"GET": ("/", PAGE)},
    # The OpenAPI description and the reference page rendered from it: any logged-in user.
    "api.openapi_json": {"GET": ("/api/v1/openapi.json", EVERYONE)},
    "api.reference": {"GET": ("/api/v1/reference", EVERYONE)},
    # A saved view's permalink: a login first; an id nobody may open is 404 for everyone
    # (tests/dashapp/test_permalinks.py covers the views that resolve).
    "views.permalink": {"GET": ("/v/not-a-view-id", {
        "anonymous": 302, "viewer": 404, "analyst": 404, "limited": 404, "admin": 404})},
    # The full export of the Data page: analysts and admins export, viewers do not.
    "downloads.data_export": {"GET": ("/data/export.csv?range=30d", {
        "anonymous": 302, "viewer": 403, "analyst": 200, "limited": 200, "admin": 200})},
}
API_OK = {"anonymous": 401, "viewer": 200, "analyst": 200, "limited": 200, "admin": 200}
PDF_SIGN_IN = {"anonymous": 401, "viewer": 403, "analyst": 403, "limited": 403, "admin": 403}


ADMIN_PAGE = {"anonymous": 302, "viewer": 403, "analyst": 403, "limited": 403, "admin": 200}
ANALYST_PAGE = {"anonymous": 302, "viewer": 403, "analyst": 200, "limited": 200,
                "admin": 200}
# Every page of the registry, with who may open it (written out, not read from the code).
PAGE_MATRIX = {"/": PAGE, "/sales": PAGE, "/products": PAGE, "/customers": PAGE,
               "/funnel": PAGE, "/pipeline": PAGE, "/forecasts": PAGE, "/marketing": PAGE,
               "/data": ANALYST_PAGE, "/admin": ADMIN_PAGE}


def test_every_page_is_in_the_matrix() -> None:
    assert {page.path for page in PAGES} == set(PAGE_MATRIX)


def pages_matrix() -> dict[str, tuple[str, dict[str, int]]]:
    """Every page path with its expected outcome per role."""
    return {path: (path, expected) for path, expected in PAGE_MATRIX.items() if path != "/"}


@pytest.fixture(scope="module")
def clients(app: Flask) -> Iterator[dict[str, FlaskClient]]:
    """A logged-in client per role (and an anonymous one)."""
    from dashapp.extensions import db

    with app.app_context():
        from sqlalchemy import select

        from models import User
        if db.session.scalar(select(User).where(User.email == VIEWER)) is None:
            create_user(db.session, VIEWER, PASSWORD, "viewer")
            db.session.commit()
    emails = {"viewer": VIEWER, "analyst": ANALYST, "limited": LIMITED, "admin": ADMIN}
    found = {role: login(app.test_client(), email) for role, email in emails.items()}
    found["anonymous"] = app.test_client()
    yield found


def status_of(client: FlaskClient, method: str, url: str) -> int:
    """The status of one request (the response is closed: static files hold a handle)."""
    if method == "POST" and url == "/_dash-update-component":
        # A well-formed call that changes nothing: the trend of an empty view.
        payload = {"output": "..overview-trend.figure...overview-trend-note.children..",
                   "outputs": [{"id": "overview-trend", "property": "figure"},
                               {"id": "overview-trend-note", "property": "children"}],
                   "inputs": view_inputs("/", None),
                   "changedPropIds": ["view-state.data"], "state": []}
        response = client.post(url, data=json.dumps(payload), content_type="application/json")
    else:
        response = client.open(url, method=method)
    response.close()
    return response.status_code


def test_every_route_is_in_the_matrix(app: Flask) -> None:
    missing = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "/<path:path>":
            continue  # the Dash page router: checked page by page below
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            if method not in MATRIX.get(rule.endpoint, {}) and not rule.rule.startswith("/api/"):
                missing.append(f"{method} {rule.rule} ({rule.endpoint})")
    assert missing == [], "classify these routes in MATRIX: " + ", ".join(missing)


@pytest.mark.parametrize("role", ROLES)
def test_matrix_holds_for_every_route(clients: dict[str, FlaskClient], role: str) -> None:
    failures = []
    for methods in MATRIX.values():
        for method, (url, expected) in methods.items():
            status = status_of(clients[role], method, url)
            if status != expected[role]:
                failures.append(f"{role} {method} {url}: {status}, expected {expected[role]}")
    for url, expected in pages_matrix().values():
        status = status_of(clients[role], "GET", url)
        if status != expected[role]:
            failures.append(f"{role} GET {url}: {status}, expected {expected[role]}")
    assert failures == []


@pytest.mark.parametrize("role", ROLES)
def test_every_api_endpoint_needs_a_login_and_answers_logged_in_users(
        app: Flask, clients: dict[str, FlaskClient], role: str) -> None:
    # The PDF routes print the page in Chromium (seconds each): tests/dashapp/test_pdf.py
    # checks their login and token rules once instead of once per role here.
    api = [rule.rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/")
           and "<" not in rule.rule and "GET" in rule.methods and
           not rule.rule.endswith(".pdf")]
    assert "/api/v1/overview" in api
    for url in api:
        status = clients[role].get(url + "?range=30d").status_code
        # The PDF renderer's sign-in takes its one-time token only, never a session.
        expected = PDF_SIGN_IN[role] if url == "/api/v1/pdf-sign-in" else API_OK[role]
        assert status == expected, (role, url, status)
