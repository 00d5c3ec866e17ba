"""Training a view's models in the background, and redrawing the page when they are stored.

On every view of a page that declares models, a request callback asks which of them the
view needs and are not trained yet (or which one a Retrain click asks for) and signs a
ticket; a Dash background callback (its own process, as imports) trains them as the user
and then sets the shell's model store, which the page's panels listen to: they run again,
and, their "still training" answers never cached, now score the stored models.
"""
from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

from dash import ALL, Dash, Input, Output, State, ctx, set_props
from dash.exceptions import PreventUpdate
from flask_login import current_user

from callbacks.common import view_of_page
from dashapp import jobs
from dashapp.model_jobs import TrainingRequest, read_request, run_request, sign_request, untrained
from dashapp.permissions import can_retrain
from layouts import shell
from layouts.model_status import MODEL_TRAINED, MODEL_VIEW, RETRAIN, TRAIN_DONE, TRAIN_REQUEST
from layouts.pages import PAGES, page_for

# Passes the view on to the training request on pages that score models only (in the
# browser: elsewhere no request is sent at all).
ONLY_MODEL_PAGES = """function (data) {
    const paths = %s;
    return data && paths.includes(data.path) ? data : window.dash_clientside.no_update;
}"""


def _retrain_kind(clicks: Sequence[int | None], ids: Sequence[dict[str, str]]) -> str | None:
    """The kind whose Retrain button was clicked now (a button being drawn fires too, with
    no clicks: that is not a click)."""
    trigger = ctx.triggered_id
    if not isinstance(trigger, dict) or trigger.get("type") != RETRAIN:
        return None
    clicked = next((count for count, id_ in zip(clicks, ids, strict=True) if id_ == trigger),
                   None)
    return str(trigger["kind"]) if clicked else ""


def training_ticket(server: Any, data: dict[str, Any] | None, clicks: Sequence[int | None],
                    ids: Sequence[dict[str, str]]) -> str:
    """The signed request to train what the view needs, or what a Retrain click asks."""
    page = page_for((data or {}).get("path"))
    if page is None or not page.models or data is None:
        raise PreventUpdate
    view, period = view_of_page(data, page.path, page.params)
    kind = _retrain_kind(clicks, ids)
    if kind == "" or (kind and not can_retrain()):
        raise PreventUpdate
    kinds = [kind] if kind else untrained(page, view, period)
    if not kinds:
        raise PreventUpdate
    request = TrainingRequest(int(current_user.id), page.path, str(data["query"]),
                              tuple(kinds), force=bool(kind))
    return sign_request(server, request)


def register_callbacks(app: Dash) -> None:
    """Register the request and the background training callbacks on `app`."""
    server = app.server
    model_paths = json.dumps([page.path for page in PAGES if page.models])
    app.clientside_callback(ONLY_MODEL_PAGES % model_paths, Output(MODEL_VIEW, "data"),
                            Input(shell.STORE, "data"))

    @app.callback(Output(TRAIN_REQUEST, "data"), Input(MODEL_VIEW, "data"),
                  Input({"type": RETRAIN, "kind": ALL}, "n_clicks"),
                  State({"type": RETRAIN, "kind": ALL}, "id"), prevent_initial_call=True)
    def ask(data: dict[str, Any] | None, clicks: list[int | None],
            ids: list[dict[str, str]]) -> str:
        return training_ticket(server, data, clicks, ids)

    # The stamp is set with set_props, not returned: Dash's renderer holds every callback
    # downstream of a pending one, so a declared Output(MODEL_TRAINED) would keep each panel
    # of the page blank until training ended (minutes at scale). The declared output is a
    # store nothing listens to: a job replaced by a newer request answers no_update, which
    # Dash refuses from a callback without outputs (a 500). It is not the view store either:
    # the view's own change starts training (a loop back into the view sync is a cycle).
    @app.callback(Output(TRAIN_DONE, "data"), Input(TRAIN_REQUEST, "data"), background=True,
                  manager=jobs.background_manager(server), prevent_initial_call=True)
    def train(ticket: str | None) -> float:
        request = read_request(server, ticket) if ticket else None
        if request is None:
            raise PreventUpdate  # forged, or older than the ticket's lifetime
        trained = run_request(server, request)
        if not trained:
            raise PreventUpdate
        set_props(MODEL_TRAINED, {"data": {"trained": trained, "at": time.time()}})
        return time.time()
