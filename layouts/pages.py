"""The page registry: path, title, layout function, page-level URL parameters, panels.

A page's panels (`layouts.panels.Panel`) are declared in its layout module; their
callbacks, exports and API entries are derived from this registry.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from dash import html

from dashapp.filters import View
from dashapp.permissions import may_open
from layouts import (
    admin,
    customers,
    data,
    forecasts,
    funnel,
    marketing,
    overview,
    pipeline,
    products,
    sales,
)
from layouts.model_status import ModelJob
from layouts.panels import Panel
from services.filters import ParamSpec
from services.spans import FUNNEL, PIPELINE, SALES


@dataclass(frozen=True)
class Page:
    """One page of the app."""

    path: str
    title: str
    layout: Callable[[View], html.Div]
    params: tuple[ParamSpec, ...]
    api_name: str | None = None  # `/api/v1/<api_name>` answers with the panels' rows
    panels: tuple[Panel, ...] = ()
    roles: frozenset[str] | None = None  # None: every logged-in user
    # The models its panels score, trained in the background for the view (callbacks/model_jobs).
    models: tuple[ModelJob, ...] = ()
    # Whose days its dates resolve against (`services.spans`): the sales', or its own data's.
    span: str = SALES

    def allows(self, role: str) -> bool:
        """Whether a user with `role` may open this page."""
        return may_open(role, self.roles)


PAGES: tuple[Page, ...] = (
    Page(overview.PATH, overview.TITLE, overview.layout, overview.PARAMS, "overview",
         overview.PANELS, models=overview.MODELS),
    Page(sales.PATH, sales.TITLE, sales.layout, sales.PARAMS, "sales", sales.PANELS),
    Page(products.PATH, products.TITLE, products.layout, products.PARAMS, "products",
         products.PANELS),
    Page(customers.PATH, customers.TITLE, customers.layout, customers.PARAMS, "customers",
         customers.PANELS, models=customers.MODELS),
    Page(funnel.PATH, funnel.TITLE, funnel.layout, funnel.PARAMS, "funnel", funnel.PANELS,
         span=FUNNEL),
    Page(pipeline.PATH, pipeline.TITLE, pipeline.layout, pipeline.PARAMS, "pipeline",
         pipeline.PANELS, span=PIPELINE),
    Page(forecasts.PATH, forecasts.TITLE, forecasts.layout, forecasts.PARAMS, "forecasts",
         forecasts.PANELS, models=forecasts.MODELS),
    Page(marketing.PATH, marketing.TITLE, marketing.layout, marketing.PARAMS, "marketing",
         marketing.PANELS, models=marketing.MODELS),
    Page(data.PATH, data.TITLE, data.layout, data.PARAMS, roles=data.ROLES),
    Page(admin.PATH, admin.TITLE, admin.layout, admin.PARAMS, roles=admin.ROLES),
)
_BY_PATH = {page.path: page for page in PAGES}


def page_for(path: str | None) -> Page | None:
    """The page at `path` (trailing slash ignored), or None."""
    if not path:
        return _BY_PATH["/"]
    return _BY_PATH.get(path.rstrip("/") or "/")


def span_of(path: str | None) -> str:
    """The data span the page at `path` resolves its dates against (sales for no page)."""
    page = page_for(path)
    return page.span if page else SALES


def nav_links(role: str) -> list[tuple[str, str]]:
    """(path, title) of every page the role may open, in menu order."""
    return [(page.path, page.title) for page in PAGES if page.allows(role)]
