"""The Data page's entry, quality and undo callbacks as plain functions in a request: a sale
entered by hand shows in the quality summary and the undo list, undoing it removes it, an
import that replaced orders is undone with them put back, a products import is offered and
undone with its rows put back, one that cannot be undone says why, and each write bumps the
data version (so no cached figure outlives it)."""
from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from flask import Flask

from callbacks.data import enter_sale, quality_for, undo, undo_choices_for
from dashapp.context import result_cache
from dashapp.extensions import db
from layouts import data as ids
from services.users import create_user
from tests.conftest import PASSWORD, callback_request, make_app
from tests.fixtures.imports import (  # noqa: F401 - the fixtures are used by name
    Fresh,
    fresh_sqlite_fixture,
    sqlite_template_fixture,
)

ADMIN = "admin@example.com"
ORDER = {"order_number": "CB-1", "ordered_at": "2024-03-01T14:05", "platform": "Online Store",
         "customer_id": "", "country": "Spain"}
LINE = {"sku": "CB-SKU", "quantity": 2, "unit_price": 9.5, "product_name": "Cup"}


@pytest.fixture
def server(fresh_sqlite: Fresh, tmp_path: Path) -> Flask:
    """An app on an empty database with an admin."""
    app = make_app(fresh_sqlite.url, CACHE_DIR=str(tmp_path / "cache"))
    with app.app_context():
        create_user(db.session, ADMIN, PASSWORD, "admin")
        db.session.commit()
    return app


def text(component: object) -> str:
    """Every string in a component tree."""
    return str(component.to_plotly_json())  # type: ignore[attr-defined]


def test_a_sale_entered_then_undone_through_the_callbacks(server: Flask,
                                                          fresh_sqlite: Fresh) -> None:
    page = {"path": ids.PATH}
    with callback_request(server, ADMIN):
        assert "Load the demo data" in text(quality_for(page))  # an admin, no data yet
        version = result_cache().data_version()
        order_ids = [{"type": ids.SALE, "field": name} for name in ORDER]
        line_ids = [{"type": ids.SALE_LINE, "field": name, "row": row}
                    for row in range(2) for name in LINE]
        blank = [None] * len(LINE)
        shown = enter_sale(list(ORDER.values()), order_ids, [*LINE.values(), *blank],
                           line_ids)
        assert "Loaded 1 of 1 rows from sale CB-1 entered by hand" in text(shown)
        assert result_cache().data_version() > version
        summary = text(quality_for(page))
        assert "Sales (order lines)" in summary and "sale CB-1 entered by hand" in summary
        [option] = undo_choices_for(page)[0]
        assert "sale CB-1 entered by hand (1 row," in option["label"]
        version = result_cache().data_version()
        done = undo(option["value"])
        assert "was undone: 1 order and 1 line removed" in text(done)
        assert result_cache().data_version() > version
        assert undo_choices_for(page)[0] == []
        refused = undo(option["value"])
        assert "already undone" in text(refused)
    assert fresh_sqlite.scalar("SELECT COUNT(*) FROM order_lines") == 0


SALES = ("Order number,Order date,Product SKU,Quantity,Unit price,Platform\n"
         "R-1,2024-03-01 10:00,CB-SKU,1,5,Online Store\n"
         "R-1,2024-03-01 10:00,CB-TWO,2,3,Online Store\n"
         "R-2,2024-03-02 11:00,CB-SKU,4,5,Online Store\n")


def test_an_import_that_replaced_orders_is_undone_through_the_callbacks(
        server: Flask, fresh_sqlite: Fresh) -> None:
    page = {"path": ids.PATH}
    fresh_sqlite.run(SALES.encode(), "march.csv")
    again = fresh_sqlite.run(SALES.encode().replace(b",1,5,", b",3,5,"), "march-fixed.csv")
    with callback_request(server, ADMIN):
        assert [option["value"] for option in undo_choices_for(page)[0]][:1] == [again.job_id]
        done = text(undo(again.job_id))
        assert "2 orders and 3 lines removed, 2 orders and 3 lines it had replaced put back" \
            in done
    first = pd.read_csv(io.StringIO(SALES))
    assert fresh_sqlite.scalar("SELECT SUM(quantity * unit_price) FROM order_lines") == \
        pytest.approx((first["Quantity"] * first["Unit price"]).sum())


PRODUCTS = "SKU,Name,Unit cost\nCB-SKU,Cup,1.5\nCB-TWO,Mug,2\n"


def test_a_products_import_is_offered_and_undone_through_the_callbacks(
        server: Flask, fresh_sqlite: Fresh) -> None:
    page = {"path": ids.PATH}
    first = fresh_sqlite.run(PRODUCTS.encode(), "products.csv", kind="products")
    with fresh_sqlite.engine.connect() as connection:
        before = pd.read_sql_table("products", connection)
    second = fresh_sqlite.run(b"SKU,Name,Unit cost\nCB-SKU,Big cup,1.75\nCB-NEW,Plate,3\n",
                              "products-fixed.csv", kind="products")
    with callback_request(server, ADMIN):
        assert [option["value"] for option in undo_choices_for(page)[0]][:1] == [second.job_id]
        refused = text(undo_choices_for(page)[1])  # the first: the second changed one of its rows
        assert f"Import #{first.job_id} (products.csv) cannot be undone: 1 of the 2 " \
               f"products it changed was changed again by import #{second.job_id}" in refused
        version = result_cache().data_version()
        done = text(undo(second.job_id))
        assert "was undone: 1 row put back as it was and 1 row it had added removed" in done
        assert result_cache().data_version() > version
        assert [option["value"] for option in undo_choices_for(page)[0]][:1] == [first.job_id]
    with fresh_sqlite.engine.connect() as connection:
        pd.testing.assert_frame_equal(pd.read_sql_table("products", connection), before)
    with fresh_sqlite.engine.begin() as connection:  # as an import made before changes were kept
        connection.execute(sa.text("DELETE FROM import_row_changes"))
    with callback_request(server, ADMIN):
        refused = text(undo_choices_for(page)[1])
        assert f"Import #{first.job_id} (products.csv)" in refused
        assert "updates the shared product catalogue in place" in refused
