"""Customers callbacks beyond its panels (declared in `layouts.customers`): the banner of a
chosen order country (the picker's options: `callbacks.country`)."""
from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import Dash, Input, Output, html

from callbacks.common import view_of_page
from layouts import customers
from layouts.shell import STORE


def country_banner(country: str) -> Any:
    """What a chosen order country narrows on this page, and how to undo it."""
    if not country:
        return None
    return dbc.Alert([html.Strong(f"Customers' orders to {country} only. "),
                      "Every panel counts only those orders; choose “All countries” to see all."],
                     color="info", className="py-2 small", id="country-banner")


def register_callbacks(app: Dash) -> None:
    """Register the Customers callbacks on `app`."""

    @app.callback(Output(customers.COUNTRY_BANNER, "children"), Input(STORE, "data"))
    def update_country_banner(data: dict[str, Any] | None) -> Any:
        view, _period = view_of_page(data, customers.PATH, customers.PARAMS)
        return country_banner(view.filters.country)
