"""The orders and lines a sales import replaced, kept in the database so the import can be
undone (models/imports_replaced.py): copied set-based before the import deletes them, put
back as they were (ids included) when it is undone."""
from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Integer, Table, delete, func, literal, select
from sqlalchemy.orm import Session

from models import REPLACED_LINES, REPLACED_ORDERS, Order, OrderLine
from services.query import as_date

# (copy, source, the source column that names the order)
_PAIRS: tuple[tuple[Table, Table, str], ...] = (
    (REPLACED_ORDERS, Order.__table__, "id"),
    (REPLACED_LINES, OrderLine.__table__, "order_id"),
)


def keep(session: Session, job_id: int, orders: Any) -> None:
    """Copy the orders whose ids `orders` (a SELECT of order ids) yields, and their lines,
    every column, to the replaced tables under `job_id`: one INSERT … SELECT each, in the
    database, in the caller's transaction."""
    for copy, source, order_column in _PAIRS:
        names = [column.name for column in source.columns]
        session.execute(copy.insert().from_select(
            ["job_id", *names],
            select(literal(job_id, Integer), *source.columns)
            .where(source.c[order_column].in_(orders))))


def kept_orders(session: Session, job_id: int) -> int:
    """How many replaced orders import `job_id` kept."""
    return session.scalar(select(func.count()).select_from(REPLACED_ORDERS)
                          .where(REPLACED_ORDERS.c.job_id == job_id)) or 0


def kept_days(session: Session, job_id: int) -> tuple[dt.date, dt.date] | None:
    """The first and last sale date of the orders import `job_id` replaced (None if none)."""
    first, last = session.execute(
        select(func.min(REPLACED_ORDERS.c.sale_date), func.max(REPLACED_ORDERS.c.sale_date))
        .where(REPLACED_ORDERS.c.job_id == job_id)).one()
    return None if first is None else (as_date(first), as_date(last))


def restore(session: Session, job_id: int) -> tuple[int, int]:
    """Put the orders and lines import `job_id` replaced back as they were, and drop the
    copies; how many orders and lines came back. The import's own rows must be gone."""
    restored = []
    for copy, source, _ in _PAIRS:
        names = [column.name for column in source.columns]
        mine = copy.c.job_id == job_id
        result = session.execute(source.insert().from_select(
            names, select(*(copy.c[name] for name in names)).where(mine)))
        restored.append(int(result.rowcount))  # type: ignore[attr-defined]
        session.execute(delete(copy).where(mine))
    return restored[0], restored[1]
