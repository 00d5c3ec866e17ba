"""Callbacks of the "Subscribe / alerts" dialog: digests and alerts of saved views.

Writes go through `perform` (one transaction; the services check who may open the view and
audit the change). An admin previewing the app as someone else changes nothing.
"""
from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import ALL, Dash, Input, Output, State, ctx, no_update
from dash.exceptions import PreventUpdate
from flask_login import current_user

from callbacks.views_menu import PREVIEW_REFUSAL
from dashapp.context import actor, current_role, fetch, perform, setting
from layouts import subscriptions as ids
from services import admin, alerts, digests, saved_views
from services.errors import InvalidInput, ServiceError


def _alert(message: str, ok: bool) -> dbc.Alert:
    return dbc.Alert(message, color="success" if ok else "danger", className="py-2 mb-0 small",
                     id="subs-alert")


def listing() -> Any:
    """The user's digests and alerts (an admin's: everyone's)."""
    who = actor()
    return ids.subscriptions_list(perform(digests.subscriptions_of, who),
                                  perform(alerts.alerts_of, who))


def parse_time(value: str | None) -> tuple[int, int]:
    """'08:30' as (8, 30); InvalidInput otherwise."""
    hour, _, minute = (value or "").partition(":")
    if not (hour.isdigit() and minute[:2].isdigit()):
        raise InvalidInput("Choose the time the digest is sent.")
    return int(hour), int(minute[:2])


def add_digest(view_id: str | None, frequency: str | None, at: str | None,
               weekday: str | None, day: Any, recipient: str | None) -> dbc.Alert:
    """Subscribe (the recipient chosen by an admin, else the user) to the view."""
    if current_user.viewed_by:
        return _alert(PREVIEW_REFUSAL, False)
    try:
        hour, minute = parse_time(at)
        row = perform(digests.subscribe, actor(), view_id or "", frequency or "", hour, minute,
                      int(weekday) if weekday else None, int(day) if day else None,
                      int(recipient) if recipient else None, setting("TIMEZONE"))
    except ServiceError as error:
        return _alert(str(error), False)
    return _alert(f"Subscribed: {digests.schedule_words(row)} "
                  f"({setting('TIMEZONE')}).", True)


def add_alert(view_id: str | None, kind: str | None, metric: str | None, threshold: Any,
              recipient: str | None) -> dbc.Alert:
    """An alert on the view for the user (or the admin's chosen recipient)."""
    if current_user.viewed_by:
        return _alert(PREVIEW_REFUSAL, False)
    try:
        row = perform(alerts.create_alert, actor(), view_id or "", kind or "", metric or "",
                      float(threshold) if threshold not in (None, "") else None,
                      int(recipient) if recipient else None)
    except ServiceError as error:
        return _alert(str(error), False)
    return _alert(f"Alert added: {alerts.rule_words(row)}.", True)


def remove(what: str, row_id: int) -> dbc.Alert:
    """End one digest or alert (its recipient or an admin)."""
    if current_user.viewed_by:
        return _alert(PREVIEW_REFUSAL, False)
    try:
        if what == "digest":
            perform(digests.unsubscribe, row_id, actor())
        else:
            perform(alerts.delete_alert, actor(), row_id)
    except ServiceError as error:
        return _alert(str(error), False)
    return _alert("Removed.", True)


def register_callbacks(app: Dash) -> None:
    """Register the dialog's callbacks on `app`."""

    @app.callback(
        Output(ids.MODAL, "is_open"), Output(ids.VIEW, "options"), Output(ids.VIEW, "value"),
        Output(ids.RECIPIENT, "options"), Output(ids.RECIPIENT, "value"),
        Output(ids.RECIPIENT_ROW, "style"),
        Output(ids.LIST, "children"), Output(ids.RESULT, "children"),
        Input(ids.OPEN, "n_clicks"), prevent_initial_call=True)
    def open_dialog(clicks: int | None) -> tuple[Any, ...]:
        if not clicks:
            raise PreventUpdate
        role = current_role()
        views = [{"label": row["name"], "value": row["id"]}
                 for row in fetch(saved_views.views_for, role)]
        people: list[dict[str, Any]] = []
        if role == "admin" and not current_user.viewed_by:
            people = [{"label": user["email"], "value": str(user["id"])}
                      for user in perform(admin.list_users, actor()) if user["active"]]
        hidden = {} if people else {"display": "none"}
        return (True, views, views[0]["value"] if views else None, people,
                str(current_user.id), hidden, listing(),
                None if views else _alert("Save a view first (Views → Save this view…).",
                                          False))

    @app.callback(
        Output(ids.RESULT, "children", allow_duplicate=True),
        Output(ids.LIST, "children", allow_duplicate=True),
        Input(ids.SUBSCRIBE, "n_clicks"), Input(ids.ADD_ALERT, "n_clicks"),
        Input({"type": ids.REMOVE, "what": ALL, "id": ALL}, "n_clicks"),
        State(ids.VIEW, "value"), State(ids.FREQUENCY, "value"), State(ids.TIME, "value"),
        State(ids.WEEKDAY, "value"), State(ids.DAY, "value"), State(ids.RECIPIENT, "value"),
        State(ids.KIND, "value"), State(ids.METRIC, "value"), State(ids.THRESHOLD, "value"),
        prevent_initial_call=True)
    def act(_subscribe: int | None, _alert_clicks: int | None, removes: list[int | None],
            view_id: str | None, frequency: str | None, at: str | None, weekday: str | None,
            day: Any, recipient: str | None, kind: str | None, metric: str | None,
            threshold: Any) -> tuple[Any, Any]:
        trigger = ctx.triggered_id
        if trigger == ids.SUBSCRIBE and _subscribe:
            result = add_digest(view_id, frequency, at, weekday, day, recipient)
        elif trigger == ids.ADD_ALERT and _alert_clicks:
            result = add_alert(view_id, kind, metric, threshold, recipient)
        elif isinstance(trigger, dict) and any(removes):
            result = remove(str(trigger.get("what")), int(trigger.get("id") or 0))
        else:
            raise PreventUpdate
        return result, listing() if result.color == "success" else no_update
