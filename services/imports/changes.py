"""The rows an import of a catalogue or marketing kind changed, kept so it can be undone
(models/import_changes.py), and putting them back.

Around each write a loader names the rows it writes by their key (`kept`): their values
before are copied first, the ids of the rows it added after, then every kept row's values
after; all set-based (a staging table of the keys and one INSERT … SELECT or UPDATE per
step), in the import's transaction. A row's values are a JSON object of every column but
`id`, built by the database (`image`), so the same values always give the same text and a
row is unchanged since the import exactly when its image equals the kept `after`.

Undoing (`restore`) puts `before` back, puts back rows the import deleted (ids included) and
deletes the rows it added, children before parents; `conflicts` says first why that would
lose data (a row changed since, or an added row something else now points at).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    Date,
    Integer,
    Select,
    Table,
    Text,
    and_,
    cast,
    delete,
    exists,
    func,
    literal,
    literal_column,
    select,
    text,
    true,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from models import IMPORT_ROW_CHANGES, Base
from services.errors import InvalidInput
from services.imports import bulk

CHANGES = IMPORT_ROW_CHANGES
KEYS_TABLE = "import_change_keys"
# Columns that point at a row without a foreign key (order lines carry none, for load speed;
# a deal names its stage; the rollups only sum the order lines): they count as references as
# a foreign key does.
# table -> (referencing table, its column, the column of `table` it holds)
UNDECLARED_REFERENCES: dict[str, tuple[tuple[str, str, str], ...]] = {
    "products": (("order_lines", "product_id", "id"),
                 ("replaced_order_lines", "product_id", "id")),
    "customers": (("order_lines", "customer_id", "id"),
                  ("replaced_order_lines", "customer_id", "id"),
                  ("replaced_orders", "customer_id", "id")),
    "pipeline_stages": (("opportunities", "stage", "name"),),
}
# How a message names a table's rows.
ROW_NAMES = {"media_posts": "posts", "tracking": "tracking rows", "funnel_days": "funnel days",
             "sales_reps": "sales reps", "pipeline_stages": "pipeline stages",
             "order_lines": "order lines", "replaced_order_lines": "kept order lines",
             "replaced_orders": "kept orders", "rollup_product_month": "product rollups",
             "rollup_customer_day": "customer rollups", "product_names": "product names",
             "stage_changes": "stage changes"}


def row_name(table: str) -> str:
    """How a message names the rows of `table` ('funnel days')."""
    return ROW_NAMES.get(table, table.replace("_", " "))


def sentinel(column: Any) -> Any:
    """A value no real row has in `column`: NULL key parts compare through it (NULL never
    equals NULL in SQL)."""
    if isinstance(column.type, Date):
        return dt.date(1, 1, 1)
    if isinstance(column.type, Integer):
        return -1
    return ""


def _dialect(session: Session) -> str:
    return bulk.dialect(session)


def image(session: Session, table: Table) -> ColumnElement[Any]:
    """A row's values as a JSON object built by the database: every column but `id`."""
    build = func.json_build_object if _dialect(session) == "postgresql" else func.json_object
    pairs: list[Any] = []
    for column in table.columns:
        if column.name != "id":
            pairs += [literal_column(f"'{column.name}'"), column]
    return build(*pairs)


def _as_text(value: Any) -> ColumnElement[Any]:
    return cast(value, Text)


def _value(session: Session, kept: Any, column: Column[Any]) -> ColumnElement[Any]:
    """One column's value out of a kept JSON object, as the column's type."""
    if _dialect(session) == "postgresql":
        return cast(func.json_extract_path_text(kept, literal_column(f"'{column.name}'")),
                    column.type)
    return func.json_extract(kept, literal_column(f"'$.\"{column.name}\"'"))


def _mine(job_id: int, table: Table) -> ColumnElement[bool]:
    return and_(CHANGES.c.job_id == job_id, CHANGES.c.table_name == table.name)


def _kept_row(job_id: int, table: Table) -> ColumnElement[bool]:
    return and_(_mine(job_id, table), CHANGES.c.row_id == table.c.id)


@contextmanager
def kept(session: Session, job_id: int | None, table: Table, key: Sequence[str],
         rows: Sequence[dict[str, Any]]) -> Iterator[None]:
    """Keep what the write inside the block does to the rows of `table` whose `key`
    columns the `rows` give: their values before and after, and which ones it added.
    Nothing is kept without a job (a write that is not an import)."""
    if job_id is None or not rows:
        yield
        return
    keys = _stage_keys(session, table, key, rows)
    named = and_(*(_same(table.c[name], keys.c[name],
                         any(row.get(name) is None for row in rows)) for name in key))
    _add_kept(session, ["job_id", "table_name", "row_id", "before"], select(
        literal(job_id, Integer), literal(table.name), table.c.id, image(session, table))
        .select_from(keys).join(table, named))
    yield
    _add_kept(session, ["job_id", "table_name", "row_id"], select(
        literal(job_id, Integer), literal(table.name), table.c.id)
        .select_from(keys).join(table, named))
    bulk.drop_table(session, keys)
    # UPDATE … FROM the table: a row the write deleted matches nothing and keeps no `after`.
    session.execute(update(CHANGES).where(_kept_row(job_id, table))
                    .values(after=image(session, table)))


def _add_kept(session: Session, names: list[str], rows: Select[Any]) -> None:
    """INSERT … SELECT kept rows, skipping those already kept (a row the write added keeps
    its `before` if it had one: SQLite may give a replacing row the id it replaced). The
    primary key skips them: an anti-join against rows this transaction just wrote, which
    have no statistics yet, can make PostgreSQL compare every row with every row."""
    module = postgresql if _dialect(session) == "postgresql" else sqlite
    # `WHERE true`: SQLite would read a join's ON clause followed by ON CONFLICT as one.
    statement = module.insert(CHANGES).from_select(names, rows.where(true()))
    session.execute(statement.on_conflict_do_nothing(
        index_elements=["job_id", "table_name", "row_id"]))


def _same(column: Any, staged: Any, nulls: bool) -> ColumnElement[bool]:
    """Key equality; through a sentinel only where the keys have NULL parts, since an
    expression on the column keeps the database from using its index (SQLite would compare
    every row with every key)."""
    if not nulls:
        return column == staged
    return func.coalesce(column, sentinel(column)) == func.coalesce(staged, sentinel(column))


def _stage_keys(session: Session, table: Table, key: Sequence[str],
                rows: Sequence[dict[str, Any]]) -> Table:
    """A temporary table of the rows' keys (distinct), typed as `table`'s key columns."""
    keys = bulk.staging_table(session, KEYS_TABLE, [
        Column(name, table.c[name].type) for name in key])
    distinct = list(dict.fromkeys(tuple(row.get(name) for name in key) for row in rows))
    session.execute(keys.insert(), [dict(zip(key, values, strict=True)) for values in distinct])
    if _dialect(session) == "postgresql":  # a fresh table has no statistics: plan the joins
        session.execute(text(f"ANALYZE {keys.name}"))
    return keys


def has_kept(session: Session, job_id: int) -> bool:
    """Whether import `job_id` kept its changes (imports made before Pulseboard kept them
    did not)."""
    return session.scalar(select(exists().where(CHANGES.c.job_id == job_id))) or False


@dataclass(frozen=True)
class Conflict:
    """Why part of an import cannot be undone: rows of one table changed since, or added
    rows that other rows now point at."""

    table: str
    count: int  # rows changed since, or rows now pointed at
    of: int  # rows of the table the import changed (or added)
    later_jobs: tuple[int, ...] = ()  # the later imports that changed them
    used_by: str = ""  # for added rows: what points at them ("12 order lines")


def _tables(session: Session, job_id: int) -> list[Table]:
    """The tables import `job_id` changed, parents before children."""
    names = set(session.scalars(select(CHANGES.c.table_name).distinct()
                                .where(CHANGES.c.job_id == job_id)))
    return [table for table in Base.metadata.sorted_tables if table.name in names]


def _changed(job_id: int, table: Table) -> ColumnElement[bool]:
    """The job's kept rows of `table` that the import changed (not only touched)."""
    return and_(_mine(job_id, table), _differs(CHANGES))


def _differs(changes: Any) -> ColumnElement[bool]:
    """A kept row (of `changes`, the table or an alias) whose import changed it."""
    return _as_text(changes.c.before).is_distinct_from(_as_text(changes.c.after))


def conflicts(session: Session, job_id: int) -> list[Conflict]:
    """What stops import `job_id` from being undone; empty when nothing does."""
    found: list[Conflict] = []
    for table in _tables(session, job_id):
        changed = _changed(job_id, table)
        total = session.scalar(select(func.count()).select_from(CHANGES).where(changed)) or 0
        now = select(image(session, table)).where(table.c.id == CHANGES.c.row_id)
        since = select(CHANGES.c.row_id).where(
            changed, _as_text(CHANGES.c.after).is_distinct_from(_as_text(now.scalar_subquery())))
        moved = session.scalar(select(func.count()).select_from(since.subquery())) or 0
        if moved:
            later = CHANGES.alias("later")
            # Only later imports that changed the row: one that re-imported it as it was
            # puts nothing of it back, so undoing that one would not help.
            jobs = session.scalars(select(later.c.job_id).distinct().where(
                later.c.table_name == table.name, later.c.job_id > job_id,
                later.c.row_id.in_(since), _differs(later)).order_by(later.c.job_id))
            found.append(Conflict(table.name, moved, total, tuple(jobs)))
        found += _references(session, job_id, table, total)
    return found


def _referencing(table: Table) -> list[tuple[Table, str, str]]:
    """Every (table, column, column of `table` it holds) that points at rows of `table`."""
    pairs = [(other, fk.parent.name, fk.column.name) for other in Base.metadata.sorted_tables
             for fk in other.foreign_keys if fk.column.table is table]
    pairs += [(Base.metadata.tables[name], column, target)
              for name, column, target in UNDECLARED_REFERENCES.get(table.name, ())]
    return pairs


def _references(session: Session, job_id: int, table: Table, total: int) -> list[Conflict]:
    """Rows the import added to `table` that rows it did not write now point at."""
    added_ids = select(CHANGES.c.row_id).where(_mine(job_id, table), CHANGES.c.before.is_(None))
    if not session.scalar(select(exists(added_ids))):  # a re-import usually adds nothing
        return []
    uses: list[str] = []
    count = 0
    for other, column, target in _referencing(table):
        added = added_ids if target == "id" else select(table.c[target]).where(
            table.c.id.in_(added_ids))
        pointing: ColumnElement[bool] = other.c[column].in_(added)
        if "id" in other.c:  # rows the undo itself puts back or removes do not count; rows
            # it only touched (kept unchanged) stay as they are now, pointing and all
            pointing = and_(pointing, ~exists().where(_kept_row(job_id, other),
                                                      _differs(CHANGES)))
        rows, used = session.execute(select(func.count(), func.count(
            other.c[column].distinct())).select_from(other).where(pointing)).one()
        if rows:
            uses.append(counted(rows, other.name))
            count = max(count, used)
    if not uses:
        return []
    return [Conflict(table.name, count, total, used_by=", ".join(uses))]


@dataclass(frozen=True)
class Restored:
    """What an undo of kept changes did."""

    put_back: int  # rows given their earlier values again (or re-added)
    removed: int  # rows the import had added, deleted


def restore(session: Session, job_id: int) -> Restored:
    """Undo import `job_id`'s kept changes and drop them: earlier values back, deleted rows
    back (ids included, parents first), added rows deleted (children first). Check
    `conflicts` first: this does not."""
    tables = _tables(session, job_id)
    expected = sum(session.scalar(select(func.count()).select_from(CHANGES)
                                  .where(_changed(job_id, table))) or 0 for table in tables)
    put_back = removed = 0
    for table in tables:
        put_back += _put_back(session, job_id, table)
    for table in reversed(tables):
        removed += _count(session.execute(delete(table).where(exists().where(
            _kept_row(job_id, table), CHANGES.c.before.is_(None), _unchanged(session, table)))))
    if put_back + removed != expected:  # a row changed between the check and now
        raise InvalidInput("Some of the rows of this import changed while it was being "
                           "undone; nothing was changed. Try again.")
    session.execute(delete(CHANGES).where(CHANGES.c.job_id == job_id))
    return Restored(put_back, removed)


def _unchanged(session: Session, table: Table) -> ColumnElement[bool]:
    """The row of `table` still holds the values the import left it with (in a statement
    that joins it to its kept row): a write guarded by this loses no later change."""
    return _as_text(CHANGES.c.after) == _as_text(image(session, table))


def _put_back(session: Session, job_id: int, table: Table) -> int:
    """Give the rows the import updated their earlier values, and add back those it deleted."""
    columns = [column for column in table.columns if column.name != "id"]
    changed = _changed(job_id, table)
    # UPDATE … FROM the kept rows: one join, not a subquery per column and row.
    count = _count(session.execute(
        update(table).where(_kept_row(job_id, table), changed, CHANGES.c.before.is_not(None),
                            _unchanged(session, table))
        .values({column.name: _value(session, CHANGES.c.before, column)
                 for column in columns})))
    deleted = CHANGES.c.after.is_(None)
    count += _count(session.execute(table.insert().from_select(
        ["id", *(column.name for column in columns)],
        select(CHANGES.c.row_id, *(_value(session, CHANGES.c.before, column)
                                   for column in columns))
        .where(changed, deleted))))
    return count


def _count(result: Any) -> int:
    return int(result.rowcount)


def counted(number: int, table: str) -> str:
    """'1 funnel day', '12 order lines', '3 opportunities'."""
    plural = row_name(table)
    if number != 1:
        return f"{number:,} {plural}"
    return "1 " + (plural[:-3] + "y" if plural.endswith("ies") else plural.removesuffix("s"))


def _some_of(conflict: Conflict) -> tuple[str, bool]:
    """'2 of the 40 products', 'the product' or 'all 3 products', and whether one row."""
    if conflict.count != conflict.of:
        return f"{conflict.count:,} of the {counted(conflict.of, conflict.table)}", \
            conflict.count == 1
    if conflict.of == 1:
        return "the " + counted(1, conflict.table).removeprefix("1 "), True
    return f"all {counted(conflict.of, conflict.table)}", False


def blocking(conflict: Conflict) -> str:
    """The reason a conflict gives, in words."""
    rows, one = _some_of(conflict)
    if conflict.used_by:
        return (f"{rows} it changed or added {'is' if one else 'are'} now used by "
                f"{conflict.used_by}: remove or undo those first")
    if conflict.later_jobs:
        names = " and ".join(f"#{job}" for job in conflict.later_jobs)
        plural = len(conflict.later_jobs) > 1
        return (f"{rows} it changed {'was' if one else 'were'} changed again by "
                f"import{'s' if plural else ''} {names}: undo "
                f"{'those' if plural else 'that'} first")
    return (f"{rows} it changed {'has' if one else 'have'} been changed since (by hand, by a "
            "workflow such as approving a payout, or by an import that keeps no undo "
            "record): putting the earlier values back would lose that change")
