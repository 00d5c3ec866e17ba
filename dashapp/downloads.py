"""Downloads served by Flask, not by a Dash callback: the Data page's full export, streamed
(it may be far larger than a callback response should be).

Like every route that is not public, it needs a login (`dashapp.auth.require_login`); the
role rule is `dashapp.permissions.can_export`.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, Response, abort, request, stream_with_context

from dashapp.context import actor, current_scope, fetch, perform, setting
from dashapp.extensions import db, db_session
from dashapp.filters import to_query
from dashapp.permissions import can_export
from dashapp.views import checked_view
from layouts import data as ids
from services.audit import record
from services.exports import (
    FORMATS,
    ExportHeader,
    describe_filters,
    export_chunks,
    export_filename,
    view_header_value,
)
from services.imports.dataset import XLSX_MAX_ROWS, count_order_lines, order_line_chunks

bp = Blueprint("downloads", __name__)


@bp.route("/data/export.<file_format>")
def data_export(file_format: str) -> Response:
    """GET /data/export.<csv|xlsx>?<view>: every order line of the view, streamed."""
    if file_format not in FORMATS:
        abort(404)
    if not can_export():
        abort(403)
    view, period = checked_view(request.args.to_dict(flat=False), ids.PARAMS)
    filters = view.filters
    if file_format == "xlsx" and fetch(count_order_lines, filters, period) > XLSX_MAX_ROWS:
        return Response(f"Too many lines for an XLSX file (more than {XLSX_MAX_ROWS:,}): "
                        "narrow the filters or download the CSV.", status=400,
                        mimetype="text/plain")
    query = to_query(filters)
    header = ExportHeader(
        title="All order lines",
        filters=describe_filters(filters.platforms, filters.products, filters.categories,
                                 filters.grain, filters.compare),
        dates=period.label, url=request.host_url.rstrip("/") + ids.PATH + "?" + query,
        exported_at=dt.datetime.now(dt.UTC), currency=setting("CURRENCY"))
    who = actor()
    perform(record, "export", who.id, who.ip, chart="data-order-lines", format=file_format,
            query=query)
    scope = current_scope()

    def generate() -> Any:
        try:
            yield from export_chunks(order_line_chunks(db_session(), scope, filters, period),
                                     header, file_format)
        finally:
            db.session.rollback()  # the stream only reads: end its transaction

    name = export_filename("order-lines", period.start, period.end, file_format,
                           (*filters.platforms, *filters.categories, *filters.products))
    return Response(stream_with_context(generate()), mimetype=FORMATS[file_format],
                    headers={"Content-Disposition": f'attachment; filename="{name}"',
                             "X-Pulseboard-View": view_header_value(header.url)})
