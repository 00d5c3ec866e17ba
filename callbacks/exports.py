"""The one export mechanism of every chart and table: CSV/XLSX of exactly what is shown.

Every declared panel (`layouts.panels.Panel`) is exported as the rows it draws; other tables
(the audit log) declare an `ExportSpec`. The export buttons carry the key; one callback
builds the file through `services.exports`.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
from dash import ALL, Dash, Input, Output, State, ctx, dcc
from dash.exceptions import PreventUpdate
from flask import request

from callbacks.common import view_of_page
from dashapp.context import actor, perform, setting
from dashapp.filters import View, to_query
from dashapp.panels import panel_rows
from dashapp.permissions import can_export
from layouts.pages import Page
from layouts.panels import Panel
from layouts.shell import DOWNLOAD, EXPORT, STORE
from services.audit import record
from services.exports import ExportHeader, describe_filters, export_bytes, export_filename
from services.filters import ParamSpec, Period


@dataclass(frozen=True)
class ExportSpec:
    """A chart's data as a table: `build(view, period)` returns exactly what the chart shows."""

    key: str
    title: str
    page_path: str
    params: tuple[ParamSpec, ...]
    build: Callable[[View, Period], pd.DataFrame]


def panel_export(page: Page, panel: Panel) -> ExportSpec:
    """The export of a declared panel: exactly the rows it draws, as its table."""
    def build(view: View, period: Period) -> pd.DataFrame:
        return panel.table(panel_rows(panel, view, period), view)
    return ExportSpec(panel.key, panel.export_title or panel.title, page.path, page.params,
                      build)


def page_exports(pages: Sequence[Page]) -> tuple[ExportSpec, ...]:
    """The exports of every panel of every page."""
    return tuple(panel_export(page, panel) for page in pages for panel in page.panels)


def export_file(spec: ExportSpec, store: dict[str, Any] | None,
                file_format: str) -> dict[str, Any]:
    """The download for one chart in the current view (as dcc.Download data)."""
    view, period = view_of_page(store, spec.page_path, spec.params)
    query = to_query(view.filters, view.page, spec.params)
    filters = view.filters
    header = ExportHeader(
        title=spec.title,
        filters=describe_filters(filters.platforms, filters.products, filters.categories,
                                 filters.grain, filters.compare),
        dates=period.label,
        url=request.host_url.rstrip("/") + spec.page_path + "?" + query,
        exported_at=dt.datetime.now(dt.UTC),
        currency=setting("CURRENCY"),
    )
    content = export_bytes(spec.build(view, period), header, file_format)
    who = actor()
    perform(record, "export", who.id, who.ip, chart=spec.key, format=file_format, query=query)
    narrowed = (*filters.platforms, *filters.categories, *filters.products)
    return dcc.send_bytes(content, export_filename(spec.key, period.start, period.end,
                                                   file_format, narrowed))


def register_callbacks(app: Dash, specs: Sequence[ExportSpec]) -> None:
    """Register the export callback for every declared chart export."""
    by_key = {spec.key: spec for spec in specs}

    @app.callback(
        Output(DOWNLOAD, "data"),
        Input({"type": EXPORT, "key": ALL, "format": ALL}, "n_clicks"),
        State(STORE, "data"),
        prevent_initial_call=True,
    )
    def download(clicks: list[int | None], store: dict[str, Any] | None) -> dict[str, Any]:
        trigger = ctx.triggered_id
        if not trigger or not any(clicks) or not ctx.triggered[0].get("value"):
            raise PreventUpdate  # buttons mounting, not a click
        spec = by_key.get(trigger.get("key"))
        if spec is None or trigger.get("format") not in ("csv", "xlsx") or not can_export():
            raise PreventUpdate
        return export_file(spec, store, trigger["format"])
