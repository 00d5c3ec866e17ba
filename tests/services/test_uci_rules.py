"""The UCI cancellation, stock-adjustment and non-merchandise rules, and SPEC §3's orders,
units and customers, on SQLite and PostgreSQL.

Expected values come from the files themselves, read by pandas, with the rules as the data's
documentation states them (../shared/data/README.md, docs/imports.md): a line of an invoice
starting with C is cancelled; a negative, zero-price line without a customer on another
invoice is a stock adjustment (neither sold nor returned); orders, units and customers count
lines sold at a price above zero. Nothing here calls the code under test to compute an
expected value. The services are asked with and without the rollups.
"""
from __future__ import annotations

import datetime as dt
import io
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from models.sales import LINE_CANCELLATION, LINE_ORDINARY, LINE_STOCK_ADJUSTMENT
from services import rollups, sales_analysis
from services.filters import Filters
from services.sales import resolve, totals
from services.scope import Scope
from tests.fixtures.imports import (  # noqa: F401 - the fixtures are used by name
    NON_MERCHANDISE,
    Fresh,
    fresh_fixture,
    fresh_sqlite_fixture,
    imports_postgres_url_fixture,
    sqlite_template_fixture,
    uci_bytes,
    uci_frame,
)

ALL_TIME = Filters(range="custom", start=dt.date(2000, 1, 1), end=dt.date(2030, 12, 31),
                   compare="none")
# An "Online Retail II" file as the retailer exports it (its naming and codes), with every
# rule in it: a manual line with a positive quantity on a cancellation invoice (which once
# refused the whole file), stock adjustments with blank and stock-keeping descriptions, a
# stock movement of free units only, a free line next to sold ones, a customer whose only
# order is free, an ordinary return, the Online Retail II fee, test and voucher codes (any
# case) and a bad-debt adjustment with a negative price.
UCI_II = """Invoice,StockCode,Description,Quantity,InvoiceDate,Price,Customer ID,Country
489434,85048,15CM CHRISTMAS GLASS BALL 20 LIGHTS,12,2010-01-04 07:45:00,6.95,13085,United Kingdom
489434,79323P,PINK CHERRY LIGHTS,12,2010-01-04 07:45:00,6.75,13085,United Kingdom
489434,POST,POSTAGE,1,2010-01-04 07:45:00,18.00,13085,United Kingdom
489435,22350,CAT BOWL ,12,2010-01-04 07:46:00,2.55,13085,United Kingdom
489435,gift_0001_20,Gift Voucher £20.00,1,2010-01-04 07:46:00,17.02,13085,United Kingdom
C489449,22087,PAPER BUNTING WHITE LACE,-12,2010-01-04 10:33:00,2.95,16321,Australia
C489449,M,Manual,1,2010-01-04 10:33:00,10.00,16321,Australia
C489450,21871,SAVE THE PLANET MUG,-3,2010-01-05 09:00:00,1.25,13085,United Kingdom
489451,ADJUST,Adjustment by john on 26/01/2010 16,1,2010-01-05 11:00:00,103.00,,United Kingdom
489451,ADJUST2,Adjustment by Peter on Jun 25 2010,1,2010-01-05 11:00:00,300.00,,United Kingdom
489451,TEST001,This is a test product.,5,2010-01-05 11:00:00,4.50,,United Kingdom
489451,bank charges,Bank Charges,1,2010-01-05 11:00:00,15.00,,United Kingdom
489452,21258,damaged,-20,2010-01-05 12:00:00,0,,United Kingdom
489452,22138,?,-5,2010-01-05 12:00:00,0,,United Kingdom
489452,84879,,-3,2010-01-05 12:00:00,0,,United Kingdom
489453,22423,missing,-1,2010-01-06 12:00:00,0,,United Kingdom
489454,85123A,found,10,2010-01-06 13:00:00,0,,United Kingdom
489455,21232,STRAWBERRY CERAMIC TRINKET BOX,24,2010-01-06 14:00:00,1.25,17850,United Kingdom
489455,21231,SWEETHEART CERAMIC TRINKET BOX,6,2010-01-06 14:00:00,0,17850,United Kingdom
489456,22197,POPCORN HOLDER,12,2010-01-07 09:00:00,0,18000,United Kingdom
489457,22720,SET OF 3 CAKE TINS PANTRY DESIGN ,-2,2010-01-07 10:00:00,4.95,17850,United Kingdom
A506401,B,Adjust bad debt,1,2010-04-29 13:36:00,-53594.36,,United Kingdom
"""
# The codes of UCI_II that are not merchandise, as the file's documentation names them.
UCI_II_FEES = {"POST", "GIFT_0001_20", "M", "ADJUST", "ADJUST2", "TEST001", "BANK CHARGES",
               "B"}


def uci_ii_frame() -> pd.DataFrame:
    """UCI_II in the original naming, read by pandas on its own."""
    frame = pd.read_csv(io.StringIO(UCI_II), dtype={"Invoice": str, "StockCode": str,
                                                    "Customer ID": str})
    return frame.rename(columns={"Invoice": "InvoiceNo", "Price": "UnitPrice",
                                 "Customer ID": "CustomerID"})


def expected_figures(frame: pd.DataFrame, fees: set[str]) -> dict[str, float]:
    """The KPIs and return figures of a UCI file, from its rows."""
    frame = frame.loc[~frame["StockCode"].str.upper().isin(fees)]
    quantity, price = frame["Quantity"], frame["UnitPrice"]
    value = quantity * price
    on_c_invoice = frame["InvoiceNo"].str.startswith("C")
    write_off = ~on_c_invoice & (quantity < 0) & (price == 0) & frame["CustomerID"].isna()
    sold = (quantity > 0) & (price > 0)
    returned = (quantity < 0) & ~write_off
    reversed_order = frame["InvoiceNo"].isin(set(frame.loc[quantity > 0, "InvoiceNo"]))
    cancelled = returned & (on_c_invoice | reversed_order)
    gross = float(value[quantity > 0].sum())
    orders = frame.loc[sold, "InvoiceNo"].nunique()
    units = int(quantity[sold].sum())
    returns = float(-value[returned].sum())
    returned_units = int(-quantity[returned].sum())
    return {
        "net_revenue": float(value.sum()), "gross_sales": gross, "orders": orders,
        "units": units, "aov": gross / orders, "customers": frame.loc[sold, "CustomerID"].nunique(),
        "returns": returns, "cancelled": float(-value[cancelled].sum()),
        "returned": float(-value[returned & ~cancelled].sum()),
        "return_rate": returns / gross, "returned_units": returned_units,
        "unit_return_rate": returned_units / units,
        "return_orders": frame.loc[returned, "InvoiceNo"].nunique(),
    }


def service_figures(session: Session) -> dict[str, float]:
    """The same figures as the pages show them."""
    scope = Scope.everything()
    kpis = totals(session, scope, ALL_TIME, ALL_TIME.start, ALL_TIME.end)
    returns = sales_analysis.returns_summary(session, scope, ALL_TIME,
                                             resolve(session, scope, ALL_TIME))
    return {**{key: kpis[key] for key in ("net_revenue", "gross_sales", "orders", "units",
                                          "aov", "customers")}, **returns}


def assert_figures(fresh: Fresh, expected: dict[str, float]) -> None:
    """The services give the expected figures, from the rollups and from the lines alike."""
    with fresh.session() as session:
        from_rollups = service_figures(session)
        with rollups.base_tables_only():
            from_lines = service_figures(session)
    for figures, source in ((from_rollups, "rollups"), (from_lines, "order_lines")):
        for key, value in expected.items():
            assert figures[key] == pytest.approx(value, abs=0.01, rel=1e-9), (source, key)


def kinds_by_invoice(fresh: Fresh) -> pd.DataFrame:
    """Each stored line's order number, quantity, price and kind."""
    return pd.read_sql(sa.text(
        "SELECT o.order_number, l.quantity, l.unit_price, l.line_kind FROM order_lines l "
        "JOIN orders o ON o.id = l.order_id"), fresh.engine)


def test_the_uci_slice_reports_cancellations_and_stock_adjustments(fresh: Fresh) -> None:
    frame = uci_frame()
    report = fresh.run(uci_bytes(), "online_retail.csv")
    assert report.status == "succeeded", report.to_text()
    expected = expected_figures(frame, NON_MERCHANDISE)
    assert expected["cancelled"] > 0 and expected["units"] > 0
    assert_figures(fresh, expected)
    on_c = frame["InvoiceNo"].str.startswith("C")
    write_off = ~on_c & (frame["Quantity"] < 0) & (frame["UnitPrice"] == 0) & \
        frame["CustomerID"].isna()
    free = ~frame["StockCode"].str.upper().isin(NON_MERCHANDISE) & (frame["Quantity"] > 0) & \
        (frame["UnitPrice"] == 0)
    assert write_off.sum() > 0 and free.sum() > 0
    assert report.totals["stock_adjustment_lines"] == int(write_off.sum())
    assert report.totals["stock_adjustment_units"] == int(-frame.loc[write_off, "Quantity"].sum())
    assert report.totals["free_units"] == int(frame.loc[free, "Quantity"].sum())
    assert report.totals["orders_with_sales"] == expected["orders"]
    stored = kinds_by_invoice(fresh)
    assert (stored["line_kind"] == LINE_CANCELLATION).sum() == int(on_c.sum())
    assert (stored["line_kind"] == LINE_STOCK_ADJUSTMENT).sum() == int(write_off.sum())


def test_a_uci_ii_file_with_fees_on_cancellations_loads_with_every_rule(fresh: Fresh) -> None:
    frame = uci_ii_frame()
    report = fresh.run(UCI_II.encode(), "online_retail_II.csv")
    assert report.status == "succeeded", report.to_text()
    assert report.rows_loaded == len(frame)
    assert {code.upper() for code in report.excluded} == UCI_II_FEES
    assert report.rows_excluded == int(frame["StockCode"].str.upper().isin(UCI_II_FEES).sum())
    assert report.totals["non_merchandise_on_cancellations"] == 1  # the manual line
    assert report.totals["stock_adjustment_lines"] == 4
    assert fresh.scalar("SELECT COUNT(*) FROM products WHERE NOT is_merchandise") == \
        len(UCI_II_FEES)
    expected = expected_figures(frame, UCI_II_FEES)
    # The file's own arithmetic: two sold orders' worth of lines, one free order, one free
    # customer, and the stock adjustments out of the returned units.
    assert expected["orders"] == 3 and expected["customers"] == 2
    assert expected["returned_units"] == 12 + 3 + 2 and expected["returned"] == 2 * 4.95
    assert_figures(fresh, expected)


SUPERSTORE_LIKE = ("Order ID,Order Date,Customer ID,Product ID,Product Name,Quantity,Sales\n"
                   "CA-2017-152156,2017-11-08,CG-12520,FUR-BO-10001798,Bookcase,2,261.96\n"
                   "CA-2017-152156,2017-11-08,CG-12520,FUR-CH-10000454,Chair,3,731.94\n"
                   "CA-2017-138688,2017-06-12,DV-13045,OFF-LA-10000240,Labels,-2,-14.62\n")


def test_order_ids_starting_with_c_outside_uci_files_are_no_cancellations(
        fresh: Fresh) -> None:
    report = fresh.run(SUPERSTORE_LIKE.encode(), "superstore.csv", platform="Wholesale")
    assert report.status == "succeeded", report.to_text()
    assert report.source_format != "uci"
    assert set(kinds_by_invoice(fresh)["line_kind"]) == {LINE_ORDINARY}
    with fresh.session() as session:
        figures = service_figures(session)
    assert (figures["cancelled"], figures["returned"]) == (0, pytest.approx(14.62))
    assert (figures["orders"], figures["units"]) == (1, 5)


EXISTING = (
    "INSERT INTO platforms (id, slug, name, kind) VALUES (1, 'shop', 'Shop', 'web'), "
    "(2, 'wholesale', 'Wholesale', 'offline')",
    "INSERT INTO products (id, sku, name, active, is_merchandise) VALUES "
    "(1, '22423', 'Cake stand', 1, 1), (2, 'FUR-1', 'Bookcase', 1, 1)",
    "INSERT INTO customers (id, external_id) VALUES (1, '17850')",
    "INSERT INTO orders (id, order_number, ordered_at, sale_date, sale_hour, platform_id, "
    "customer_id, country) VALUES "
    "(1, '536365', '2010-12-01 08:26:00', '2010-12-01', 8, 1, 1, 'UK'), "
    "(2, 'C536379', '2010-12-01 09:41:00', '2010-12-01', 9, 1, 1, 'UK'), "
    "(3, '536414', '2010-12-01 11:52:00', '2010-12-01', 11, 1, NULL, 'UK'), "
    "(4, 'CA-2017-152156', '2017-11-08 00:00:00', '2017-11-08', 0, 2, NULL, 'US'), "
    "(5, '100001', '2017-11-09 00:00:00', '2017-11-09', 0, 2, NULL, 'US')",
    "INSERT INTO order_lines (id, order_id, product_id, quantity, unit_price, sale_date, "
    "sale_hour, platform_id, customer_id, country) VALUES "
    "(1, 1, 1, 6, 10.95, '2010-12-01', 8, 1, 1, 'UK'), "
    "(2, 2, 1, -1, 10.95, '2010-12-01', 9, 1, 1, 'UK'), "
    "(3, 3, 1, -56, 0, '2010-12-01', 11, 1, NULL, 'UK'), "
    "(4, 4, 2, -2, 0, '2017-11-08', 0, 2, NULL, 'US'), "
    "(5, 5, 2, -1, 0, '2017-11-09', 0, 2, NULL, 'US')",
)


def test_the_migration_classifies_only_lines_of_uci_shape(tmp_path: Path) -> None:
    """Lines imported before line_kind: UCI cancellations and stock adjustments where the
    platform holds UCI invoices, ordinary everywhere else (a Superstore id starting with C
    included), and the rollups rebuilt with SPEC §3's definitions."""
    from tests.services.test_rollups import assert_rollups_match_the_lines
    from tests.test_migrations import upgraded_with_rows

    engine = upgraded_with_rows(tmp_path, "c4d19e2f7a35", EXISTING)  # before line kinds
    with engine.connect() as connection:
        kinds = connection.execute(sa.text("SELECT id, line_kind FROM order_lines ORDER BY id"))
        assert kinds.all() == [(1, LINE_ORDINARY), (2, LINE_CANCELLATION),
                               (3, LINE_STOCK_ADJUSTMENT), (4, LINE_ORDINARY),
                               (5, LINE_ORDINARY)]
    assert_rollups_match_the_lines(engine, "after the line-kind migration")
    engine.dispose()
