"""The frame around every page: navigation, the global filter bar and the page container."""
from __future__ import annotations

from collections.abc import Sequence

import dash_bootstrap_components as dbc
from dash import dcc, html

from layouts.controls import button_group
from services.filters import (
    COMPARES,
    CUSTOM,
    DEFAULT_COMPARE,
    DEFAULT_GRAIN,
    DEFAULT_RANGE,
    GRAINS,
    PRESETS,
    Filters,
)

URL = "url"
STORE = "view-state"
RANGE = "filter-range"
DATES = "filter-dates"
PLATFORM = "filter-platform"
CATEGORY = "filter-category"
PRODUCT = "filter-product"
GRAIN = "filter-grain"
COMPARE = "filter-compare"
PERIOD_LABEL = "period-label"
NOTICES = "notices"
CONTENT = "page-content"
NAV = "nav-links"
PAGE_PARAM = "page-param"  # pattern-matching type of page-level controls: {"type", "name"}
XFILTER = "xfilter"  # pattern-matching type of cross-filter charts: {"type", "dim", "chart"}
EXPORT = "export"  # pattern-matching type of export buttons: {"type", "key", "format"}
DOWNLOAD = "export-download"
NAV_TOGGLE = "nav-toggle"
NAV_COLLAPSE = "nav-collapse"
FILTER_DRAWER = "filter-drawer"  # the filter card; a drawer over the page on a phone
FILTER_OPEN = "filter-open"
FILTER_DONE = "filter-done"
FILTER_SUMMARY = "filter-summary"
HEALTH_POLL = "health-poll"
HEALTH_BANNER = "health-banner"
ERROR_ALERT = "app-error"  # filled by the global callback error handler (dashapp.errors)


def _control(label: str, control: object, width: dict[str, int | str]) -> dbc.Col:
    return dbc.Col([dbc.Label(label, className="filter-label"), control], **width)


def filter_bar(platforms: Sequence[dict[str, str]], categories: Sequence[str]) -> dbc.Card:
    """The global filters; values are set from the URL by the view-sync callback."""
    range_options = [{"label": label, "value": key} for key, label in PRESETS.items()]
    range_options.append({"label": "Custom dates", "value": CUSTOM})
    controls = dbc.Row([
        _control("Date range", dcc.Dropdown(id=RANGE, options=range_options, value=DEFAULT_RANGE,
                                            clearable=False, searchable=False),
                 {"xs": 12, "sm": 5, "lg": 2}),
        _control("Dates", dcc.DatePickerRange(id=DATES, display_format="D MMM YYYY",
                                              first_day_of_week=1, minimum_nights=0,
                                              clearable=False),
                 {"xs": 12, "sm": 7, "lg": 3}),
        _control("Platform", dcc.Dropdown(
            id=PLATFORM, multi=True, placeholder="All platforms",
            options=[{"label": p["name"], "value": p["slug"]} for p in platforms]),
            {"xs": 12, "md": 6, "lg": 2}),
        _control("Category", dcc.Dropdown(
            id=CATEGORY, multi=True, placeholder="All categories",
            options=[{"label": c, "value": c} for c in categories]),
            {"xs": 12, "md": 6, "lg": 2}),
        _control("Product", dcc.Dropdown(id=PRODUCT, multi=True, options=[],
                                         placeholder="All products (type SKU or name)"),
                 {"xs": 12, "md": 6, "lg": 3}),
    ], className="g-2 align-items-end")
    second = dbc.Row([
        _control("Granularity", button_group(GRAIN, DEFAULT_GRAIN, GRAINS, primary=True),
                 {"xs": "auto"}),
        _control("Compare with", dcc.Dropdown(
            id=COMPARE, value=DEFAULT_COMPARE, clearable=False, searchable=False,
            options=[{"label": label, "value": key} for key, label in COMPARES.items()]),
            {"xs": 12, "sm": 6, "md": 4, "lg": 3}),
        dbc.Col(html.Div(id=PERIOD_LABEL, className="period-label"), className="ms-auto",
                xs=12, md=True),
    ], className="g-2 align-items-end mt-1")
    drawer_head = html.Div([html.Strong("Filters"),
                            dbc.Button("Done", id=FILTER_DONE, size="sm", color="primary",
                                       n_clicks=0)], className="drawer-head")
    return dbc.Card(dbc.CardBody([drawer_head, controls, second]), id=FILTER_DRAWER,
                    className="filter-bar mb-3")


def filter_toggle() -> html.Div:
    """On a phone, in place of the filter card: the active filters in one line and the
    button that opens them as a drawer over the page."""
    return html.Div([html.Div(id=FILTER_SUMMARY, className="filter-summary"),
                     dbc.Button("Filters", id=FILTER_OPEN, size="sm", color="primary",
                                outline=True, n_clicks=0)], className="filter-toggle mb-2")


def filter_summary(filters: Filters, period_label: str) -> str:
    """The active filters in one line: 'Last 90 days · 2 platforms · 1 category'."""
    when = PRESETS.get(filters.range) or period_label.split(" vs ")[0]
    parts = [when]
    for count, noun in ((len(filters.platforms), "platform"),
                        (len(filters.categories), "category"),
                        (len(filters.products), "product")):
        if count:
            plural = "categories" if noun == "category" else f"{noun}s"
            parts.append(f"{count} {noun if count == 1 else plural}")
    if filters.compare != "none":
        parts.append(f"vs {COMPARES[filters.compare].lower()}")
    return " · ".join(parts)


def navbar(email: str, links: Sequence[tuple[str, str]], csrf_token: str) -> dbc.Navbar:
    """Top bar: brand, page links (their hrefs keep the filters) and the logout button."""
    return dbc.Navbar(dbc.Container([
        html.A("Pulseboard", href="/", className="navbar-brand brand"),
        dbc.NavbarToggler(id=NAV_TOGGLE, n_clicks=0),
        dbc.Collapse([
            dbc.Nav([dbc.NavItem(dcc.Link(title, href=path, className="nav-link",
                                          id={"type": "nav-link", "path": path}))
                     for path, title in links], id=NAV, className="me-auto", navbar=True),
            html.Div([
                html.Span(email, className="navbar-text small me-3", id="user-email"),
                html.Form([dcc.Input(type="hidden", name="csrf_token", value=csrf_token),
                           html.Button("Log out", className="btn btn-sm btn-outline-light",
                                       id="logout-button", type="submit")],
                          action="/logout", method="POST"),
            ], className="d-flex align-items-center navbar-user"),
        ], id=NAV_COLLAPSE, is_open=False, navbar=True),
    ], fluid=True), color="dark", dark=True, expand="lg", className="mb-3")


def export_menu(key: str) -> html.Div:
    """CSV and XLSX download buttons for one chart's data."""
    return html.Div([
        html.Button(label, id={"type": EXPORT, "key": key, "format": file_format},
                    className="btn btn-link btn-sm export-button", n_clicks=0,
                    title=f"Download this chart's data as {label}")
        for file_format, label in (("csv", "CSV"), ("xlsx", "XLSX"))
    ], className="export-menu")


def view_as_banner(description: str, csrf_token: str) -> dbc.Alert:
    """Reminds an admin that they are previewing the app as someone else."""
    return dbc.Alert(html.Form([
        html.Span(["Previewing as ", html.Strong(description),
                   ": you see exactly what they see, read-only. "]),
        dcc.Input(type="hidden", name="csrf_token", value=csrf_token),
        html.Button("Stop previewing", type="submit", className="btn btn-sm btn-dark ms-2",
                    id="stop-view-as"),
    ], action="/view-as/stop", method="POST"), color="info", className="py-2",
        id="view-as-banner")


def app_shell(email: str, links: Sequence[tuple[str, str]],
              platforms: Sequence[dict[str, str]], categories: Sequence[str],
              csrf_token: str = "", can_export: bool = False,
              viewing_as: str | None = None) -> html.Div:
    """The whole page frame for a logged-in user (export buttons only for roles that may)."""
    return html.Div(className="can-export" if can_export else "", children=[
        dcc.Location(id=URL, refresh=False),
        dcc.Store(id=STORE),
        dcc.Download(id=DOWNLOAD),
        navbar(email, links, csrf_token),
        dcc.Interval(id=HEALTH_POLL, interval=20_000),
        dbc.Container([
            dbc.Alert(id=HEALTH_BANNER, is_open=False, color="warning", className="py-2"),
            dbc.Alert(id=ERROR_ALERT, is_open=False, dismissable=True, color="danger",
                      className="py-2"),
            view_as_banner(viewing_as, csrf_token) if viewing_as else None,
            filter_toggle(),
            filter_bar(platforms, categories),
            html.Div(id=NOTICES),
            html.Main(id=CONTENT),
        ], fluid=True, className="pb-5"),
    ])


def not_allowed(title: str) -> html.Div:
    """Content for a page the user's role may not open."""
    return html.Div([html.H1(f"{title}: not available", className="h4"),
                     html.P("Your role does not give access to this page. Ask an admin."),
                     dcc.Link("Go to the Overview", href="/")], className="py-5 text-center",
                    id="not-allowed")


def not_found(path: str) -> html.Div:
    """Content for an unknown page path."""
    return html.Div([html.H1("Page not found", className="h4"),
                     html.P(f"There is no page at {path}."),
                     dcc.Link("Go to the Overview", href="/")], className="py-5 text-center")
