"""Customer sets: who bought per day (and month), platform and order country, as Roaring bitmaps.

Distinct customers never add up over groups, so a count over a long range used to be a
`count(DISTINCT customer_id)` over every customer-day row in it (120–220 ms at a million
lines on PostgreSQL, several per page). Each set here holds the ids of the customers with an
order in its group, compressed (a Roaring bitmap, serialized); the distinct customers of any
union of groups are the size of the union of their sets, exact, from a few thousand small
rows at most. `services.rollups` decides which sets answer a query; this module builds them
and counts their unions.

The sets are derived from `rollup_customer_day` (its rows with an order) and rebuilt by
`services.rollups.refresh` in the same transaction, after it; a month's set is the union of
its days' sets, so a refresh of some days rebuilds their whole months.
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from pyroaring import BitMap
from sqlalchemy import Table, delete, select
from sqlalchemy.orm import Session

from models import CustomerDay, CustomerSetDay, CustomerSetMonth
from services.imports.bulk import dialect, insert_frame
from services.periods import month_end, month_start
from services.query import as_date, driver_rows

DAY_SETS: Table = CustomerSetDay.__table__
MONTH_SETS: Table = CustomerSetMonth.__table__
_BUYERS: Table = CustomerDay.__table__

Group = tuple[Any, ...]


def counts_of_unions(rows: Iterable[Sequence[Any]]) -> dict[Group, int]:
    """Distinct customers per group, from rows of the group's key followed by one serialized
    set: the size of the union of each group's sets."""
    sets: dict[Group, list[BitMap]] = defaultdict(list)
    for *key, members in rows:
        sets[tuple(key)].append(BitMap.deserialize(members))
    return {key: len(BitMap.union(*found)) for key, found in sets.items()}


def union_of(rows: Iterable[Sequence[Any]]) -> BitMap:
    """The union of the serialized sets in the rows' last column (empty without rows)."""
    return BitMap.union(BitMap(), *(BitMap.deserialize(row[-1]) for row in rows))


def rebuild(session: Session, start: dt.date | None = None,
            end: dt.date | None = None) -> None:
    """Rebuild the day and month sets of start..end's whole months (every set when None)
    from the customer-day rollup, in the caller's transaction."""
    if start is not None and end is not None:
        start, end = month_start(start), month_end(end)
    _clear(session, start, end)
    day_sets = _day_sets(session, start, end)
    _write(session, DAY_SETS, "sale_date", day_sets)
    _write(session, MONTH_SETS, "month", _month_sets(day_sets))


def _clear(session: Session, start: dt.date | None, end: dt.date | None) -> None:
    for table, column in ((DAY_SETS, "sale_date"), (MONTH_SETS, "month")):
        stmt = delete(table)
        if start is not None and end is not None:
            stmt = stmt.where(table.c[column].between(start, end))
        session.execute(stmt)


def _day_sets(session: Session, start: dt.date | None,
              end: dt.date | None) -> dict[Group, BitMap]:
    """The buyers per (day, platform, country) of the range, from the customer-day rows with
    an order, read in key order and cut into groups with numpy (a million lines have half a
    million such rows)."""
    keys = [_BUYERS.c.sale_date, _BUYERS.c.platform_id, _BUYERS.c.country]
    stmt = select(*keys, _BUYERS.c.customer_id).where(_BUYERS.c.orders > 0)
    if start is not None and end is not None:
        stmt = stmt.where(_BUYERS.c.sale_date.between(start, end))
    # NULL countries sort together on both databases (first on SQLite, last on PostgreSQL).
    rows = driver_rows(session, stmt.order_by(*keys, _BUYERS.c.customer_id))
    if not rows:
        return {}
    ids = np.fromiter((row[3] for row in rows), dtype=np.uint32, count=len(rows))
    starts = [0] + [i for i in range(1, len(rows)) if rows[i][:3] != rows[i - 1][:3]]
    bounds = [*starts, len(rows)]
    return {(as_date(rows[first][0]), rows[first][1], rows[first][2]):
            BitMap(ids[first:last]) for first, last in zip(bounds[:-1], bounds[1:], strict=True)}


def _month_sets(day_sets: dict[Group, BitMap]) -> dict[Group, BitMap]:
    """The union of the day sets per (month, platform, country)."""
    months: dict[Group, list[BitMap]] = defaultdict(list)
    for (day, platform_id, country), members in day_sets.items():
        months[(month_start(day), platform_id, country)].append(members)
    return {key: BitMap.union(*found) for key, found in months.items()}


def _write(session: Session, table: Table, date_column: str,
           sets: dict[Group, BitMap]) -> None:
    """Append the sets in key order (date first: a range reads neighbouring rows), by COPY
    on PostgreSQL (its rows as hex text) and executemany on SQLite."""
    as_text = dialect(session) == "postgresql"
    rows = []
    for (day, platform_id, country), members in sorted(
            sets.items(), key=lambda item: (item[0][0], item[0][1], item[0][2] or "")):
        members.run_optimize()  # runs of consecutive ids stored as ranges: smaller sets
        serialized = members.serialize()
        rows.append((day, platform_id, country,
                     "\\x" + serialized.hex() if as_text else serialized))
    insert_frame(session, table, pd.DataFrame(
        rows, columns=[date_column, "platform_id", "country", "members"]))
