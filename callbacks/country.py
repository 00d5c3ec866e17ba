"""The order-country picker's options, on whichever page shows it (`layouts.country`)."""
from __future__ import annotations

from typing import Any

from dash import Dash, Input, Output
from dash.exceptions import PreventUpdate

from callbacks.common import view_of_page
from dashapp.context import fetch
from layouts.country import COUNTRY, COUNTRY_PARAM, country_options
from layouts.pages import page_for
from layouts.shell import STORE
from services.sales_analysis import country_options as countries_with_orders


def register_callbacks(app: Dash) -> None:
    """Register the picker's callback on `app`."""

    @app.callback(Output(COUNTRY, "options"), Input(STORE, "data"))
    def fill_country_options(data: dict[str, Any] | None) -> list[dict[str, str]]:
        page = page_for((data or {}).get("path"))
        if page is None or COUNTRY_PARAM not in page.params:
            raise PreventUpdate
        view, _period = view_of_page(data, page.path, page.params)
        return country_options(fetch(countries_with_orders), view.filters.country)
