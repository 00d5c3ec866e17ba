"""Imports on SQLite and PostgreSQL: real UCI data against pandas, both namings, generic files
with a corrected mapping, every kind, and bad files that change nothing."""
from __future__ import annotations

import codecs
import datetime as dt
import gzip
import io
import json
import socket
import subprocess
from dataclasses import replace
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import sqlalchemy as sa

from models import ImportJob, utcnow
from services.filters import Filters
from services.imports.jobs import import_history, previous_import
from services.imports.kinds import KINDS, columns_markdown, template_csv
from services.imports.mapping import ColumnMapping, detect, save_mapping, saved_mappings
from services.imports.reader import Limits
from services.imports.report import UNEXPECTED, ImportReport
from services.imports.runner import CHECK, IMPORT, JobRequest, run_import_job
from services.imports.uploads import save_upload
from services.sales import totals
from services.scope import Scope
from services.users import create_user
from tests.fixtures.imports import (  # noqa: F401 - the fixtures are used by name
    NON_MERCHANDISE,
    TIMEZONE,
    Fresh,
    fresh_fixture,
    fresh_sqlite_fixture,
    imports_postgres_url_fixture,
    sqlite_template_fixture,
    uci_bytes,
    uci_frame,
)

ALL_TIME = Filters(range="custom", start=dt.date(2000, 1, 1), end=dt.date(2030, 12, 31))


def db_totals(fresh: Fresh) -> dict[str, float]:
    """Line count, Σ quantity and Σ quantity × price straight from order_lines."""
    with fresh.engine.connect() as connection:
        lines, quantity, value = connection.execute(sa.text(
            "SELECT COUNT(*), SUM(quantity), SUM(quantity * unit_price) FROM order_lines")).one()
    return {"lines": lines, "quantity": int(quantity or 0), "value": round(float(value or 0), 2)}


@pytest.mark.parametrize("naming", ["InvoiceNo", "Invoice"])
def test_uci_slice_loads_with_the_totals_pandas_computes(fresh: Fresh, naming: str) -> None:
    expected = uci_frame()
    value = expected["Quantity"] * expected["UnitPrice"]
    non_merchandise = expected["StockCode"].str.upper().isin(NON_MERCHANDISE)
    report = fresh.run(uci_bytes(naming), "online_retail.csv")
    assert report.status == "succeeded", report.to_text()
    assert report.source_format == "uci" and report.platform == "Online Store"
    assert (report.rows_read, report.rows_loaded, report.rows_rejected) == (
        len(expected), len(expected), 0)
    assert report.rows_excluded == int(non_merchandise.sum()) > 0
    assert report.excluded["AMAZONFEE"] == int((expected["StockCode"] == "AMAZONFEE").sum())
    assert db_totals(fresh) == {"lines": len(expected), "quantity": int(expected.Quantity.sum()),
                                "value": round(value.sum(), 2)}
    assert report.totals["value_all_lines"] == pytest.approx(value.sum())
    assert report.totals["guest_lines"] == int(expected["CustomerID"].isna().sum())
    assert report.totals["duplicate_lines"] == int(expected.duplicated().sum()) > 0
    assert report.totals["cancellation_lines"] == int(
        expected["InvoiceNo"].str.startswith("C").sum())
    assert fresh.scalar("SELECT COUNT(*) FROM orders") == expected["InvoiceNo"].nunique()
    assert fresh.scalar("SELECT COUNT(*) FROM products") == expected["StockCode"].nunique()
    assert fresh.scalar("SELECT COUNT(*) FROM customers") == expected["CustomerID"].nunique()
    assert fresh.scalar("SELECT COUNT(*) FROM products WHERE NOT is_merchandise") == \
        expected.loc[non_merchandise, "StockCode"].nunique()
    # The pages' metrics: merchandise only, cancellations subtracting as returns.
    with fresh.session() as session:
        kpis = totals(session, Scope.everything(), ALL_TIME, ALL_TIME.start, ALL_TIME.end)
    merchandise = expected[~non_merchandise]
    merch_value = merchandise["Quantity"] * merchandise["UnitPrice"]
    assert kpis["net_revenue"] == pytest.approx(merch_value.sum(), abs=0.01)
    assert kpis["returns"] == pytest.approx(-merch_value[merchandise.Quantity < 0].sum(),
                                            abs=0.01)
    sold = merchandise.loc[(merchandise.Quantity > 0) & (merchandise.UnitPrice > 0)]
    assert kpis["units"] == int(sold["Quantity"].sum())
    assert kpis["orders"] == sold["InvoiceNo"].nunique()
    assert kpis["customers"] == sold["CustomerID"].nunique()


def test_uci_times_are_business_local_and_stored_as_utc(fresh: Fresh) -> None:
    fresh.run(uci_bytes(), "online_retail.csv")
    with fresh.engine.connect() as connection:
        # 2011-08-12 14:50 in London (summer time) is 13:50 UTC.
        row = connection.execute(sa.text(
            "SELECT ordered_at, sale_date, sale_hour FROM orders WHERE order_number = 'A563185'"
        )).one()
        lines = connection.execute(sa.text(
            "SELECT COUNT(*) FROM order_lines l JOIN orders o ON o.id = l.order_id "
            "WHERE l.sale_date <> o.sale_date OR l.sale_hour <> o.sale_hour "
            "OR l.platform_id <> o.platform_id")).scalar()
    assert str(row[0])[:16] == "2011-08-12 13:50"
    assert str(row[1]) == "2011-08-12" and row[2] == 14
    assert lines == 0  # the lines' copies of the order's date, hour and platform agree


def test_reimporting_the_same_file_changes_no_total(fresh: Fresh) -> None:
    data = uci_bytes()
    fresh.run(data, "online_retail.csv")
    before = (db_totals(fresh), fresh.scalar("SELECT COUNT(*) FROM orders"),
              fresh.scalar("SELECT COUNT(*) FROM products"),
              fresh.scalar("SELECT COUNT(*) FROM customers"))
    again = fresh.run(data, "online_retail.csv")
    assert again.status == "succeeded"
    assert again.totals["orders_replaced"] == before[1]
    assert any("already imported" in note for note in again.notes)
    assert (db_totals(fresh), fresh.scalar("SELECT COUNT(*) FROM orders"),
            fresh.scalar("SELECT COUNT(*) FROM products"),
            fresh.scalar("SELECT COUNT(*) FROM customers")) == before


def test_an_overlapping_file_replaces_its_orders_instead_of_adding_them(fresh: Fresh) -> None:
    frame = pd.read_csv(io.BytesIO(uci_bytes()), dtype=str, keep_default_na=False)
    invoices = list(dict.fromkeys(frame["InvoiceNo"]))
    first = frame[frame["InvoiceNo"].isin(invoices[:100])]
    second = frame[frame["InvoiceNo"].isin(invoices[60:])].copy()
    second.loc[second["InvoiceNo"] == invoices[60], "Quantity"] = "1000"  # a corrected order
    fresh.run(first.to_csv(index=False).encode(), "january.csv")
    report = fresh.run(second.to_csv(index=False).encode(), "february.csv")
    assert report.totals["orders_replaced"] == 40
    expected = pd.concat([first[~first["InvoiceNo"].isin(invoices[60:])], second])
    quantity = expected["Quantity"].astype(int)
    assert db_totals(fresh) == {
        "lines": len(expected), "quantity": int(quantity.sum()),
        "value": round(float((quantity * expected["UnitPrice"].astype(float)).sum()), 2)}
    assert fresh.scalar("SELECT COUNT(*) FROM orders") == len(invoices)


SUPERSTORE = (
    "Row ID;Order ID;Order Date;Ship Mode;Customer ID;Customer Name;Segment;Country;City;"
    "State;Region;Product ID;Category;Sub-Category;Product Name;Sales;Quantity;Discount;Profit\n"
    "1;CA-2016-152156;08/11/2016;Second Class;CG-12520;Claire Gute;Consumer;United States;"
    "Henderson;Kentucky;South;FUR-BO-10001798;Furniture;Bookcases;Bush Somerset Collection "
    "Bookcase;261,96;2;0;41,9136\n"
    "2;CA-2016-152156;08/11/2016;Second Class;CG-12520;Claire Gute;Consumer;United States;"
    "Henderson;Kentucky;South;FUR-CH-10000454;Furniture;Chairs;Hon Deluxe Fabric Upholstered "
    "Stacking Chairs, Rounded Back;731,94;3;0;219,582\n"
    "3;CA-2016-138688;12/06/2016;Second Class;DV-13045;Darrin Van Huff;Corporate;United States;"
    "Los Angeles;California;West;OFF-LA-10000240;Office Supplies;Labels;Self-Adhesive Address "
    "Labels for Typewriters by Universal – €;14,62;2;0;6,8714\n"
    "4;US-2015-108966;23/10/2015;Standard Class;SO-20335;Seán O'Donnell;Consumer;United States;"
    "Fort Lauderdale;Florida;South;FUR-TA-10000577;Furniture;Tables;Bretford CR4500 Series Slim "
    "Rectangular Table;957,5775;5;0,45;-383,031\n")


def test_a_generic_sales_file_is_recognised_and_loaded(fresh: Fresh) -> None:
    data = SUPERSTORE.encode("cp1252")  # Windows-1252, semicolons, decimal commas, D/M/Y
    report = fresh.run(data, "superstore.csv", platform="Wholesale")
    assert report.status == "succeeded", report.to_text()
    assert report.read_as == "CSV, Windows-1252, semicolon-separated"
    assert report.mapping["amount"] == "Sales" and report.mapping["profit"] == "Profit"
    assert report.mapping["line_id"] == "Row ID" and report.mapping["subcategory"] == \
        "Sub-Category"
    assert db_totals(fresh)["value"] == pytest.approx(261.96 + 731.94 + 14.62 + 957.5775,
                                                      abs=0.01)
    with fresh.engine.connect() as connection:
        order = connection.execute(sa.text(
            "SELECT o.sale_date, o.city, o.state, o.region, o.ship_mode, c.name, c.segment, "
            "p.name FROM orders o JOIN customers c ON c.id = o.customer_id "
            "JOIN platforms p ON p.id = o.platform_id "
            "WHERE order_number = 'US-2015-108966'")).one()
        product = connection.execute(sa.text(
            "SELECT p.category, p.subcategory, l.unit_price, l.unit_cost FROM products p "
            "JOIN order_lines l ON l.product_id = p.id WHERE p.sku = 'FUR-TA-10000577'")).one()
        label = connection.execute(sa.text(
            "SELECT name FROM products WHERE sku = 'OFF-LA-10000240'")).scalar()
    assert [str(order[0]), *order[1:]] == ["2015-10-23", "Fort Lauderdale", "Florida", "South",
                                           "Standard Class", "Seán O'Donnell", "Consumer",
                                           "Wholesale"]
    assert product[:2] == ("Furniture", "Tables")
    assert float(product[2]) == pytest.approx(957.5775 / 5)  # derived from the line amount
    assert float(product[3]) == pytest.approx((957.5775 + 383.031) / 5)  # from the profit
    assert label.endswith("Universal – €")  # decoded, not mojibake


UNLIKE = ("Ref,When,Item,What,Qty,Each,Buyer\n"
          "R-1,2024-03-01 10:15,TEA-1,Green tea,2,4.50,B-9\n"
          "R-1,2024-03-01 10:15,MUG-2,Mug,1,8.00,B-9\n"
          "R-2,2024-03-02 16:40,TEA-1,Green tea,-1,4.50,\n")


def test_columns_named_unlike_ours_take_a_corrected_mapping_that_can_be_saved(
        fresh: Fresh) -> None:
    refused = fresh.run(UNLIKE.encode(), "shop.csv", kind="sales")
    assert refused.status == "rejected"
    assert "needs a column for “Order number”" in refused.errors[0]
    mapping = ColumnMapping("sales", {"order_number": "Ref", "ordered_at": "When",
                                      "sku": "Item", "product_name": "What",
                                      "quantity": "Qty", "unit_price": "Each",
                                      "customer_id": "Buyer"})
    report = fresh.run(UNLIKE.encode(), "shop.csv", mapping=mapping)
    assert report.status == "succeeded", report.to_text()
    assert db_totals(fresh) == {"lines": 3, "quantity": 2, "value": 12.5}
    with fresh.session() as session:
        save_mapping(session, "Shop export", mapping, None)
        session.commit()
        saved = saved_mappings(session)
    found = detect(["Ref", "When", "Item", "What", "Qty", "Each", "Buyer"], saved)
    assert found.mapping.source_format == "saved" and found.mapping.columns == mapping.columns


def _xlsx(rows: list[list[object]]) -> bytes:
    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_an_xlsx_file_loads_like_its_csv(fresh_sqlite: Fresh) -> None:
    frame = uci_frame().head(40)
    rows = [list(frame.columns)] + [
        [r.InvoiceNo, r.StockCode, r.Description, int(r.Quantity),
         dt.datetime.fromisoformat(r.InvoiceDate), float(r.UnitPrice),
         float(r.CustomerID) if isinstance(r.CustomerID, str) else None, r.Country]
        for r in frame.itertuples()]
    report = fresh_sqlite.run(_xlsx(rows), "retail.xlsx")
    assert report.status == "succeeded", report.to_text()
    assert report.read_as == "Excel workbook (first sheet)"
    assert db_totals(fresh_sqlite)["value"] == round(
        float((frame.Quantity * frame.UnitPrice).sum()), 2)
    # 17850.0 in a sheet is the customer 17850, as in the CSV
    assert fresh_sqlite.scalar("SELECT COUNT(*) FROM customers WHERE external_id = '17850'") == 1
    assert fresh_sqlite.scalar("SELECT COUNT(*) FROM customers WHERE external_id LIKE '%.%'") \
        == 0


def _replace_cell(data: bytes, old: str, new: str) -> bytes:
    return data.replace(old.encode(), new.encode(), 1)


SLICE = uci_bytes()
FIRST_ROW = "536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,2010-12-01 08:26:00,2.55"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


def _bad_files() -> list[tuple[str, bytes, dict[str, object], str]]:
    """(case, file, import options, what the message must say)."""
    mixed = "InvoiceNo,StockCode,Description\n1,A,Café crème\n".encode() + \
        "2,B,Caf\xe9\n".encode("latin-1")
    header_only = SLICE.split(b"\n", 1)[0] + b"\n"
    return [
        ("mixed encodings", mixed, {}, "mixes text encodings"),
        ("declared UTF-8 but Windows-1252", "a,b\n£,1\n".encode("cp1252"),
         {"encoding": "utf-8"}, "is not valid UTF-8"),
        ("wrong delimiter", SLICE.replace(b",", b":"), {}, "Found a single column"),
        ("forced wrong delimiter", SLICE, {"delimiter": ";"}, "Found a single column"),
        ("missing required column", SLICE.replace(b"Quantity", b"Amount", 1),
         {"kind": "sales"}, "needs a column for “Quantity”"),
        ("unparseable date", _replace_cell(SLICE, "2010-12-01 08:26:00", "31/02/2010 8:26"),
         {}, "is not a date"),
        ("text in a number", _replace_cell(SLICE, FIRST_ROW, FIRST_ROW.replace(",6,", ",six,")),
         {}, "is not a number"),
        ("negative price", _replace_cell(SLICE, FIRST_ROW, FIRST_ROW.replace("2.55", "-2.55")),
         {}, "is negative (a return is a negative quantity"),
        ("absurd quantity", _replace_cell(SLICE, FIRST_ROW,
                                          FIRST_ROW.replace(",6,", ",60000000,")),
         {}, "is larger than 10,000,000"),
        ("date in the future", _replace_cell(SLICE, "2010-12-01 08:26:00", "2091-12-01 08:26"),
         {}, "is in the future"),
        ("fractional quantity", _replace_cell(SLICE, FIRST_ROW,
                                              FIRST_ROW.replace(",6,", ",2.5,")),
         {}, "is not a whole number"),
        ("formula cell", _replace_cell(SLICE, "WHITE HANGING HEART T-LIGHT HOLDER",
                                       '"=HYPERLINK(""http://x.example"",""click"")"'),
         {}, "is a spreadsheet formula"),
        ("empty file", b"", {}, "The file is empty"),
        ("blank lines only", b"\r\n\r\n  \n", {}, "The file is empty"),
        ("header only", header_only, {}, "no rows below it"),
        ("over the size limit", SLICE, {"limits": Limits(max_bytes=10_000)},
         "the limit is 0.0 MB"),
        ("over the row limit", SLICE, {"limits": Limits(max_rows=100)},
         "rows; the limit is 100"),
        ("gzip bomb over the limit", gzip.compress(b"a,b\n" + b"1,2\n" * 400_000),
         {"limits": Limits(max_bytes=100_000)}, "the limit is 0.1 MB"),
        ("PNG renamed .csv", PNG, {}, "is not a CSV or Excel file: it is a PNG image"),
        ("PDF renamed .csv", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", {}, "a PDF document"),
        ("binary junk renamed .csv", b"ab\x00\x01\x02" * 100, {}, "binary data"),
        ("not really a workbook", b"PK\x03\x04" + b"\x00" * 200, {},
         "not a readable Excel workbook"),
        ("duplicate SKU in a catalogue",
         b"SKU,Name,Unit cost\nTEA-1,Green tea,1.10\nTEA-1,Black tea,1.20\n", {},
         "repeats the key of an earlier row"),
        ("duplicate line of an order", b"Order ID,Order Date,SKU,Quantity,Price,Line ID\n"
         b"A1,2024-01-02,X,1,2.00,1\nA1,2024-01-02,Y,1,3.00,1\n", {},
         "repeats a line id of the same order"),
        ("one order, two customers", b"Order ID,Order Date,SKU,Quantity,Price,Customer ID\n"
         b"A1,2024-01-02,X,1,2.00,C1\nA1,2024-01-02,Y,1,3.00,C2\n", {},
         "differs between lines of the same order"),
    ]


@pytest.mark.parametrize("case, data, options, message", _bad_files(),
                         ids=[case[0] for case in _bad_files()])
def test_a_bad_file_gets_a_clear_message_and_changes_nothing(
        fresh: Fresh, case: str, data: bytes, options: dict[str, object],
        message: str) -> None:
    fresh.run(SLICE, "good.csv")
    before = fresh.checksum()
    report = fresh.run(data, "bad.csv", **options)
    text = report.to_text()
    assert report.status == "rejected", text
    assert message in text, text
    assert "Traceback" not in text
    assert fresh.checksum() == before
    with fresh.session() as session:
        latest = import_history(session)[0]
    assert latest["status"] == "rejected" and latest["filename"] == "bad.csv"


def test_a_post_cannot_move_to_another_platform(fresh_sqlite: Fresh) -> None:
    posts = ("Post ID,Platform,Type,Posted at,Likes\n"
             "ig-1,Instagram,reel,2024-03-01 18:30,10\n")
    assert fresh_sqlite.run(posts.encode(), "posts.csv").status == "succeeded"
    before = fresh_sqlite.checksum()
    moved = fresh_sqlite.run(posts.replace("Instagram", "TikTok").encode(), "posts.csv")
    assert moved.status == "rejected"
    assert "already exists on another platform" in moved.to_text()
    assert fresh_sqlite.checksum() == before


def test_skipping_invalid_rows_loads_whole_valid_orders_only(fresh_sqlite: Fresh) -> None:
    data = _replace_cell(SLICE, FIRST_ROW, FIRST_ROW.replace(",6,", ",six,"))
    report = fresh_sqlite.run(data, "retail.csv", skip_invalid=True)
    assert report.status == "succeeded"
    expected = uci_frame()
    invoice_lines = int((expected["InvoiceNo"] == "536365").sum())
    assert report.rows_rejected == invoice_lines  # the bad line and the rest of its order
    assert fresh_sqlite.scalar(
        "SELECT COUNT(*) FROM orders WHERE order_number = '536365'") == 0
    assert db_totals(fresh_sqlite)["lines"] == len(expected) - invoice_lines
    messages = {issue["message"] for issue in report.issues}
    assert any("left out with its order" in m for m in messages)


def test_a_dry_run_reports_and_changes_nothing(fresh: Fresh) -> None:
    before = fresh.checksum()
    report = fresh.run(SLICE, "retail.csv", dry_run=True)
    assert report.status == "checked" and report.ok
    assert report.rows_loaded == len(uci_frame())
    assert fresh.checksum() == before
    assert fresh.scalar("SELECT COUNT(*) FROM import_jobs") == 0


ORDER = ("products", "influencers", "posts", "tracking", "payouts", "funnel", "customers",
         "pipeline", "sales_team")


def test_every_kind_loads_its_own_template_and_again_without_change(fresh: Fresh) -> None:
    assert set(ORDER) | {"sales"} == set(KINDS)
    for name in ORDER:
        report = fresh.run(template_csv(name), f"{name}.csv")
        assert report.status == "succeeded", report.to_text()
        assert report.kind == name and report.rows_loaded == 1
    before = fresh.checksum(with_ids=False)  # tracking and payouts are replaced: new ids
    for name in ORDER:
        assert fresh.run(template_csv(name), f"{name}.csv").status == "succeeded"
    assert fresh.checksum(with_ids=False) == before
    with fresh.engine.connect() as connection:
        post = connection.execute(sa.text(
            "SELECT p.post_type, c.name, i.handle, pr.sku FROM media_posts p "
            "JOIN campaigns c ON c.id = p.campaign_id "
            "JOIN influencers i ON i.id = p.influencer_id "
            "JOIN products pr ON pr.id = p.product_id")).one()
        payout = connection.execute(sa.text("SELECT amount, status FROM payouts")).one()
    assert tuple(post) == ("reel", "Spring tea", "@leafy_life", "TEA-001")
    assert (float(payout[0]), payout[1]) == (300.0, "pending")
    assert fresh.scalar("SELECT COUNT(*) FROM tracking") == 1


def test_a_catalogue_can_mark_fee_codes_as_not_merchandise(fresh_sqlite: Fresh) -> None:
    sales = ("Order ID,Order Date,SKU,Quantity,Price\n"
             "A1,2024-01-02,TEA,2,3.00\nA1,2024-01-02,SHIP,1,4.95\n")
    fresh_sqlite.run(sales.encode(), "sales.csv")
    fresh_sqlite.run(b"SKU,Name,Merchandise\nSHIP,Shipping,no\n", "catalogue.csv")
    with fresh_sqlite.session() as session:
        kpis = totals(session, Scope.everything(), ALL_TIME, ALL_TIME.start, ALL_TIME.end)
    assert kpis["net_revenue"] == 6.0
    again = fresh_sqlite.run(sales.encode(), "sales.csv")
    assert again.rows_excluded == 1 and again.excluded == {"SHIP": 1}


def test_a_limited_user_imports_into_their_own_platforms_only(fresh_sqlite: Fresh) -> None:
    fresh_sqlite.run(SLICE, "retail.csv")
    store = fresh_sqlite.scalar("SELECT id FROM platforms WHERE slug = 'online-store'")
    before = fresh_sqlite.checksum()
    scope = Scope(user_id=1, platform_ids=frozenset({store + 100}))
    report = fresh_sqlite.run(SLICE, "retail.csv", scope=scope)
    assert report.status == "rejected"
    assert "for a platform you may not import data for (“Online Store”)" in report.errors[-1]
    assert fresh_sqlite.checksum() == before


def test_a_running_job_whose_process_died_is_shown_as_failed(fresh_sqlite: Fresh) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    with fresh_sqlite.session() as session:
        session.add(ImportJob(kind="sales", filename="big.csv", status="running",
                              worker=f"{socket.gethostname()}:{dead.pid}",
                              started_at=utcnow()))
        session.add(ImportJob(kind="sales", filename="old.csv", status="running",
                              worker="elsewhere:1",
                              started_at=utcnow() - dt.timedelta(hours=3)))
        session.commit()
        history = {row["filename"]: row for row in import_history(session)}
    assert history["big.csv"]["status"] == "failed"
    assert "stopped before it finished" in history["big.csv"]["errors"][0]
    assert history["old.csv"]["status"] == "failed"


def test_the_report_is_kept_with_the_job(fresh_sqlite: Fresh) -> None:
    report = fresh_sqlite.run(SLICE, "retail.csv")
    with fresh_sqlite.session() as session:
        job = session.get(ImportJob, report.job_id)
        assert job.status == "succeeded" and job.rows_loaded == report.rows_loaded
        assert job.checksum == report.checksum and job.finished_at is not None
        assert json.loads(job.report)["totals"]["orders"] == report.totals["orders"]
        assert previous_import(session, report.checksum, "sales", "Online Store").id == job.id
        events = session.execute(sa.text(
            "SELECT action, detail FROM audit_events WHERE action = 'import'")).all()
    assert len(events) == 1 and "retail.csv" in events[0][1]


def test_utf8_with_bom_and_utf16_are_read(fresh_sqlite: Fresh) -> None:
    text = UNLIKE.replace("Green tea", "Grüner Tee")
    mapping = ColumnMapping("sales", {"order_number": "Ref", "ordered_at": "When",
                                      "sku": "Item", "product_name": "What",
                                      "quantity": "Qty", "unit_price": "Each"})
    for data in (codecs.BOM_UTF8 + text.encode(), text.replace(",", "\t").encode("utf-16")):
        report = fresh_sqlite.run(data, "shop.txt", mapping=mapping)
        assert report.status == "succeeded", report.to_text()
    assert fresh_sqlite.scalar("SELECT name FROM products WHERE sku = 'TEA-1'") == "Grüner Tee"


def test_the_docs_list_every_column_of_every_kind() -> None:
    docs = (Path(__file__).resolve().parents[2] / "docs" / "imports.md").read_text()
    assert columns_markdown() in docs


def test_skipping_invalid_rows_of_a_catalogue_loads_the_others_only(
        fresh_sqlite: Fresh) -> None:
    catalogue = b"SKU,Name,Unit cost\nTEA,Green tea,1.10\nMUG,Mug,cheap\n"
    report = fresh_sqlite.run(catalogue, "catalogue.csv", skip_invalid=True)
    assert (report.status, report.rows_loaded, report.rows_rejected) == ("succeeded", 1, 1)
    assert fresh_sqlite.scalar("SELECT group_concat(sku) FROM products") == "TEA"


class JobBench:
    """Users, a staged upload of the UCI slice per user, and a way to run import jobs."""

    def __init__(self, fresh: Fresh, folder: Path) -> None:
        self.fresh, self.folder, self.loaded = fresh, folder, []
        with fresh.session() as session:
            users = {role: create_user(session, f"{role}@example.com", "a-long-password", role)
                     for role in ("analyst", "viewer", "admin")}
            users["admin"].active = False
            session.commit()
            self.ids = {role: user.id for role, user in users.items()}
        self.uploads = {role: save_upload(folder, SLICE, "retail.csv", user_id)
                        for role, user_id in self.ids.items()}

    def run(self, role: str, action: str = IMPORT, **changes: object) -> ImportReport:
        """Run a job for the upload of the user with `role`, as the analysts' wizard does."""
        mapping = detect(SLICE.decode().splitlines()[0].split(",")).mapping.as_dict()
        job = JobRequest(action=action, user_id=self.ids[role], upload=self.uploads[role],
                         mapping=mapping, platform="Online Store", skip_invalid=False)
        with self.fresh.session() as session:
            return run_import_job(session, replace(job, **changes), folder=self.folder,
                                  timezone=TIMEZONE, limits=Limits(),
                                  roles={"admin", "analyst"}, progress=lambda *_: None,
                                  on_loaded=lambda: self.loaded.append(action))


def test_an_import_job_checks_then_loads_as_its_user(fresh_sqlite: Fresh,
                                                     tmp_path: Path) -> None:
    bench = JobBench(fresh_sqlite, tmp_path)
    checked = bench.run("analyst", CHECK)
    assert checked.status == "checked" and checked.errors == [] and bench.loaded == []
    assert fresh_sqlite.scalar("SELECT COUNT(*) FROM order_lines") == 0
    loaded = bench.run("analyst")
    assert loaded.status == "succeeded" and bench.loaded == [IMPORT]
    assert fresh_sqlite.scalar("SELECT user_id FROM import_jobs") == bench.ids["analyst"]


@pytest.mark.parametrize("role, changes", [("viewer", {}), ("admin", {}),  # inactive admin
                                           ("analyst", {"user_id": 999})])
def test_an_import_job_refuses_users_who_may_not_import(fresh_sqlite: Fresh, tmp_path: Path,
                                                        role: str,
                                                        changes: dict[str, object]) -> None:
    bench = JobBench(fresh_sqlite, tmp_path)
    report = bench.run(role, **changes)
    assert (report.status, report.errors) == ("rejected", ["Your account may not import files."])
    assert fresh_sqlite.scalar("SELECT COUNT(*) FROM import_jobs") == 0 and bench.loaded == []


def test_an_import_job_reports_a_missing_upload_and_an_unexpected_error(
        fresh_sqlite: Fresh, tmp_path: Path, caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    bench = JobBench(fresh_sqlite, tmp_path)
    missing = bench.run("analyst", upload="0" * 32)
    assert missing.status == "rejected" and "no longer here" in missing.errors[0]

    def bug(*_args: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr("services.imports.runner.import_file", bug)
    broken = bench.run("analyst")
    assert (broken.status, broken.errors, broken.kind) == ("failed", [UNEXPECTED], "sales")
    assert "Import job failed" in caplog.text and bench.loaded == []
