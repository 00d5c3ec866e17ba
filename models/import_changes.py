"""What an import of a catalogue or marketing kind changed, row by row, kept so it can be undone.

Those imports update shared rows in place (or, for tracking and payouts, replace them). In the
same transaction as its writes, such an import keeps here, for every row it touched, the row's
values before and after it (`services.imports.changes`): `before` NULL for a row it inserted,
`after` NULL for a row it deleted. Undoing the import puts `before` back, but only while every
row still holds its `after` values (nothing changed it since), and removes the kept rows.
The values are JSON objects of every column but `id` (which is `row_id`).
"""
from __future__ import annotations

from sqlalchemy import JSON, Column, Index, Integer, String, Table

from models.base import Base

IMPORT_ROW_CHANGES = Table(
    "import_row_changes", Base.metadata,
    Column("job_id", Integer, primary_key=True, autoincrement=False),  # import_jobs.id
    Column("table_name", String(40), primary_key=True),
    Column("row_id", Integer, primary_key=True, autoincrement=False),
    Column("before", JSON(none_as_null=True), nullable=True),
    Column("after", JSON(none_as_null=True), nullable=True),
    # Which imports changed a row: to name the later one that blocks an undo.
    Index("ix_import_row_changes_row", "table_name", "row_id"),
)
