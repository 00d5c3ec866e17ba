"""Dash callbacks, one `register_callbacks(app)` per page, registered on the app object
(never with Dash's process-wide callback decorator, which a second app in the same process
would miss)."""
from __future__ import annotations

from dash import Dash

from callbacks import (
    admin,
    country,
    customers,
    data,
    exports,
    marketing,
    model_jobs,
    panels,
    pdf,
    pipeline,
    products,
    sales,
    shell,
    subscriptions,
    views_menu,
)
from layouts.pages import PAGES


def register_all(app: Dash) -> None:
    """Register the frame's callbacks, every declared panel's, each page's own, and the one
    export callback for them all."""
    shell.register_callbacks(app)
    views_menu.register_callbacks(app)
    pdf.register_callbacks(app)
    subscriptions.register_callbacks(app)
    model_jobs.register_callbacks(app)
    panels.register_callbacks(app, PAGES)
    sales.register_callbacks(app)
    country.register_callbacks(app)
    products.register_callbacks(app)
    pipeline.register_callbacks(app)
    marketing.register_callbacks(app)
    admin.register_callbacks(app)
    customers.register_callbacks(app)
    data.register_callbacks(app)
    exports.register_callbacks(app, exports.page_exports(PAGES) + admin.EXPORTS)
