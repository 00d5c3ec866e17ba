"""Rows entered by hand on the Data page (a product, a sale) for shops without an export.

An entry is imported as a one-off file of its kind: the form's values become a CSV whose
columns are the kind's field labels, mapped field by field, and `pipeline.import_file` checks,
loads, records and audits it exactly as an uploaded file — the same conversions and rules,
the same platform limits, an import job in the history. So there is no second validator,
and a sale entered by hand is undone like any import (`services.imports.undo`).
"""
from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.orm import Session

from models import User
from services.errors import AccessDenied, InvalidInput
from services.imports.kinds import KINDS
from services.imports.mapping import ColumnMapping
from services.imports.pipeline import ImportRequest, import_file
from services.imports.report import ImportReport
from services.users import scope_for

ENTRY_ROLES = frozenset({"admin", "analyst"})  # who imports (dashapp.permissions.IMPORT_ROLES)
MAX_LINES = 50  # lines of one sale entered by hand


def entry_file(kind: str, rows: Sequence[Mapping[str, Any]]) -> tuple[bytes, ColumnMapping]:
    """The CSV of `rows` (field name → value; blank values left out) and its mapping."""
    fields = KINDS[kind].fields
    used = [f for f in fields if any(_text(row.get(f.name)) for row in rows)]
    unknown = sorted({key for row in rows for key in row} - {f.name for f in fields})
    if unknown:
        raise InvalidInput(f"Unknown fields for {KINDS[kind].label.lower()}: "
                           f"{', '.join(unknown)}.")
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([f.label for f in used])
    writer.writerows([[_text(row.get(f.name)) for f in used] for row in rows])
    return out.getvalue().encode(), ColumnMapping(kind, {f.name: f.label for f in used},
                                                  date_order="ymd")


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def enter(session: Session, user_id: int, kind: str, rows: Sequence[Mapping[str, Any]],
          what: str, timezone: str, platform: str = "", ip: str | None = None) -> ImportReport:
    """Import `rows` entered by hand as the user, as a file named after `what`."""
    user = session.get(User, user_id)
    if user is None or not user.active or user.role not in ENTRY_ROLES:
        raise AccessDenied("Your account may not enter data.")
    if not rows:
        raise InvalidInput("Nothing was entered.")
    data, mapping = entry_file(kind, rows)
    request = ImportRequest(data=data, filename=f"{what} entered by hand", mapping=mapping,
                            platform=platform or "Online Store", timezone=timezone)
    return import_file(session, scope_for(user), request, user.id, ip)


def add_product(session: Session, user_id: int, product: Mapping[str, Any], timezone: str,
                ip: str | None = None) -> ImportReport:
    """Add a catalogue row (or change the one with the same SKU, as the catalogue import
    does)."""
    return enter(session, user_id, "products", [product],
                 f"product {_text(product.get('sku')) or '(no SKU)'}", timezone, ip=ip)


def record_sale(session: Session, user_id: int, order: Mapping[str, Any],
                lines: Sequence[Mapping[str, Any]], timezone: str,
                ip: str | None = None) -> ImportReport:
    """Record one order: `order`'s fields (number, date, platform, customer, country) on
    each of its `lines` (SKU, name, quantity, unit price, …); blank lines are left out."""
    filled = [line for line in lines if any(_text(value) for value in line.values())]
    if not filled:
        raise InvalidInput("Enter at least one line: a product SKU, a quantity and a price.")
    if len(filled) > MAX_LINES:
        raise InvalidInput(f"A sale entered by hand has at most {MAX_LINES} lines.")
    rows = [{**line, **order} for line in filled]
    return enter(session, user_id, "sales", rows,
                 f"sale {_text(order.get('order_number')) or '(no number)'}", timezone,
                 _text(order.get("platform")), ip)
