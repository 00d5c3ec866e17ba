"""The "Subscribe / alerts" dialog of the Views menu: a digest of a saved view by e-mail
(daily, weekly or monthly at a time of the business's time zone), an alert on one of its
KPIs, and the list of the user's digests and alerts (an admin's: everyone's)."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import dash_bootstrap_components as dbc
from dash import html

from models import ALERT_KINDS, FREQUENCIES
from services.digests import LAST_DAY_OF_MONTH, WEEKDAYS
from services.metrics import KPI_KEYS, METRICS

OPEN = "subs-open"
MODAL = "subs-modal"
VIEW = "subs-view"
RECIPIENT = "subs-recipient"
RECIPIENT_ROW = "subs-recipient-row"
FREQUENCY = "subs-frequency"
WEEKDAY = "subs-weekday"
DAY = "subs-day"
TIME = "subs-time"
SUBSCRIBE = "subs-subscribe"
KIND = "subs-kind"
METRIC = "subs-metric"
THRESHOLD = "subs-threshold"
ADD_ALERT = "subs-add-alert"
RESULT = "subs-result"
LIST = "subs-list"
REMOVE = "subs-remove"  # pattern-matching type: {"type", "what", "id"}
KIND_LABELS = {"above": "KPI goes above", "below": "KPI goes below",
               "anomaly": "an anomalous day (net revenue or orders)"}


def _select(control_id: str, options: Mapping[str, str], value: str) -> dbc.Select:
    return dbc.Select(id=control_id, value=value,
                      options=[{"label": label, "value": key} for key, label in options.items()])


def _labelled(label: str, control: Any, width: int) -> dbc.Col:
    return dbc.Col([dbc.Label(label, html_for=control.id, className="small mb-0"), control],
                   xs=width)


def digest_controls() -> html.Div:
    """How often and when a digest is sent."""
    return html.Div([
        html.H3("E-mail me this view", className="h6 mt-2"),
        dbc.Row([
            _labelled("How often", _select(FREQUENCY, {key: key.title() for key in FREQUENCIES},
                                           "weekly"), 6),
            _labelled("At (business time)", dbc.Input(id=TIME, type="time", value="08:00"), 6),
            _labelled("Weekday (weekly)", _select(WEEKDAY, dict(zip(map(str, range(7)),
                                                                   WEEKDAYS, strict=True)),
                                                  "0"), 6),
            _labelled(f"Day of month (1–{LAST_DAY_OF_MONTH})",
                      dbc.Input(id=DAY, type="number", min=1, max=LAST_DAY_OF_MONTH, value=1),
                      6),
        ], className="g-2 mb-2"),
        dbc.Button("Subscribe", id=SUBSCRIBE, color="primary", size="sm", n_clicks=0),
    ])


def alert_controls() -> html.Div:
    """Which KPI, and the rule that sends an alert."""
    metrics = {key: METRICS[key].label for key in KPI_KEYS}
    return html.Div([
        html.H3("Tell me when", className="h6 mt-3"),
        dbc.Row([
            _labelled("Rule", _select(KIND, {key: KIND_LABELS[key] for key in ALERT_KINDS},
                                      "above"), 12),
            _labelled("KPI", _select(METRIC, metrics, "net_revenue"), 6),
            _labelled("Threshold", dbc.Input(id=THRESHOLD, type="number"), 6),
        ], className="g-2 mb-2"),
        dbc.Button("Add the alert", id=ADD_ALERT, color="primary", size="sm", outline=True,
                   n_clicks=0),
        html.P("At most one e-mail a day per alert. Numbers are the recipient's own, for "
               "the view's filters and dates.", className="small text-body-secondary mt-2"),
    ])


def subscribe_modal() -> dbc.Modal:
    """The dialog; its choices and list are filled when it opens."""
    return dbc.Modal([
        dbc.ModalHeader(dbc.ModalTitle("Subscribe / alerts")),
        dbc.ModalBody([
            _labelled("Saved view", dbc.Select(id=VIEW, options=[]), 12),
            dbc.Row(_labelled("Send to (admins: anyone who may open the view)",
                              dbc.Select(id=RECIPIENT, options=[]), 12),
                    id=RECIPIENT_ROW, className="mt-2", style={"display": "none"}),
            digest_controls(), alert_controls(),
            html.Div(id=RESULT, className="mt-2"),
            html.H3("Digests and alerts", className="h6 mt-3"),
            html.Div(id=LIST),
        ]),
    ], id=MODAL, is_open=False, scrollable=True)


def _item(what: str, row: Mapping[str, Any], words: str) -> html.Li:
    return html.Li([html.Span(f"{row['view']}: {words} → {row['recipient']}"),
                    html.Small(f" (failing: {row['last_error']})", className="text-danger")
                    if row.get("failures") else None,
                    dbc.Button("Remove", id={"type": REMOVE, "what": what, "id": row["id"]},
                               color="link", size="sm", n_clicks=0, className="py-0")],
                   className="small")


def subscriptions_list(digests: Sequence[Mapping[str, Any]],
                       alerts: Sequence[Mapping[str, Any]]) -> Any:
    """The digests and alerts, each with a Remove button."""
    items = ([_item("digest", row, row["schedule"]) for row in digests]
             + [_item("alert", row, f"when {row['rule']}") for row in alerts])
    if not items:
        return html.P("None yet.", className="small text-body-secondary")
    return html.Ul(items, className="list-unstyled mb-0")
