"""Data page callbacks: the quality summary, the import wizard, the demo load, entries by
hand, undoing an import, templates, import history and the full export's links (the export
itself is `dashapp.downloads`).

Checking and importing a file run as Dash background callbacks, so a long import shows its
progress and never holds a web worker. The background process has no request: the
in-request callback that starts it checks the user's role and hands over a signed ticket
naming the user, the upload and the mapping (`dashapp.jobs`).
"""
from __future__ import annotations

import base64
import binascii
import json
from typing import Any

import dash_bootstrap_components as dbc
import pandas as pd
from dash import ALL, ClientsideFunction, Dash, Input, Output, State, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate
from flask import Flask, request
from flask_login import current_user

from dashapp import jobs
from dashapp.context import actor, data_changed, fetch, perform, setting
from dashapp.errors import job_lost_reason, on_callback_error
from dashapp.filters import to_query
from dashapp.permissions import can_administer, can_import
from dashapp.views import view_from_store
from layouts import data as ids
from layouts.shell import STORE
from services.data_quality import data_quality
from services.dimensions import platform_options
from services.errors import ServiceError
from services.filters import format_range
from services.imports.dataset import XLSX_MAX_ROWS, count_order_lines
from services.imports.jobs import import_history
from services.imports.kinds import KINDS, template_csv
from services.imports.manual import add_product, record_sale
from services.imports.mapping import (
    ColumnMapping,
    propose,
    save_mapping,
    saved_mapping,
    saved_mappings,
)
from services.imports.pipeline import analyse
from services.imports.reader import import_limits
from services.imports.report import ImportReport
from services.imports.runner import CHECK, DEMO, IMPORT, JobRequest
from services.imports.undo import undo_choices, undo_import
from services.imports.uploads import save_upload


def _alert(message: str, color: str = "danger") -> dbc.Alert:
    return dbc.Alert(message, color=color, className="py-2", id="data-alert")


def decode_upload(contents: str) -> bytes:
    """The bytes of a dcc.Upload data URL."""
    try:
        return base64.b64decode(contents.partition(",")[2], validate=True)
    except (binascii.Error, ValueError) as error:
        raise ServiceError("The upload arrived damaged: try again.") from error


def mapping_from(kind: str, values: list[str | None], map_ids: list[dict[str, str]],
                 date_order: str | None) -> ColumnMapping:
    """The mapping the user sees in the editor."""
    columns = {component["field"]: value for component, value in zip(map_ids, values,
                                                                        strict=True) if value}
    return ColumnMapping(kind, columns, date_order=date_order or "auto")


def stage_upload(server: Flask, contents: str, filename: str, kind: str | None) -> dict[str, Any]:
    """Save an upload and recognise it; the state the wizard keeps in the browser."""
    data = decode_upload(contents)
    analysis = fetch(analyse, data, filename, kind, limits=import_limits(server.config))
    upload_id = save_upload(jobs.upload_folder(server), data, filename, current_user.id)
    detection = analysis.detection
    return {"upload": upload_id, "filename": filename, "read_as": analysis.read_as,
            "columns": list(analysis.columns), "description": detection.description,
            "unmatched": list(detection.unmatched_columns),
            "mapping": detection.mapping.as_dict(), "preview_rows": len(analysis.preview),
            "preview": analysis.preview.to_dict(orient="split")}


def run_job(server: Flask, ticket: str, progress: Any) -> tuple[dict[str, Any], bool]:
    """The background part: check or import the uploaded file as the ticket's user."""
    job = jobs.read_ticket(server, ticket)
    if job is None:
        raise PreventUpdate  # a forged ticket, or one too old

    def step(text: str, fraction: float) -> None:
        progress((int(fraction * 100), text))

    report = jobs.run_in_app(server, job, step)
    return json.loads(report.to_json()), job.action == CHECK


def job_failed(error: Exception) -> tuple:
    """The wizard's answer when its job ended outside the job (lost with its worker or
    process): the reason where the report goes, and the history read again (it shows the
    import failed). Any other error is the app's, in its banner."""
    reason = job_lost_reason(error)
    if reason is None:
        on_callback_error(error)
        return no_update, no_update, no_update
    return _alert(reason), {"status": "failed", "errors": [reason]}, no_update


def history_for(data: dict[str, Any] | None) -> Any:
    """The history table when the Data page is shown."""
    if not data or data.get("path") != ids.PATH or not can_import():
        raise PreventUpdate
    return ids.history_table(fetch(import_history))


def quality_for(data: dict[str, Any] | None) -> Any:
    """The quality summary when the Data page is shown (the demo load for an admin)."""
    if not data or data.get("path") != ids.PATH or not can_import():
        raise PreventUpdate
    return ids.quality_view(fetch(data_quality), can_administer())


def undo_choices_for(data: dict[str, Any] | None) -> tuple[list[dict[str, Any]], Any]:
    """The imports the logged-in user may undo now, and why the latest ones not offered
    cannot be undone."""
    if not data or data.get("path") != ids.PATH or not can_import():
        raise PreventUpdate
    choices = fetch(undo_choices, current_user.id)
    return ids.undo_options(choices.offered), ids.undo_refusals(choices.refused)


def undo(job_id: int | None) -> Any:
    """Undo an import as the logged-in user; the message to show."""
    if not job_id or not can_import():
        return _alert("Your role may not undo imports.")
    try:
        result = perform(undo_import, actor(), int(job_id))
    except ServiceError as error:
        return _alert(str(error))
    data_changed()
    if result.kind != "sales":
        return _alert(f"Import #{result.job_id} ({result.filename}) was undone: "
                      f"{_count(result.rows_put_back, 'row')} put back as "
                      f"{'it was' if result.rows_put_back == 1 else 'they were'} and "
                      f"{_count(result.rows_removed, 'row')} it had added removed.", "success")
    span = (f", from {result.first_date:%d %b %Y} to {result.last_date:%d %b %Y}"
            if result.first_date and result.last_date else "")
    back = (f", {_count(result.restored_orders, 'order')} and "
            f"{_count(result.restored_lines, 'line')} it had replaced put back"
            if result.restored_orders else "")
    return _alert(f"Import #{result.job_id} ({result.filename}) was undone: "
                  f"{_count(result.orders, 'order')} and {_count(result.lines, 'line')} "
                  f"removed{back}{span}, and the figures of those days rebuilt.", "success")


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


def _entered(report: ImportReport) -> Any:
    """The report of an entry by hand; a loaded entry changes the data version."""
    if report.status == "succeeded":
        data_changed()
    return ids.entry_view(json.loads(report.to_json()))


def enter_sale(order_values: list[Any], order_ids: list[dict[str, str]],
               line_values: list[Any], line_ids: list[dict[str, Any]]) -> Any:
    """Record the sale of the form as the logged-in user."""
    order = {component["field"]: value for component, value in zip(order_ids, order_values,
                                                                     strict=True)}
    order["ordered_at"] = str(order.get("ordered_at") or "").replace("T", " ")
    rows: dict[int, dict[str, Any]] = {}
    for component, value in zip(line_ids, line_values, strict=True):
        rows.setdefault(component["row"], {})[component["field"]] = value
    return _entered(perform(record_sale, current_user.id, order,
                            [rows[row] for row in sorted(rows)], setting("TIMEZONE"),
                            request.remote_addr))


def enter_product(values: list[Any], field_ids: list[dict[str, str]]) -> Any:
    """Add (or change) the catalogue row of the form as the logged-in user."""
    product = {component["field"]: value for component, value in zip(field_ids, values,
                                                                       strict=True)}
    product["is_merchandise"] = "yes" if product.get("is_merchandise") else "no"
    return _entered(perform(add_product, current_user.id, product, setting("TIMEZONE"),
                            request.remote_addr))


def export_links(data: dict[str, Any] | None) -> tuple[str, str, str, Any]:
    """Download links of the full export for the current view, and how many lines it has."""
    parsed = view_from_store(data, ids.PARAMS)
    if parsed is None or data is None or data.get("path") != ids.PATH:
        raise PreventUpdate
    view, period = parsed
    query = to_query(view.filters)
    count = fetch(count_order_lines, view.filters, period)
    note = [html.Strong(f"{count:,} order lines"),
            f" in the current filters ({format_range(period.start, period.end)}), with their "
            "order, product, platform and customer. Postage, fee and adjustment lines are "
            "included and marked."]
    xlsx_class = "btn btn-outline-primary btn-sm"
    if count > XLSX_MAX_ROWS:
        note.append(html.Div(f"XLSX is offered up to {XLSX_MAX_ROWS:,} lines: narrow the "
                             "filters, or download the CSV.", className="text-muted"))
        xlsx_class += " disabled"
    return f"/data/export.csv?{query}", f"/data/export.xlsx?{query}", xlsx_class, note


def register_callbacks(app: Dash) -> None:
    """Register the Data page callbacks on `app`."""
    server = app.server
    manager = jobs.background_manager(server)

    app.clientside_callback(
        ClientsideFunction(namespace="pulseboard", function_name="acceptUpload"),
        Output(ids.UPLOAD_FILE, "data"), Output(ids.UPLOAD_REFUSED, "is_open"),
        Output(ids.UPLOAD_REFUSED, "children"),
        Input(ids.UPLOAD, "contents"), State(ids.UPLOAD, "filename"),
        State(ids.UPLOAD_LIMIT, "data"), prevent_initial_call=True)

    @app.callback(
        Output(ids.UPLOAD_STATE, "data"), Output(ids.ANALYSIS, "children"),
        Output(ids.MAPPING_AREA, "children"), Output(ids.PREVIEW, "children"),
        Output(ids.RESULT, "children"), Output(ids.CHECK, "disabled"),
        Output(ids.IMPORT, "disabled"), Output(ids.MAPPING_TOOLS, "style"),
        Output(ids.DATE_ORDER, "value"), Output(ids.KIND, "value"),
        Input(ids.UPLOAD_FILE, "data"), State(ids.KIND, "value"), prevent_initial_call=True)
    def upload(chosen: dict[str, Any] | None, kind: str | None) -> tuple:
        if not chosen or not chosen.get("contents"):
            raise PreventUpdate
        contents, filename = chosen["contents"], chosen.get("filename")
        hidden = {"display": "none"}
        if not can_import():
            return (None, _alert("Your role may not import files."), None, None, None, True,
                    True, hidden, no_update, no_update)
        try:
            state = stage_upload(server, contents, filename or "upload.csv",
                                 None if kind == ids.AUTO_KIND else kind)
        except ServiceError as error:
            return (None, _alert(str(error)), None, None, None, True, True, hidden, no_update,
                    no_update)
        mapping = state["mapping"]
        return (state, _summary(state), ids.mapping_editor(mapping["kind"], state["columns"],
                                                           mapping["columns"]),
                _preview(state), None, False, True, {}, mapping["date_order"],
                no_update if kind == ids.AUTO_KIND else mapping["kind"])

    @app.callback(
        Output(ids.MAPPING_AREA, "children", allow_duplicate=True),
        Output(ids.KIND, "value", allow_duplicate=True),
        Output(ids.IMPORT, "disabled", allow_duplicate=True),
        Input(ids.KIND, "value"), Input(ids.SAVED, "value"), State(ids.UPLOAD_STATE, "data"),
        prevent_initial_call=True)
    def change_mapping(kind: str | None, saved: str | None,
                       state: dict[str, Any] | None) -> tuple:
        if not state:
            raise PreventUpdate
        columns = state["columns"]
        if ctx.triggered_id == ids.SAVED and saved:
            mapping = fetch(saved_mapping, saved)
            chosen = {f: c for f, c in mapping.columns.items() if c in columns}
            return ids.mapping_editor(mapping.kind, columns, chosen), mapping.kind, True
        if kind in (None, ids.AUTO_KIND):
            mapping = ColumnMapping.from_dict(state["mapping"])
            return ids.mapping_editor(mapping.kind, columns, mapping.columns), no_update, True
        return ids.mapping_editor(kind, columns, propose(kind, columns).columns), no_update, True

    @app.callback(
        Output(ids.SAVED, "options"), Input(ids.UPLOAD_STATE, "data"),
        prevent_initial_call=True)
    def saved_options(state: dict[str, Any] | None) -> list[dict[str, str | None]]:
        return [{"label": f"{m.name} ({KINDS[m.kind].label.lower()})", "value": m.name}
                for m in fetch(saved_mappings)]

    editor = (State({"type": ids.MAP, "field": ALL}, "value"),
              State({"type": ids.MAP, "field": ALL}, "id"))

    @app.callback(
        Output(ids.MAPPING_FEEDBACK, "children"), Output(ids.SAVED, "options",
                                                         allow_duplicate=True),
        Input(ids.SAVE_MAPPING, "n_clicks"), State(ids.MAPPING_NAME, "value"),
        State(ids.KIND, "value"), State(ids.DATE_ORDER, "value"),
        State(ids.UPLOAD_STATE, "data"), *editor, prevent_initial_call=True)
    def save(clicks: int, name: str | None, kind: str | None, date_order: str | None,
             state: dict[str, Any] | None, values: list, map_ids: list) -> tuple:
        if not clicks or not state or not can_import():
            raise PreventUpdate
        kind = _editor_kind(kind, state)
        try:
            perform(save_mapping, name or "", mapping_from(kind, values, map_ids, date_order),
                    current_user.id)
        except ServiceError as error:
            return html.Span(str(error), className="text-danger"), no_update
        options = [{"label": f"{m.name} ({KINDS[m.kind].label.lower()})", "value": m.name}
                   for m in fetch(saved_mappings)]
        assert name is not None  # save_mapping refused a missing name
        return html.Span(f"Saved as “{name.strip()}”.", className="text-success"), options

    @app.callback(
        Output(ids.DOWNLOAD, "data"), Input(ids.DOWNLOAD_MAPPING, "n_clicks"),
        State(ids.KIND, "value"), State(ids.DATE_ORDER, "value"),
        State(ids.UPLOAD_STATE, "data"), *editor, prevent_initial_call=True)
    def download_mapping(clicks: int, kind: str | None, date_order: str | None,
                         state: dict[str, Any] | None, values: list, map_ids: list) -> Any:
        if not clicks or not state:
            raise PreventUpdate
        mapping = mapping_from(_editor_kind(kind, state), values, map_ids, date_order)
        return dcc.send_string(json.dumps(mapping.as_dict(), indent=2),
                               f"pulseboard-mapping-{mapping.kind}.json")

    @app.callback(
        Output(ids.DOWNLOAD, "data", allow_duplicate=True),
        Input({"type": ids.TEMPLATE, "kind": ALL}, "n_clicks"), prevent_initial_call=True)
    def download_template(clicks: list[int | None]) -> Any:
        trigger = ctx.triggered_id
        if not trigger or not any(clicks) or trigger.get("kind") not in KINDS:
            raise PreventUpdate
        kind = trigger["kind"]
        return dcc.send_bytes(template_csv(kind), f"pulseboard-{kind}-template.csv")

    @app.callback(
        Output(ids.TICKET, "data"), Output(ids.RESULT, "children", allow_duplicate=True),
        Output(ids.IMPORT, "disabled", allow_duplicate=True),
        Input(ids.CHECK, "n_clicks"), Input(ids.IMPORT, "n_clicks"),
        State(ids.UPLOAD_STATE, "data"), State(ids.KIND, "value"),
        State(ids.DATE_ORDER, "value"), State(ids.PLATFORM, "value"),
        State(ids.SKIP_INVALID, "value"), *editor, prevent_initial_call=True)
    def request_job(_check: int, _import: int, state: dict[str, Any] | None, kind: str | None,
                    date_order: str | None, platform: str | None, skip: bool | None,
                    values: list, map_ids: list) -> tuple:
        if not state or not ctx.triggered[0].get("value"):
            raise PreventUpdate
        if not can_import():
            return None, _alert("Your role may not import files."), True
        mapping = mapping_from(_editor_kind(kind, state), values, map_ids, date_order)
        try:
            mapping.check(state["columns"])
        except ServiceError as error:
            return None, _alert(str(error)), True
        job = JobRequest(
            action=IMPORT if ctx.triggered_id == ids.IMPORT else CHECK, user_id=current_user.id,
            upload=state["upload"],
            mapping={**mapping.as_dict(), "source_format": _source_format(state, mapping)},
            platform=(platform or "").strip() or "Online Store", skip_invalid=bool(skip),
            ip=request.remote_addr)
        return jobs.sign_ticket(server, job), None, True

    @app.callback(
        Output(ids.RESULT, "children", allow_duplicate=True),
        Output(ids.LAST_REPORT, "data"), Output(ids.IMPORT, "disabled", allow_duplicate=True),
        Input(ids.TICKET, "data"), background=True, manager=manager,
        progress=[Output(ids.PROGRESS, "value"), Output(ids.PROGRESS_TEXT, "children")],
        running=[(Output(ids.CHECK, "disabled"), True, False),
                 (Output(ids.PROGRESS_BOX, "style"), {}, {"display": "none"})],
        on_error=job_failed, prevent_initial_call=True)
    def run(set_progress: Any, ticket: str | None) -> tuple:
        if not ticket:
            raise PreventUpdate
        report, checked = run_job(server, ticket, set_progress)
        ready = checked and report["status"] == "checked" and not report["errors"]
        return ids.report_view(report, checked), report, not ready

    @app.callback(Output(ids.HISTORY, "children"), Input(STORE, "data"),
                  Input(ids.LAST_REPORT, "data"), Input(ids.CHANGED, "data"))
    def history(data: dict[str, Any] | None, _report: Any, _changed: Any) -> Any:
        return history_for(data)

    @app.callback(Output(ids.QUALITY, "children"), Input(STORE, "data"),
                  Input(ids.LAST_REPORT, "data"), Input(ids.CHANGED, "data"))
    def quality(data: dict[str, Any] | None, _report: Any, _changed: Any) -> Any:
        return quality_for(data)

    @app.callback(Output(ids.UNDO_CHOICE, "options"), Output(ids.UNDO_CHOICE, "value"),
                  Output(ids.UNDO_REFUSED, "children"),
                  Input(STORE, "data"), Input(ids.LAST_REPORT, "data"),
                  Input(ids.CHANGED, "data"))
    def undo_choices(data: dict[str, Any] | None, _report: Any, _changed: Any) -> tuple:
        options, refusals = undo_choices_for(data)
        return options, None, refusals

    @app.callback(Output(ids.UNDO, "disabled"), Input(ids.UNDO_CHOICE, "value"))
    def undo_ready(choice: int | None) -> bool:
        return not choice

    @app.callback(Output(ids.UNDO_CONFIRM, "displayed"), Output(ids.UNDO_CONFIRM, "message"),
                  Input(ids.UNDO, "n_clicks"), State(ids.UNDO_CHOICE, "value"),
                  State(ids.UNDO_CHOICE, "options"), prevent_initial_call=True)
    def confirm_undo(clicks: int, choice: int | None, options: list[dict[str, Any]]) -> tuple:
        if not clicks or not choice:
            raise PreventUpdate
        label = next((o["label"] for o in options or [] if o["value"] == choice), "")
        return True, (f"Undo import {label}? Its orders and lines are removed from every "
                      "page and the orders it replaced are put back; import the file (or "
                      "enter the sale) again to get its orders back.")

    @app.callback(Output(ids.UNDO_RESULT, "children"), Output(ids.CHANGED, "data"),
                  Input(ids.UNDO_CONFIRM, "submit_n_clicks"), State(ids.UNDO_CHOICE, "value"),
                  State(ids.CHANGED, "data"), prevent_initial_call=True)
    def run_undo(confirmed: int | None, choice: int | None, changed: int | None) -> tuple:
        if not confirmed:
            raise PreventUpdate
        return undo(choice), (changed or 0) + 1

    @app.callback(Output(ids.TICKET, "data", allow_duplicate=True),
                  Output(ids.RESULT, "children", allow_duplicate=True),
                  Input(ids.DEMO_LOAD, "n_clicks"), prevent_initial_call=True)
    def load_demo(clicks: int | None) -> tuple:
        if not clicks:
            raise PreventUpdate
        if not can_administer():
            return None, _alert("Only an administrator may load the demo data.")
        job = JobRequest(action=DEMO, user_id=current_user.id, upload="", mapping={},
                         platform="", skip_invalid=False, ip=request.remote_addr)
        return jobs.sign_ticket(server, job), _alert("Loading the demo data…", "info")

    entry_outputs = (Output(ids.ENTRY_RESULT, "children"),
                     Output(ids.CHANGED, "data", allow_duplicate=True))

    @app.callback(*entry_outputs, Input(ids.SALE_SAVE, "n_clicks"),
                  State({"type": ids.SALE, "field": ALL}, "value"),
                  State({"type": ids.SALE, "field": ALL}, "id"),
                  State({"type": ids.SALE_LINE, "field": ALL, "row": ALL}, "value"),
                  State({"type": ids.SALE_LINE, "field": ALL, "row": ALL}, "id"),
                  State(ids.CHANGED, "data"), prevent_initial_call=True)
    def save_sale(clicks: int, values: list, order_ids: list, line_values: list,
                  line_ids: list, changed: int | None) -> tuple:
        if not clicks:
            raise PreventUpdate
        try:
            return enter_sale(values, order_ids, line_values, line_ids), (changed or 0) + 1
        except ServiceError as error:
            return _alert(str(error)), no_update

    @app.callback(*entry_outputs, Input(ids.PRODUCT_SAVE, "n_clicks"),
                  State({"type": ids.PRODUCT, "field": ALL}, "value"),
                  State({"type": ids.PRODUCT, "field": ALL}, "id"),
                  State(ids.CHANGED, "data"), prevent_initial_call=True)
    def save_product(clicks: int, values: list, field_ids: list, changed: int | None) -> tuple:
        if not clicks:
            raise PreventUpdate
        try:
            return enter_product(values, field_ids), (changed or 0) + 1
        except ServiceError as error:
            return _alert(str(error)), no_update

    @app.callback(Output(ids.EXPORT_CSV, "href"), Output(ids.EXPORT_XLSX, "href"),
                  Output(ids.EXPORT_XLSX, "className"), Output(ids.EXPORT_NOTE, "children"),
                  Input(STORE, "data"), Input(ids.LAST_REPORT, "data"))
    def links(data: dict[str, Any] | None, _report: Any) -> tuple:
        return export_links(data)

    @app.callback(Output(ids.PLATFORM_LIST, "children"), Input(STORE, "data"))
    def platform_names(data: dict[str, Any] | None) -> list:
        if not data or data.get("path") != ids.PATH:
            raise PreventUpdate
        return [html.Option(value=p["name"]) for p in fetch(platform_options)]


def _editor_kind(kind: str | None, state: dict[str, Any]) -> str:
    return state["mapping"]["kind"] if kind in (None, ids.AUTO_KIND) else kind


def _source_format(state: dict[str, Any], mapping: ColumnMapping) -> str:
    """The UCI rules apply while the columns are still the recognised UCI ones."""
    recognised = ColumnMapping.from_dict(state["mapping"])
    if recognised.source_format == "uci" and recognised.columns == mapping.columns:
        return "uci"
    return "generic"


def _summary(state: dict[str, Any]) -> Any:
    return ids.analysis_summary(state["filename"], state["read_as"], state["description"],
                                state["preview_rows"], state["unmatched"])


def _preview(state: dict[str, Any]) -> Any:
    split = state["preview"]
    return ids.preview_table(pd.DataFrame(split["data"], columns=split["columns"]))

