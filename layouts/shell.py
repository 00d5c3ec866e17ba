"""The frame around every page: navigation, the global filter bar and the page container."""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import dash_bootstrap_components as dbc
from dash import dcc, html

from layouts.controls import button_group
from layouts.model_status import MODEL_TRAINED, MODEL_VIEW, TRAIN_DONE, TRAIN_REQUEST
from layouts.views_menu import frame_parts, theme_picker, views_menu
from services.filters import (
    CALENDAR_PRESETS,
    COMPARES,
    CUSTOM,
    DEFAULT_COMPARE,
    DEFAULT_GRAIN,
    DEFAULT_RANGE,
    GRAINS,
    PRESETS,
    REFRESHES,
    SALES_WORDS,
    Filters,
    Period,
    SpanWords,
    format_range,
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
COMPARE_DATES = "filter-compare-dates"
REFRESH = "filter-refresh"
REFRESH_TIMER = "refresh-timer"  # a dcc.Interval: re-runs a live view (refresh=1m|5m|15m)
REFRESH_TICK = "refresh-tick"  # set by the timer only while the tab is visible
DATA_STATUS = "data-status"
CHIPS = "filter-chips"
CHIP = "filter-chip"  # id type of a chip's remove link: {"type", "field", "value"}
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


# The date-range list: rolling ranges, to-date ranges, calendar periods, all time, custom;
# tall enough to show every entry without scrolling.
RANGE_ORDER = (*(key for key in PRESETS if key not in CALENDAR_PRESETS and key != "all"),
               *CALENDAR_PRESETS, "all")
OPTION_HEIGHT = 40  # as Dash 4 draws an option; the list is sized to show them all
REFRESH_OFF = "off"  # the refresh control's value for a view that does not refresh


def range_options() -> list[dict[str, str]]:
    """The date-range list in its order, custom dates last."""
    return [*({"label": PRESETS[key], "value": key} for key in RANGE_ORDER),
            {"label": "Custom dates", "value": CUSTOM}]


def _date_picker(dom_id: str) -> dcc.DatePickerRange:
    # Limited to the data's first and last day by the view-sync callback.
    return dcc.DatePickerRange(id=dom_id, display_format="D MMM YYYY", first_day_of_week=1,
                               minimum_nights=0, clearable=False)


def filter_bar(platforms: Sequence[dict[str, str]], categories: Sequence[str]) -> dbc.Card:
    """The global filters; values are set from the URL by the view-sync callback."""
    options = range_options()
    controls = dbc.Row([
        _control("Date range", dcc.Dropdown(
            id=RANGE, options=options, value=DEFAULT_RANGE, clearable=False, searchable=False,
            optionHeight=OPTION_HEIGHT, maxHeight=OPTION_HEIGHT * len(options) + 8),
            {"xs": 12, "sm": 5, "lg": 2}),
        _control("Dates", _date_picker(DATES), {"xs": 12, "sm": 7, "lg": 3}),
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
            {"xs": 12, "sm": 6, "md": 4, "lg": 2}),
        _control("Comparison dates", _date_picker(COMPARE_DATES),
                 {"xs": 12, "sm": 6, "md": 5, "lg": 3}),
        _control("Auto-refresh", dcc.Dropdown(
            id=REFRESH, value=REFRESH_OFF, clearable=False, searchable=False,
            options=[{"label": "Off", "value": REFRESH_OFF},
                     *({"label": label.capitalize(), "value": key}
                       for key, label in REFRESHES.items())]),
            {"xs": 6, "sm": 4, "md": 3, "lg": 2}),
        dbc.Col([html.Div(id=PERIOD_LABEL, className="period-label"),
                 html.Div(id=DATA_STATUS, className="data-status")], xs=12),
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


def filter_summary(filters: Filters, period: Period) -> str:
    """The active filters in one line: 'Last 90 days · 2 platforms · 1 category'."""
    when = PRESETS.get(filters.range) or format_range(period.start, period.end)
    parts = [when]
    for count, noun in ((len(filters.platforms), "platform"),
                        (len(filters.categories), "category"),
                        (len(filters.products), "product")):
        if count:
            plural = "categories" if noun == "category" else f"{noun}s"
            parts.append(f"{count} {noun if count == 1 else plural}")
    if filters.compare == CUSTOM and period.compare_start and period.compare_end:
        parts.append(f"vs {format_range(period.compare_start, period.compare_end)}")
    elif filters.compare != "none":
        parts.append(f"vs {COMPARES[filters.compare].lower()}")
    return " · ".join(parts)


@dataclass(frozen=True)
class Chip:
    """One active filter as a chip: the field its × removes a value from, and its label."""

    field: str  # "platform", "product", "category", "country", "state", "range", "compare",
    #             "asof", "refresh"
    value: str
    label: str


def filter_chips(filters: Filters, period: Period, refresh: str,
                 names: dict[str, dict[str, str]]) -> list[Chip]:
    """The active filters a click can remove, in the order of the filter bar: a custom range,
    the as-of day, every platform, category and product chosen, the order country, the
    comparison and the refresh timer. `names` maps a platform slug or SKU to its name."""
    chips: list[Chip] = []
    if filters.range == CUSTOM:
        chips.append(Chip("range", "", format_range(period.start, period.end)))
    if filters.asof:
        chips.append(Chip("asof", "", f"as of {format_range(filters.asof, filters.asof)}"))
    chips += [Chip("platform", slug, names.get("platform", {}).get(slug, slug))
              for slug in filters.platforms]
    chips += [Chip("category", name, name) for name in filters.categories]
    product_names = names.get("product", {})
    chips += [Chip("product", sku, f"{sku} · {product_names[sku]}" if sku in product_names
                   else sku) for sku in filters.products]
    if filters.country:
        chips.append(Chip("country", filters.country, filters.country))
    if filters.state:
        chips.append(Chip("state", filters.state, filters.state))
    if filters.compare == CUSTOM and period.compare_start and period.compare_end:
        chips.append(Chip("compare", "",
                          f"vs {format_range(period.compare_start, period.compare_end)}"))
    elif filters.compare != "none":
        chips.append(Chip("compare", "", f"vs {COMPARES[filters.compare].lower()}"))
    if refresh in REFRESHES:
        chips.append(Chip("refresh", "", f"refreshing {REFRESHES[refresh]}"))
    return chips


def chip_row(chips: Sequence[Chip], hrefs: Sequence[str]) -> list[html.Span]:
    """The chips as components; each × is a link to the view without its filter (`hrefs`,
    one per chip): no callback input, so drawing the chips sends no request."""
    return [html.Span([html.Span(chip.label, className="chip-label"),
                       # A screen reader reads "Remove Amazon", not the × sign alone.
                       dcc.Link(["×", html.Span(f" Remove {chip.label}",
                                                className="visually-hidden")],
                                href=href, className="chip-remove",
                                id={"type": CHIP, "field": chip.field, "value": chip.value},
                                title=f"Remove {chip.label}")],
                      className=f"filter-chip chip-{chip.field}")
            for chip, href in zip(chips, hrefs, strict=True)]


def format_moment(moment: dt.datetime | None, zone: str) -> str:
    """A stored UTC time in the business time zone, to the minute: '9 Dec 2011, 14:05'."""
    if moment is None:
        return "—"
    local = moment.replace(tzinfo=dt.UTC).astimezone(ZoneInfo(zone))
    return f"{format_range(local.date(), local.date())}, {local:%H:%M}"


def data_status_text(status: dict[str, dt.date | dt.datetime | None], zone: str,
                     words: SpanWords = SALES_WORDS) -> str:
    """'Data up to 9 Dec 2011 · last import 1 Dec 2026, 14:05' (or 'no data yet'); `words`
    name the page's data ('Pipeline data up to …')."""
    last_day, last_import = status.get("last_day"), status.get("last_import")
    if not isinstance(last_day, dt.date):
        return f"No {words.name} data yet"
    text = f"{words.data[:1].upper()}{words.data[1:]} up to {format_range(last_day, last_day)}"
    if isinstance(last_import, dt.datetime):
        return f"{text} · last import {format_moment(last_import, zone)}"
    return f"{text} · no file imported yet"


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
                dbc.Nav(views_menu(), navbar=True, className="me-2"),
                theme_picker(),
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
            html.Div(id=CHIPS, className="filter-chips"),
            dcc.Interval(id=REFRESH_TIMER, interval=60_000, disabled=True),
            dcc.Store(id=REFRESH_TICK),
            dcc.Store(id=MODEL_VIEW),  # the view, on pages that score models (model_jobs)
            dcc.Store(id=TRAIN_REQUEST),  # the view's models to train (model_jobs)
            dcc.Store(id=MODEL_TRAINED),  # set when they are stored: model panels redraw
            dcc.Store(id=TRAIN_DONE),  # the training job's own output; nothing listens
            html.Div(id=NOTICES),
            html.Main(id=CONTENT),
            *frame_parts(),  # the Views menu's dialogs and the theme's stores
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
