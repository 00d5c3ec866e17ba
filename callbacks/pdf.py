"""The "PDF of this view" dialog: the PDF is made in a Dash background callback (as imports
are), with its progress, and downloaded when it is done.

The background process has no request: the in-request callback reads the user and the view
and signs a job ticket (`dashapp.pdf.sign_job`); the job renders the PDF as that user.
"""
from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import Dash, Input, Output, State, dcc
from dash.exceptions import PreventUpdate
from flask import Flask, request
from flask_login import current_user

from callbacks.views_menu import current_url
from dashapp import jobs, pdf
from layouts import pdf_menu as ids
from layouts.pages import page_for
from layouts.shell import STORE
from services.errors import ServiceError


def _alert(message: str, ok: bool = False) -> dbc.Alert:
    return dbc.Alert(message, color="success" if ok else "danger", className="py-2 mb-0 small",
                     id="pdf-alert")


def request_pdf(server: Flask, data: dict[str, Any] | None,
                paper: str | None) -> tuple[str | None, Any]:
    """The signed job for the browser's view, or why there is none."""
    try:
        path, query = current_url(data)
    except ServiceError as error:
        return None, _alert(str(error))
    job = pdf.PdfJob(user_id=current_user.id, path_and_query=f"{path}?{query}",
                     paper=paper if paper in pdf.PAPERS else "A4",
                     base_url=request.host_url)
    return pdf.sign_job(server, job), None


def run_pdf_job(server: Flask, ticket: str, progress: Any) -> tuple[Any, Any]:
    """The background part: the PDF of the ticket's view as the ticket's user."""
    job = pdf.read_job(server, ticket)
    if job is None:
        raise PreventUpdate  # forged, or too old

    def step(text: str, fraction: float) -> None:
        progress((int(fraction * 100), text))

    try:
        document = pdf.render_pdf(server, job.user_id, job.path_and_query, job.paper,
                                  progress=step, base_url=job.base_url)
    except pdf.PdfError as error:
        return None, _alert(str(error))
    page = page_for(job.path_and_query.partition("?")[0])
    name = pdf.file_name(page.title if page else "view")
    return dcc.send_bytes(document, name, type="application/pdf"), \
        _alert(f"{name} is downloading.", ok=True)


def register_callbacks(app: Dash) -> None:
    """Register the PDF dialog's callbacks on `app`."""
    server = app.server
    manager = jobs.background_manager(server)

    @app.callback(Output(ids.MODAL, "is_open"), Input(ids.OPEN, "n_clicks"),
                  prevent_initial_call=True)
    def open_dialog(clicks: int | None) -> bool:
        if not clicks:
            raise PreventUpdate
        return True

    @app.callback(Output(ids.TICKET, "data"), Output(ids.RESULT, "children"),
                  Input(ids.CREATE, "n_clicks"), State(STORE, "data"), State(ids.PAPER, "value"),
                  prevent_initial_call=True)
    def start(clicks: int | None, data: dict[str, Any] | None, paper: str | None) -> tuple:
        if not clicks:
            raise PreventUpdate
        return request_pdf(server, data, paper)

    @app.callback(
        Output(ids.DOWNLOAD, "data"), Output(ids.RESULT, "children", allow_duplicate=True),
        Input(ids.TICKET, "data"), background=True, manager=manager,
        progress=[Output(ids.PROGRESS, "value"), Output(ids.PROGRESS_TEXT, "children")],
        running=[(Output(ids.CREATE, "disabled"), True, False),
                 (Output(ids.PROGRESS_BOX, "style"), {}, {"display": "none"})],
        prevent_initial_call=True)
    def make(set_progress: Any, ticket: str | None) -> tuple:
        if not ticket:
            raise PreventUpdate
        return run_pdf_job(server, ticket, set_progress)
