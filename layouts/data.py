"""Data page: the import wizard (upload → recognised format and mapping → check → import →
report), templates, import history and the full export of the filtered order lines."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import dash_bootstrap_components as dbc
from dash import dcc, html

from dashapp.context import setting
from dashapp.filters import View
from dashapp.permissions import DATA_PAGE_ROLES, can_write_shared_data
from layouts.admin import table
from layouts.components import busy
from services.filters import ParamSpec
from services.imports.access import PLATFORM_KINDS
from services.imports.convert import DATE_ORDERS
from services.imports.kinds import KINDS, Kind
from services.imports.report import STATUS_LABELS, TOTAL_LABELS

PATH = "/data"
TITLE = "Data"
PARAMS: tuple[ParamSpec, ...] = ()
ROLES = DATA_PAGE_ROLES  # viewers read; they neither import nor export

UPLOAD = "data-upload"
UPLOAD_FILE = "data-upload-file"  # the chosen file once the browser found it small enough
UPLOAD_LIMIT = "data-upload-limit"
UPLOAD_REFUSED = "data-upload-refused"
UPLOAD_STATE = "data-upload-state"  # the staged upload: id, name, columns, detection
KIND = "data-kind"
PLATFORM = "data-platform"
PLATFORM_LIST = "data-platform-list"
ANALYSIS = "data-analysis"
MAPPING_AREA = "data-mapping-area"
MAPPING_TOOLS = "data-mapping-tools"
MAP = "data-map"  # pattern-matching type of the column dropdowns: {"type", "field"}
DATE_ORDER = "data-date-order"
SAVED = "data-saved-mapping"
MAPPING_NAME = "data-mapping-name"
SAVE_MAPPING = "data-save-mapping"
MAPPING_FEEDBACK = "data-mapping-feedback"
DOWNLOAD_MAPPING = "data-download-mapping"
PREVIEW = "data-preview"
SKIP_INVALID = "data-skip-invalid"
CHECK = "data-check"
IMPORT = "data-import"
TICKET = "data-ticket"  # signed request for the background job
PROGRESS = "data-progress"
PROGRESS_TEXT = "data-progress-text"
PROGRESS_BOX = "data-progress-box"
RESULT = "data-result"
LAST_REPORT = "data-last-report"
HISTORY = "data-history"
TEMPLATE = "data-template"  # pattern-matching type of template buttons: {"type", "kind"}
DOWNLOAD = "data-download"
EXPORT_NOTE = "data-export-note"
EXPORT_CSV = "data-export-csv"
EXPORT_XLSX = "data-export-xlsx"
NOT_MAPPED = ""
AUTO_KIND = "auto"


def layout(view: View) -> html.Div:
    """The Data page (the global filters apply to the full export only)."""
    return html.Div([
        dcc.Store(id=UPLOAD_STATE), dcc.Store(id=TICKET), dcc.Store(id=LAST_REPORT),
        dcc.Store(id=UPLOAD_FILE), dcc.Store(id=UPLOAD_LIMIT, data=upload_limit()),
        dcc.Download(id=DOWNLOAD),
        html.H1("Data", className="h4"),
        html.P("Import sales, catalogue and marketing files; see every import; export the "
               "order lines of the current filters. The filters above apply to the export "
               "only.", className="small text-muted mb-3"),
        dbc.Row([
            dbc.Col([import_card(), history_card()], lg=8),
            dbc.Col([export_card(), templates_card()], lg=4),
        ], className="g-3 mb-3"),
    ])


def history_card() -> dbc.Card:
    """Every import, newest first (filled by a callback)."""
    return dbc.Card([dbc.CardHeader(html.H2("Import history", className="h6 mb-0")),
                     dbc.CardBody(busy(html.Div(id=HISTORY)))], className="chart-card mt-3")


def upload_limit() -> int:
    """The largest file the browser may send: the request limit less base64's third."""
    return int(setting("MAX_CONTENT_LENGTH")) * 3 // 4 - 64 * 1024


def importable_kinds() -> list[Kind]:
    """The kinds of file the logged-in user may import: a platform-limited user only their
    platforms' kinds, never the shared reference data."""
    shared = can_write_shared_data()
    return [kind for kind in KINDS.values() if shared or kind.name in PLATFORM_KINDS]


def import_card() -> dbc.Card:
    """Upload, recognised format, mapping, preview, check and import."""
    kinds = [{"label": "Recognise from the columns", "value": AUTO_KIND}] + [
        {"label": kind.label, "value": kind.name} for kind in importable_kinds()]
    return dbc.Card([
        dbc.CardHeader(html.H2("Import a file", className="h6 mb-0")),
        dbc.CardBody([
            html.Div("1. Choose the file", className="wizard-step"),
            # No max_size: dcc.Upload drops a larger file without a word (plotly/dash#2638).
            # The browser reads any file and a client-side check refuses one over the limit
            # with a message, before anything is sent (assets/pulseboard.js).
            dcc.Upload(id=UPLOAD, className="upload-area", multiple=False,
                       max_size=-1, children=html.Div([
                           html.Strong("Drop a CSV or Excel (.xlsx) file here"),
                           " or click to choose one.",
                           html.Div(f"Up to {upload_limit() / 1024 / 1024:,.0f} MB (compress a "
                                    "larger CSV with gzip: .csv.gz is read too). Comma, "
                                    "semicolon, tab or pipe separated; UTF-8 or Windows-1252.",
                                    className="small text-muted")])),
            dbc.Row([
                dbc.Col([dbc.Label("What the file holds", className="filter-label"),
                         dcc.Dropdown(id=KIND, options=kinds, value=AUTO_KIND,
                                      clearable=False, searchable=False)], md=6),
                dbc.Col([dbc.Label("Platform of its sales or posts (if the file names none)",
                                   className="filter-label"),
                         dbc.Input(id=PLATFORM, value="Online Store", list=PLATFORM_LIST,
                                   maxLength=80),
                         html.Datalist(id=PLATFORM_LIST)], md=6),
            ], className="g-2 mt-2"),
            dbc.Alert(id=UPLOAD_REFUSED, color="danger", is_open=False, className="mt-3 mb-0"),
            html.Div(id=ANALYSIS, className="mt-3"),
            html.Div(id=PREVIEW),
            html.Div(id=MAPPING_AREA),
            mapping_tools(),
            html.Div([
                dbc.Checkbox(id=SKIP_INVALID, value=False, className="me-3",
                             label="Skip rows with problems and load the rest"),
                dbc.Button("Check the whole file", id=CHECK, color="secondary", outline=True,
                           className="me-2", disabled=True, n_clicks=0),
                dbc.Button("Import", id=IMPORT, color="primary", disabled=True, n_clicks=0),
            ], className="d-flex align-items-center flex-wrap gap-1 mt-3"),
            html.Div([dbc.Progress(id=PROGRESS, value=0, className="mt-3 import-progress"),
                      html.Div(id=PROGRESS_TEXT, className="small text-muted")],
                     id=PROGRESS_BOX, style={"display": "none"}),
            html.Div(id=RESULT, className="mt-3"),
        ]),
    ], className="chart-card")


def templates_card() -> dbc.Card:
    """A downloadable template for every kind of file."""
    items = [html.Li([
        html.Button(kind.label, id={"type": TEMPLATE, "kind": kind.name}, n_clicks=0,
                    className="btn btn-link btn-sm p-0 text-start",
                    title=f"Download a CSV template for {kind.label.lower()}"),
        html.Div(kind.description, className="small text-muted")], className="mb-2")
        for kind in importable_kinds()]
    return dbc.Card([
        dbc.CardHeader(html.H2("Templates", className="h6 mb-0")),
        dbc.CardBody([html.P("A CSV with the columns Pulseboard reads and one example row. "
                             "Column names are matched loosely, so your own files rarely "
                             "need renaming.", className="small"),
                      html.Ul(items, className="list-unstyled mb-0")]),
    ], className="chart-card")


def export_card() -> dbc.Card:
    """The full export of the order lines in the current filters."""
    return dbc.Card([
        dbc.CardHeader(html.H2("Export all order lines", className="h6 mb-0")),
        dbc.CardBody([
            html.Div(id=EXPORT_NOTE, className="small mb-2"),
            html.A("Download CSV", id=EXPORT_CSV, className="btn btn-outline-primary btn-sm me-2",
                   href="", target="_blank"),
            html.A("Download XLSX", id=EXPORT_XLSX, className="btn btn-outline-primary btn-sm",
                   href="", target="_blank"),
        ]),
    ], className="chart-card mb-3")


def analysis_summary(filename: str, read_as: str, description: str, rows: int,
                     unmatched: Sequence[str]) -> html.Div:
    """What the uploaded file was recognised as."""
    extra = (html.Div(f"Columns not used: {', '.join(unmatched)}.", className="small text-muted")
             if unmatched else None)
    return html.Div([
        html.Div("2. Check what was recognised", className="wizard-step"),
        dbc.Alert([html.Strong(filename), f" — {read_as}. Recognised as ",
                   html.Strong(description), "."],
                  color="light", className="py-2 mb-1", id="data-recognised"),
        extra])


def mapping_editor(kind_name: str, columns: Sequence[str],
                   chosen: Mapping[str, str]) -> html.Div:
    """One dropdown per field of the kind: which file column feeds it."""
    kind = KINDS[kind_name]
    options = [{"label": "— not in the file —", "value": NOT_MAPPED}] + [
        {"label": column, "value": column} for column in columns]
    required = {name for group in kind.one_of for name in group} | set(kind.required)
    main = [f for f in kind.fields if f.name in chosen or f.name in required]
    more = [f for f in kind.fields if f not in main]
    groups = "; ".join(" or ".join(kind.field(name).label for name in group)
                       for group in kind.one_of)
    return html.Div([
        html.Div("3. Correct the columns if needed", className="wizard-step mt-3"),
        html.Div([f"* required. {'At least one of: ' + groups + '.' if groups else ''}"],
                 className="small text-muted mb-1"),
        _field_table(main, options, chosen),
        html.Details([html.Summary(f"{len(more)} more fields this file does not have",
                                   className="small"),
                      _field_table(more, options, chosen)]) if more else None,
    ])


def _field_table(fields: Sequence[Any], options: list[dict[str, str]],
                 chosen: Mapping[str, str]) -> dbc.Table:
    rows = [html.Tr([
        html.Td([field.label, html.Span(" *", className="text-danger") if field.required
                 else None], className="text-nowrap"),
        html.Td(dcc.Dropdown(id={"type": MAP, "field": field.name}, options=options,
                             value=chosen.get(field.name, NOT_MAPPED), clearable=False,
                             className="map-dropdown")),
        html.Td(field.help, className="small text-muted"),
    ]) for field in fields]
    return dbc.Table([html.Thead(html.Tr([html.Th("Field"), html.Th("Column in your file"),
                                          html.Th("")])), html.Tbody(rows)],
                     size="sm", className="mapping-table mb-2")


def mapping_tools() -> html.Div:
    """Date order, saved mappings and the mapping download; shown once a file is uploaded."""
    return html.Div([
        dbc.Row([
            dbc.Col([dbc.Label("Date order", className="filter-label"),
                     dcc.Dropdown(id=DATE_ORDER, value="auto", clearable=False,
                                  searchable=False,
                                  options=[{"label": label, "value": key}
                                           for key, label in DATE_ORDERS.items()])], md=4),
            dbc.Col([dbc.Label("Use a saved mapping", className="filter-label"),
                     dcc.Dropdown(id=SAVED, options=[], placeholder="Saved mappings…")], md=4),
            save_mapping_column(),
        ], className="g-2"),
        html.Div([html.Span(id=MAPPING_FEEDBACK, className="small me-2"),
                  html.Button("Download this mapping (for pulseboard import --mapping)",
                              id=DOWNLOAD_MAPPING, n_clicks=0,
                              className="btn btn-link btn-sm p-0")], className="mt-1"),
    ], id=MAPPING_TOOLS, style={"display": "none"})


def save_mapping_column() -> dbc.Col:
    """Name and save the mapping; for a platform-limited user, why they cannot (saved
    mappings are shared by everyone). The inputs stay, hidden, for the save callback."""
    shared = can_write_shared_data()
    saving = html.Div([
        dbc.Label("Save this mapping as", className="filter-label"),
        dbc.InputGroup([dbc.Input(id=MAPPING_NAME, placeholder="e.g. Shop export",
                                  maxLength=80),
                        dbc.Button("Save", id=SAVE_MAPPING, n_clicks=0, color="secondary",
                                   outline=True, disabled=not shared)])],
        style=None if shared else {"display": "none"})
    why = None if shared else html.P(
        "Saved mappings are shared by everyone, so only a user without a platform limit "
        "saves them; download this mapping to reuse it.", className="small text-muted mb-0")
    return dbc.Col([saving, why], md=4)


def preview_table(frame: Any) -> html.Details:
    """The first rows of the file, as text."""
    columns = [(column, column) for column in frame.columns]
    rows = frame.to_dict(orient="records")
    return html.Details([html.Summary(f"Preview of the first {len(rows)} rows",
                                      className="small"),
                         html.Div(table(rows, columns, "data-preview-table"),
                                  className="preview-scroll")], open=True)


def report_view(report: Mapping[str, Any], checked: bool) -> html.Div:
    """An import (or check) report: headline, figures, problems, first bad rows, notes."""
    ok = report["status"] in ("checked", "succeeded") and not report["errors"]
    color = "success" if report["status"] == "succeeded" else ("info" if ok else "danger")
    figures = [("Rows read", report["rows_read"]),
               ("Rows loaded" + (" (would be)" if checked else ""), report["rows_loaded"]),
               ("Rows rejected", report["rows_rejected"])]
    if report["kind"] == "sales":
        excluded = ", ".join(f"{code} {n:,}" for code, n in report["excluded"].items())
        figures.append(("Excluded from merchandise metrics",
                        f"{report['rows_excluded']:,}" + (f" ({excluded})" if excluded else "")))
    if report.get("first_date"):
        figures.append(("Dates", f"{report['first_date']} to {report['last_date']}"))
    figures.append(("Amounts shown in", f"{report.get('currency') or setting('CURRENCY')} "
                    "(the business currency, Admin → Settings; amounts are not converted)"))
    figures += [(_sentence(TOTAL_LABELS.get(key, key)), value)
                for key, value in report["totals"].items()]
    body: list[Any] = [
        dbc.Alert([html.Strong(_headline(report, checked))] + [
            html.Div(error) for error in report["errors"]], color=color, id="data-report-alert"),
        table([{"what": label, "value": _number(value)} for label, value in figures],
              [("what", ""), ("value", "")], "data-report-figures"),
    ]
    if report["problems"]:
        body += [html.H3("Problems by column", className="h6 mt-3"),
                 table(report["problems"], [("column", "Column"), ("problem", "Problem"),
                                            ("rows", "Rows")], "data-report-problems")]
    if report["issues"]:
        body += [html.H3(f"First rows with problems ({len(report['issues'])} shown)",
                         className="h6 mt-3"),
                 html.Div(table(report["issues"][:100], [
                     ("row", "Row"), ("column", "Column"), ("value", "Value"),
                     ("message", "Problem")], "data-report-issues"), className="preview-scroll")]
    body += [html.Ul([html.Li(note) for note in report["notes"]], className="small mt-2")]
    return html.Div(body, id="data-report")


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:]


def _headline(report: Mapping[str, Any], checked: bool) -> str:
    name, loaded, read = report["filename"], report["rows_loaded"], report["rows_read"]
    if report["status"] == "succeeded":
        return f"Loaded {loaded:,} of {read:,} rows from {name} ({report['seconds']:.1f} s)."
    if report["status"] == "checked" and not report["errors"]:
        return (f"{name} is ready: {loaded:,} of {read:,} rows would be loaded. Nothing has "
                "been changed yet: press Import.")
    if report["status"] == "failed":
        return f"The import of {name} failed; nothing was changed."
    return f"{name} cannot be loaded as it is; nothing was changed."


def _number(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def history_table(rows: Sequence[Mapping[str, Any]], zone: str | None = None) -> Any:
    """The import history, newest first (times in `zone`, default the business's)."""
    zone = zone or setting("TIMEZONE")
    shown = [{**row, "status": STATUS_LABELS.get(row["status"], row["status"]),
              "rows": f"{row['rows_loaded']:,} of {row['rows_read']:,}",
              "checksum": row["checksum"][:10],
              "why": "; ".join(row["errors"])[:160]} for row in rows]
    return table(shown, [("started_at", f"When ({zone})"), ("user", "Who"),
                         ("filename", "File"), ("kind", "Kind"), ("status", "Status"),
                         ("rows", "Rows loaded"), ("rows_rejected", "Rejected"),
                         ("rows_excluded", "Not merchandise"), ("checksum", "SHA-256"),
                         ("why", "Problems")], "data-history-table",
                 "No file has been imported yet, and no demo data loaded: import a file "
                 "above (or run pulseboard demo-data).", zone)
