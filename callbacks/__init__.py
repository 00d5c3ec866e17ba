"""Dash callbacks, one `register_callbacks(app)` per page, registered on the app object
(never with Dash's process-wide callback decorator, which a second app in the same process
would miss)."""
from __future__ import annotations

from dash import Dash

from callbacks import admin, data, exports, overview, products, sales, shell


def register_all(app: Dash) -> None:
    """Register every page's callbacks on `app`, and the one export callback for them all."""
    shell.register_callbacks(app)
    overview.register_callbacks(app)
    sales.register_callbacks(app)
    products.register_callbacks(app)
    admin.register_callbacks(app)
    data.register_callbacks(app)
    exports.register_callbacks(app, overview.EXPORTS + sales.EXPORTS + products.EXPORTS
                               + admin.EXPORTS)
