"""Entries by hand and the demo load job, on SQLite and PostgreSQL: a sale or a product
entered on the Data page is checked by the import's own rules (the same problems as the same
rows in a file), limited to the user's platforms, recorded, audited and undoable; the demo
data loads as a job for an admin into an empty database only."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from models import User
from services.admin import Actor
from services.demo_data import MIN_LINES
from services.errors import ServiceError
from services.imports.demo_load import demo_job
from services.imports.manual import add_product, entry_file, record_sale
from services.imports.reader import Limits
from services.imports.runner import DEMO, JobRequest, run_import_job
from services.imports.undo import undo_import
from services.users import create_user
from tests.fixtures.imports import (  # noqa: F401 - the fixtures are used by name
    TIMEZONE,
    Fresh,
    fresh_fixture,
    imports_postgres_url_fixture,
    sqlite_template_fixture,
)

ORDER = {"order_number": "HAND-1", "ordered_at": "2024-03-01 14:05", "platform": "Amazon",
         "customer_id": "C-9", "country": "France"}
LINES = [{"sku": "TEA-001", "product_name": "Green tea", "quantity": 2, "unit_price": 4.5},
         {"sku": "TEA-002", "product_name": "Black tea", "quantity": 1, "unit_price": 3.25},
         {"sku": "", "product_name": "", "quantity": "", "unit_price": ""}]  # a blank row


def make_users(fresh: Fresh) -> dict[str, int]:
    """An admin, an analyst and an Amazon-only analyst (Amazon made by the admin's sale)."""
    with fresh.session() as session:
        made = {"admin": create_user(session, "admin@example.com", "a-long-password", "admin"),
                "analyst": create_user(session, "an@example.com", "a-long-password",
                                       "analyst")}
        session.commit()
        record_sale(session, made["admin"].id, {**ORDER, "order_number": "SETUP"}, LINES[:1],
                    TIMEZONE)
        made["amazon"] = create_user(session, "amz@example.com", "a-long-password", "analyst",
                                     platform_slugs=["amazon"])
        session.commit()
        return {name: user.id for name, user in made.items()}


def test_a_sale_entered_by_hand_loads_as_an_import_and_can_be_undone(fresh: Fresh) -> None:
    ids = make_users(fresh)
    with fresh.session() as session:
        report = record_sale(session, ids["analyst"], ORDER, LINES, TIMEZONE)
    assert report.status == "succeeded", report.to_text()
    entered = pd.DataFrame(LINES[:2])
    with fresh.engine.connect() as connection:
        lines, value = connection.execute(sa.text(
            "SELECT COUNT(*), SUM(quantity * unit_price) FROM order_lines l JOIN orders o "
            "ON o.id = l.order_id WHERE o.order_number = 'HAND-1'")).one()
        job = connection.execute(sa.text(
            "SELECT filename, user_id FROM import_jobs WHERE id = :id"),
            {"id": report.job_id}).one()
        audited = connection.execute(sa.text(
            "SELECT COUNT(*) FROM audit_events WHERE action = 'import' AND user_id = :u"),
            {"u": ids["analyst"]}).scalar()
    assert lines == len(entered)
    assert float(value) == pytest.approx((entered["quantity"] * entered["unit_price"]).sum())
    assert tuple(job) == ("sale HAND-1 entered by hand", ids["analyst"]) and audited == 1
    with fresh.session() as session:
        undone = undo_import(session, Actor(ids["analyst"], "analyst"), report.job_id)
        session.commit()
    assert undone.lines == 2
    assert fresh.scalar("SELECT COUNT(*) FROM orders WHERE order_number = 'HAND-1'") == 0


def test_an_entry_is_checked_by_the_import_rules_and_platform_limits(fresh: Fresh) -> None:
    ids = make_users(fresh)
    bad = [{"sku": "TEA-001", "quantity": "0", "unit_price": "-1"}]
    with fresh.session() as session:
        by_hand = record_sale(session, ids["admin"], ORDER, bad, TIMEZONE)
    data, mapping = entry_file("sales", [{**bad[0], **ORDER}])
    as_file = fresh.run(data, "same.csv", mapping=mapping)
    assert by_hand.status == as_file.status == "rejected"
    assert by_hand.problems == as_file.problems and by_hand.problems  # the same validator
    with fresh.session() as session:
        other = record_sale(session, ids["amazon"], {**ORDER, "platform": "Online Store"},
                            LINES, TIMEZONE)
        product = add_product(session, ids["amazon"], {"sku": "NEW", "name": "New"}, TIMEZONE)
        added = add_product(session, ids["analyst"], {"sku": "NEW", "name": "New tea",
                                                      "unit_cost": "1.20"}, TIMEZONE)
    assert other.status == "rejected" and "may not import data" in " ".join(other.errors)
    assert product.status == "rejected" and "shared by every platform" in product.errors[0]
    assert added.status == "succeeded", added.to_text()
    assert fresh.scalar("SELECT name || ' ' || unit_cost FROM products WHERE sku = 'NEW'") \
        .startswith("New tea 1.2")
    with fresh.session() as session, pytest.raises(ServiceError, match="at least one line"):
        record_sale(session, ids["admin"], ORDER, LINES[2:], TIMEZONE)


def test_the_demo_data_loads_as_a_job_into_an_empty_database_only(fresh: Fresh,
                                                                   tmp_path: Path) -> None:
    with fresh.session() as session:
        admin = create_user(session, "admin@example.com", "a-long-password", "admin")
        analyst = create_user(session, "an@example.com", "a-long-password", "analyst")
        session.commit()
        ids = {"admin": admin.id, "analyst": analyst.id}

    def job(user: str) -> JobRequest:
        return JobRequest(action=DEMO, user_id=ids[user], upload="", mapping={},
                          platform="", skip_invalid=False)

    def run(user: str) -> object:
        with fresh.session() as session:
            return run_import_job(session, job(user), folder=tmp_path, timezone=TIMEZONE,
                                  limits=Limits(), roles={"admin", "analyst"},
                                  progress=lambda *_: None)

    refused = run("analyst")
    assert refused.status == "rejected" and "Only an administrator" in refused.errors[0]
    with fresh.session() as session:
        report = demo_job(session, session.get_one(User, ids["admin"]), TIMEZONE,
                          lines=MIN_LINES)
    assert report.status == "succeeded"
    assert report.rows_loaded == fresh.scalar("SELECT COUNT(*) FROM order_lines") > 0
    assert fresh.scalar("SELECT kind FROM import_jobs") == "demo"
    assert fresh.scalar("SELECT COUNT(*) FROM audit_events "
                        "WHERE action = 'demo_data_loaded'") == 1
    again = run("admin")
    assert again.status == "rejected" and "already has sales" in again.errors[0]
    assert fresh.scalar("SELECT COUNT(*) FROM import_jobs") == 1
