"""Bulk writes for imports: COPY on PostgreSQL, executemany on SQLite, temporary staging
tables, upserts, and the lock that makes concurrent imports take turns."""
from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Column, MetaData, Table, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

# Any constant works: it only has to be the same for every import process.
IMPORT_LOCK_KEY = 727_0301
IN_CHUNK = 5_000  # values per IN (...) list: well under SQLite's variable limit
COPY_CHUNK_ROWS = 20_000  # rows formatted at a time for COPY
INSERT_CHUNK_ROWS = 50_000  # rows made Python values at a time for executemany
COPY_READ_SIZE = 256 * 1024  # characters handed to the server per read


def dialect(session: Session) -> str:
    """'postgresql' or 'sqlite'."""
    return session.get_bind().dialect.name


def take_import_lock(session: Session) -> None:
    """Make imports take turns until this transaction ends.

    PostgreSQL: a transaction-level advisory lock. SQLite allows one writer anyway; the
    caller's first statement is a write, so a second import waits for the first (up to the
    busy timeout set here) instead of failing half-way with "database is locked".
    """
    if dialect(session) == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": IMPORT_LOCK_KEY})
    else:
        session.execute(text("PRAGMA busy_timeout = 120000"))


def _formatted(values: pd.Series, pattern: str) -> pd.Series:
    # strftime is slow; a sales file has few distinct days, so format each one once.
    codes, uniques = pd.factorize(values)
    text_ = pd.Series(pd.DatetimeIndex(uniques).strftime(pattern), dtype=object).to_numpy()
    return pd.Series(np.where(codes >= 0, text_[codes], None), index=values.index,
                     dtype=object)


def iso_dates(values: pd.Series) -> pd.Series:
    """Dates as 'YYYY-MM-DD' text (None when missing): how SQLite stores them, and what
    PostgreSQL reads."""
    return _formatted(values, "%Y-%m-%d")


def iso_datetimes(values: pd.Series) -> pd.Series:
    """Timestamps as 'YYYY-MM-DD HH:MM:SS.ffffff' text, SQLAlchemy's SQLite storage form."""
    return _formatted(values, "%Y-%m-%d %H:%M:%S.%f")


def python_rows(frame: pd.DataFrame) -> list[tuple[Any, ...]]:
    """Rows of plain Python values, None for missing (numpy scalars do not bind)."""
    columns = [frame[name].astype(object).where(frame[name].notna(), None).tolist()
               for name in frame.columns]
    return list(zip(*columns, strict=True)) if columns else []


def insert_frame(session: Session, table: Table, frame: pd.DataFrame) -> None:
    """Append `frame` (columns named as the table's) to `table` by the fastest path."""
    if frame.empty:
        return
    connection = session.connection()
    raw = connection.connection.dbapi_connection
    assert raw is not None  # None only once the pool has invalidated the connection
    preparer = connection.dialect.identifier_preparer
    names = ", ".join(preparer.quote(str(name)) for name in frame.columns)
    target = preparer.format_table(table)
    cursor = raw.cursor()
    try:
        if connection.dialect.name == "postgresql":
            cursor.copy_expert(f"COPY {target} ({names}) FROM STDIN WITH (FORMAT csv)",
                               CsvStream(frame), size=COPY_READ_SIZE)
        else:
            marks = ", ".join("?" * len(frame.columns))
            statement = f"INSERT INTO {target} ({names}) VALUES ({marks})"
            # A chunk at a time: a million rows as Python tuples at once take about a gigabyte.
            for start in range(0, len(frame), INSERT_CHUNK_ROWS):
                cursor.executemany(statement,
                                   python_rows(frame.iloc[start:start + INSERT_CHUNK_ROWS]))
    finally:
        cursor.close()


class CsvStream(io.TextIOBase):
    """A DataFrame as CSV text, formatted a chunk at a time as COPY reads it.

    The server parses and indexes what it has received while the next chunk is formatted:
    the two overlap instead of running one after the other.
    """

    def __init__(self, frame: pd.DataFrame, rows: int = COPY_CHUNK_ROWS) -> None:
        self._frame, self._rows, self._next, self._buffer = frame, rows, 0, ""

    def readable(self) -> bool:
        """A source to read from."""
        return True

    def read(self, size: int | None = -1) -> str:
        """Up to `size` characters ('' at the end)."""
        wanted = size if size is not None and size >= 0 else float("inf")
        while len(self._buffer) < wanted and self._next < len(self._frame):
            chunk = self._frame.iloc[self._next:self._next + self._rows]
            self._next += self._rows
            # Missing values and empty text both become unquoted empty fields: NULL.
            self._buffer += chunk.to_csv(index=False, header=False, na_rep="")
        if wanted == float("inf"):
            text_, self._buffer = self._buffer, ""
        else:
            text_, self._buffer = self._buffer[:size], self._buffer[size:]
        return text_


def staging_table(session: Session, name: str, columns: Sequence[Column[Any]]) -> Table:
    """A temporary table on this transaction's connection (emptied if it already exists)."""
    table = Table(name, MetaData(), *columns, prefixes=["TEMPORARY"])
    session.execute(text(f"DROP TABLE IF EXISTS {name}"))
    table.create(session.connection())
    return table


def drop_table(session: Session, table: Table) -> None:
    """Drop a staging table."""
    session.execute(text(f"DROP TABLE IF EXISTS {table.name}"))


def rows_in(session: Session, columns: Sequence[Any], key: Any,
            values: Iterable[Any]) -> list[Any]:
    """SELECT `columns` WHERE `key` IN `values`, in chunks of IN_CHUNK values."""
    values = list(dict.fromkeys(values))
    found: list[Any] = []
    for start in range(0, len(values), IN_CHUNK):
        chunk = values[start:start + IN_CHUNK]
        found += session.execute(select(*columns).where(key.in_(chunk))).all()
    return found


def upsert(session: Session, table: Table, rows: list[dict[str, Any]],
           key: Sequence[str], update: Sequence[str]) -> None:
    """INSERT rows; where the unique `key` exists, UPDATE the `update` columns instead."""
    if not rows:
        return
    module = postgresql if dialect(session) == "postgresql" else sqlite
    for start in range(0, len(rows), IN_CHUNK):
        statement = module.insert(table)
        columns = {name: statement.excluded[name] for name in update}
        statement = (statement.on_conflict_do_update(index_elements=list(key), set_=columns)
                     if columns else statement.on_conflict_do_nothing(index_elements=list(key)))
        session.execute(statement, rows[start:start + IN_CHUNK])
