"""The writing: demo rows into an empty database with the importer's bulk writer.

The generator assigns the primary keys (1..n) itself, so that lines reference their orders
without round trips; that is only valid because every table written must be empty.
"""
from __future__ import annotations

from typing import Any, cast

import numpy as np
import pandas as pd
from sqlalchemy import ColumnDefault, Date, DateTime, Table, select, text
from sqlalchemy.orm import Session

from models import Base, OrderLine
from services.demo_data.rows import Columns
from services.errors import InvalidInput
from services.imports import bulk

# Tables the generator fills with explicit ids, parents before children (foreign keys); the
# names are also the keys of the generated rows.
TABLES: tuple[Table, ...] = tuple(Base.metadata.tables[name] for name in (
    "products", "customers", "influencers", "campaigns", "media_posts", "orders", "order_lines",
    "tracking", "payouts", "funnel_days", "pipeline_stages", "accounts", "sales_reps",
    "opportunities", "stage_changes",
))


def has_sales(session: Session) -> bool:
    """True when the database already holds at least one order line."""
    return session.scalar(select(OrderLine.id).limit(1)) is not None


def require_empty(session: Session) -> None:
    """Refuse unless every table written is empty: ids are assigned here, starting at 1."""
    if has_sales(session):
        raise InvalidInput("The database already has sales; demo data loads into an empty "
                           "database only.")
    for table in TABLES:
        if session.execute(select(table.c.id).limit(1)).first() is not None:
            raise InvalidInput(f"The table “{table.name}” already has rows; demo data loads "
                               "into an empty database only.")


def write_tables(session: Session, tables: dict[str, Columns]) -> None:
    """Insert the rows of every table written, then move the id sequences past them."""
    for table in TABLES:
        bulk.insert_frame(session, table, _frame(table, tables[table.name]))
    _reset_sequences(session)


def _frame(table: Table, columns: Columns) -> pd.DataFrame:
    """The columns as `bulk.insert_frame` takes them: NULL missing, dates in their text form."""
    # No copy: a million-line table is big, and the arrays are not changed here.
    frame = pd.DataFrame({name: _series(values) for name, values in columns.items()},
                         copy=False)
    for column in table.columns:
        if column.name in frame:
            if isinstance(column.type, DateTime):
                frame[column.name] = bulk.iso_datetimes(frame[column.name])
            elif isinstance(column.type, Date):
                frame[column.name] = bulk.iso_dates(frame[column.name])
        elif column.default is not None and column.default.is_scalar:
            # The bulk writer bypasses the ORM, so fill in what an ORM insert would have.
            # A scalar default is a ColumnDefault, which holds the value as `arg`.
            frame[column.name] = cast(ColumnDefault, column.default).arg
    return frame


def _series(values: Any) -> Any:
    """A column's values; masked entries become missing, and integers stay integers."""
    if not isinstance(values, np.ma.MaskedArray):
        return values
    missing = np.ma.getmaskarray(values)
    if values.dtype.kind in "iu":
        return pd.arrays.IntegerArray(values.data.astype(np.int64, copy=False), missing)
    return pd.Series(values.data).mask(missing)


def _reset_sequences(session: Session) -> None:
    """Point PostgreSQL id sequences past the explicit ids so later inserts do not collide."""
    dialect = session.connection().dialect
    if dialect.name != "postgresql":
        return  # SQLite continues from the largest rowid by itself
    preparer = dialect.identifier_preparer
    for table in TABLES:
        name = preparer.format_table(table)
        session.execute(text(
            f"SELECT setval(pg_get_serial_sequence(:table, 'id'), "
            f"COALESCE((SELECT MAX(id) FROM {name}), 0) + 1, false)"), {"table": name})
