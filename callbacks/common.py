"""Helpers every page's callbacks share."""
from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from dash import ctx
from dash.exceptions import PreventUpdate

from dashapp.context import cached_call, current_role, setting
from dashapp.filters import View
from dashapp.views import view_from_store
from services.filters import ParamSpec, Period

T = TypeVar("T")


def view_of_page(data: Mapping[str, Any] | None, path: str,
                 params: Sequence[ParamSpec]) -> tuple[View, Period]:
    """The view in the store when it belongs to the page at `path`; otherwise no update.

    The store is shared by every page: a callback of a page that is no longer shown, or a
    malformed (crafted) payload, must not compute anything. The dates are resolved again
    from the store's query on the server (a cache hit): the browser's `period` is not used.
    """
    if not data or data.get("path") != path:
        raise PreventUpdate
    parsed = view_from_store(data, params)
    if parsed is None:
        raise PreventUpdate
    return parsed


def cached_output(callback: Callable[..., T]) -> Callable[..., T]:
    """Remember what a view callback returns, per arguments, user scope, role and data
    version.

    For callbacks whose output depends only on their inputs, the user's platform scope and
    role, the app's currency and the data: a repeated view then skips building its figures
    and tables, which the cache of service results alone cannot skip. The role is part of
    the key because what a panel draws may depend on it (a viewer sees no customer names).
    """
    @functools.wraps(callback)
    def wrapper(*args: Any) -> T:
        # Pattern-matching outputs (the KPI cards) are part of what the callback answers.
        context = (setting("CURRENCY"), repr(ctx.outputs_list), current_role())
        return cached_call(callback, tuple(_cache_key_of(arg) for arg in args), context,
                           lambda: callback(*args))
    return wrapper



def _cache_key_of(argument: Any) -> Any:
    """What of a callback argument its output depends on: of the view store, its path and
    query (the dates are resolved on the server, so a client's `period` must not make
    entries of its own)."""
    if isinstance(argument, Mapping) and "query" in argument:
        return {"path": argument.get("path"), "query": argument.get("query")}
    return argument
