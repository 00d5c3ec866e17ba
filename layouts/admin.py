"""Admin page: users and platform access, API tokens, the audit log, system status, view as,
and the pipeline's stages."""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo

import dash_bootstrap_components as dbc
import pandas as pd
from dash import dcc, html

from dashapp.context import setting
from dashapp.filters import View
from dashapp.permissions import ADMIN_PAGE_ROLES
from layouts.components import busy
from layouts.controls import button_group
from layouts.shell import PAGE_PARAM, export_menu
from services.filters import ParamSpec
from services.settings import MONTHS

PATH = "/admin"
TITLE = "Admin"
TABS = {"users": "Users", "tokens": "API tokens", "audit": "Audit log", "status": "System",
        "stages": "Pipeline stages", "settings": "Settings"}
PARAMS = (ParamSpec("tab", default="users", choices=tuple(TABS)),
          ParamSpec("action", default="all"), ParamSpec("who", default="anyone"))
ROLES = ADMIN_PAGE_ROLES

TAB = {"type": PAGE_PARAM, "name": "tab"}
AUDIT_ACTION = {"type": PAGE_PARAM, "name": "action"}
AUDIT_WHO = {"type": PAGE_PARAM, "name": "who"}
REFRESH = "admin-refresh"
CONTENT = "admin-content"
FEEDBACK = "admin-feedback"
USERS_TABLE = "admin-users-table"
NEW_EMAIL, NEW_NAME, NEW_ROLE = "admin-new-email", "admin-new-name", "admin-new-role"
NEW_PLATFORMS, NEW_PASSWORD, CREATE = "admin-new-platforms", "admin-new-password", "admin-create"
INVITE = "admin-invite"  # the same form, without a password: the user sets it by e-mail
EDIT_USER, EDIT_NAME, EDIT_ROLE = "admin-edit-user", "admin-edit-name", "admin-edit-role"
EDIT_PLATFORMS, EDIT_ACTIVE, SAVE = "admin-edit-platforms", "admin-edit-active", "admin-save"
RESET_PASSWORD, RESET = "admin-reset-password", "admin-reset"
VIEW_AS = "admin-view-as"
VIEW_AS_USER = "admin-view-as-user"
VIEW_AS_CSRF = "admin-view-as-csrf"
TOKEN_USER, TOKEN_NAME, ISSUE = "admin-token-user", "admin-token-name", "admin-issue-token"
REVOKE_TOKEN, REVOKE = "admin-revoke-token", "admin-revoke"
NEW_TOKEN = "admin-new-token"
TOKENS_TABLE = "admin-tokens-table"
AUDIT_TABLE = "admin-audit-table"
AUDIT_EXPORT = "admin-audit"
STATUS = "admin-status"
CACHE_OUTAGE = "admin-cache-outage"
API_REFERENCE = "/api/v1/reference"  # rendered from the OpenAPI description
STAGE_PICK, STAGE_NAME = "admin-stage-pick", "admin-stage-name"
STAGE_POSITION, STAGE_PROBABILITY = "admin-stage-position", "admin-stage-probability"
STAGE_SAVE, STAGES_TABLE = "admin-stage-save", "admin-stages-table"
SET_NAME, SET_CURRENCY, SET_TIMEZONE = "admin-set-name", "admin-set-currency", "admin-set-timezone"
SET_FISCAL, SET_ROI, SET_ROAS = "admin-set-fiscal", "admin-set-roi", "admin-set-roas"
SET_SAVE, SETTINGS_TABLE = "admin-settings-save", "admin-settings-table"
ROLE_OPTIONS = [{"label": role.capitalize(), "value": role}
                for role in ("viewer", "analyst", "admin")]


def layout(view: View) -> html.Div:
    """The admin page; the selected tab comes from the URL."""
    tab = view.page["tab"]
    tabs = button_group(TAB, tab, TABS, primary=True, class_name="flex-wrap mb-3")
    return html.Div([
        dcc.Store(id=REFRESH, data=0),
        html.H1("Administration", className="h4"),
        html.P(["The date, platform and product filters above do not apply to "
                "administration. API tokens give scripts the same numbers as the pages: see the ",
                html.A("API reference", href=API_REFERENCE, id="admin-api-reference"), "."],
               className="small text-muted mb-2"),
        tabs,
        html.Div(id=FEEDBACK),
        html.Div(id=NEW_TOKEN),
        busy(html.Div(id=CONTENT)),
    ])


NONE = "—"  # what a table shows for no value


def local_time(value: dt.datetime, zone: str) -> str:
    """A stored (naive UTC) time in the business time zone, to the minute."""
    aware = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return f"{aware.astimezone(ZoneInfo(zone)):%Y-%m-%d %H:%M}"


def cell(value: Any, zone: str | None = None) -> str:
    """A value as a table shows it: yes/no, “—” for none, times to the minute in `zone`
    (default: the business time zone), whole numbers with thousands separators."""
    if value is None or value == "" or (not isinstance(value, str) and pd.isna(value)):
        return NONE
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dt.datetime):
        return local_time(value, zone or setting("TIMEZONE"))
    if isinstance(value, dt.date):
        return f"{value:%Y-%m-%d}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def table(rows: Sequence[Mapping[str, Any]], columns: Sequence[tuple[str, str]],
          component_id: str, empty: str = "Nothing to show yet.",
          zone: str | None = None) -> Any:
    """A plain striped table of `rows` (text only: no HTML is rendered from data), or the
    line `empty` when there are none."""
    if not rows:
        return html.P(empty, id=component_id, className="text-muted small mb-0")
    header = html.Thead(html.Tr([html.Th(label) for _, label in columns]))
    body = html.Tbody([html.Tr([html.Td(cell(row.get(key), zone)) for key, _ in columns])
                       for row in rows])
    return dbc.Table([header, body], striped=True, hover=True, size="sm", responsive=True,
                     id=component_id, className="bg-white")


def _field(label: str, control: Any, width: int = 3) -> dbc.Col:
    return dbc.Col([dbc.Label(label, className="filter-label"), control], md=width)


def times_note(zone: str) -> html.P:
    """The line saying which time zone a tab's times are in."""
    return html.P(f"Times are in the business time zone, {zone}.",
                  className="small text-muted mb-1")


def users_tab(users: Sequence[dict[str, Any]], platforms: Sequence[dict[str, str]],
              zone: str = "UTC") -> html.Div:
    """User list, create form, edit form with reset password and view-as."""
    platform_options = [{"label": p["name"], "value": p["slug"]} for p in platforms]
    user_options = [{"label": u["email"], "value": u["id"]} for u in users]
    columns = [("email", "E-mail"), ("name", "Name"), ("role", "Role"),
               ("platforms", "Platforms"), ("active", "Active"), ("last_login", "Last login")]
    create = dbc.Card(dbc.CardBody([
        html.H2("Add a user", className="h6"),
        dbc.Row([
            _field("E-mail", dbc.Input(id=NEW_EMAIL, type="email")),
            _field("Name", dbc.Input(id=NEW_NAME)),
            _field("Role", dcc.Dropdown(id=NEW_ROLE, options=ROLE_OPTIONS, value="viewer",
                                        clearable=False), 2),
            _field("Platforms (empty: all)", dcc.Dropdown(id=NEW_PLATFORMS, multi=True,
                                                          options=platform_options), 2),
            _field("Password", dbc.Input(id=NEW_PASSWORD, type="password"), 2),
        ], className="g-2"),
        html.Div([
            dbc.Button("Add user", id=CREATE, color="primary", size="sm"),
            dbc.Button("Invite by e-mail (no password)", id=INVITE, color="primary",
                       outline=True, size="sm"),
        ], className="d-flex gap-2 mt-2 flex-wrap"),
    ]), className="mb-3")
    edit = dbc.Card(dbc.CardBody([
        html.H2("Change a user", className="h6"),
        dbc.Row([
            _field("User", dcc.Dropdown(id=EDIT_USER, options=user_options)),
            _field("Name", dbc.Input(id=EDIT_NAME), 2),
            _field("Role", dcc.Dropdown(id=EDIT_ROLE, options=ROLE_OPTIONS, clearable=False), 2),
            _field("Platforms (empty: all)", dcc.Dropdown(id=EDIT_PLATFORMS, multi=True,
                                                          options=platform_options), 3),
            _field("Active", dbc.Switch(id=EDIT_ACTIVE, value=True), 2),
        ], className="g-2"),
        html.Div([
            dbc.Button("Save changes", id=SAVE, color="primary", size="sm"),
            dbc.Input(id=RESET_PASSWORD, type="password", placeholder="New password",
                      size="sm", className="reset-password"),
            dbc.Button("Reset password", id=RESET, color="secondary", size="sm"),
        ], className="d-flex gap-2 mt-2 align-items-center"),
        html.Form([dcc.Input(type="hidden", name="csrf_token", id=VIEW_AS_CSRF),
                   dcc.Input(type="hidden", name="user_id", id=VIEW_AS_USER),
                   html.Button("View the app as this user", id=VIEW_AS, type="submit",
                               className="btn btn-info btn-sm", disabled=True)],
                  action="/view-as/start", method="POST", className="mt-2"),
    ]), className="mb-3")
    return html.Div([create, edit, times_note(zone),
                     table(users, columns, USERS_TABLE, "No users yet.", zone)])


def tokens_tab(tokens: Sequence[dict[str, Any]], users: Sequence[dict[str, Any]],
               zone: str = "UTC") -> html.Div:
    """Token list, issue form (shows the new token once) and revoke form."""
    active = [t for t in tokens if t["state"] == "active"]
    columns = [("user", "User"), ("name", "Name"), ("prefix", "Starts with"),
               ("created", "Created"), ("last_used", "Last used"), ("state", "State")]
    return html.Div([
        dbc.Card(dbc.CardBody([
            dbc.Row([
                _field("User", dcc.Dropdown(id=TOKEN_USER, options=[
                    {"label": u["email"], "value": u["id"]} for u in users if u["active"]])),
                _field("What it is for", dbc.Input(id=TOKEN_NAME)),
                dbc.Col(dbc.Button("Create token", id=ISSUE, color="primary", size="sm"),
                        md=2, className="align-self-end"),
                _field("Revoke", dcc.Dropdown(id=REVOKE_TOKEN, options=[
                    {"label": f"{t['prefix']}… {t['user']} {t['name']}", "value": t["id"]}
                    for t in active])),
                dbc.Col(dbc.Button("Revoke", id=REVOKE, color="danger", size="sm"), md=1,
                        className="align-self-end"),
            ], className="g-2"),
        ]), className="mb-3"),
        times_note(zone),
        table(tokens, columns, TOKENS_TABLE, "No API tokens yet: create one above for a script "
              "or a spreadsheet that reads the API.", zone),
    ])


def audit_tab(events: Sequence[dict[str, Any]], actions: Sequence[str], action: str,
              users: Sequence[dict[str, Any]], who: str, zone: str = "UTC") -> html.Div:
    """The newest audit events, filtered by action and user, exportable as CSV/XLSX."""
    columns = [("at", f"When ({zone})"), ("action", "Action"), ("user", "User"), ("ip", "Address"),
               ("detail", "Detail")]
    options = [{"label": "All actions", "value": "all"}] + [
        {"label": name, "value": name} for name in actions]
    people = [{"label": "Anyone", "value": "anyone"}] + [
        {"label": u["email"], "value": u["email"]} for u in users]
    return html.Div([
        dbc.Row([
            _field("Action", dcc.Dropdown(id=AUDIT_ACTION, options=options, value=action,
                                          clearable=False)),
            _field("User", dcc.Dropdown(id=AUDIT_WHO, options=people, value=who,
                                        clearable=False)),
            dbc.Col(html.Div([html.Span(f"The newest {len(events)} events. The global date, "
                                        "platform and product filters do not apply here.",
                                        className="small text-muted me-2"),
                              export_menu(AUDIT_EXPORT)]),
                    className="align-self-end"),
        ], className="g-2 mb-2"),
        table(events, columns, AUDIT_TABLE, "No events match this action and user.", zone),
    ])


def status_tab(status: dict[str, Any], version: str, zone: str = "UTC") -> html.Div:
    """Database, migration, version, row counts and recent import jobs."""
    facts = [("Database", status["database"]), ("Migration", status["migration"]),
             ("App version", version), ("Cache", status.get("cache", "none configured")),
             ("Requests, last 15 minutes", status.get("requests", "not recorded"))]
    counts = [{"table": name, "rows": count}
              for name, count in sorted(status["row_counts"].items())]
    return html.Div([
        cache_outage_alert(status.get("cache_outage"), zone),
        dbc.Row([dbc.Col(dbc.Card(dbc.CardBody([html.Div(label, className="kpi-title"),
                                                html.Div(value, className="fw-semibold")]),
                                  className="h-100"),
                         md=6, xl=True) for label, value in facts], className="g-2 mb-3",
                id=STATUS),
        dbc.Row([
            dbc.Col([html.H2("Rows per table", className="h6"),
                     table(counts, [("table", "Table"), ("rows", "Rows")], "admin-counts")],
                    md=4),
            dbc.Col([html.H2("Recent imports", className="h6"), times_note(zone),
                     table(status["import_jobs"],
                           [("started_at", "Started"), ("kind", "Kind"), ("filename", "File"),
                            ("status", "Status"), ("rows_loaded", "Loaded"),
                            ("rows_rejected", "Rejected")], "admin-jobs",
                           "No imports yet: the Data page imports files.", zone)], md=8),
        ]),
        html.H2("Digest and alert e-mails that failed", className="h6 mt-3"),
        html.P("Each is retried with a growing delay (5 minutes, doubling, up to 6 hours; "
               "after 6 failures in a row, at its next regular time). “In a row” is 0 once "
               "it was sent since.", className="small text-muted mb-1"),
        table(status.get("deliveries", []),
              [("at", "When"), ("kind", "What"), ("recipient", "To"), ("error", "Why"),
               ("failing", "Failures in a row")], "admin-deliveries",
              "No failed e-mails.", zone),
    ])


def cache_outage_alert(outage: Any, zone: str) -> html.Div | dbc.Alert:
    """A warning while the cache's backend (Redis) does not answer; nothing when it does."""
    if outage is None:
        return html.Div(id=CACHE_OUTAGE)
    return dbc.Alert(
        [html.Strong("The results cache does not answer. "),
         f"Redis has not answered since {local_time(outage.since, zone)} ({outage.error}). "
         "Pages are computed from the database without it, so they are slower; it is used "
         "again, and what it held before is forgotten, once it answers. This is what this "
         "web worker saw: each worker retries every few seconds."],
        color="warning", id=CACHE_OUTAGE)


def stages_tab(stages: Sequence[dict[str, Any]]) -> html.Div:
    """The pipeline's stages in order, and a form to rename, move or re-weigh one."""
    rows = [{**stage, "probability": "history's win rate" if stage["probability"] is None
             else f"{stage['probability']:.0%}"} for stage in stages]
    return html.Div([
        html.P("Stages are learned from imported pipeline files (Won / Closed Won and Lost / "
               "Closed Lost close a deal). The order is the funnel's; a stage's default "
               "probability weighs its open deals that store none (empty: the historical win "
               "rate of deals that reached the stage). Renaming a stage renames it on its "
               "deals and in their history.", className="small text-muted"),
        table(rows, [("position", "Position"), ("name", "Stage"), ("outcome", "Outcome"),
                     ("probability", "Default probability"), ("deals", "Deals")],
              STAGES_TABLE, "No stages yet: import a pipeline file."),
        dbc.Row([
            _field("Stage", dcc.Dropdown(id=STAGE_PICK, options=[
                {"label": stage["name"], "value": stage["id"]} for stage in stages])),
            _field("Name", dbc.Input(id=STAGE_NAME, maxLength=80)),
            _field("Position", dbc.Input(id=STAGE_POSITION, type="number", min=1, step=1), 2),
            _field("Probability % (empty: win rate)",
                   dbc.Input(id=STAGE_PROBABILITY, type="number", min=0, max=100), 2),
            dbc.Col(dbc.Button("Save stage", id=STAGE_SAVE, color="primary", size="sm"),
                    md=2, className="d-flex align-items-end"),
        ], className="g-2 mt-2"),
    ])


SETTINGS_HELP = (
    "Changes apply at once to every page, export and API answer. The currency is how amounts "
    "are labelled (nothing is converted). The time zone dates imports from now on: sales "
    "already stored keep the dates they were imported with, so re-import a file to re-date "
    "it. The fiscal year start is stored and shown here; the date presets use calendar "
    "periods (year to date, last year), as the filters define them. The ROI and ROAS "
    "benchmarks are the lines and tints of the Marketing page's campaigns. A setting never "
    "changed here takes the deployment's default (PULSEBOARD_CURRENCY, PULSEBOARD_TIMEZONE, "
    "PULSEBOARD_BUSINESS_NAME).")


def settings_tab(rows: Sequence[Mapping[str, Any]], currencies: Sequence[tuple[str, str]],
                 zones: Sequence[str], zone: str) -> html.Div:
    """The business settings in force, where each comes from, and the form to change them."""
    value = {row["key"]: row["value"] for row in rows}
    months = [{"label": name, "value": number} for number, name in enumerate(MONTHS, 1)]
    form = dbc.Card(dbc.CardBody([
        html.H2("Business settings", className="h6"),
        dbc.Row([
            _field("Business name", dbc.Input(id=SET_NAME, value=value["name"], maxLength=80)),
            _field("Currency", dcc.Dropdown(id=SET_CURRENCY, value=value["currency"],
                                            clearable=False, options=[
                {"label": label, "value": code} for code, label in currencies])),
            _field("Time zone", dcc.Dropdown(id=SET_TIMEZONE, value=value["timezone"],
                                             clearable=False, options=list(zones))),
            _field("Fiscal year starts in", dcc.Dropdown(id=SET_FISCAL, options=months,
                                                         value=value["fiscal_year_start"],
                                                         clearable=False)),
            _field("ROI benchmark (%)", dbc.Input(
                id=SET_ROI, type="number", min=0, step="any",
                value=round(value["roi_benchmark"] * 100, 4)), 2),
            _field("ROAS benchmark (x:1)", dbc.Input(
                id=SET_ROAS, type="number", min=0, step="any",
                value=value["roas_benchmark"]), 2),
        ], className="g-2"),
        dbc.Button("Save settings", id=SET_SAVE, color="primary", size="sm", className="mt-2"),
        html.P(SETTINGS_HELP, className="small text-muted mt-2 mb-0"),
    ]), className="mb-3")
    return html.Div([form, times_note(zone), table(
        rows, [("setting", "Setting"), ("shown", "Value"), ("source", "From"),
               ("changed_by", "Changed by"), ("changed_at", "Changed")], SETTINGS_TABLE,
        zone=zone)])
