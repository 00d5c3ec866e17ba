"""Customers callbacks beyond its panels (declared in `layouts.customers`): the options of
the order-country picker and the banner of a chosen country (the Sales page's picker and
banner, under the same ids)."""
from __future__ import annotations

from typing import Any

import dash_bootstrap_components as dbc
from dash import Dash, Input, Output, html

from callbacks.common import view_of_page
from callbacks.sales import country_items
from dashapp.context import fetch
from layouts import customers, sales
from layouts.shell import STORE
from services.sales_analysis import country_options


def country_banner(country: str) -> Any:
    """What a chosen order country narrows on this page, and how to undo it."""
    if not country:
        return None
    return dbc.Alert([html.Strong(f"Customers' orders to {country} only. "),
                      "Every panel counts only those orders; choose “All countries” to see all."],
                     color="info", className="py-2 small", id="country-banner")


def register_callbacks(app: Dash) -> None:
    """Register the Customers callbacks on `app`."""

    # The ids are the Sales page's (the shell reads every page choice by its name, and a
    # callback with an output missing from the page breaks the page's other callbacks), so
    # both have a second writer: this one answers on the Customers page only.
    @app.callback(Output(sales.COUNTRY_BANNER, "children", allow_duplicate=True),
                  Output(sales.COUNTRY, "options", allow_duplicate=True),
                  Input(STORE, "data"), prevent_initial_call="initial_duplicate")
    def update_country(data: dict[str, Any] | None) -> tuple[Any, list[dict[str, str]]]:
        view, _period = view_of_page(data, customers.PATH, customers.PARAMS)
        country = view.filters.country
        return country_banner(country), country_items(fetch(country_options), country)
