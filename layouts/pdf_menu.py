"""The "PDF of this view…" dialog of the Views menu: paper, progress, the download."""
from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

OPEN = "pdf-open"
MODAL = "pdf-modal"
PAPER = "pdf-paper"
CREATE = "pdf-create"
TICKET = "pdf-ticket"  # the signed job the background callback runs
PROGRESS = "pdf-progress"
PROGRESS_TEXT = "pdf-progress-text"
PROGRESS_BOX = "pdf-progress-box"
RESULT = "pdf-result"
DOWNLOAD = "pdf-download"
PAPERS = ("A4", "Letter")


def menu_item() -> dbc.DropdownMenuItem:
    """The Views menu's entry that opens the dialog."""
    return dbc.DropdownMenuItem("PDF of this view…", id=OPEN, n_clicks=0)


def pdf_modal() -> dbc.Modal:
    """Choose the paper, make the PDF in the background, download it when it is done."""
    return dbc.Modal([
        dbc.ModalHeader(dbc.ModalTitle("PDF of this view")),
        dbc.ModalBody([
            html.P("The page as you see it, with its filters and dates, always light, one "
                   "panel never split over two pages.", className="small text-body-secondary"),
            dbc.Label("Paper", html_for=PAPER),
            dbc.RadioItems(id=PAPER, value=PAPERS[0], inline=True,
                           options=[{"label": paper, "value": paper} for paper in PAPERS]),
            html.Div([dbc.Progress(id=PROGRESS, value=0, className="mt-3"),
                      html.Div(id=PROGRESS_TEXT, className="small text-muted")],
                     id=PROGRESS_BOX, style={"display": "none"}),
            html.Div(id=RESULT, className="mt-2"),
            dcc.Store(id=TICKET),
            dcc.Download(id=DOWNLOAD),
        ]),
        dbc.ModalFooter(dbc.Button("Make the PDF", id=CREATE, color="primary", n_clicks=0)),
    ], id=MODAL, is_open=False)
