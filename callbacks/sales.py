"""Sales callbacks beyond its panels (declared in `layouts.sales`): the banner of a chosen
country or state (the picker's options: `callbacks.country`)."""
from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import Dash, Input, Output, html

from callbacks.common import view_of_page
from layouts import sales
from layouts.shell import STORE


def register_callbacks(app: Dash) -> None:
    """Register the Sales callbacks on `app`."""

    @app.callback(Output(sales.COUNTRY_BANNER, "children"), Input(STORE, "data"))
    def update_country_banner(data: dict[str, Any] | None) -> Any:
        view, _period = view_of_page(data, sales.PATH, sales.PARAMS)
        country, state = view.filters.country, view.filters.state
        if not (country or state):
            return None
        return dbc.Alert(place_banner(country, state), color="info", className="py-2 small",
                         id="country-banner")


def place_banner(country: str, state: str) -> list[Any]:
    """What a chosen country and state narrow, and how to undo them, in words."""
    parts: list[Any] = []
    if country:
        parts += [html.Strong(f"Orders to {country} only. "),
                  "Every panel but the country chart and table shows this country; choose "
                  "“All countries” or click its bar again to see all. "]
    if state:
        parts += [html.Strong(f"Orders to {state} only. "),
                  "Every panel but the state chart shows this state; click its bar there "
                  "again to see all states."]
    return parts
