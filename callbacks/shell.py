"""Callbacks of the frame: routing, the URL <-> filter controls sync, product search, nav links,
the filter chips and the refresh timer of a live view.

The URL and the controls are synchronised by ONE callback that has both as inputs and outputs:
two separate callbacks race on first load and the control defaults overwrite a deep link. The
refresh timer goes through the same callback, so every change of the view is one path: a
`Filters` value, written by `dashapp.filters.to_query`, checked and resolved against the
page's data span. A chip's × is a link to the URL without that filter (the sync callback then
runs on the URL, as for any link): as a callback input (n_clicks), every redraw of the chips
made Dash send one more request for the new chips.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, cast

import dash_bootstrap_components as dbc
from dash import ALL, ClientsideFunction, Dash, Input, Output, State, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate
from flask_login import current_user

from dashapp.context import fetch, setting
from dashapp.filters import View, page_choices, parse_query, to_query, view_query
from dashapp.panels import delivered, gated, shown_gates
from dashapp.views import checked_view, store_payload
from layouts import shell
from layouts.pages import Page, page_for
from services.activity import data_status
from services.dimensions import platform_options, product_options
from services.filters import (
    CUSTOM,
    DEFAULT_COMPARE,
    DEFAULT_GRAIN,
    DEFAULT_RANGE,
    PAGE_FILTERS,
    REFRESHES,
    Filters,
    ParamSpec,
    Period,
)
from services.spans import SALES, SPANS

# "5m" -> 300 000 ms: each refresh setting is a number of minutes.
REFRESH_MS = {key: int(key.removesuffix("m")) * 60_000 for key in REFRESHES}


@dataclass(frozen=True)
class Controls:
    """The values of the global filter controls as the browser sent them."""

    range: str | None
    start: str | None
    end: str | None
    platforms: Sequence[str] | None
    categories: Sequence[str] | None
    products: Sequence[str] | None
    grain: str | None
    compare: str | None
    compare_start: str | None = None
    compare_end: str | None = None
    refresh: str | None = None


def _date(text: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text[:10]) if text else None
    except ValueError:
        return None


def with_control_change(filters: Filters, controls: Controls, trigger: Any) -> Filters:
    """`filters` (from the URL) with only the control that changed applied.

    Starting from the URL rather than from every control value keeps a deep link intact when
    controls fire while a page is still mounting.
    """
    if trigger == shell.DATES:
        start, end = _date(controls.start), _date(controls.end)
        if start and end and start <= end:
            return replace(filters, range=CUSTOM, start=start, end=end)
        return filters
    if trigger == shell.COMPARE_DATES or (trigger == shell.COMPARE and controls.compare == CUSTOM):
        # Editing the comparison dates (or choosing "Custom dates", which starts from the
        # comparison shown) makes a custom comparison.
        start, end = _date(controls.compare_start), _date(controls.compare_end)
        if start and end and start <= end:
            return replace(filters, compare=CUSTOM, compare_from=start, compare_to=end)
        return filters
    if trigger == shell.COMPARE:
        return replace(filters, compare=controls.compare or DEFAULT_COMPARE, compare_from=None,
                       compare_to=None)
    if trigger == shell.RANGE:
        if controls.range == CUSTOM:
            start, end = _date(controls.start), _date(controls.end)
            return replace(filters, range=CUSTOM, start=start, end=end) if start and end \
                else filters
        return replace(filters, range=controls.range or DEFAULT_RANGE, start=None, end=None)
    changes: dict[str, tuple[str, Any]] = {  # control: (field, value of the field's type)
        shell.PLATFORM: ("platforms", tuple(controls.platforms or ())),
        shell.CATEGORY: ("categories", tuple(controls.categories or ())),
        shell.PRODUCT: ("products", tuple(controls.products or ())),
        shell.GRAIN: ("grain", controls.grain or DEFAULT_GRAIN),
    }
    if isinstance(trigger, str) and trigger in changes:
        field, value = changes[trigger]
        return replace(filters, **{field: value})
    return filters


CROSS_FILTER_FIELDS = {"platform": "platforms", "category": "categories", "product": "products"}


def without_chip(filters: Filters, refresh: str, field: str,
                 value: str) -> tuple[Filters, str]:
    """The view with one chip's filter removed: a platform, category or product from its
    list, the order country, a custom range (back to the default range), the as-of day, the
    comparison (none) or the refresh timer."""
    if field in CROSS_FILTER_FIELDS:
        name = CROSS_FILTER_FIELDS[field]
        kept = tuple(chosen for chosen in getattr(filters, name) if chosen != value)
        # `name` names one of the tuple fields, which the checker cannot tell from a str.
        return replace(filters, **cast("dict[str, Any]", {name: kept})), refresh
    if field == "refresh":
        return filters, ""
    changes: dict[str, dict[str, Any]] = {
        "country": {"country": ""},
        "state": {"state": ""},
        "range": {"range": DEFAULT_RANGE, "start": None, "end": None},
        "asof": {"asof": None},
        "compare": {"compare": "none", "compare_from": None, "compare_to": None},
    }
    return replace(filters, **changes.get(field, {})), refresh


def refresh_of(controls: Controls, current: str, trigger: Any) -> str:
    """The refresh setting: the control's when it changed, else the URL's."""
    if trigger == shell.REFRESH:
        return controls.refresh if controls.refresh in REFRESHES else ""
    return current


def apply_cross_filter(filters: Filters, dimension: str, key: str) -> Filters:
    """Clicking a bar filters by it; clicking the only selected bar again clears the filter."""
    field = CROSS_FILTER_FIELDS[dimension]
    current = getattr(filters, field)
    chosen: tuple[str, ...] = () if current == (key,) else (key,)
    # `field` names one of the tuple fields, which the checker cannot tell from a str.
    return replace(filters, **cast("dict[str, Any]", {field: chosen}))


def apply_click(filters: Filters, page_choices: dict[str, str], params: Sequence[ParamSpec],
                dimension: str, key: str) -> tuple[Filters, dict[str, str]]:
    """A click on a chart: a global filter (platform, category, product), or a page-level
    choice named like the chart's dimension (a country, a drill target), toggled the same way.
    """
    if dimension in CROSS_FILTER_FIELDS:
        return apply_cross_filter(filters, dimension, key), page_choices
    spec = next((spec for spec in params if spec.name == dimension), None)
    if spec is None or not spec.accepts(key):
        return filters, page_choices
    if dimension in PAGE_FILTERS:  # the order country: a filter of the pages that offer it
        chosen = spec.default if getattr(filters, dimension) == key else key
        # A page filter is a str field, which the checker cannot tell from the name.
        return replace(filters, **cast("dict[str, Any]", {dimension: chosen})), page_choices
    chosen = spec.default if page_choices.get(dimension) == key else key
    return filters, {**page_choices, dimension: chosen}


def _clicked(click_data: Sequence[Any], ids: Sequence[dict[str, str]],
             trigger: Any) -> tuple[str, str] | None:
    for data, component_id in zip(click_data, ids, strict=True):
        if component_id == trigger and data and data.get("points"):
            key = data["points"][0].get("customdata")
            if isinstance(key, list):
                key = key[0] if key else None
            if isinstance(key, str) and isinstance(component_id.get("dim"), str):
                return component_id["dim"], key
    return None


def search_without_chip(pathname: str | None, search: str | None, field: str,
                        value: str) -> str:
    """The URL's query string with one chip's filter removed, the page's choices kept: where
    the chip's × links to."""
    page = page_for(pathname)
    params = page.params if page else ()
    current = parse_query(search or "", params)
    filters, refresh = without_chip(current.filters, current.refresh, field, value)
    return "?" + to_query(filters, current.page, params, refresh)


def sync_view(pathname: str | None, search: str | None, controls: Controls,
              page_values: dict[str, Any], click: tuple[str, str] | None,
              trigger: Any) -> tuple[Page | None, View, Any]:
    """The view the user asked for, whichever side (URL, a control, a chart) changed, its
    dates resolved against the page's data span; the refresh timer re-checks the URL's view
    as it is."""
    page = page_for(pathname)
    params = page.params if page else ()
    span = page.span if page else SALES
    if trigger in (None, shell.URL, shell.REFRESH_TICK):
        return page, *checked_view(search or "", params, span)
    current = parse_query(search or "", params)
    filters = with_control_change(current.filters, controls, trigger)
    refresh = refresh_of(controls, current.refresh, trigger)
    page_choices = dict(current.page)
    if click is not None:
        filters, page_choices = apply_click(filters, page_choices, params, *click)
    if isinstance(trigger, dict) and trigger.get("type") == shell.PAGE_PARAM:
        name = trigger.get("name")
        if name in PAGE_FILTERS and name in {spec.name for spec in params} and \
                page_values.get(name) is not None:
            # A page filter is a str field, which the checker cannot tell from the name.
            filters = replace(filters, **cast("dict[str, Any]", {name: str(page_values[name])}))
        elif name in page_choices and page_values.get(name) is not None:
            page_choices[name] = str(page_values[name])
    view, period = checked_view(to_query(filters, page_choices, params, refresh), params, span)
    # Keep reporting what the URL itself had wrong (it may not be canonical yet).
    return page, replace(view, notices=current.notices + view.notices), period


def _nothing_new(pathname: str | None, search: str | None, page_values: list[Any],
                 page_ids: list[dict[str, str]], click_data: list[Any],
                 xfilter_ids: list[dict[str, str]]) -> bool:
    """Whether the page's controls that fired hold nothing the URL's view does not already
    say: they were just drawn (Dash fires pattern inputs when components appear), a chart
    drew again without a click, or the browser set a control to the view's own choice."""
    page = page_for(pathname)
    triggered = [trigger for trigger in ctx.triggered_prop_ids.values()
                 if isinstance(trigger, dict)]
    if page is None or not triggered:
        return False
    said = page_choices(parse_query(search or "", page.params), page.params)
    held = {component["name"]: value for component, value in zip(page_ids, page_values,
                                                                  strict=True)}

    def as_said(trigger: dict[str, str]) -> bool:
        if trigger.get("type") == shell.XFILTER:
            return _clicked(click_data, xfilter_ids, trigger) is None
        value = held.get(trigger.get("name", ""))
        wanted = said.get(trigger.get("name", ""))
        return (not wanted) if value is None else str(value) == wanted
    return all(as_said(trigger) for trigger in triggered)


def shown_comparison(period: Period) -> tuple[str, str]:
    """The comparison picker's dates: the comparison's, or without one the previous period's
    (where choosing "Custom dates" starts from)."""
    if period.compare_start and period.compare_end:
        return period.compare_start.isoformat(), period.compare_end.isoformat()
    before = period.start - dt.timedelta(days=1)
    return (before - dt.timedelta(days=period.days - 1)).isoformat(), before.isoformat()


def chip_names(filters: Filters, options: Sequence[dict[str, str]]) -> dict[str, dict[str, str]]:
    """Names for the chips: platform slug -> name, SKU -> product name."""
    platforms = {o["slug"]: o["name"] for o in fetch(platform_options)} if filters.platforms \
        else {}
    return {"platform": platforms, "product": {o["sku"]: o["name"] for o in options}}


def timer_outputs(refresh: str, interval: int | None, disabled: bool | None) -> tuple[Any, Any]:
    """The refresh timer's interval and disabled flag, unchanged when they already are (a
    timer whose props are set again starts counting again)."""
    wanted = REFRESH_MS.get(refresh)
    new_interval = no_update if wanted is None or wanted == interval else wanted
    new_disabled = no_update if disabled == (wanted is None) else wanted is None
    return new_interval, new_disabled


def status_text(refresh: str, span: str = SALES) -> str:
    """The line under the dates: how fresh the page's data is, and the refresh timer if any."""
    text = shell.data_status_text(fetch(data_status, span), setting("TIMEZONE"),
                                  SPANS[span].words)
    if refresh in REFRESHES:
        text += f" · refreshing {REFRESHES[refresh]}"
    return text


def product_items(options: Sequence[dict[str, str]]) -> list[dict[str, str]]:
    """Dropdown items for products: 'SKU · name', searchable by either."""
    return [{"label": f"{o['sku']} · {o['name']}", "value": o["sku"]} for o in options]


def notices_output(notices: Sequence[str], trigger: Any) -> Any:
    """The notice area: replaced by URL and filter changes, kept when a page control fires.

    A page's controls fire while the page mounts, possibly after the URL was already
    cleaned, and must not wipe the notice about what the link had wrong.
    """
    is_page_control = isinstance(trigger, dict) and trigger.get("type") in (
        shell.PAGE_PARAM, shell.XFILTER)
    if is_page_control and not notices:
        return no_update
    return _notice_alert(notices)


def _notice_alert(notices: Sequence[str]) -> Any:
    if not notices:
        return None
    return dbc.Alert([html.Strong("Some link parameters were ignored: "),
                      html.Ul([html.Li(text) for text in notices], className="mb-0")],
                     color="warning", dismissable=True, className="py-2 small",
                     id="notice-alert")


def view_store(pathname: str | None, page: Page | None, view: View, period: Period,
               tick: Any) -> dict[str, Any]:
    """The shell's store of the view: `store_payload`, with the refresh setting (the menu's
    links keep it), the menu links' query and the timer's tick (it changes the store on a
    timer, so every panel runs again)."""
    # The page's own path, not the address's: "/forecasts/" is the Forecasts page for every
    # reader of the store (the training request, the Data page's callbacks).
    path = page.path if page else pathname or "/"
    params = page.params if page else ()
    return {**store_payload(path, view, period, params),
            # The page's controls follow these in the browser (`pageControlsFollow`).
            "choices": page_choices(view, params),
            "refresh": view.refresh, "tick": tick,
            "nav": to_query(view.filters, refresh=view.refresh),
            "shown": shown_gates(page.panels, view) if page else []}


def register_callbacks(app: Dash) -> None:
    """Register the frame callbacks on `app`."""

    @app.callback(
        Output(shell.CONTENT, "children"),
        Input(shell.URL, "pathname"),
        State(shell.URL, "search"),
    )
    def render_page(pathname: str | None, search: str | None) -> Any:
        page = page_for(pathname)
        if page is None:
            return shell.not_found(pathname or "")
        if not page.allows(current_user.role):
            return shell.not_allowed(page.title)
        # The gates of the page's panel groups that some views hide, and the stores that
        # pass the view on to the other groups when their answer is not cached
        # (`callbacks.panels`).
        stores = [dcc.Store(id=panel.gate_id) for panel in gated(page.panels)]
        stores += [dcc.Store(id=panel.due_id) for panel in delivered(page.panels)]
        return html.Div([page.layout(parse_query(search or "", page.params)), *stores])

    page_param = {"type": shell.PAGE_PARAM, "name": ALL}
    xfilter = {"type": shell.XFILTER, "dim": ALL, "chart": ALL}

    view_outputs: list[tuple[Any, str]] = [
        (shell.URL, "search"), (shell.RANGE, "value"), (shell.DATES, "start_date"),
        (shell.DATES, "end_date"), (shell.PLATFORM, "value"), (shell.CATEGORY, "value"),
        (shell.PRODUCT, "value"), (shell.PRODUCT, "options"), (shell.GRAIN, "value"),
        (shell.COMPARE, "value"), (shell.STORE, "data"),
        (shell.NOTICES, "children"), (shell.PERIOD_LABEL, "children"),
        (shell.FILTER_SUMMARY, "children"), (shell.COMPARE_DATES, "start_date"),
        (shell.COMPARE_DATES, "end_date"), (shell.DATES, "min_date_allowed"),
        (shell.DATES, "max_date_allowed"), (shell.COMPARE_DATES, "min_date_allowed"),
        (shell.COMPARE_DATES, "max_date_allowed"), (shell.REFRESH, "value"),
        (shell.REFRESH_TIMER, "interval"), (shell.REFRESH_TIMER, "disabled"),
        (shell.CHIPS, "children"), (shell.DATA_STATUS, "children")]
    # The sync's arguments, in `answer`'s order: the frame's controls, and the page's own
    # (its choices, its charts' clicks).
    arguments: list[tuple[str, Any, str]] = [
        ("frame", shell.URL, "pathname"), ("frame", shell.URL, "search"),
        ("frame", shell.RANGE, "value"), ("frame", shell.DATES, "start_date"),
        ("frame", shell.DATES, "end_date"), ("frame", shell.PLATFORM, "value"),
        ("frame", shell.CATEGORY, "value"), ("frame", shell.PRODUCT, "value"),
        ("frame", shell.GRAIN, "value"), ("frame", shell.COMPARE, "value"),
        ("page", page_param, "value"), ("page", xfilter, "clickData"),
        ("frame", shell.COMPARE_DATES, "start_date"),
        ("frame", shell.COMPARE_DATES, "end_date"), ("frame", shell.REFRESH, "value"),
        ("frame", shell.REFRESH_TICK, "data"),
        ("state", page_param, "id"), ("state", xfilter, "id"),
        ("state", shell.REFRESH_TIMER, "interval"), ("state", shell.REFRESH_TIMER, "disabled")]

    def fired_by(side: str) -> list[Input | State]:
        """The arguments, those of one side as inputs and the rest as state."""
        return [(Input if kind == side else State)(component, prop)
                for kind, component, prop in arguments]

    def answer(pathname: str | None, search: str | None, range_value: str | None,
               start: str | None, end: str | None, platforms: list[str] | None,
               categories: list[str] | None, products: list[str] | None, grain: str | None,
               compare: str | None, page_values: list[Any], click_data: list[Any],
               compare_start: str | None, compare_end: str | None, refresh: str | None,
               tick: Any, page_ids: list[dict[str, str]], xfilter_ids: list[dict[str, str]],
               interval: int | None, disabled: bool | None) -> tuple[Any, ...]:
        trigger = ctx.triggered_id
        if isinstance(trigger, dict) and \
                _nothing_new(pathname, search, page_values, page_ids, click_data, xfilter_ids):
            raise PreventUpdate
        controls = Controls(range_value, start, end, platforms, categories, products, grain,
                            compare, compare_start, compare_end, refresh)
        values = {component["name"]: value
                  for component, value in zip(page_ids, page_values, strict=True)}
        click = _clicked(click_data, xfilter_ids, trigger) if isinstance(trigger, dict) else None
        page, view, period = sync_view(pathname, search, controls, values, click, trigger)
        params = page.params if page else ()
        query = "?" + view_query(view, params)
        filters = view.filters
        options = fetch(product_options, "", filters.products)
        chips = shell.filter_chips(filters, period, view.refresh, chip_names(filters, options))
        path = pathname or "/"
        hrefs = [path + search_without_chip(path, query, chip.field, chip.value)
                 for chip in chips]
        first = period.first_data.isoformat() if period.first_data else None
        last = period.last_data.isoformat() if period.last_data else None
        return (
            query if query != (search or "") else no_update,
            filters.range,
            period.start.isoformat(),
            period.end.isoformat(),
            list(filters.platforms),
            list(filters.categories),
            list(filters.products),
            product_items(options),
            filters.grain,
            filters.compare,
            view_store(pathname, page, view, period, tick),
            notices_output(view.notices, trigger),
            period.label,
            shell.filter_summary(filters, period),
            *shown_comparison(period),
            first, last, first, last,
            view.refresh or shell.REFRESH_OFF,
            *timer_outputs(view.refresh, interval, disabled),
            shell.chip_row(chips, hrefs),
            status_text(view.refresh, page.span if page else SALES),
        )

    # The frame's controls and the page's own are two callbacks of one answer, and the
    # page's controls follow the view in the browser (`pageControlsFollow`): nothing fires
    # when a page's content is drawn. One callback with the page's controls among its inputs
    # or outputs ran again on every page load, once they appeared, and every panel waited for
    # that second answer (about a second).
    app.callback(*(Output(*o) for o in view_outputs), *fired_by("frame"))(answer)
    app.callback(*(Output(*o, allow_duplicate=True) for o in view_outputs), *fired_by("page"),
                 prevent_initial_call=True)(answer)
    app.clientside_callback(
        ClientsideFunction(namespace="pulseboard", function_name="pageControlsFollow"),
        Output(page_param, "value"), Input(shell.STORE, "data"), State(page_param, "id"),
        State(page_param, "value"))

    @app.callback(
        Output(shell.PRODUCT, "options", allow_duplicate=True),
        Input(shell.PRODUCT, "search_value"),
        State(shell.PRODUCT, "value"),
        prevent_initial_call=True,
    )
    def search_products(search: str | None, selected: list[str] | None) -> list[dict[str, str]]:
        return product_items(fetch(product_options, search or "", selected or []))

    # The menu's links keep the filters: the query is written by `sync` (into the store's
    # "nav"), the browser only puts it after each page's path; a server callback for this
    # cost every refresh of every page one more request.
    app.clientside_callback(
        ClientsideFunction(namespace="pulseboard", function_name="keepFiltersInNav"),
        Output({"type": "nav-link", "path": ALL}, "href"),
        Input(shell.STORE, "data"),
        State({"type": "nav-link", "path": ALL}, "id"),
    )

    app.clientside_callback(
        ClientsideFunction(namespace="pulseboard", function_name="toggleMenu"),
        Output(shell.NAV_COLLAPSE, "is_open"),
        Input(shell.NAV_TOGGLE, "n_clicks"),
        Input(shell.URL, "pathname"),
        State(shell.NAV_COLLAPSE, "is_open"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        ClientsideFunction(namespace="pulseboard", function_name="toggleFilters"),
        Output(shell.FILTER_DRAWER, "className"),
        Input(shell.FILTER_OPEN, "n_clicks"),
        Input(shell.FILTER_DONE, "n_clicks"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        ClientsideFunction(namespace="pulseboard", function_name="refreshTick"),
        Output(shell.REFRESH_TICK, "data"),
        Input(shell.REFRESH_TIMER, "n_intervals"),
        prevent_initial_call=True,
    )
    app.clientside_callback(
        ClientsideFunction(namespace="pulseboard", function_name="checkHealth"),
        Output(shell.HEALTH_BANNER, "is_open"),
        Output(shell.HEALTH_BANNER, "children"),
        Input(shell.HEALTH_POLL, "n_intervals"),
        prevent_initial_call=True,
    )
