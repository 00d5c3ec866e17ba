"""The page registry: path, title, layout function and page-level URL parameters."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from dash import html

from dashapp.filters import ParamSpec, View
from layouts import overview


@dataclass(frozen=True)
class Page:
    """One page of the app."""

    path: str
    title: str
    layout: Callable[[View], html.Div]
    params: tuple[ParamSpec, ...]
    api_name: str


PAGES: tuple[Page, ...] = (
    Page(overview.PATH, overview.TITLE, overview.layout, overview.PARAMS, "overview"),
)
_BY_PATH = {page.path: page for page in PAGES}


def page_for(path: str | None) -> Page | None:
    """The page at `path` (trailing slash ignored), or None."""
    if not path:
        return _BY_PATH["/"]
    return _BY_PATH.get(path.rstrip("/") or "/")


def nav_links() -> list[tuple[str, str]]:
    """(path, title) of every page, in menu order."""
    return [(page.path, page.title) for page in PAGES]
