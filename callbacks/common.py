"""Helpers every page's callbacks share."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from dash.exceptions import PreventUpdate

from dashapp.filters import ParamSpec, Period, View
from dashapp.views import view_from_store


def view_of_page(data: Mapping[str, Any] | None, path: str,
                 params: Sequence[ParamSpec]) -> tuple[View, Period]:
    """The view in the store when it belongs to the page at `path`; otherwise no update.

    The store is shared by every page: a callback of a page that is no longer shown, or a
    malformed (crafted) payload, must not compute anything.
    """
    if not data or data.get("path") != path:
        raise PreventUpdate
    parsed = view_from_store(data, params)
    if parsed is None:
        raise PreventUpdate
    return parsed
