"""Regions, states and cities from the order, and the names a SKU was sold under: imported
files (a generated file in the Superstore sample's shape, the UCI slice) against pandas on the
same file, on SQLite and PostgreSQL."""
from __future__ import annotations

import datetime as dt
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from services import product_analysis, sales_analysis
from services.filters import Filters
from services.sales import resolve
from services.scope import Scope
from tests.fixtures.imports import (  # noqa: F401 - the fixtures are used by name
    Fresh,
    fresh_fixture,
    imports_postgres_url_fixture,
    sqlite_template_fixture,
    uci_bytes,
    uci_frame,
)

EVERYTHING = Scope.everything()
ALL_TIME = Filters(range="custom", start=dt.date(2000, 1, 1), end=dt.date(2030, 12, 31))
# Regions of the Superstore sample, each with states and cities (Springfield is in two).
PLACES = {
    "East": [("New York", "New York City"), ("New York", "Buffalo"),
             ("Pennsylvania", "Philadelphia"), ("Massachusetts", "Springfield")],
    "West": [("California", "Los Angeles"), ("California", "San Francisco"),
             ("Washington", "Seattle")],
    "Central": [("Texas", "Houston"), ("Texas", "Dallas"), ("Illinois", "Springfield")],
    "South": [("Florida", "Miami"), ("Kentucky", "Henderson"), ("Georgia", "Atlanta")],
}
COLUMNS = ["Order ID", "Order Date", "Ship Mode", "Customer ID", "Segment", "Country", "City",
           "State", "Region", "Product ID", "Category", "Sub-Category", "Product Name", "Sales",
           "Quantity", "Discount", "Profit"]


def superstore_frame(orders: int = 240, seed: int = 7) -> pd.DataFrame:
    """Lines in the Superstore sample's columns: customers buy in several regions (so a
    customer's region is not an order's), dates m/d/Y, line amounts, a few returns."""
    rng = np.random.default_rng(seed)
    places = [(region, state, city) for region, cities in PLACES.items()
              for state, city in cities]
    rows = []
    for number in range(orders):
        region, state, city = places[rng.integers(len(places))]
        day = dt.date(2016, 1, 1) + dt.timedelta(days=int(rng.integers(366)))
        customer = f"CU-{rng.integers(40):05d}"
        returned = number % 20 == 19  # a return order: negative quantity and amount
        for _line in range(int(rng.integers(1, 4))):
            product = int(rng.integers(25))
            quantity = int(rng.integers(1, 6)) * (-1 if returned else 1)
            sales = round(float(rng.uniform(5, 400)), 2) * (-1 if returned else 1)
            rows.append([f"US-2016-{100000 + number}", f"{day.month}/{day.day}/{day.year}",
                         "Standard Class", customer, "Consumer", "United States", city, state,
                         region, f"OFF-PA-{product:08d}", "Office Supplies", "Paper",
                         f"Paper pack {product}", sales, quantity, 0, round(sales * 0.2, 4)])
    return pd.DataFrame(rows, columns=COLUMNS)


def expected_by(frame: pd.DataFrame, key: str | list[str]) -> pd.DataFrame:
    """Net revenue, orders, units and customers per `key`, as SPEC §3 defines them."""
    sale = (frame["Quantity"] > 0) & (frame["Sales"] > 0)
    parts = frame.assign(order=frame["Order ID"].where(sale),
                         units=frame["Quantity"].where(sale, 0),
                         customer=frame["Customer ID"].where(sale))
    grouped = parts.groupby(key)
    return pd.DataFrame({"net_revenue": grouped["Sales"].sum(),
                         "orders": grouped["order"].nunique(),
                         "units": grouped["units"].sum(),
                         "customers": grouped["customer"].nunique()})


def assert_matches(found: pd.DataFrame, key: str | list[str], expected: pd.DataFrame,
                   counts: tuple[str, ...] = ("orders", "units", "customers")) -> None:
    """The service's rows are pandas' groups, value by value."""
    got = found.set_index(key).sort_index()
    want = expected.sort_index()
    assert list(got.index) == list(want.index)
    assert got["net_revenue"].astype(float).tolist() == pytest.approx(
        want["net_revenue"].tolist(), abs=0.01)
    for column in counts:
        assert got[column].astype(int).tolist() == want[column].astype(int).tolist(), column


@pytest.fixture(name="superstore")
def superstore_fixture(fresh: Fresh) -> tuple[Fresh, pd.DataFrame]:
    """The generated file imported into an empty database."""
    frame = superstore_frame()
    report = fresh.run(frame.to_csv(index=False).encode(), "superstore.csv",
                       platform="Wholesale")
    assert report.status == "succeeded", report.to_text()
    assert report.rows_loaded == len(frame)
    return fresh, frame


def test_the_importer_stores_each_orders_region_state_and_city(
        superstore: tuple[Fresh, pd.DataFrame]) -> None:
    fresh, frame = superstore
    with fresh.engine.connect() as connection:
        stored = pd.read_sql(sa.text("SELECT order_number, region, state, city FROM orders"),
                             connection)
    expected = frame.drop_duplicates("Order ID").set_index("Order ID")[
        ["Region", "State", "City"]].sort_index()
    stored = stored.set_index("order_number").sort_index()
    assert stored.index.tolist() == expected.index.tolist()
    assert stored.to_numpy().tolist() == expected.to_numpy().tolist()


def test_revenue_by_region_takes_the_orders_own_region(
        superstore: tuple[Fresh, pd.DataFrame]) -> None:
    fresh, frame = superstore
    with fresh.session() as session:
        period = resolve(session, EVERYTHING, ALL_TIME)
        regions = sales_analysis.by_region(session, EVERYTHING, ALL_TIME, period)
        countries = sales_analysis.by_country(session, EVERYTHING, ALL_TIME, period)
        customer_regions = session.execute(sa.text(
            "SELECT COUNT(DISTINCT region) FROM customers")).scalar()
    assert_matches(regions, "region", expected_by(frame, "Region"), counts=("orders", "units"))
    assert set(regions["region"]) == set(PLACES)
    # Customers were recorded in several regions: the country has no one region.
    assert customer_regions > 1 and "region" not in countries.columns
    assert countries["country"].tolist() == ["United States"]


def test_revenue_by_state_and_city_and_a_chosen_state_narrows_the_panels(
        superstore: tuple[Fresh, pd.DataFrame]) -> None:
    fresh, frame = superstore
    state = frame.loc[frame["Quantity"] < 0].groupby("State")["Sales"].sum().idxmin()
    in_state = frame.loc[frame["State"] == state]
    chosen = replace(ALL_TIME, state=state)  # as the Sales page's state= sets it
    with fresh.session() as session:
        period = resolve(session, EVERYTHING, ALL_TIME)
        states = sales_analysis.by_state(session, EVERYTHING, ALL_TIME, period)
        cities = sales_analysis.by_city(session, EVERYTHING, chosen, period)
        every_city = sales_analysis.by_city(session, EVERYTHING, ALL_TIME, period)
        regions = sales_analysis.by_region(session, EVERYTHING, chosen, period)
        platforms = sales_analysis.by_platform(session, EVERYTHING, chosen, period)
        weekdays = sales_analysis.by_weekday(session, EVERYTHING, chosen, period)
        returns = sales_analysis.returns_summary(session, EVERYTHING, chosen, period)
        countries = sales_analysis.by_country(session, EVERYTHING, chosen, period)
        trend = sales_analysis.metric_trend(session, EVERYTHING,
                                            replace(chosen, grain="month", compare="none"),
                                            period)
        cells = sales_analysis.by_weekday_hour(session, EVERYTHING, chosen, period)
    assert_matches(states.drop(columns=["state"]), "state_key", expected_by(frame, "State"))
    assert (states["country"] == "United States").all()
    assert_matches(cities, "city", expected_by(in_state, "City"))
    assert_matches(every_city, ["city", "state"], expected_by(frame, ["City", "State"]))
    assert_matches(regions, "region", expected_by(in_state, "Region"),
                   counts=("orders", "units"))
    assert_matches(platforms, "platform", expected_by(in_state.assign(p="Wholesale"), "p"),
                   counts=("orders", "units"))
    assert_matches(countries, "country",
                   expected_by(in_state.assign(c="United States"), "c"))
    days = pd.to_datetime(in_state["Order Date"], format="%m/%d/%Y").dt.day_of_week
    assert weekdays["net_revenue"].tolist() == pytest.approx(
        in_state.groupby(days)["Sales"].sum().reindex(range(7), fill_value=0).tolist(),
        abs=0.01)
    returned = -in_state.loc[in_state["Quantity"] < 0, "Sales"].sum()
    assert returned > 0 and returns["returns"] == pytest.approx(returned, abs=0.01)
    # The trend and the hour heatmap read order_lines narrowed to the state's orders too.
    assert trend["value"].sum() == pytest.approx(in_state["Sales"].sum(), abs=0.01)
    assert cells["net_revenue"].sum() == pytest.approx(in_state["Sales"].sum(), abs=0.01)


def test_data_without_order_regions_reads_the_region_of_an_unambiguous_country(
        fresh: Fresh) -> None:
    frame = superstore_frame(orders=40).drop(columns=["Region", "State", "City"])
    assert fresh.run(frame.to_csv(index=False).encode(), "no_places.csv",
                     platform="Wholesale").status == "succeeded"
    with fresh.session() as session:
        period = resolve(session, EVERYTHING, ALL_TIME)
        assert sales_analysis.order_places(session, EVERYTHING) == ()
        assert sales_analysis.by_region(session, EVERYTHING, ALL_TIME, period).empty
        assert sales_analysis.by_state(session, EVERYTHING, ALL_TIME, period).empty
        assert sales_analysis.by_city(session, EVERYTHING, ALL_TIME, period).empty


# --- product names -------------------------------------------------------------------------------

def expected_names(frame: pd.DataFrame) -> pd.DataFrame:
    """Per SKU and name: first and last day, and whether it is the SKU's latest name; names
    from lines priced above zero unless a SKU has none."""
    lines = frame.assign(row=np.arange(len(frame)),
                         name=frame["Description"].fillna("").str.strip(),
                         when=pd.to_datetime(frame["InvoiceDate"]))
    lines = lines.loc[lines["name"] != ""]
    priced = lines["UnitPrice"].astype(float) > 0
    sku_priced = priced.groupby(lines["StockCode"]).transform("any")
    lines = lines.loc[priced | ~sku_priced]
    latest = lines.sort_values(["when", "row"]).groupby("StockCode")["name"].last()
    names = lines.groupby(["StockCode", "name"]).agg(first=("when", "min"),
                                                     last=("when", "max")).reset_index()
    names["latest"] = names["name"] == names["StockCode"].map(latest)
    return names


def stored_names(fresh: Fresh) -> tuple[dict[str, str], pd.DataFrame]:
    """The products' names and the product_names rows (with their SKU)."""
    with fresh.engine.connect() as connection:
        products = dict(connection.execute(sa.text("SELECT sku, name FROM products")).all())
        names = pd.read_sql(sa.text(
            "SELECT p.sku, n.name, n.first_seen, n.last_seen FROM product_names n "
            "JOIN products p ON p.id = n.product_id"), connection)
    return products, names


def test_a_sku_keeps_its_latest_name_and_the_drill_down_lists_the_others(fresh: Fresh) -> None:
    frame = uci_frame()
    expected = expected_names(frame)
    assert fresh.run(uci_bytes(), "online_retail.csv").status == "succeeded"
    products, names = stored_names(fresh)
    latest = expected.loc[expected["latest"]].set_index("StockCode")["name"]
    assert {sku: products[sku] for sku in latest.index} == latest.to_dict()
    found = {(row.sku, row.name, str(row.first_seen)[:10], str(row.last_seen)[:10])
             for row in names.itertuples()}
    assert found == {(row.StockCode, row.name, str(row.first.date()), str(row.last.date()))
                     for row in expected.itertuples()}
    renamed = expected.loc[~expected["latest"]]
    assert len(renamed) > 0  # the slice has SKUs whose description changed
    with fresh.session() as session:
        for sku, others in renamed.groupby("StockCode"):
            info = product_analysis.product_info(session, EVERYTHING, sku)
            assert {entry["name"] for entry in info["also_sold_as"]} == set(others["name"])
            assert info["name"] == latest[sku]
    # Importing the file again changes no name and no day.
    assert fresh.run(uci_bytes(), "online_retail.csv").status == "succeeded"
    again = stored_names(fresh)
    assert again[0] == products and again[1].sort_values(["sku", "name"]).to_numpy().tolist() \
        == names.sort_values(["sku", "name"]).to_numpy().tolist()


def test_a_later_file_renames_the_product_and_keeps_the_old_name(fresh: Fresh) -> None:
    frame = uci_frame()
    assert fresh.run(uci_bytes(), "online_retail.csv").status == "succeeded"
    sku = frame["StockCode"].iloc[0]
    before = stored_names(fresh)[0][sku]
    later = frame.iloc[[0]].assign(InvoiceNo="999001", InvoiceDate="2011-12-09 10:00:00",
                                   Description="A NEW NAME")
    earlier = frame.iloc[[0]].assign(InvoiceNo="999002", InvoiceDate="2010-01-04 10:00:00",
                                     Description="AN OLD NAME")
    assert fresh.run(later.to_csv(index=False).encode(), "later.csv").status == "succeeded"
    assert fresh.run(earlier.to_csv(index=False).encode(), "earlier.csv").status == "succeeded"
    products, names = stored_names(fresh)
    assert products[sku] == "A NEW NAME"  # the earlier file does not take the name back
    with fresh.session() as session:
        info = product_analysis.product_info(session, EVERYTHING, sku)
    assert [entry["name"] for entry in info["also_sold_as"]] == [before, "AN OLD NAME"]


def test_a_name_given_by_the_catalogue_stays_when_sales_bring_another(fresh: Fresh) -> None:
    frame = uci_frame()
    assert fresh.run(uci_bytes(), "online_retail.csv").status == "succeeded"
    sku = frame["StockCode"].iloc[0]
    catalogue = f"SKU,Name\n{sku},Catalogue name\n".encode()
    assert fresh.run(catalogue, "catalogue.csv", kind="products").status == "succeeded"
    later = frame.iloc[[0]].assign(InvoiceNo="999003", InvoiceDate="2011-12-09 10:00:00",
                                   Description="SOLD UNDER ANOTHER NAME")
    assert fresh.run(later.to_csv(index=False).encode(), "later.csv").status == "succeeded"
    with fresh.session() as session:
        info = product_analysis.product_info(session, EVERYTHING, sku)
    assert info["name"] == "Catalogue name"
    assert info["also_sold_as"][0]["name"] == "SOLD UNDER ANOTHER NAME"
