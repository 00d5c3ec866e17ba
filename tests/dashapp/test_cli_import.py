"""`pulseboard import`: the same report as the Data page, exit status 1 on rejection."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner

from tests.conftest import make_app
from tests.fixtures.imports import (  # noqa: F401 - the fixtures are used by name
    UCI_SLICE,
    Fresh,
    fresh_sqlite_fixture,
    sqlite_template_fixture,
    uci_frame,
)


@pytest.fixture
def app(fresh_sqlite: Fresh) -> Flask:
    """The app on an empty migrated database."""
    return make_app(fresh_sqlite.url, TIMEZONE="Europe/London")


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    """A CLI runner for it."""
    return app.test_cli_runner()


def test_importing_the_uci_slice_prints_the_report(runner: FlaskCliRunner,
                                                   fresh_sqlite: Fresh) -> None:
    result = runner.invoke(args=["import", str(UCI_SLICE), "--platform", "Web shop"])
    assert result.exit_code == 0, result.output
    lines = len(uci_frame())
    assert f"Loaded {lines:,} of {lines:,} rows from online_retail_slice.csv.gz." in \
        result.output
    assert "recognised as UCI Online Retail" in result.output
    assert "excluded from merchandise metrics 24 lines (AMAZONFEE 9" in result.output
    assert fresh_sqlite.scalar("SELECT COUNT(*) FROM order_lines") == lines
    assert fresh_sqlite.scalar("SELECT name FROM platforms") == "Web shop"


def test_a_dry_run_changes_nothing(runner: FlaskCliRunner, fresh_sqlite: Fresh) -> None:
    result = runner.invoke(args=["import", str(UCI_SLICE), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "would be loaded. Nothing has been changed yet." in result.output
    assert fresh_sqlite.scalar("SELECT COUNT(*) FROM order_lines") == 0


def test_a_rejected_file_exits_non_zero_with_the_reasons(runner: FlaskCliRunner,
                                                         fresh_sqlite: Fresh,
                                                         tmp_path: Path) -> None:
    bad = tmp_path / "orders.csv"
    bad.write_text("Order ID,Order Date,SKU,Quantity,Price\nA1,yesterday,X,1,2.00\n"
                   "A2,2024-01-02,Y,lots,3.00\n")
    result = runner.invoke(args=["import", str(bad)])
    assert result.exit_code == 1
    assert "orders.csv was not loaded; nothing was changed." in result.output
    assert "row 2, Order Date: “yesterday” is not a date" in result.output
    assert "row 3, Quantity: “lots” is not a number" in result.output
    assert "Traceback" not in result.output
    assert fresh_sqlite.scalar("SELECT COUNT(*) FROM orders") == 0
    assert fresh_sqlite.scalar("SELECT status FROM import_jobs") == "rejected"


def test_a_mapping_file_maps_unlike_columns(runner: FlaskCliRunner, fresh_sqlite: Fresh,
                                            tmp_path: Path) -> None:
    data = tmp_path / "shop.csv"
    data.write_text("Ref,When,Item,Qty,Each\nR-1,02/03/2024,TEA,2,4.50\n")
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({"kind": "sales", "columns": {
        "order_number": "Ref", "ordered_at": "When", "sku": "Item", "quantity": "Qty",
        "unit_price": "Each"}, "date_order": "mdy"}))
    result = runner.invoke(args=["import", str(data), "--mapping", str(mapping)])
    assert result.exit_code == 0, result.output
    assert fresh_sqlite.scalar("SELECT sale_date FROM orders") == "2024-02-03"
    # It says which mapping it used, and that the columns were not matched by name.
    assert "recognised as the column mapping given" in result.output
    assert "matched by name" not in result.output
    assert ("columns       order_number ← “Ref”, ordered_at ← “When”, sku ← “Item”, "
            "quantity ← “Qty”, unit_price ← “Each”") in result.output
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    result = runner.invoke(args=["import", str(data), "--mapping", str(broken)])
    assert result.exit_code != 0 and "not valid JSON" in result.output


def test_kind_chooses_what_the_file_is(runner: FlaskCliRunner, fresh_sqlite: Fresh,
                                       tmp_path: Path) -> None:
    catalogue = tmp_path / "catalogue.csv"
    catalogue.write_text("Code,Title,Cost\nTEA,Green tea,1.10\n")
    result = runner.invoke(args=["import", str(catalogue), "--kind", "products"])
    assert result.exit_code == 0, result.output
    assert "rows added: 1" in result.output
    assert fresh_sqlite.scalar("SELECT unit_cost FROM products WHERE sku = 'TEA'") == 1.1


def test_a_post_export_without_a_platform_column_takes_the_platform_option(
        runner: FlaskCliRunner, fresh_sqlite: Fresh, tmp_path: Path) -> None:
    posts = tmp_path / "instagram.csv"
    posts.write_text("Post ID,Publish time,Post type,Like,Comment,Share,Page total likes\n"
                     "1801,2025-03-20 18:00,IG carousel,320,12,8,5200\n"
                     "1802,2025-03-21 08:10,Photo,98,5,3,5210\n")
    result = runner.invoke(args=["import", str(posts), "--platform", "Instagram"])
    assert result.exit_code == 0, result.output
    assert "recognised as columns matched by name" in result.output
    assert "platform      Instagram" in result.output
    assert "likes ← “Like”" in result.output and "Page total likes" not in result.output
    assert fresh_sqlite.scalar(
        "SELECT DISTINCT pl.name FROM media_posts p JOIN platforms pl "
        "ON pl.id = p.platform_id") == "Instagram"
    assert fresh_sqlite.scalar("SELECT SUM(likes) FROM media_posts") == 320 + 98
