"""Access rules: every route refuses anonymous requests with no data; platform limits hold
whatever a crafted API call or callback payload asks for."""
from __future__ import annotations

import json
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient

from dashapp.auth import PUBLIC_ENDPOINTS
from tests.conftest import ADMIN, LIMITED, LIMITED_PLATFORM, TestDatabase, login, view_inputs

SAMPLE_VALUES = {"path": "overview", "filename": "pulseboard.css", "package_name": "dash",
                 "fingerprinted_path": "dash_renderer/dash_renderer.min.js"}


def concrete_url(rule: str) -> str:
    """A URL matching a Werkzeug rule, with a sample value for each converter."""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m: SAMPLE_VALUES.get(m.group(1), "x"), rule)


def routes(app: Flask) -> list[tuple[str, str, str]]:
    """(endpoint, url, method) for every registered route and method."""
    found = []
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append((rule.endpoint, concrete_url(rule.rule), method))
    return found


def test_the_route_list_is_complete(app: Flask) -> None:
    endpoints = {endpoint for endpoint, _, _ in routes(app)}
    # If this fails, a route was added: decide whether it is public and extend the tests.
    assert {"/_dash-update-component", "/_dash-layout", "/_dash-dependencies",
            "api.overview_api", "api.openapi_json", "api.reference", "auth.login",
            "auth.logout", "health.healthz"} <= endpoints


def test_every_non_public_route_refuses_anonymous_requests_with_no_data(app: Flask) -> None:
    client = app.test_client()
    checked = 0
    for endpoint, url, method in routes(app):
        if endpoint in PUBLIC_ENDPOINTS:
            continue
        response = client.open(url, method=method, json={} if method == "POST" else None)
        checked += 1
        if url.startswith(("/_dash-", "/api/", "/_reload-hash")):
            assert response.status_code == 401, (url, method, response.status_code)
            assert response.get_json() == {
                "error": "Authentication required: log in or send a valid API token."}
        else:
            assert response.status_code == 302, (url, method, response.status_code)
            assert response.headers["Location"].startswith("/login")
            assert len(response.get_data()) < 400  # the redirect stub only
    assert checked >= 8  # the walk really ran over the Dash, API and page routes


def test_public_routes_are_only_login_health_static_files_and_emailed_links(
        app: Flask) -> None:
    public = {endpoint for endpoint, _, _ in routes(app) if endpoint in PUBLIC_ENDPOINTS}
    # The e-mailed links work without a login by design: each needs a signed, expiring token
    # (tests/dashapp/test_account_emails.py, test_digests.py); "forgot password" answers
    # the same for every address.
    emailed = {"auth.forgot_password", "auth.choose_password", "auth.unsubscribe_digest"}
    assert public <= {"auth.login", "health.healthz", "static", "_dash_assets.static",
                      "/_favicon.ico", "auth.favicon", *emailed}


def test_api_accepts_a_bearer_token_and_rejects_a_bad_one(app: Flask,
                                                          sqlite_db: TestDatabase) -> None:
    client = app.test_client()
    good = client.get("/api/v1/overview?range=all",
                      headers={"Authorization": f"Bearer {sqlite_db.admin_token}"})
    assert good.status_code == 200 and good.get_json()["kpis"]["net_revenue"]["current"] > 0
    bad = client.get("/api/v1/overview?range=all",
                     headers={"Authorization": "Bearer pb_not-a-real-token"})
    assert bad.status_code == 401 and "kpis" not in bad.get_json()
    # A token is for the API only: it does not open the Dash endpoints.
    dash = client.get("/_dash-layout",
                      headers={"Authorization": f"Bearer {sqlite_db.admin_token}"})
    assert dash.status_code == 401


def _api(client: FlaskClient, query: str, token: str) -> tuple[int, dict]:
    response = client.get(f"/api/v1/overview?{query}",
                          headers={"Authorization": f"Bearer {token}"})
    return response.status_code, response.get_json()


def test_limited_user_gets_only_their_platform_through_the_api(
        app: Flask, sqlite_db: TestDatabase) -> None:
    client = app.test_client()
    status, limited = _api(client, "range=all&compare=none", sqlite_db.limited_token)
    assert status == 200
    _, admin_same_platform = _api(client, f"range=all&compare=none&platform={LIMITED_PLATFORM}",
                                  sqlite_db.admin_token)
    _, admin_all = _api(client, "range=all&compare=none", sqlite_db.admin_token)
    assert limited["kpis"] == admin_same_platform["kpis"]
    assert limited["kpis"]["net_revenue"]["current"] < admin_all["kpis"]["net_revenue"]["current"]
    assert [row["slug"] for row in limited["by_platform"]] == [LIMITED_PLATFORM]
    # Asking for another platform is refused, not answered.
    status, body = _api(client, "range=all&platform=online-store", sqlite_db.limited_token)
    assert status == 400 and "kpis" not in body
    assert any("online-store" in notice for notice in body["notices"])
    status, body = _api(client, f"range=all&platform={LIMITED_PLATFORM}&platform=amazon",
                        sqlite_db.limited_token)
    assert status == 400 and "kpis" not in body


def _trend_callback(client: FlaskClient, store: dict) -> dict:
    """Call the Overview trend callback directly with a crafted store payload."""
    payload = {
        "output": "..overview-trend.figure...overview-trend-note.children..",
        "outputs": [{"id": "overview-trend", "property": "figure"},
                    {"id": "overview-trend-note", "property": "children"}],
        "inputs": view_inputs("/", store),
        "changedPropIds": ["view-state.data"],
        "state": [],
    }
    response = client.post("/_dash-update-component", data=json.dumps(payload),
                           content_type="application/json")
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return response.get_json()["response"]["overview-trend"]["figure"]


def _bar_total(figure: dict) -> float:
    bars = [trace for trace in figure["data"] if trace.get("type") == "bar"]
    if not bars:
        return 0.0
    values = bars[0]["y"]
    if isinstance(values, dict):  # plotly may send typed arrays as {"dtype", "bdata"}
        import base64

        import numpy as np
        values = np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"])
    return float(sum(values))


@pytest.mark.parametrize("query", ["range=all", "range=all&platform=online-store",
                                   "range=all&platform=online-store&platform=amazon"])
def test_crafted_callback_payloads_cannot_reach_other_platforms(app: Flask, sqlite_db: TestDatabase,
                                                                 query: str) -> None:
    admin = app.test_client()
    _, limited_api = _api(admin, "range=all&compare=none", sqlite_db.limited_token)
    period = limited_api["period"]
    client = login(app.test_client(), LIMITED)
    figure = _trend_callback(client, {"path": "/", "query": query + "&compare=none",
                                      "period": period})
    total = _bar_total(figure)
    if "online-store" in query:
        assert total == 0.0  # the other platform's sales are not there for this user
    else:
        assert total == pytest.approx(limited_api["kpis"]["net_revenue"]["current"], abs=0.01)


def test_drill_down_into_a_product_sold_only_elsewhere_shows_nothing_of_it(
        app: Flask, sqlite_db: TestDatabase) -> None:
    import pandas as pd

    lines = pd.read_sql("SELECT p.sku, pl.slug, l.quantity * l.unit_price AS value "
                        "FROM order_lines l JOIN products p ON p.id = l.product_id "
                        "JOIN platforms pl ON pl.id = l.platform_id", sqlite_db.engine)
    on_limited = set(lines.loc[lines["slug"] == LIMITED_PLATFORM, "sku"])
    elsewhere = lines[~lines["sku"].isin(on_limited)].groupby("sku")["value"].sum()
    sku = elsewhere.idxmax()  # the best seller the limited user has never sold
    assert elsewhere[sku] > 0
    client = app.test_client()
    query = f"range=all&compare=none&sku={sku}"
    _, admin = _api_path(client, f"/api/v1/products?{query}", sqlite_db.admin_token)
    status, limited = _api_path(client, f"/api/v1/products?{query}", sqlite_db.limited_token)
    assert admin["kpis"]["net_revenue"] == pytest.approx(elsewhere[sku], abs=0.01)
    assert status == 200
    assert limited["kpis"]["net_revenue"] == 0 and limited["kpis"]["orders"] == 0
    assert limited["by_platform"] == [] and limited["top_customers"] == []
    assert limited["by_country"] == []
    assert all(post["platform"] == "Instagram" for post in limited["posts"])


def _api_path(client: FlaskClient, path: str, token: str) -> tuple[int, dict]:
    response = client.get(path, headers={"Authorization": f"Bearer {token}"})
    return response.status_code, response.get_json()


def test_a_bearer_token_wins_over_whatever_session_cookie_comes_along(
        app: Flask, sqlite_db: TestDatabase) -> None:
    client = app.test_client()
    client.get("/login")  # an anonymous session cookie (it holds the CSRF token)
    for token in (sqlite_db.admin_token, sqlite_db.limited_token, sqlite_db.admin_token):
        status, _ = _api_path(client, "/api/v1/overview?range=7d", token)
        assert status == 200
    logged_in = login(app.test_client())
    status, body = _api_path(logged_in, "/api/v1/overview?range=7d", "pb_wrong-token")
    assert status == 401 and "kpis" not in body


def test_a_cached_callback_output_is_never_served_to_another_scope(app: Flask,
                                                                   sqlite_db: TestDatabase) -> None:
    api = app.test_client()
    _, limited_api = _api(api, "range=all&compare=none", sqlite_db.limited_token)
    _, admin_api = _api(api, "range=all&compare=none", sqlite_db.admin_token)
    store = {"path": "/", "query": "range=all&compare=none", "period": limited_api["period"]}
    cache = app.extensions["result_cache"]
    admin = login(app.test_client(), ADMIN)
    first = _bar_total(_trend_callback(admin, store))
    hits = cache.stats()["hits"]
    assert _bar_total(_trend_callback(admin, store)) == first  # the same view again: cached
    assert cache.stats()["hits"] > hits
    limited = login(app.test_client(), LIMITED)
    seen = _bar_total(_trend_callback(limited, store))  # the same arguments, another scope
    assert seen == pytest.approx(limited_api["kpis"]["net_revenue"]["current"], abs=0.01)
    assert first == pytest.approx(admin_api["kpis"]["net_revenue"]["current"], abs=0.01)
    assert seen < first
