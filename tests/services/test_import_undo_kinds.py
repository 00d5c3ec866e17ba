"""Undoing imports of the kinds that update shared rows in place (products, customers, posts,
influencers, tracking, funnel, payouts, pipeline, the sales team), on SQLite and PostgreSQL:
after import A and an import B that changes some of A's rows and adds others, undoing B
leaves every table of the kind as it was after A (read independently with pandas, ids
included); an undo is refused, changing nothing, when a later import, an edit or a workflow
changed a row B wrote, or when something now points at a row B added; an import made before
changes were kept stays refused."""
from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import pytest
import sqlalchemy as sa

from models import IMPORT_ROW_CHANGES
from services.admin import Actor
from services.errors import InvalidInput
from services.imports.report import ImportReport
from services.imports.undo import KEPT_KINDS, refused_imports, undo_import, undoable_imports
from services.payouts import change_status
from services.scope import Scope
from services.users import create_user
from tests.fixtures.imports import (  # noqa: F401 - the fixtures are used by name
    Fresh,
    fresh_fixture,
    imports_postgres_url_fixture,
    sqlite_template_fixture,
)

INFLUENCERS_AB = ("Handle,Name,Platform,Followers,Niche\n"
                  "@a,Ann,Instagram,100,wellness\n@b,Bo,Instagram,200,food\n")
SPRING = "Date,Platform,Campaign,Clicks\n2024-03-01,Instagram,Spring,1\n"

# kind: (files imported first [(kind, csv)], file A, file B changing some of A's rows and
# adding others, the tables an import of the kind writes)
CASES: dict[str, tuple[list[tuple[str, str]], str, str, tuple[str, ...]]] = {
    "products": (
        [],
        "SKU,Name,Category,Unit cost,List price,Merchandise\n"
        "P-1,Tea,Drinks,1.5,3,yes\nP-2,Cake,Food,2.25,5,yes\nP-3,Jam,Food,3,6,yes\n",
        "SKU,Name,Category,Unit cost,List price,Merchandise\n"
        "P-1,Tea,Drinks,1.5,3,no\nP-2,Cake large,Food,2.75,5.5,yes\nP-3,Jam,Food,3,6,yes\n"
        "P-4,Scone,Food,1.1,2,yes\n",
        ("products",)),
    "customers": (
        [],
        "Customer ID,Name,Segment,Country,First seen,Acquisition platform\n"
        "C-1,Ann,SMB,Spain,2024-01-02,Instagram\nC-2,Bob,SMB,France,2024-02-03,Instagram\n",
        "Customer ID,Name,Segment,Country,First seen,Acquisition platform\n"
        "C-2,Bob,Retail,Germany,2024-02-01,Instagram\nC-3,Cy,SMB,Italy,2024-03-04,Instagram\n",
        ("customers",)),
    "posts": (
        [],
        "Post ID,Platform,Post type,Posted at,Caption,Campaign,Likes,Cost\n"
        "ig-1,Instagram,reel,2024-03-01 18:30,Morning,Spring,10,5.5\n"
        "ig-2,Instagram,reel,2024-03-02 18:30,Noon,Spring,20,\n",
        "Post ID,Platform,Post type,Posted at,Caption,Campaign,Likes,Cost\n"
        "ig-2,Instagram,reel,2024-03-02 19:45,Noon again,Summer,25,7\n"
        "ig-3,Instagram,reel,2024-03-05 09:00,Evening,Summer,5,\n",
        ("media_posts", "campaigns")),
    "influencers": (
        [],
        INFLUENCERS_AB,
        "Handle,Name,Platform,Followers,Niche\n@b,Bo,Instagram,250,tea\n@c,Cy,Instagram,300,tea\n",
        ("influencers",)),
    "tracking": (
        [],
        "Date,Platform,Campaign,Clicks,Orders,Revenue\n"
        "2024-03-01,Instagram,Spring,10,1,20.5\n2024-03-02,Instagram,Spring,12,2,30\n",
        "Date,Platform,Campaign,Clicks,Orders,Revenue\n"
        "2024-03-02,Instagram,Spring,15,3,45.25\n2024-03-03,Instagram,Autumn,5,0,0\n",
        ("tracking", "campaigns")),
    "funnel": (
        [],
        "Date,Platform,Sessions,Product views,Add to cart,Checkout,Purchase\n"
        "2024-03-01,Instagram,100,50,20,10,5\n2024-03-02,Instagram,110,55,22,11,6\n",
        "Date,Platform,Sessions,Product views,Add to cart,Checkout,Purchase\n"
        "2024-03-02,Instagram,120,60,25,12,7\n2024-03-03,Instagram,90,40,10,5,2\n",
        ("funnel_days",)),
    "payouts": (
        [("influencers", INFLUENCERS_AB), ("tracking", SPRING)],
        "Influencer handle,Campaign,Basis,Rate,Units,Status,Due date\n"
        "@a,Spring,post,100,2,pending,2024-04-01\n@b,Spring,post,50,1,pending,2024-04-01\n",
        "Influencer handle,Campaign,Basis,Rate,Units,Status,Due date\n"
        "@b,Spring,post,60,1,pending,2024-04-01\n@a,Spring,post,100,1,pending,2024-05-01\n",
        ("payouts",)),
    "pipeline": (
        [],
        "Opportunity ID,Account,Sales rep,Team,Stage,Amount,Created,Expected close\n"
        "OPP-1,Acme,Sam,North,Proposal,1000,2024-01-10,2024-04-30\n"
        "OPP-2,Acme,Sam,North,Proposal,2000,2024-01-11,2024-05-30\n",
        "Opportunity ID,Account,Sales rep,Team,Stage,Amount,Created,Expected close\n"
        "OPP-2,Globex,Kim,South,Tasting,2500,2024-01-11,2024-06-30\n"
        "OPP-3,Globex,Kim,South,Tasting,700,2024-02-01,2024-06-30\n",
        ("opportunities", "accounts", "sales_reps", "pipeline_stages")),
    "sales_team": (
        [],
        "Sales rep,Manager,Team,Region,Quarterly quota\n"
        "Sam,Dana,North,Central,60000\nKim,Dana,North,East,50000\n",
        "Sales rep,Manager,Team,Region,Quarterly quota\n"
        "Kim,Lee,South,East,55000\nMax,Lee,South,West,40000\n",
        ("sales_reps",)),
}


def run(fresh: Fresh, kind: str, text: str, name: str) -> ImportReport:
    """Import a CSV of `kind` as the CLI does; it must load."""
    report = fresh.run(text.encode(), f"{name}.csv", kind=kind)
    assert report.status == "succeeded", report.to_text()
    return report


def tables(fresh: Fresh, names: tuple[str, ...]) -> dict[str, pd.DataFrame]:
    """The tables as pandas reads them, every column and id, in id order."""
    with fresh.engine.connect() as connection:
        return {name: pd.read_sql_table(name, connection).sort_values("id")
                .reset_index(drop=True) for name in names}


def assert_same(actual: dict[str, pd.DataFrame], expected: dict[str, pd.DataFrame]) -> None:
    """Every table equal, row for row and column for column."""
    for name, frame in expected.items():
        pd.testing.assert_frame_equal(actual[name], frame, obj=name)


def admin(fresh: Fresh) -> int:
    """An administrator's id."""
    with fresh.session() as session:
        user = create_user(session, "admin@example.com", "a-long-password", "admin")
        session.commit()
        return user.id


def undo(fresh: Fresh, user_id: int, job_id: int) -> Any:
    """Undo as a caller of `perform` does: commit, or roll back on a refusal."""
    with fresh.session() as session:
        try:
            result = undo_import(session, Actor(user_id, "admin"), job_id)
            session.commit()
            return result
        except Exception:
            session.rollback()
            raise


def offered(fresh: Fresh, user_id: int) -> list[int]:
    """The imports the Data page offers to undo."""
    with fresh.session() as session:
        return [row["id"] for row in undoable_imports(session, Scope.everything(), user_id)]


def refused(fresh: Fresh, user_id: int) -> dict[int, str]:
    """The imports the Data page says cannot be undone, and why."""
    with fresh.session() as session:
        return {row["id"]: row["why"]
                for row in refused_imports(session, Scope.everything(), user_id)}


@pytest.mark.parametrize("kind", list(CASES))
def test_undoing_b_leaves_the_tables_as_after_a_and_undoing_a_as_before(
        fresh: Fresh, kind: str) -> None:
    assert kind in KEPT_KINDS
    setup, first, second, names = CASES[kind]
    user = admin(fresh)
    for number, (setup_kind, text) in enumerate(setup):
        run(fresh, setup_kind, text, f"setup-{number}")
    before_a = tables(fresh, names)
    a = run(fresh, kind, first, "a").job_id
    after_a = tables(fresh, names)
    b = run(fresh, kind, second, "b").job_id
    after_b = tables(fresh, names)
    assert any(not after_b[name].equals(after_a[name]) for name in names)
    assert offered(fresh, user)[:1] == [b]  # A is not: B changed some of its rows
    assert f"changed again by import #{b}: undo that first" in refused(fresh, user)[a]
    result = undo(fresh, user, b)
    assert_same(tables(fresh, names), after_a)
    assert result.kind == kind and result.rows_put_back > 0 and result.rows_removed > 0
    with fresh.engine.connect() as connection:
        status = connection.execute(sa.text(
            f"SELECT status FROM import_jobs WHERE id = {b}")).scalar()
        kept = connection.execute(sa.select(sa.func.count()).select_from(IMPORT_ROW_CHANGES)
                                  .where(IMPORT_ROW_CHANGES.c.job_id == b)).scalar()
        audit = connection.execute(sa.text(
            "SELECT COUNT(*) FROM audit_events WHERE action = 'import_undone'")).scalar()
    assert (status, kept, audit) == ("undone", 0, 1)
    with pytest.raises(InvalidInput, match="already undone"):
        undo(fresh, user, b)
    assert offered(fresh, user)[:1] == [a]
    undo(fresh, user, a)
    assert_same(tables(fresh, names), before_a)


PRODUCTS = "SKU,Name,Category,Unit cost\n"


def test_an_undo_is_refused_while_a_later_import_changed_its_rows(fresh: Fresh) -> None:
    user = admin(fresh)
    run(fresh, "products", PRODUCTS + "P-1,Tea,Drinks,1\nP-2,Cake,Food,2\nP-3,Jam,Food,3\n",
        "a")
    after_a = tables(fresh, ("products",))
    # B changes P-2 and P-3, adds P-4 and leaves P-1 as it was.
    b = run(fresh, "products", PRODUCTS + "P-1,Tea,Drinks,1\nP-2,Cake,Food,2.5\n"
            "P-3,Jam,Food,3.5\nP-4,Scone,Food,1\n", "b").job_id
    after_b = tables(fresh, ("products",))
    # C changes P-3 and P-4 again, and P-1 (which B did not change).
    c = run(fresh, "products", PRODUCTS + "P-1,Tea,Drinks,1.25\nP-3,Jam,Food,4\n"
            "P-4,Scone,Food,1.5\n", "c").job_id
    after_c = tables(fresh, ("products",))
    changed_by_b = {"P-2", "P-3", "P-4"}
    again = changed_by_b & {"P-1", "P-3", "P-4"}
    with pytest.raises(InvalidInput, match=(
            f"{len(again)} of the {len(changed_by_b)} products it changed were changed again "
            f"by import #{c}: undo that first")):  # 2 of 3: a plural verb
        undo(fresh, user, b)
    assert_same(tables(fresh, ("products",)), after_c)
    assert f"changed again by import #{c}" in refused(fresh, user)[b]
    assert offered(fresh, user)[:1] == [c]
    undo(fresh, user, c)
    assert_same(tables(fresh, ("products",)), after_b)
    undo(fresh, user, b)
    assert_same(tables(fresh, ("products",)), after_a)


def test_an_undo_is_refused_after_an_edit_or_a_payout_approval(fresh: Fresh) -> None:
    setup, first, second, names = CASES["payouts"]
    user = admin(fresh)
    for number, (setup_kind, text) in enumerate(setup):
        run(fresh, setup_kind, text, f"setup-{number}")
    run(fresh, "payouts", first, "a")
    b = run(fresh, "payouts", second, "b").job_id
    changed = fresh.scalar("SELECT MIN(id) FROM payouts WHERE rate = 60")
    with fresh.session() as session:
        change_status(session, Actor(user, "admin"), Scope.everything(), changed, "approved",
                      dt.date(2024, 4, 2))
        session.commit()
    approved = tables(fresh, names)
    # The payout rows the import changed: the replaced one and the two it wrote, where
    # SQLite gives the replacing row the id of the one it replaced (one row fewer).
    touched = 3 if fresh.engine.dialect.name == "postgresql" else 2
    with pytest.raises(InvalidInput, match=rf"1 of the {touched} payouts it changed has been "
                                           r"changed since .* approving a payout"):
        undo(fresh, user, b)
    assert_same(tables(fresh, names), approved)
    # An edit by hand of a product blocks its import's undo alike.
    products = run(fresh, "products", PRODUCTS + "P-1,Tea,Drinks,1\n", "products").job_id
    with fresh.engine.begin() as connection:
        connection.execute(sa.text("UPDATE products SET name = 'Green tea' WHERE sku = 'P-1'"))
    assert "cannot be undone: the product it changed has been changed since" in \
        refused(fresh, user)[products]


def test_an_undo_is_refused_while_a_later_sale_uses_a_product_it_added(fresh: Fresh) -> None:
    user = admin(fresh)
    run(fresh, "products", PRODUCTS + "P-1,Tea,Drinks,1\n", "a")
    b = run(fresh, "products", PRODUCTS + "P-1,Tea,Drinks,1.5\nP-2,Cake,Food,2\n", "b").job_id
    sales = pd.DataFrame({"Order number": ["S-1", "S-1", "S-2"],
                          "Order date": ["2024-03-01 10:00"] * 3,
                          "Product SKU": ["P-2", "P-1", "P-2"], "Quantity": [1, 2, 3],
                          "Unit price": [4.0, 3.0, 4.0], "Platform": ["Online Store"] * 3})
    sale = run(fresh, "sales", sales.to_csv(index=False), "sales").job_id
    after_sale = tables(fresh, ("products", "order_lines"))
    lines = int((sales["Product SKU"] == "P-2").sum())
    with pytest.raises(InvalidInput, match=f"1 of the 2 products it changed or added is now "
                                           f"used by {lines} order lines"):
        undo(fresh, user, b)
    assert_same(tables(fresh, ("products", "order_lines")), after_sale)
    undo(fresh, user, sale)  # the sales go: the products can go too
    assert b in offered(fresh, user)


def test_an_undo_is_refused_while_a_later_deal_is_in_a_stage_it_added(fresh: Fresh) -> None:
    setup, first, second, names = CASES["pipeline"]
    user = admin(fresh)
    run(fresh, "pipeline", first, "a")
    b = run(fresh, "pipeline", second, "b").job_id  # adds the stage Tasting, Globex and Kim
    later = run(fresh, "pipeline", "Opportunity ID,Stage,Amount\nOPP-9,Tasting,50\n", "c")
    after = tables(fresh, names)
    with pytest.raises(InvalidInput, match="the pipeline stage it changed or added is now "
                                           "used by 1 opportunity"):
        undo(fresh, user, b)
    assert_same(tables(fresh, names), after)
    undo(fresh, user, later.job_id)
    assert b in offered(fresh, user)


def test_a_row_the_import_only_touched_that_now_uses_an_added_row_blocks_the_undo(
        fresh: Fresh) -> None:
    user = admin(fresh)
    header = "Opportunity ID,Account,Sales rep,Team,Stage,Amount,Created,Expected close\n"
    opp_1 = "OPP-1,Acme,Sam,North,Proposal,1000,2024-01-10,2024-04-30\n"
    run(fresh, "pipeline", header + opp_1, "a")
    # b lists OPP-1 as it is (kept, unchanged) and adds the stage Tasting with OPP-3.
    b = run(fresh, "pipeline", header + opp_1
            + "OPP-3,Acme,Sam,North,Tasting,700,2024-02-01,2024-06-30\n", "b").job_id
    with fresh.engine.begin() as connection:  # OPP-1 moved to Tasting by hand
        connection.execute(sa.text(
            "UPDATE opportunities SET stage = 'Tasting' WHERE external_id = 'OPP-1'"))
    names = CASES["pipeline"][3]
    after = tables(fresh, names)
    with pytest.raises(InvalidInput, match="the pipeline stage it changed or added is now "
                                           "used by 1 opportunity"):
        undo(fresh, user, b)
    assert_same(tables(fresh, names), after)


def test_an_import_made_before_changes_were_kept_stays_refused(fresh: Fresh) -> None:
    user = admin(fresh)
    job = run(fresh, "customers", CASES["customers"][1], "old").job_id
    with fresh.engine.begin() as connection:  # as an import made before this release
        connection.execute(IMPORT_ROW_CHANGES.delete())
    assert job not in offered(fresh, user)
    assert "made before Pulseboard kept what such imports change" in refused(fresh, user)[job]
    with pytest.raises(InvalidInput, match="updates customers' details in place"):
        undo(fresh, user, job)
