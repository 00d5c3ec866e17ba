"""Products callbacks beyond its panels (declared in `layouts.products`): which section a
view shows, the overview or one product, and the way back."""
from __future__ import annotations

from typing import Any

from dash import Dash, Input, Output

from callbacks.common import view_of_page
from layouts import products
from layouts.shell import STORE

HIDDEN = {"display": "none"}


def register_callbacks(app: Dash) -> None:
    """Register the Products callbacks on `app`."""

    @app.callback(Output(products.LIST, "style"), Output(products.DRILL, "style"),
                  Output(products.BACK, "href"), Input(STORE, "data"))
    def show_section(data: dict[str, Any] | None) -> tuple[Any, Any, str]:
        view, _period = view_of_page(data, products.PATH, products.PARAMS)
        if products.drilled(view):
            return HIDDEN, None, products.back_href(view)
        return None, HIDDEN, products.back_href(view)
