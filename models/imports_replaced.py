"""What a sales import replaced: the orders and lines it deleted, kept so it can be undone.

A sales import replaces orders already loaded (same platform and order number) by the file's
version. Before it deletes them it copies them here, every column and id included, in the
same transaction (`services.imports.sales`); undoing the import puts them back as they were
(`services.imports.undo`) and removes the copies. The tables mirror `orders` and
`order_lines` column for column, so a column added there must be added here too (the
migration test fails until it is).
"""
from __future__ import annotations

from sqlalchemy import Column, Integer, Table

from models.base import Base
from models.sales import Order, OrderLine


def _copy_of(source: Table, name: str) -> Table:
    """A table of `source`'s columns (types, nullability), keyed by the replacing import and
    the row's own id, without the source's defaults, indexes or foreign keys: the copies are
    only read back by id."""
    columns = [Column(column.name, column.type, primary_key=column.primary_key,
                      autoincrement=False, nullable=column.nullable)
               for column in source.columns]
    return Table(name, Base.metadata,
                 Column("job_id", Integer, primary_key=True, autoincrement=False),
                 *columns)


# job_id: the import (import_jobs.id) that replaced the row.
REPLACED_ORDERS = _copy_of(Order.__table__, "replaced_orders")
REPLACED_LINES = _copy_of(OrderLine.__table__, "replaced_order_lines")
