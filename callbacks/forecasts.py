"""Forecasts callbacks beyond its panels (declared in `layouts.forecasts`): the options of its
country picker, the Sales page's picker and options."""
from __future__ import annotations

from typing import Any

from dash import Dash, Input, Output

from callbacks.common import view_of_page
from callbacks.sales import country_items
from dashapp.context import fetch
from layouts import forecasts, sales
from layouts.shell import STORE
from services.sales_analysis import country_options


def register_callbacks(app: Dash) -> None:
    """Register the Forecasts callbacks on `app`."""

    # The picker is the Sales one (same id, one page shown at a time), whose options the
    # Sales callback fills on Sales only: this one fills them here.
    @app.callback(Output(sales.COUNTRY, "options", allow_duplicate=True),
                  Input(STORE, "data"), prevent_initial_call="initial_duplicate")
    def country_choices(data: dict[str, Any] | None) -> list[dict[str, str]]:
        view, _period = view_of_page(data, forecasts.PATH, forecasts.PARAMS)
        return country_items(fetch(country_options), view.filters.country)
