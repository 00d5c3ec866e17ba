"""Undoing a sales import, on SQLite and PostgreSQL: exactly its orders and lines go, the
orders it replaced come back as they were (ids included), the rollups of every day either
touched are rebuilt as if it had never been loaded, it is audited, and an undo that could not
put the data back as it was is refused with the reason."""
from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa

from models import ImportJob, User
from services.admin import Actor
from services.errors import AccessDenied, InvalidInput
from services.imports.pipeline import ImportRequest, import_file
from services.imports.report import ImportReport
from services.imports.undo import refused_imports, undo_import, undoable_imports
from services.scope import Scope
from services.users import create_user, scope_for
from tests.fixtures.imports import (  # noqa: F401 - the fixtures are used by name
    TIMEZONE,
    Fresh,
    fresh_fixture,
    imports_postgres_url_fixture,
    sqlite_template_fixture,
)

# The tables an undo must put back as they were (the catalogue keeps what an import added).
FACTS = ("orders", "order_lines", "rollup_sales_day", "rollup_sales_hour",
         "rollup_product_month", "rollup_customer_day", "rollup_customer_set_day",
         "rollup_customer_set_month")


def sales_file(prefix: str, first_day: int, orders: int) -> pd.DataFrame:
    """Orders `prefix`-1… on consecutive March 2024 days, two lines each, on two platforms."""
    rows: list[dict[str, Any]] = []
    for n in range(orders):
        day = dt.datetime(2024, 3, first_day + n, 9 + n)
        for sku, quantity, price in (("TEA-001", 1 + n, 4.5), ("TEA-002", 2, 3.25 + n)):
            rows.append({"Order number": f"{prefix}-{n}", "Order date": f"{day:%Y-%m-%d %H:%M}",
                         "Product SKU": sku, "Product name": f"Tea {sku}", "Quantity": quantity,
                         "Unit price": price, "Customer ID": f"C-{n % 2}",
                         "Platform": ("Online Store", "Amazon")[n % 2]})
    return pd.DataFrame(rows)


def load(fresh: Fresh, frame: pd.DataFrame, user_id: int | None = None) -> ImportReport:
    """Import a frame as a CSV file, as `user_id` (in their scope)."""
    request = ImportRequest(data=frame.to_csv(index=False).encode(), filename="sales.csv",
                            timezone=TIMEZONE, today=dt.date(2026, 11, 21))
    scope = Scope.everything()
    with fresh.session() as session:
        if user_id is not None:
            scope = scope_for(session.get_one(User, user_id))
        report = import_file(session, scope, request, user_id)
    assert report.status == "succeeded", report.to_text()
    return report


def facts(fresh: Fresh) -> str:
    """A digest of the rows of the fact and rollup tables (content, not surrogate ids, and
    not the import job each order records)."""
    digest = hashlib.sha256()
    meta = sa.MetaData()
    with fresh.engine.connect() as connection:
        for name in FACTS:
            table = sa.Table(name, meta, autoload_with=connection)
            columns = [c for c in table.columns if c.name not in ("id", "order_id",
                                                                  "import_job_id")]
            for row in sorted(repr(tuple(round(float(v), 4) if isinstance(v, float) else v
                                         for v in row))
                              for row in connection.execute(sa.select(*columns))):
                digest.update(row.encode())
    return digest.hexdigest()


def tables(fresh: Fresh) -> dict[str, pd.DataFrame]:
    """The fact and rollup tables as pandas reads them, every column, rows in a stable order
    (the rollups without their surrogate ids, which a rebuild renews)."""
    out = {}
    with fresh.engine.connect() as connection:
        for name in FACTS:
            frame = pd.read_sql_table(name, connection)
            if name.startswith("rollup_"):
                frame = frame.drop(columns="id")
            out[name] = frame.sort_values(list(frame.columns)).reset_index(drop=True)
    return out


def assert_same_tables(actual: dict[str, pd.DataFrame],
                       expected: dict[str, pd.DataFrame]) -> None:
    """Every table equal, row for row and column for column."""
    for name, frame in expected.items():
        pd.testing.assert_frame_equal(actual[name], frame, obj=name)


ROLES = {"admin": ("admin", ()), "analyst": ("analyst", ()), "other": ("analyst", ()),
         "amazon": ("analyst", ("amazon",))}  # the last an Amazon-only analyst


def users(fresh: Fresh, *names: str) -> dict[str, int]:
    """Users of ROLES by name (password hashing is slow: make only those a test needs)."""
    with fresh.session() as session:
        made = {name: create_user(session, f"{name}@example.com", "a-long-password",
                                  ROLES[name][0], platform_slugs=ROLES[name][1])
                for name in names}
        session.commit()
        return {name: user.id for name, user in made.items()}


def undo(fresh: Fresh, user_id: int, job_id: int, role: str = "admin") -> Any:
    """Undo as a caller of `perform` does: commit, or roll back on a refusal."""
    with fresh.session() as session:
        try:
            result = undo_import(session, Actor(user_id, role), job_id)
            session.commit()
            return result
        except Exception:
            session.rollback()
            raise


def test_undo_removes_exactly_the_import_and_rebuilds_its_days(fresh: Fresh) -> None:
    ids = users(fresh, "admin")
    first = sales_file("A", 1, 6)
    load(fresh, first)
    before = facts(fresh)
    second = sales_file("B", 3, 4)  # days 3–6 shared with the first file
    job = load(fresh, second).job_id
    assert facts(fresh) != before
    with fresh.session() as session:
        offered = undoable_imports(session, Scope.everything(), ids["admin"])
    assert [row["id"] for row in offered][:1] == [job]
    result = undo(fresh, ids["admin"], job)
    assert facts(fresh) == before  # the rollups of the shared days too
    assert (result.orders, result.lines) == (second["Order number"].nunique(), len(second))
    lines = pd.to_datetime(second["Order date"]).dt.date
    assert (result.first_date, result.last_date) == (lines.min(), lines.max())
    # What remains is what pandas sums from the other files.
    kept = first
    with fresh.engine.connect() as connection:
        count, value = connection.execute(sa.text(
            "SELECT COUNT(*), SUM(quantity * unit_price) FROM order_lines")).one()
        status = connection.execute(sa.select(ImportJob.status).where(
            ImportJob.id == job)).scalar()
        audit = connection.execute(sa.text(
            "SELECT COUNT(*) FROM audit_events WHERE action = 'import_undone'")).scalar()
    assert count == len(kept)
    assert float(value) == pytest.approx((kept["Quantity"] * kept["Unit price"]).sum())
    assert (status, audit) == ("undone", 1)
    with pytest.raises(InvalidInput, match="already undone"):
        undo(fresh, ids["admin"], job)


def replacing(frame: pd.DataFrame, numbers: list[str], quantity: int,
              day: int | None = None) -> pd.DataFrame:
    """Another version of some of `frame`'s orders: other quantities, a new customer, and
    (with `day`) another date, so the days of both versions change."""
    other = frame[frame["Order number"].isin(numbers)].copy()
    other["Quantity"] = quantity
    other["Customer ID"] = "C-9"
    if day is not None:
        other["Order date"] = f"2024-03-{day:02d} 10:00"
    return other


def test_undo_puts_back_the_orders_a_replacing_import_replaced(fresh: Fresh) -> None:
    ids = users(fresh, "admin")
    first = sales_file("A", 1, 6)
    first_job = load(fresh, first).job_id
    after_first = tables(fresh)
    replaced = ["A-2", "A-3", "A-4"]
    new = sales_file("B", 25, 1)
    second = pd.concat([replacing(first, replaced, 7, day=20), new])
    job = load(fresh, second).job_id
    after_second = tables(fresh)
    # A third import replaces one of the second's orders: the second cannot be undone now.
    third = load(fresh, replacing(second, ["A-3"], 9)).job_id
    with pytest.raises(InvalidInput, match="1 of the 4 orders .* undo the later import first"):
        undo(fresh, ids["admin"], job)
    with fresh.session() as session:
        why = {row["id"]: row["why"] for row in refused_imports(session, Scope.everything(),
                                                                ids["admin"])}
    assert "undo the later import first" in why[job]
    assert undo(fresh, ids["admin"], third).restored_orders == 1
    assert_same_tables(tables(fresh), after_second)
    result = undo(fresh, ids["admin"], job)
    assert_same_tables(tables(fresh), after_first)  # ids, rows and every rollup
    old = first[first["Order number"].isin(replaced)]
    assert (result.orders, result.lines) == (second["Order number"].nunique(), len(second))
    assert (result.restored_orders, result.restored_lines) == (len(replaced), len(old))
    days = pd.to_datetime(pd.concat([old["Order date"], second["Order date"]])).dt.date
    assert (result.first_date, result.last_date) == (days.min(), days.max())
    value = fresh.scalar("SELECT SUM(quantity * unit_price) FROM order_lines")
    assert float(value) == pytest.approx((first["Quantity"] * first["Unit price"]).sum())
    assert fresh.scalar("SELECT COUNT(*) FROM replaced_orders") == 0
    assert fresh.scalar("SELECT COUNT(*) FROM replaced_order_lines") == 0
    with fresh.session() as session:
        offered = [row["id"] for row in undoable_imports(session, Scope.everything(),
                                                             ids["admin"])]
    assert offered == [first_job]  # the first import is whole again


def test_an_undo_that_would_not_restore_the_data_is_refused(fresh: Fresh) -> None:
    ids = users(fresh, "admin")
    first = load(fresh, sales_file("A", 1, 4)).job_id
    again = load(fresh, sales_file("A", 1, 2)).job_id  # replaces two of the first's orders
    before = facts(fresh)
    with pytest.raises(InvalidInput, match="2 of the 4 orders .* replaced by a later import"):
        undo(fresh, ids["admin"], first)
    # As an import made before replaced orders were kept: they could not be put back.
    with fresh.engine.begin() as connection:
        connection.execute(sa.text("DELETE FROM replaced_orders"))
    with pytest.raises(InvalidInput, match="replaced 2 orders loaded before it, and was made"):
        undo(fresh, ids["admin"], again)
    products = fresh.run(b"SKU,Name\nTEA-001,Green tea\n", "products.csv", kind="products")
    with fresh.engine.begin() as connection:  # as a products import made before changes were kept
        connection.execute(sa.text("DELETE FROM import_row_changes"))
    with pytest.raises(InvalidInput, match="updates the shared product catalogue in place"):
        undo(fresh, ids["admin"], products.job_id)
    assert facts(fresh) == before
    with fresh.session() as session:
        offered = [row["id"] for row in undoable_imports(session, Scope.everything(),
                                                             ids["admin"])]
        refused = [row["id"] for row in refused_imports(session, Scope.everything(),
                                                            ids["admin"])]
    assert first not in offered and again not in offered and products.job_id not in offered
    assert refused == [products.job_id, again, first]


def test_only_an_admin_or_the_importing_user_within_their_platforms_may_undo(
        fresh: Fresh) -> None:
    load(fresh, sales_file("SETUP", 20, 2))  # creates both platforms
    ids = users(fresh, "analyst", "other", "amazon")
    amazon_only = sales_file("Z", 1, 3).assign(Platform="Amazon")
    own = load(fresh, amazon_only, ids["amazon"]).job_id
    theirs = load(fresh, sales_file("Y", 1, 2), ids["analyst"]).job_id
    with pytest.raises(AccessDenied, match="administrator or the user who imported"):
        undo(fresh, ids["other"], theirs, "analyst")
    with pytest.raises(InvalidInput, match="no import #"):  # not in their history at all
        undo(fresh, ids["amazon"], theirs, "analyst")
    with fresh.session() as session:
        amazon = scope_for(session.get_one(User, ids["amazon"]))
        assert [r["id"] for r in undoable_imports(session, amazon, ids["amazon"])] == [own]
    assert undo(fresh, ids["amazon"], own, "analyst").orders == 3
    assert undo(fresh, ids["analyst"], theirs, "analyst").orders == 2
    assert fresh.scalar("SELECT COUNT(*) FROM orders WHERE order_number LIKE 'Z-%' "
                        "OR order_number LIKE 'Y-%'") == 0
