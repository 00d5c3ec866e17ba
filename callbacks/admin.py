"""Admin callbacks: every action goes through `services.admin` as the logged-in admin (by
`dashapp.context.perform`, which commits), and the service refuses anyone else and writes the
audit log."""
from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
import pandas as pd
from dash import Dash, Input, Output, State, html, no_update
from dash.exceptions import PreventUpdate
from flask import current_app
from flask_wtf.csrf import generate_csrf

import dashapp
from callbacks.common import view_of_page
from callbacks.exports import ExportSpec
from dashapp import security
from dashapp.config import business_defaults
from dashapp.context import (
    actor,
    data_changed,
    fetch,
    perform,
    result_cache,
    setting,
    settings_changed,
)
from dashapp.filters import View
from dashapp.mailings import send_account_link
from layouts import admin as ids
from layouts.shell import STORE
from models import utcnow
from services import admin, settings
from services.account_tokens import INVITE_LIFETIME, invite_user
from services.deliveries import failed_deliveries
from services.dimensions import platform_options
from services.errors import ServiceError
from services.filters import Period
from services.mail import MailError


def _view(data: dict[str, Any] | None) -> View:
    return view_of_page(data, ids.PATH, ids.PARAMS)[0]


def _done(message: str) -> dbc.Alert:
    return dbc.Alert(message, color="success", dismissable=True, className="py-2",
                     id="admin-message")


def _failed(error: ServiceError) -> dbc.Alert:
    return dbc.Alert(str(error), color="danger", dismissable=True, className="py-2",
                     id="admin-message")


def audit_frame(view: View) -> pd.DataFrame:
    """The audit events the view asks for (also what the audit export contains)."""
    action = view.page["action"]
    who = view.page["who"]
    return perform(admin.audit_log, actor(), None if action == "all" else action,
                   None if who == "anyone" else who)


def tab_content(view: View) -> Any:
    """The content of the selected tab."""
    tab = view.page["tab"]
    who = actor()
    users = perform(admin.list_users, who)
    zone = setting("TIMEZONE")
    if tab == "tokens":
        return ids.tokens_tab(perform(admin.list_tokens, who), users, zone)
    if tab == "audit":
        events = audit_frame(view).to_dict("records")
        return ids.audit_tab(events, perform(admin.audit_actions, who),
                             view.page["action"], users,
                             view.page["who"], zone)
    if tab == "stages":
        return ids.stages_tab(perform(admin.list_stages, who))
    if tab == "settings":
        return ids.settings_tab(perform(settings.list_settings, who, _defaults()),
                                settings.currency_choices(), settings.timezone_choices(), zone)
    if tab == "status":
        cache = result_cache().stats()
        return ids.status_tab({**perform(admin.system_status, who),
                               "deliveries": perform(failed_deliveries, who),
                               "cache": describe_cache(cache), "cache_outage": cache["outage"],
                               "requests": describe_requests(request_stats())},
                              dashapp.__version__, zone)
    return ids.users_tab(users, fetch(platform_options), zone)


def _defaults() -> settings.BusinessSettings:
    return business_defaults(current_app.config)


def save_settings(changes: dict[str, Any]) -> tuple[Any, Any]:
    """Store the admin's settings: feedback naming each change (old → new), and a refresh
    signal; a refusal says why and saves nothing."""
    try:
        changed = perform(settings.update_settings, actor(), _defaults(), changes)
    except ServiceError as error:
        return _failed(error), no_update
    if not changed:
        return _done("Nothing changed."), no_update
    settings_changed()
    said = "; ".join(f"{settings.LABELS[key]}: {settings.describe(key, old)} → "
                     f"{settings.describe(key, new)}" for key, (old, new) in changed.items())
    return _done(f"Saved. {said}."), said


def describe_cache(stats: dict[str, Any]) -> str:
    """'redis, 83% hits (1,204 of 1,450)' or the backend alone before any use."""
    if stats["outage"] is not None:
        return f"{stats['backend']}, not answering"
    if stats["hit_rate"] is None:
        return f"{stats['backend']}, not used yet"
    total = stats["hits"] + stats["misses"]
    return (f"{stats['backend']}, {stats['hit_rate']:.0%} hits "
            f"({stats['hits']:,} of {total:,})")


def request_stats() -> dict[str, Any] | None:
    """Recent request figures, or None when no backend keeps them."""
    stats = current_app.extensions["request_stats"]
    return stats.summary(security.clock()) if stats.enabled else None


def describe_requests(summary: dict[str, Any] | None) -> str:
    """'1,204 requests in 15 min; p50 ≤ 25 ms, p95 ≤ 250 ms, p99 ≤ 500 ms; 0 errors'."""
    if summary is None:
        return "not recorded (the cache is off)"
    if not summary["requests"]:
        return f"no requests in the last {summary['minutes']} minutes"
    bounds = ", ".join(f"{q} ≤ {summary[q]:,.0f} ms" for q in ("p50", "p95", "p99"))
    return (f"{summary['requests']:,} requests in {summary['minutes']} min; {bounds}; "
            f"{summary['errors']:,} errors")


def run_action(action: Any, *args: Any, success: str) -> tuple[Any, Any]:
    """Feedback and a refresh signal for an admin action (the error message if it fails)."""
    try:
        perform(action, actor(), *args)
    except ServiceError as error:
        return _failed(error), no_update
    return _done(success), success


def invite_by_email(email: str, role: str, platforms: list[str],
                    name: str | None) -> tuple[Any, Any]:
    """Create the user and e-mail them a link to choose their password (72 hours)."""
    try:
        user, token = perform(invite_user, actor(), email, role, platforms, name)
    except ServiceError as error:
        return _failed(error), no_update
    try:
        send_account_link(user, token, "invite", utcnow() + INVITE_LIFETIME)
    except MailError as error:
        return _failed(MailError(f"{user.email} was added, but the invitation was not sent "
                                 f"({error}); fix the mail settings, then use “Reset "
                                 "password” or invite again after removing the user.")), \
            "invited"
    return _done(f"Invited {user.email}: the link is valid for 72 hours."), "invited"


def register_callbacks(app: Dash) -> None:
    """Register the Admin page callbacks on `app`."""

    @app.callback(Output(ids.CONTENT, "children"), Input(STORE, "data"),
                  Input(ids.REFRESH, "data"))
    def render(data: dict[str, Any] | None, _refresh: Any) -> Any:
        try:
            return tab_content(_view(data))
        except ServiceError as error:
            return _failed(error)

    @app.callback(Output(ids.FEEDBACK, "children", allow_duplicate=True),
                  Output(ids.REFRESH, "data", allow_duplicate=True),
                  Input(ids.CREATE, "n_clicks"),
                  State(ids.NEW_EMAIL, "value"), State(ids.NEW_PASSWORD, "value"),
                  State(ids.NEW_ROLE, "value"), State(ids.NEW_PLATFORMS, "value"),
                  State(ids.NEW_NAME, "value"), prevent_initial_call=True)
    def create(clicks: int | None, email: str | None, password: str | None, role: str | None,
               platforms: list[str] | None, name: str | None) -> tuple[Any, Any]:
        if not clicks:
            raise PreventUpdate
        return run_action(admin.add_user, email or "", password or "", role or "viewer",
                          platforms or [], name, success=f"Added {email}.")

    @app.callback(Output(ids.FEEDBACK, "children", allow_duplicate=True),
                  Output(ids.REFRESH, "data", allow_duplicate=True),
                  Input(ids.INVITE, "n_clicks"),
                  State(ids.NEW_EMAIL, "value"), State(ids.NEW_ROLE, "value"),
                  State(ids.NEW_PLATFORMS, "value"), State(ids.NEW_NAME, "value"),
                  prevent_initial_call=True)
    def invite(clicks: int | None, email: str | None, role: str | None,
               platforms: list[str] | None, name: str | None) -> tuple[Any, Any]:
        if not clicks:
            raise PreventUpdate
        return invite_by_email(email or "", role or "viewer", platforms or [], name)

    @app.callback(Output(ids.EDIT_NAME, "value"), Output(ids.EDIT_ROLE, "value"),
                  Output(ids.EDIT_PLATFORMS, "value"), Output(ids.EDIT_ACTIVE, "value"),
                  Input(ids.EDIT_USER, "value"), prevent_initial_call=True)
    def load_user(user_id: int | None) -> tuple[Any, ...]:
        if user_id is None:
            raise PreventUpdate
        users = {user["id"]: user for user in perform(admin.list_users, actor())}
        user = users.get(user_id)
        if user is None:
            raise PreventUpdate
        return user["name"], user["role"], user["platform_slugs"], user["active"]

    @app.callback(Output(ids.FEEDBACK, "children", allow_duplicate=True),
                  Output(ids.REFRESH, "data", allow_duplicate=True),
                  Input(ids.SAVE, "n_clicks"),
                  State(ids.EDIT_USER, "value"), State(ids.EDIT_NAME, "value"),
                  State(ids.EDIT_ROLE, "value"), State(ids.EDIT_PLATFORMS, "value"),
                  State(ids.EDIT_ACTIVE, "value"), prevent_initial_call=True)
    def save(clicks: int | None, user_id: int | None, name: str | None, role: str | None,
             platforms: list[str] | None, active: bool | None) -> tuple[Any, Any]:
        if not clicks or user_id is None:
            raise PreventUpdate
        return run_action(admin.update_user, user_id, name, role, platforms or [],
                          bool(active), success="Saved: it applies from the user's next click.")

    @app.callback(Output(ids.FEEDBACK, "children", allow_duplicate=True),
                  Input(ids.RESET, "n_clicks"), State(ids.EDIT_USER, "value"),
                  State(ids.RESET_PASSWORD, "value"), prevent_initial_call=True)
    def reset(clicks: int | None, user_id: int | None, password: str | None) -> Any:
        if not clicks or user_id is None:
            raise PreventUpdate
        return run_action(admin.reset_password, user_id, password or "",
                          success="Password changed; the user's sessions have ended.")[0]

    @app.callback(Output(ids.VIEW_AS_USER, "value"), Output(ids.VIEW_AS, "disabled"),
                  Output(ids.VIEW_AS_CSRF, "value"), Input(ids.EDIT_USER, "value"),
                  prevent_initial_call=True)
    def choose_view_as(user_id: int | None) -> tuple[Any, bool, str]:
        # The form posts to /view-as/start, which checks the role and the CSRF token.
        return user_id, user_id is None, generate_csrf()

    @app.callback(Output(ids.NEW_TOKEN, "children"),
                  Output(ids.REFRESH, "data", allow_duplicate=True),
                  Input(ids.ISSUE, "n_clicks"), State(ids.TOKEN_USER, "value"),
                  State(ids.TOKEN_NAME, "value"), prevent_initial_call=True)
    def issue(clicks: int | None, user_id: int | None, name: str | None) -> tuple[Any, Any]:
        if not clicks or user_id is None:
            raise PreventUpdate
        try:
            token = perform(admin.issue_token, actor(), user_id, name)
        except ServiceError as error:
            return _failed(error), no_update
        return dbc.Alert([html.Div("Copy this token now: it is shown only once."),
                          html.Code(token, id="admin-token-value")], color="warning",
                         className="py-2"), token[:10]

    @app.callback(Output(ids.FEEDBACK, "children", allow_duplicate=True),
                  Output(ids.REFRESH, "data", allow_duplicate=True),
                  Input(ids.REVOKE, "n_clicks"), State(ids.REVOKE_TOKEN, "value"),
                  prevent_initial_call=True)
    def revoke(clicks: int | None, token_id: int | None) -> tuple[Any, Any]:
        if not clicks or token_id is None:
            raise PreventUpdate
        return run_action(admin.revoke_token, token_id, success="Token revoked.")

    register_stage_callbacks(app)
    register_settings_callbacks(app)


def register_stage_callbacks(app: Dash) -> None:
    """The stage editor: choosing a stage fills the form, saving changes it."""

    @app.callback(Output(ids.STAGE_NAME, "value"), Output(ids.STAGE_POSITION, "value"),
                  Output(ids.STAGE_PROBABILITY, "value"), Input(ids.STAGE_PICK, "value"),
                  prevent_initial_call=True)
    def load_stage(stage_id: int | None) -> tuple[Any, ...]:
        stages = {stage["id"]: stage for stage in perform(admin.list_stages, actor())}
        stage = stages.get(stage_id) if stage_id is not None else None
        if stage is None:
            raise PreventUpdate
        probability = stage["probability"]
        return (stage["name"], stage["position"],
                None if probability is None else round(probability * 100, 2))

    @app.callback(Output(ids.FEEDBACK, "children", allow_duplicate=True),
                  Output(ids.REFRESH, "data", allow_duplicate=True),
                  Input(ids.STAGE_SAVE, "n_clicks"), State(ids.STAGE_PICK, "value"),
                  State(ids.STAGE_NAME, "value"), State(ids.STAGE_POSITION, "value"),
                  State(ids.STAGE_PROBABILITY, "value"), prevent_initial_call=True)
    def save_stage(clicks: int | None, stage_id: int | None, name: str | None,
                   position: Any, probability: Any) -> tuple[Any, Any]:
        if not clicks or stage_id is None:
            raise PreventUpdate
        chance = None if probability in (None, "") else float(probability) / 100
        result = run_action(admin.update_stage, stage_id, name or "", int(position or 1),
                            chance, success="Stage saved; the Pipeline page uses it now.")
        if result[1] is not no_update:
            data_changed(models=False)  # the pipeline's figures (no model) read the stages
        return result


def register_settings_callbacks(app: Dash) -> None:
    """The business settings form: saving stores and audits every changed setting."""

    @app.callback(Output(ids.FEEDBACK, "children", allow_duplicate=True),
                  Output(ids.REFRESH, "data", allow_duplicate=True),
                  Input(ids.SET_SAVE, "n_clicks"), State(ids.SET_NAME, "value"),
                  State(ids.SET_CURRENCY, "value"), State(ids.SET_TIMEZONE, "value"),
                  State(ids.SET_FISCAL, "value"), State(ids.SET_ROI, "value"),
                  State(ids.SET_ROAS, "value"), prevent_initial_call=True)
    def save(clicks: int | None, name: Any, currency: Any, zone: Any, fiscal: Any, roi: Any,
             roas: Any) -> tuple[Any, Any]:
        if not clicks:
            raise PreventUpdate
        return save_settings({"name": name, "currency": currency, "timezone": zone,
                              "fiscal_year_start": fiscal, "roi_benchmark": roi,
                              "roas_benchmark": roas})


def _audit_export(view: View, _period: Period) -> pd.DataFrame:
    return audit_frame(view)


EXPORTS = (ExportSpec(ids.AUDIT_EXPORT, "Audit log", ids.PATH, ids.PARAMS, _audit_export),)
