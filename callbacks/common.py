"""Helpers every page's callbacks share."""
from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from dash import ctx
from dash.exceptions import PreventUpdate

from dashapp.context import cached_call, current_role, setting, stored_call
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


def cached_output(callback: Callable[..., T], outputs: str | None = None) -> Callable[..., T]:
    """Remember what a view callback returns, per arguments, user scope, role and data
    version.

    For callbacks whose output depends only on their inputs, the user's platform scope and
    role, the app's currency and the data: a repeated view then skips building its figures
    and tables, which the cache of service results alone cannot skip. The role is part of
    the key because what a panel draws may depend on it (a viewer sees no customer names).
    `outputs` names what the callback fills when that is fixed (then another callback can
    look the answer up: `stored_output`); otherwise the request's outputs are part of the key.
    """
    @functools.wraps(callback)
    def wrapper(*args: Any) -> T:
        return cached_call(callback, _arguments_key(args), _output_context(outputs),
                           lambda: callback(*args))
    return wrapper


def stored_output(callback: Callable[..., T], args: Sequence[Any], outputs: str) -> T | None:
    """What `cached_output(callback, outputs)` holds for `args`, or None when it would have to
    run the callback."""
    return stored_call(callback, _arguments_key(args), _output_context(outputs))


def _arguments_key(args: Sequence[Any]) -> tuple[Any, ...]:
    return tuple(_cache_key_of(arg) for arg in args)


def _output_context(outputs: str | None) -> tuple[Any, ...]:
    """The currency, the outputs filled and the role: what an answer depends on besides its
    arguments. Pattern-matching outputs (the KPI cards) are read from the request."""
    return (setting("CURRENCY"), outputs if outputs is not None else repr(ctx.outputs_list),
            current_role())


def _cache_key_of(argument: Any) -> Any:
    """What of a callback argument its output depends on: of the view store, its path and
    query (the dates are resolved on the server, so a client's `period` must not make
    entries of its own)."""
    if isinstance(argument, Mapping) and "query" in argument:
        return {"path": argument.get("path"), "query": argument.get("query")}
    return argument
