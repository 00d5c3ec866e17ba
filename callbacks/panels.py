"""The callbacks of every declared panel, derived from the page registry.

One callback per group of panels that share a source call: it reads the view, calls the
source once (in the user's scope, with the filters that apply), draws each panel from its
rows and adds the note naming any filter the panel does not obey; its answer is cached.

A view change reaches the groups through one delivery callback per page: it sends every
group's cached answer in its response and passes the view on only to the groups whose answer
is not cached (their due stores), so a cached refresh costs one request instead of one per
group, and a cold one a single extra, cheap, request before the groups run.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import dash_bootstrap_components as dbc
from dash import ClientsideFunction, Dash, Input, Output, State, ctx, no_update
from dash.exceptions import PreventUpdate

from callbacks.common import cached_output, stored_output, view_of_page
from dashapp.context import business, fetch, setting
from dashapp.filters import View
from dashapp.panels import grouped, source_data
from layouts import figures
from layouts.model_status import MODEL_TRAINED
from layouts.pages import PAGES, Page
from layouts.panels import Context, Drawn, Panel, empty_message, not_applied
from layouts.shell import STORE
from services.dimensions import platform_options
from services.errors import NotFound
from services.filters import Period


def outputs_of(panel: Panel) -> list[Output]:
    """The body, the note and (for panels with a lead line) the lead a panel fills."""
    found = [Output(panel.component_id, panel.prop), Output(panel.note_id, "children")]
    if panel.lead:
        found.append(Output(panel.lead_id, "children"))
    return found


def _platform_names(view: View) -> dict[str, str]:
    if not view.filters.platforms:
        return {}
    return {option["slug"]: option["name"] for option in fetch(platform_options)}


def draw_group(panels: Sequence[Panel], view: View, period: Period) -> list[Any]:
    """Every output of a group of panels for the view, in `outputs_of` order."""
    if not panels[0].shown(view):
        raise PreventUpdate  # e.g. the product overview while one product is shown
    try:
        data, filters, dates = source_data(panels[0], view, period)
    except NotFound as error:
        return [value for panel in panels for value in _outputs(panel, _missing(panel, error))]
    context = Context(view, filters, dates, setting("CURRENCY"),
                      empty_message(filters, dates, _platform_names(view)), data, business())
    values = []
    for panel in panels:
        drawn = panel.draw(panel.rows(data, view), context)
        note = " ".join(text for text in (drawn.note, not_applied(panel, view)) if text)
        values += _outputs(panel, Drawn(drawn.body, note, drawn.lead))
    return values


def _outputs(panel: Panel, drawn: Drawn) -> list[Any]:
    return [drawn.body, drawn.note] + ([drawn.lead] if panel.lead else [])


def _missing(panel: Panel, error: NotFound) -> Drawn:
    """What a panel shows when the thing it is about does not exist (an unknown SKU)."""
    if panel.kind == "graph":
        return Drawn(figures.empty_figure(str(error)))
    if panel.kind == "grid":
        return Drawn([])
    return Drawn(dbc.Alert(str(error), color="warning"))


@dataclass(frozen=True)
class Delivered:
    """A group whose cached answer the page's delivery callback sends: what it fills, its
    (uncached) drawing, as the cache knows it, and the store that passes the view on to it."""

    outputs: list[Output]
    fill: Callable[[dict[str, Any] | None], list[Any]]
    outputs_name: str
    due_id: str


def register_group(app: Dash, page: Page, panels: Sequence[Panel]) -> Delivered | None:
    """One callback filling a group of panels that share a source call; on a page that
    scores models, it also runs again when the view's models were just trained.

    A group every view shows is fired by its due store (the page's delivery sends the view
    there when the group's answer is not cached) and returned for that delivery; a gated
    group is fired by its gate."""
    def fill(data: dict[str, Any] | None) -> list[Any]:
        view, period = view_of_page(data, page.path, page.params)
        return draw_group(panels, view, period)

    # The cache of callback outputs keys on the function's name: one name per group.
    fill.__qualname__ = f"panels.{panels[0].key}"
    outputs = [output for panel in panels for output in outputs_of(panel)]
    outputs_name = "...".join(f"{output.component_id_str()}.{output.component_property}"
                              for output in outputs)
    cached_fill = cached_output(fill, outputs_name)
    gated = panels[0].when is not None
    # Neither fires on the page's first render: the gate and the due store fire them.
    view = _view_input(app, panels[0])
    if not page.models:
        app.callback(*outputs, view, prevent_initial_call=True)(cached_fill)
    else:
        def fill_when_trained(data: dict[str, Any] | None, _trained: Any,
                              current: dict[str, Any] | None = None) -> list[Any]:
            if gated and data != current:
                # A model trained while the group was hidden: it is drawn when next shown.
                raise PreventUpdate
            if ctx.triggered_id == MODEL_TRAINED and current is not None:
                data = current  # the due store may hold an older view (drawn from the cache)
            return cached_fill(data)  # the training stamp is a trigger, not part of the key

        app.callback(*outputs, view, Input(MODEL_TRAINED, "data"), State(STORE, "data"),
                     prevent_initial_call=True)(fill_when_trained)
    if gated:
        return None
    return Delivered(outputs, fill, outputs_name, panels[0].due_id)


def register_delivery(app: Dash, page: Page, groups: Sequence[Delivered]) -> None:
    """One callback per page that answers a view change with every cached group at once
    and passes the view on (through the group's due store) only to the groups not cached:
    a cached refresh is the view sync and this one request, not one per group."""
    outputs = [Output(output.component_id, output.component_property, allow_duplicate=True)
               for group in groups for output in group.outputs]
    outputs += [Output(group.due_id, "data") for group in groups]

    def deliver(data: dict[str, Any] | None) -> list[Any]:
        view_of_page(data, page.path, page.params)  # another page's view, or a crafted one
        values: list[Any] = []
        due: list[Any] = []
        for group in groups:
            stored = stored_output(group.fill, (data,), group.outputs_name)
            values += stored if stored is not None else [no_update] * len(group.outputs)
            due.append(data if stored is None else no_update)
        return values + due

    deliver.__qualname__ = f"deliver.{page.path}"
    app.callback(*outputs, Input(STORE, "data"),
                 prevent_initial_call="initial_duplicate")(deliver)


def _view_input(app: Dash, first: Panel) -> Input:
    """The view a group's callback reads: its due store (filled by the page's delivery when
    the group's answer is not cached), or for a group that some views hide (`when`), its
    gate, which the browser fills only while the group is shown, so a hidden tab or
    drill-down sends no request."""
    if first.when is None:
        return Input(first.due_id, "data")
    app.clientside_callback(ClientsideFunction(namespace="pulseboard", function_name="passShown"),
                            Output(first.gate_id, "data"), Input(STORE, "data"),
                            State(first.gate_id, "id"))
    return Input(first.gate_id, "data")


def register_callbacks(app: Dash, pages: Sequence[Page] = PAGES) -> None:
    """Register the callbacks of every panel of every page."""
    for page in pages:
        groups = [register_group(app, page, panels) for panels in grouped(page.panels)]
        delivered = [group for group in groups if group is not None]
        if delivered:
            register_delivery(app, page, delivered)
