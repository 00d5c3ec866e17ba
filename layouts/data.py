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
from layouts.admin import cell, table
from layouts.components import busy
from services.data_quality import GAP_LABELS, LEFT_OUT_LABELS, DataQuality
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
QUALITY = "data-quality"
DEMO_LOAD = "data-demo-load"
CHANGED = "data-changed"  # bumped after an undo or an entry by hand: tables refresh
UNDO_CHOICE = "data-undo-choice"
UNDO = "data-undo"
UNDO_CONFIRM = "data-undo-confirm"
UNDO_RESULT = "data-undo-result"
UNDO_REFUSED = "data-undo-refused"  # the latest imports that cannot be undone, and why
SALE = "data-sale"  # pattern-matching type of the sale form's order fields: {"type", "field"}
SALE_LINE = "data-sale-line"  # … of its line fields: {"type", "field", "row"}
SALE_SAVE = "data-sale-save"
PRODUCT = "data-product"  # pattern-matching type of the product form's fields
PRODUCT_SAVE = "data-product-save"
ENTRY_RESULT = "data-entry-result"
SALE_LINES = 4  # line rows of the sale form (blank rows are left out)
NOT_MAPPED = ""
AUTO_KIND = "auto"


def layout(view: View) -> html.Div:
    """The Data page (the global filters apply to the full export only)."""
    return html.Div([
        dcc.Store(id=UPLOAD_STATE), dcc.Store(id=TICKET), dcc.Store(id=LAST_REPORT),
        dcc.Store(id=UPLOAD_FILE), dcc.Store(id=UPLOAD_LIMIT, data=upload_limit()),
        dcc.Download(id=DOWNLOAD),
        dcc.Store(id=CHANGED, data=0),
        html.H1("Data", className="h4"),
        html.P("What is loaded and how complete it is; import sales, catalogue and marketing "
               "files, or enter a sale or a product by hand; see and undo imports; export the "
               "order lines of the current filters. The filters above apply to the export "
               "only.", className="small text-muted mb-3"),
        quality_card(),
        dbc.Row([
            dbc.Col([import_card(), history_card(), undo_card()], lg=8),
            dbc.Col([entry_card(), export_card(), templates_card()], lg=4),
        ], className="g-3 mb-3"),
    ])


def quality_card() -> dbc.Card:
    """What is loaded and how complete it is (filled by a callback)."""
    return dbc.Card([dbc.CardHeader(html.H2("What is loaded", className="h6 mb-0")),
                     dbc.CardBody(busy(html.Div(id=QUALITY), height=120))],
                    className="chart-card mb-3")


def quality_view(summary: DataQuality, may_load_demo: bool) -> html.Div:
    """The quality summary: coverage per kind and platform, lines left out of the metrics
    and why, gaps, and the last import of each kind."""
    if summary.is_empty:
        return empty_data_view(may_load_demo)
    def share(count: int) -> str:
        if not summary.lines:
            return f"{count:,}"
        part = count / summary.lines
        return f"{count:,} ({'<0.1%' if 0 < part < 0.0005 else f'{part:.1%}'})"

    return html.Div([
        table(summary.kinds, [("kind", "Data"), ("rows", "Rows"), ("platforms", "Platforms"),
                              ("first", "First day"), ("last", "Last day")],
              "data-quality-kinds"),
        html.Details([
            html.Summary("Dates covered per platform", className="small"),
            html.Div(table(summary.coverage, [("kind", "Data"), ("platform", "Platform"),
                                              ("rows", "Rows"), ("first", "First day"),
                                              ("last", "Last day")],
                           "data-quality-coverage"), className="preview-scroll")]),
        dbc.Row([
            dbc.Col([html.H3(f"Left out of the metrics (of {summary.lines:,} order lines)",
                             className="h6 mt-2"),
                     _counts(summary.left_out, LEFT_OUT_LABELS, share, "data-quality-left")],
                    md=6),
            dbc.Col([html.H3("Gaps", className="h6 mt-2"),
                     _counts(summary.gaps, GAP_LABELS, share, "data-quality-gaps",
                             per_line=("guest_lines", "uncosted_lines",
                                       "uncategorised_lines"))], md=6),
        ], className="g-2"),
        html.H3("Last import of each kind", className="h6 mt-2"),
        table(summary.last_imports, [("kind", "Kind"), ("filename", "File"),
                                     ("finished_at", f"When ({setting('TIMEZONE')})"),
                                     ("user", "Who"), ("rows_loaded", "Rows loaded")],
              "data-quality-imports", "No import has loaded data yet."),
        html.P(f"Rows that imports left out for problems (Skip rows with problems): "
               f"{summary.rows_refused:,}.", className="small text-muted mb-0"),
    ])


def _counts(counts: Mapping[str, int], labels: Mapping[str, str], share: Any,
            component_id: str, per_line: Sequence[str] = ()) -> html.Ul:
    """One line per reason: its count (with its share of the lines where it counts lines)."""
    return html.Ul([html.Li([html.Strong(share(counts[key]) if key in per_line or
                                         key in LEFT_OUT_LABELS else f"{counts[key]:,}"),
                             f" {label}"]) for key, label in labels.items()],
                   className="small mb-0 ps-3", id=component_id)


def empty_data_view(may_load_demo: bool) -> html.Div:
    """No data yet: how to get some (an admin may load the demo data)."""
    demo = html.Div([
        dbc.Button("Load the demo data", id=DEMO_LOAD, color="primary", n_clicks=0,
                   className="me-2"),
        html.Span("Two years of a fictional shop's sales, catalogue, customers and marketing, "
                  "to try every page (the same data as pulseboard demo-data). It loads into "
                  "an empty database only; the progress shows under Import a file.",
                  className="small text-muted")], className="d-flex align-items-center "
                                                            "flex-wrap gap-1")
    return html.Div([
        html.P("No data is loaded yet: import a file below or enter a sale by hand.",
               className="mb-2"),
        demo if may_load_demo else html.P(
            "An administrator can load demo data to try Pulseboard.",
            className="small text-muted mb-0"),
    ], id="data-quality-empty")


def undo_card() -> dbc.Card:
    """Undo an import: choose one of the imports the user may undo, confirm."""
    return dbc.Card([
        dbc.CardHeader(html.H2("Undo an import", className="h6 mb-0")),
        dbc.CardBody([
            html.P("Puts the data back as it was before one import (or an entry by hand): a "
                   "sales import's orders and lines go, the orders it replaced come back and "
                   "the figures of their days are rebuilt; any other import's rows get their "
                   "earlier values back and the rows it added go. Offered while nothing has "
                   "changed those rows since; an administrator may undo any import, others "
                   "their own.", className="small text-muted"),
            dbc.Row([
                dbc.Col(dcc.Dropdown(id=UNDO_CHOICE, options=[], placeholder="Import to undo…"),
                        md=8),
                dbc.Col(dbc.Button("Undo this import", id=UNDO, color="danger", outline=True,
                                   n_clicks=0, disabled=True), md=4),
            ], className="g-2"),
            dcc.ConfirmDialog(id=UNDO_CONFIRM),
            html.Div(id=UNDO_RESULT, className="mt-2"),
            html.Div(id=UNDO_REFUSED, className="mt-2"),
        ]),
    ], className="chart-card mt-3")


def undo_refusals(rows: Sequence[Mapping[str, Any]]) -> Any:
    """Why the latest imports not offered for undo cannot be undone (nothing when none)."""
    if not rows:
        return None
    return html.Div([
        html.P("Not offered:", className="small fw-semibold mb-1"),
        html.Ul([html.Li(row["why"]) for row in rows], className="small text-muted mb-0",
                id="data-undo-refused-list"),
    ])


def undo_options(rows: Sequence[Mapping[str, Any]],
                 zone: str | None = None) -> list[dict[str, Any]]:
    """The dropdown's options: one per import the user may undo (times in `zone`)."""
    zone = zone or setting("TIMEZONE")
    return [{"value": row["id"], "label": f"#{row['id']} {row['filename']} ({row['rows']:,} "
             f"row{'' if row['rows'] == 1 else 's'}, {cell(row['started_at'], zone)})"}
            for row in rows]


def entry_card() -> dbc.Card:
    """Record a sale, or add a product, by hand (checked as an import of one row is)."""
    tabs = [dbc.Tab(sale_form(), label="Record a sale", tab_id="sale")]
    if can_write_shared_data():
        tabs.append(dbc.Tab(product_form(), label="Add a product", tab_id="product"))
    return dbc.Card([
        dbc.CardHeader(html.H2("Enter by hand", className="h6 mb-0")),
        dbc.CardBody([
            html.P("For a shop without an export. An entry is checked and loaded as an import "
                   "of the same rows would be, listed in the import history, and undone "
                   "from there.", className="small text-muted"),
            dbc.Tabs(tabs, active_tab="sale", className="mb-2"),
            html.Div(id=ENTRY_RESULT),
            None if can_write_shared_data() else html.P(
                "The product catalogue is shared by every platform: only a user without a "
                "platform limit adds products (a sale of a new SKU adds it).",
                className="small text-muted mb-0"),
        ]),
    ], className="chart-card mb-3")


def _input(pattern: dict[str, Any], label: str, **props: Any) -> dbc.Col:
    return dbc.Col([dbc.Label(label, className="filter-label"),
                    dbc.Input(id=pattern, size="sm", **props)], xs=6)


def sale_form() -> html.Div:
    """One order: number, time, platform, customer, country, and up to SALE_LINES lines."""
    order: list[tuple[str, str, dict[str, Any]]] = [
        ("order_number", "Order number", {"maxLength": 64}),
        ("ordered_at", "Date and time", {"type": "datetime-local"}),
        ("platform", "Platform", {"list": PLATFORM_LIST, "value": "Online Store",
                                  "maxLength": 80}),
        ("customer_id", "Customer ID", {"maxLength": 64, "placeholder": "blank: a guest"}),
        ("country", "Country", {"maxLength": 80})]
    line_fields = [("sku", "SKU", 3, False), ("quantity", "Qty", 3, True),
                   ("unit_price", "Price", 3, True), ("product_name", "Name if new", 3, False)]
    lines = [dbc.Row([dbc.Col(dbc.Input(id={"type": SALE_LINE, "field": field, "row": row},
                                        size="sm", placeholder=label, name=f"{field}-{row}",
                                        type="number" if number else "text",
                                        step="any" if number else None),
                              xs=width) for field, label, width, number in line_fields],
                     className="g-1 mb-1") for row in range(SALE_LINES)]
    return html.Div([
        dbc.Row([_input({"type": SALE, "field": name}, label, **props)
                 for name, label, props in order], className="g-2"),
        html.Div("Lines (SKU, quantity, unit price; a name for a new SKU; a negative "
                 "quantity is a return)", className="filter-label mt-2"),
        *lines,
        dbc.Button("Record this sale", id=SALE_SAVE, color="primary", size="sm", n_clicks=0,
                   className="mt-1"),
    ])


def product_form() -> html.Div:
    """A catalogue row; the SKU of an existing product changes that product."""
    fields: list[tuple[str, str, dict[str, Any]]] = [
        ("sku", "SKU", {"maxLength": 64}), ("name", "Name", {"maxLength": 255}),
        ("category", "Category", {"maxLength": 80}), ("brand", "Brand", {"maxLength": 80}),
        ("unit_cost", "Unit cost", {"type": "number", "step": "any", "min": 0}),
        ("list_price", "List price", {"type": "number", "step": "any", "min": 0})]
    return html.Div([
        dbc.Row([_input({"type": PRODUCT, "field": name}, label, **props)
                 for name, label, props in fields], className="g-2"),
        dbc.Checkbox(id={"type": PRODUCT, "field": "is_merchandise"}, value=True,
                     label="Merchandise (not postage, a fee or a voucher)", className="mt-2"),
        dbc.Button("Save the product", id=PRODUCT_SAVE, color="primary", size="sm",
                   n_clicks=0, className="mt-1"),
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
        _report_alert(report, checked, color),
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


def _report_alert(report: Mapping[str, Any], checked: bool, color: str) -> dbc.Alert:
    return dbc.Alert([html.Strong(_headline(report, checked))] + [
        html.Div(error) for error in report["errors"]], color=color, id="data-report-alert")


def entry_view(report: Mapping[str, Any]) -> html.Div:
    """The outcome of an entry by hand: the headline, and each problem with its field."""
    color = "success" if report["status"] == "succeeded" else "danger"
    # The entry's rows are numbered as a spreadsheet numbers them: line 1 is row 2.
    problems = [{"line": issue["row"] - 1, "field": issue["column"], "value": issue["value"],
                 "problem": issue["message"]} for issue in report["issues"]]
    return html.Div([
        _report_alert(report, False, color),
        table(problems, [("line", "Line"), ("field", "Field"), ("value", "Value"),
                         ("problem", "Problem")],
              "data-entry-problems") if problems else None,
    ], id="data-entry-report")


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
                 "above (or load the demo data, see What is loaded).", zone)
