"""Marketing callbacks beyond its panels (declared in `layouts.marketing`): which tab's section
is shown, the selected post's and campaign's cards, and a payout's status change."""
from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import dash_bootstrap_components as dbc
from dash import ALL, Dash, Input, Output, State, ctx, no_update
from dash.exceptions import PreventUpdate

from callbacks.common import view_of_page
from dashapp.context import actor, current_scope, data_changed, perform, setting
from layouts import marketing
from layouts.shell import STORE
from services.errors import ServiceError
from services.payouts import change_status


def business_today() -> dt.date:
    """Today in the business time zone: the day a payout marked paid is dated."""
    return dt.datetime.now(ZoneInfo(setting("TIMEZONE"))).date()


def register_callbacks(app: Dash) -> None:
    """Register the Marketing callbacks on `app`."""
    sections = list(marketing.SECTIONS.items())

    @app.callback(*[Output(section, "style") for _tab, section in sections],
                  Output(marketing.POST_ROW, "style"), Output(marketing.CAMPAIGN_ROW, "style"),
                  Input(STORE, "data"))
    def show_tab(data: dict[str, Any] | None) -> tuple[Any, ...]:
        view, _period = view_of_page(data, marketing.PATH, marketing.PARAMS)
        tab = view.page["tab"]
        return (*[None if key == tab else marketing.HIDDEN for key, _section in sections],
                None if marketing.post_chosen(view) else marketing.HIDDEN,
                None if marketing.campaign_chosen(view) else marketing.HIDDEN)

    @app.callback(Output(marketing.PAYOUT_FEEDBACK, "children"),
                  Output(STORE, "data", allow_duplicate=True),
                  Input({"type": marketing.PAYOUT_ACTION, "payout": ALL, "to": ALL}, "n_clicks"),
                  State(STORE, "data"), prevent_initial_call=True)
    def change_payout(_clicks: list[int | None], data: dict[str, Any] | None) -> tuple[Any, Any]:
        button = ctx.triggered_id
        # Buttons appearing with a redrawn table fire too, without a click.
        if not button or not ctx.triggered or not ctx.triggered[0]["value"]:
            raise PreventUpdate
        try:
            change = perform(change_status, actor(), current_scope(), int(button["payout"]),
                             str(button["to"]), business_today())
        except ServiceError as error:
            return dbc.Alert(str(error), color="danger", dismissable=True, className="py-2"), \
                no_update
        # Cost, ROI and the payout totals read the status; no model does.
        data_changed(models=False)
        message = f"Payout #{change['payout_id']}: {change['old']} → {change['new']}."
        # A new store value redraws the payouts (the view itself is unchanged).
        return (dbc.Alert(message, color="success", dismissable=True, className="py-2"),
                {**(data or {}), "changed": f"payout-{change['payout_id']}-{change['new']}"})

