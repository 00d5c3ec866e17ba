"""The navbar's "Views" menu (saved and shared views, their permalinks) and theme picker."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html

from layouts import pdf_menu, subscriptions
from layouts.figures import figure_themes
from services.saved_views import SHARING_ROLES

MENU = "views-menu"
CHANGED = "views-changed"  # a counter: bumped by every change, so the menu is read again
SAVE_OPEN = "views-save-open"
SAVE_MODAL = "views-save-modal"
SAVE_NAME = "views-save-name"
SAVE_SHARING = "views-save-sharing"
SAVE_ROLE = "views-save-role"
SAVE_BUTTON = "views-save-button"
SAVE_RESULT = "views-save-result"
MANAGE_OPEN = "views-manage-open"
MANAGE_MODAL = "views-manage-modal"
MANAGE_PICK = "views-manage-pick"
MANAGE_NAME = "views-manage-name"
MANAGE_SHARING = "views-manage-sharing"
MANAGE_ROLE = "views-manage-role"
MANAGE_ACTION = "views-manage-action"  # pattern-matching type: {"type", "action"}
MANAGE_RESULT = "views-manage-result"
THEME = "theme-choice"
THEME_MODE = "theme-mode"  # what the browser applied: "light" or "dark"
FIGURE_THEMES = "figure-themes"

SHARING_LABELS = {"private": "Only me", "team": "The whole team", "role": "One role"}
THEME_LABELS = {"system": "Theme: system", "light": "Theme: light", "dark": "Theme: dark"}
ACTIONS = {"rename": "Rename", "share": "Save sharing", "delete": "Delete"}


def theme_picker() -> dbc.Select:
    """Light, dark or the operating system's choice; set from the user's stored choice."""
    return dbc.Select(id=THEME, options=[{"label": label, "value": key}
                                         for key, label in THEME_LABELS.items()],
                      size="sm", className="theme-picker me-2")


def views_menu() -> dbc.DropdownMenu:
    """The menu; its items (the views) are filled by `callbacks.views_menu`."""
    return dbc.DropdownMenu(id=MENU, label="Views", nav=True, in_navbar=True,
                            align_end=True, children=menu_items([]))


def _sharing_note(row: Mapping[str, Any]) -> str:
    if row["sharing"] == "team":
        return "team"
    return f"{row['role']}s" if row["sharing"] == "role" else "private"


def menu_items(rows: Sequence[Mapping[str, Any]]) -> list[Any]:
    """The actions, then my views and the views shared with me, each a permalink."""
    items: list[Any] = [
        dbc.DropdownMenuItem("Save this view…", id=SAVE_OPEN, n_clicks=0),
        dbc.DropdownMenuItem("Manage views…", id=MANAGE_OPEN, n_clicks=0),
        pdf_menu.menu_item(),
        dbc.DropdownMenuItem("Subscribe / alerts…", id=subscriptions.OPEN, n_clicks=0),
    ]
    for header, mine in (("My views", True), ("Shared with me", False)):
        shown = [row for row in rows if row["mine"] is mine]
        if not shown:
            continue
        items += [dbc.DropdownMenuItem(divider=True), dbc.DropdownMenuItem(header, header=True)]
        items += [dbc.DropdownMenuItem(
            [row["name"], html.Small(f" · {_sharing_note(row) if mine else row['owner']}",
                                     className="text-body-secondary")],
            href=f"/v/{row['id']}", external_link=True, className="saved-view-link")
            for row in shown]
    if not rows:
        items.append(dbc.DropdownMenuItem("No saved views yet", disabled=True))
    return items


def _sharing_controls(sharing_id: str, role_id: str) -> dbc.Row:
    return dbc.Row([
        dbc.Col([dbc.Label("Who sees it", html_for=sharing_id),
                 dbc.Select(id=sharing_id, value="private",
                            options=[{"label": label, "value": key}
                                     for key, label in SHARING_LABELS.items()])], xs=7),
        dbc.Col([dbc.Label("Role", html_for=role_id),
                 dbc.Select(id=role_id, value="viewer",
                            options=[{"label": role.title(), "value": role}
                                     for role in SHARING_ROLES])], xs=5),
    ], className="g-2 mb-2")


def save_modal() -> dbc.Modal:
    """Name the current view and choose who sees it."""
    return dbc.Modal([
        dbc.ModalHeader(dbc.ModalTitle("Save this view")),
        dbc.ModalBody([
            dbc.Label("Name", html_for=SAVE_NAME),
            dbc.Input(id=SAVE_NAME, maxlength=120, placeholder="e.g. Instagram, last 90 days",
                      className="mb-2"),
            _sharing_controls(SAVE_SHARING, SAVE_ROLE),
            html.P("It keeps the page and every filter. Whoever opens it sees only the "
                   "platforms they may see.", className="small text-body-secondary mb-2"),
            html.Div(id=SAVE_RESULT),
        ]),
        dbc.ModalFooter(dbc.Button("Save", id=SAVE_BUTTON, color="primary", n_clicks=0)),
    ], id=SAVE_MODAL, is_open=False)


def manage_modal() -> dbc.Modal:
    """Rename, share or delete a view (mine; an admin's: any)."""
    return dbc.Modal([
        dbc.ModalHeader(dbc.ModalTitle("Manage views")),
        dbc.ModalBody([
            dbc.Label("View", html_for=MANAGE_PICK),
            dbc.Select(id=MANAGE_PICK, options=[], className="mb-2"),
            dbc.Label("Name", html_for=MANAGE_NAME),
            dbc.Input(id=MANAGE_NAME, maxlength=120, className="mb-2"),
            _sharing_controls(MANAGE_SHARING, MANAGE_ROLE),
            html.Div(id=MANAGE_RESULT),
        ]),
        dbc.ModalFooter([
            dbc.Button(label, id={"type": MANAGE_ACTION, "action": action}, n_clicks=0,
                       color="danger" if action == "delete" else "primary",
                       outline=action != "rename")
            for action, label in ACTIONS.items()]),
    ], id=MANAGE_MODAL, is_open=False)


def frame_parts() -> list[Any]:
    """What the shell adds once: the modals and the stores of the menu and the theme."""
    return [dcc.Store(id=CHANGED, data=0), dcc.Store(id=THEME_MODE),
            dcc.Store(id=FIGURE_THEMES, data=figure_themes()), save_modal(), manage_modal(),
            pdf_menu.pdf_modal(), subscriptions.subscribe_modal()]
