"""Admin page: users and platform access, API tokens, the audit log, system status, view as,
and the pipeline's stages."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html

from dashapp.filters import View
from dashapp.permissions import ADMIN_PAGE_ROLES
from layouts.components import busy
from layouts.controls import button_group
from layouts.shell import PAGE_PARAM, export_menu
from services.filters import ParamSpec

PATH = "/admin"
TITLE = "Admin"
TABS = {"users": "Users", "tokens": "API tokens", "audit": "Audit log", "status": "System",
        "stages": "Pipeline stages"}
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
API_REFERENCE = "/api/v1/reference"  # rendered from the OpenAPI description
STAGE_PICK, STAGE_NAME = "admin-stage-pick", "admin-stage-name"
STAGE_POSITION, STAGE_PROBABILITY = "admin-stage-position", "admin-stage-probability"
STAGE_SAVE, STAGES_TABLE = "admin-stage-save", "admin-stages-table"
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


def table(rows: Sequence[dict[str, Any]], columns: Sequence[tuple[str, str]],
          component_id: str) -> dbc.Table:
    """A plain striped table of `rows` (text only: no HTML is rendered from data)."""
    header = html.Thead(html.Tr([html.Th(label) for _, label in columns]))
    body = html.Tbody([html.Tr([html.Td(str(row.get(key, ""))) for key, _ in columns])
                       for row in rows])
    return dbc.Table([header, body], striped=True, hover=True, size="sm", responsive=True,
                     id=component_id, className="bg-white")


def _field(label: str, control: Any, width: int = 3) -> dbc.Col:
    return dbc.Col([dbc.Label(label, className="filter-label"), control], md=width)


def users_tab(users: Sequence[dict[str, Any]], platforms: Sequence[dict[str, str]]) -> html.Div:
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
        dbc.Button("Add user", id=CREATE, color="primary", size="sm", className="mt-2"),
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
    return html.Div([create, edit, table(users, columns, USERS_TABLE)])


def tokens_tab(tokens: Sequence[dict[str, Any]], users: Sequence[dict[str, Any]]) -> html.Div:
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
        table(tokens, columns, TOKENS_TABLE),
    ])


def audit_tab(events: Sequence[dict[str, Any]], actions: Sequence[str], action: str,
              users: Sequence[dict[str, Any]], who: str) -> html.Div:
    """The newest audit events, filtered by action and user, exportable as CSV/XLSX."""
    columns = [("at", "When (UTC)"), ("action", "Action"), ("user", "User"), ("ip", "Address"),
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
        table(events, columns, AUDIT_TABLE),
    ])


def status_tab(status: dict[str, Any], version: str) -> html.Div:
    """Database, migration, version, row counts and recent import jobs."""
    facts = [("Database", status["database"]), ("Migration", status["migration"]),
             ("App version", version), ("Cache", status.get("cache", "none configured")),
             ("Requests, last 15 minutes", status.get("requests", "not recorded"))]
    counts = [{"table": name, "rows": f"{count:,}"}
              for name, count in sorted(status["row_counts"].items())]
    jobs = [{**job, "started_at": str(job["started_at"])[:16]} for job in status["import_jobs"]]
    return html.Div([
        dbc.Row([dbc.Col(dbc.Card(dbc.CardBody([html.Div(label, className="kpi-title"),
                                                html.Div(value, className="fw-semibold")]),
                                  className="h-100"),
                         md=6, xl=True) for label, value in facts], className="g-2 mb-3",
                id=STATUS),
        dbc.Row([
            dbc.Col([html.H2("Rows per table", className="h6"),
                     table(counts, [("table", "Table"), ("rows", "Rows")], "admin-counts")],
                    md=4),
            dbc.Col([html.H2("Recent imports", className="h6"),
                     table(jobs, [("started_at", "Started"), ("kind", "Kind"),
                                  ("filename", "File"), ("status", "Status"),
                                  ("rows_loaded", "Loaded"), ("rows_rejected", "Rejected")],
                           "admin-jobs") if jobs else html.P("No imports yet.",
                                                             className="text-muted")], md=8),
        ]),
    ])


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
              STAGES_TABLE) if stages else html.P("No stages yet: import a pipeline file.",
                                                  className="text-muted"),
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
