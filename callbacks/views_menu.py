"""Callbacks of the "Views" menu (save, list, rename, share, delete) and of the theme picker.

Reads go through `fetch`, writes through `perform` (one transaction, audited by the
service). An admin previewing the app as someone else ("view as") changes nothing.
"""
from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import ALL, ClientsideFunction, Dash, Input, Output, State, ctx, html, no_update
from dash.exceptions import PreventUpdate
from flask import request
from flask_login import current_user

from dashapp.context import actor, current_role, fetch, perform
from dashapp.filters import parse_query, to_query
from layouts import shell
from layouts import views_menu as menu
from layouts.pages import page_for
from services import saved_views
from services.errors import ServiceError
from services.preferences import set_theme, theme_of

PREVIEW_REFUSAL = "You are previewing as someone else: views cannot be changed."


def _alert(message: Any, ok: bool) -> dbc.Alert:
    return dbc.Alert(message, color="success" if ok else "danger", className="py-2 mb-0 small",
                     id="views-alert")


def current_url(data: dict[str, Any] | None) -> tuple[str, str]:
    """The page path and canonical query string of the view in the browser's store."""
    if not data or not isinstance(data.get("path"), str):
        raise ServiceError("Open a page first: there is no view to save.")
    page = page_for(data["path"])
    if page is None:
        raise ServiceError("Only a Pulseboard page can be saved as a view.")
    view = parse_query(str(data.get("query") or ""), page.params)
    return page.path, to_query(view.filters, view.page, page.params)


def editable(rows: list[dict[str, Any]], role: str) -> list[dict[str, str]]:
    """The views the user may change, as options: their own, and every view for an admin."""
    return [{"label": row["name"] if row["mine"] else f"{row['name']} ({row['owner']})",
             "value": row["id"]} for row in rows if row["mine"] or role == "admin"]


def save_current(name: str | None, sharing: str | None, role: str | None,
                 data: dict[str, Any] | None) -> dbc.Alert:
    """Save the browser's view; the alert gives its permalink or says what was wrong."""
    if current_user.viewed_by:
        return _alert(PREVIEW_REFUSAL, False)
    try:
        path, query = current_url(data)
        view = perform(saved_views.create_view, actor(), name or "", path, query,
                       sharing or "private", role)
    except ServiceError as error:
        return _alert(str(error), False)
    link = f"{request.host_url.rstrip('/')}/v/{view.id}"
    return _alert(["Saved. Its link: ", html.A(link, href=link, id="views-permalink")], True)


def change_view(action: str, view_id: str | None, name: str | None, sharing: str | None,
                role: str | None) -> dbc.Alert:
    """Rename, share or delete one view."""
    if current_user.viewed_by:
        return _alert(PREVIEW_REFUSAL, False)
    if not view_id:
        return _alert("Choose a view first.", False)
    try:
        if action == "rename":
            perform(saved_views.rename_view, actor(), view_id, name or "")
        elif action == "share":
            perform(saved_views.share_view, actor(), view_id, sharing or "private", role)
        else:
            perform(saved_views.delete_view, actor(), view_id)
    except ServiceError as error:
        return _alert(str(error), False)
    done = {"rename": "Renamed.", "share": "Sharing saved.", "delete": "Deleted."}
    return _alert(done.get(action, "Done."), True)


def bumped(result: dbc.Alert, changed: int | None) -> Any:
    """The menu's change counter after an action: one more when it succeeded (the menu is
    then read again), unchanged otherwise."""
    return (changed or 0) + 1 if result.color == "success" else no_update


def register_callbacks(app: Dash) -> None:
    """Register the menu's and the theme's callbacks on `app`."""

    @app.callback(
        Output(menu.MENU, "children"),
        Output(menu.MANAGE_PICK, "options"),
        Input(menu.CHANGED, "data"),
    )
    def list_views(_changed: int | None) -> tuple[list[Any], list[dict[str, str]]]:
        role = current_role()
        rows = fetch(saved_views.views_for, role)
        return menu.menu_items(rows), editable(rows, role)

    @app.callback(
        Output(menu.SAVE_MODAL, "is_open"),
        Output(menu.SAVE_NAME, "value"),
        Output(menu.SAVE_RESULT, "children"),
        Input(menu.SAVE_OPEN, "n_clicks"),
        State(shell.STORE, "data"),
        prevent_initial_call=True,
    )
    def open_save(clicks: int | None, data: dict[str, Any] | None) -> tuple[Any, ...]:
        if not clicks:
            raise PreventUpdate
        page = page_for((data or {}).get("path"))
        return True, page.title if page else "", None

    @app.callback(
        Output(menu.SAVE_RESULT, "children", allow_duplicate=True),
        Output(menu.CHANGED, "data"),
        Input(menu.SAVE_BUTTON, "n_clicks"),
        State(menu.SAVE_NAME, "value"),
        State(menu.SAVE_SHARING, "value"),
        State(menu.SAVE_ROLE, "value"),
        State(shell.STORE, "data"),
        State(menu.CHANGED, "data"),
        prevent_initial_call=True,
    )
    def save(clicks: int | None, name: str | None, sharing: str | None, role: str | None,
             data: dict[str, Any] | None, changed: int | None) -> tuple[Any, Any]:
        if not clicks:
            raise PreventUpdate
        result = save_current(name, sharing, role, data)
        return result, bumped(result, changed)

    @app.callback(
        Output(menu.MANAGE_MODAL, "is_open"),
        Output(menu.MANAGE_RESULT, "children"),
        Input(menu.MANAGE_OPEN, "n_clicks"),
        prevent_initial_call=True,
    )
    def open_manage(clicks: int | None) -> tuple[bool, None]:
        if not clicks:
            raise PreventUpdate
        return True, None

    @app.callback(
        Output(menu.MANAGE_NAME, "value"),
        Output(menu.MANAGE_SHARING, "value"),
        Output(menu.MANAGE_ROLE, "value"),
        Input(menu.MANAGE_PICK, "value"),
        prevent_initial_call=True,
    )
    def show_view(view_id: str | None) -> tuple[Any, Any, Any]:
        row = next((row for row in fetch(saved_views.views_for, current_role())
                    if row["id"] == view_id), None)
        if row is None:
            return "", "private", "viewer"
        return row["name"], row["sharing"], row["role"] or "viewer"

    @app.callback(
        Output(menu.MANAGE_RESULT, "children", allow_duplicate=True),
        Output(menu.CHANGED, "data", allow_duplicate=True),
        Input({"type": menu.MANAGE_ACTION, "action": ALL}, "n_clicks"),
        State(menu.MANAGE_PICK, "value"),
        State(menu.MANAGE_NAME, "value"),
        State(menu.MANAGE_SHARING, "value"),
        State(menu.MANAGE_ROLE, "value"),
        State(menu.CHANGED, "data"),
        prevent_initial_call=True,
    )
    def manage(clicks: list[int | None], view_id: str | None, name: str | None,
               sharing: str | None, role: str | None, changed: int | None) -> tuple[Any, Any]:
        trigger = ctx.triggered_id
        if not isinstance(trigger, dict) or not any(clicks):
            raise PreventUpdate
        result = change_view(str(trigger.get("action")), view_id, name, sharing, role)
        return result, bumped(result, changed)

    # The theme: the stored choice is read once, when the frame loads (the themes store is
    # part of the frame and never changes); the browser applies it (assets/theme.js) and
    # every later change is stored for the user.
    @app.callback(Output(menu.THEME, "value"), Input(menu.FIGURE_THEMES, "data"))
    def load_theme(_themes: Any) -> str:
        return fetch(theme_of)

    app.clientside_callback(
        ClientsideFunction(namespace="pulseboardTheme", function_name="apply"),
        Output(menu.THEME_MODE, "data"),
        Input(menu.THEME, "value"),
        State(menu.FIGURE_THEMES, "data"),
    )

    @app.callback(Input(menu.THEME, "value"), prevent_initial_call=True)
    def store_theme(theme: str | None) -> None:
        if theme and not current_user.viewed_by:
            perform(set_theme, actor().id, theme)
