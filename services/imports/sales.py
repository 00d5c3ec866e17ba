"""Sales files (order lines): the UCI Online Retail rules, orders from lines, and the bulk load
that replaces overlapping orders.

UCI rules (../shared/data/README.md and docs/imports.md), applied to UCI files only:
- every line of an invoice starting with C is a cancellation (`LINE_CANCELLATION`);
- a negative, zero-price line without a customer on an ordinary invoice is a stock adjustment
  (`LINE_STOCK_ADJUSTMENT`: written off as damaged, lost, "?", …), not a customer return;
- postage, fee, manual, discount, sample, commission, bad-debt, test and gift-voucher codes
  (`is_non_merchandise`) are kept but marked as not merchandise, so they count in the import
  report and not in the sales metrics; such a line never blocks an import (a bad-debt
  adjustment has a negative price, a manual line on a C invoice may be positive);
- a missing customer is a guest; a missing description falls back to another line's
  description of the same code, else to the code; identical lines are kept (they are real).
"""
from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
import pandas as pd
from sqlalchemy import (
    Column,
    CursorResult,
    Date,
    DateTime,
    Integer,
    SmallInteger,
    String,
    and_,
    bindparam,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.orm import Session

from models import Customer, Order, OrderLine, Platform, Product
from models.sales import LINE_CANCELLATION, LINE_ORDINARY, LINE_STOCK_ADJUSTMENT
from services import rollups
from services.errors import AccessDenied
from services.imports import bulk
from services.imports import replaced as replaced_rows
from services.imports.convert import Problems
from services.imports.mapping import UCI
from services.imports.names import latest_names, load_names, sku_names
from services.metrics import money
from services.platforms import ensure_platform, slugify
from services.query import as_date
from services.scope import Scope
from services.timezones import local_to_utc

# UCI stock codes that are not merchandise (case-insensitive): postage, carriage, manual
# entries, discounts, samples, bank and Amazon fees, charity commission, bad-debt adjustment;
# and by pattern the stock adjustments (ADJUST, ADJUST2), test lines (TEST001) and gift
# vouchers (gift_0001_20) of the Online Retail II years.
NON_MERCHANDISE_CODES = frozenset({"POST", "DOT", "M", "C2", "D", "S", "BANK CHARGES",
                                   "AMAZONFEE", "CRUK", "B"})
NON_MERCHANDISE_PATTERN = r"ADJUST\d*|TEST\d+|GIFT_\d+_\d+"
MAX_ORDER_SPAN = pd.Timedelta(days=1)  # lines of one order further apart are two orders
Progress = Callable[[str, float], None]


@dataclass
class SalesContext:
    """What preparing a sales file needs to know besides the file."""

    source_format: str
    default_platform: str
    zone: str
    non_merchandise: frozenset[str] = frozenset()  # SKUs the catalogue marks so


@dataclass
class PreparedSales:
    """Valid lines and their orders, ready to load, with the report's figures."""

    lines: pd.DataFrame
    orders: pd.DataFrame
    products: pd.DataFrame
    customers: pd.DataFrame
    totals: dict[str, float | int] = field(default_factory=dict)
    excluded: dict[str, int] = field(default_factory=dict)
    names: pd.DataFrame = field(default_factory=pd.DataFrame)  # see imports.names.sku_names
    first_date: dt.date | None = None
    last_date: dt.date | None = None


def prepare(values: dict[str, pd.Series], problems: Problems, context: SalesContext,
            skip_invalid: bool) -> PreparedSales:
    """Check the sales rules on converted columns and build lines, orders, products, customers.

    Rows with problems are marked in `problems`; with `skip_invalid` every line of an order
    that has a bad line is left out too, so no order is ever loaded half.
    """
    n = len(problems.rows)
    blank = pd.Series("", index=problems.rows)
    uci = context.source_format == UCI
    order_number = values["order_number"]
    name = values.get("product_name", blank)
    sku = values.get("sku", blank)
    no_sku = sku == ""
    if no_sku.any():
        sku = sku.copy()
        sku[no_sku] = name[no_sku].str.slice(0, 64)
    problems.add((sku == "") & ~problems.rejected, "SKU / product name",
                 "is empty: a line needs a product code or name", sku)
    code = _upper(sku)
    quantity = values["quantity"]
    problems.add(quantity == 0, _column(values, "quantity"),
                 "is 0: a line sells or returns at least one unit", quantity)
    price = _unit_price(values, quantity, problems)
    fee = is_non_merchandise(code) if uci else pd.Series(False, index=sku.index)
    problems.add((price < 0) & ~fee, _column(values, "unit_price", "amount"),
                 "is negative (a return is a negative quantity, not a negative price)", price)
    cancellation = _is_cancellation(order_number) if uci else \
        pd.Series(False, index=sku.index)
    if uci:
        problems.add(cancellation & (quantity > 0) & ~fee, _column(values, "quantity"),
                     "is positive on a cancellation invoice (numbers starting with C)",
                     quantity)
    unit_cost = _unit_cost(values, quantity, price, problems)
    platform = values.get("platform", blank).where(values.get("platform", blank) != "",
                                                   context.default_platform)
    customer = _customer_ids(values.get("customer_id", blank))
    kind = _line_kinds(cancellation, quantity, price, customer) if uci else \
        pd.Series(LINE_ORDINARY, index=sku.index)
    lines = pd.DataFrame({
        "row": problems.rows, "order_number": order_number.to_numpy(),
        "platform": platform.to_numpy(), "sku": sku.to_numpy(), "code": code.to_numpy(),
        "cancellation": cancellation.to_numpy(), "kind": kind.to_numpy(),
        "fee": fee.to_numpy(), "name": name.to_numpy(),
        "quantity": quantity.to_numpy(), "unit_price": price.to_numpy(),
        "unit_cost": unit_cost.to_numpy(), "local": values["ordered_at"].to_numpy(),
        "customer": customer.to_numpy(),
        **{key: values.get(key, blank).to_numpy() for key in (
            "customer_name", "segment", "country", "region", "state", "city", "ship_mode",
            "category", "subcategory", "line_id")}})
    _check_orders(lines, problems, values)
    if skip_invalid:
        _reject_whole_orders(lines, problems)
    valid = lines.loc[~problems.rejected[:n]].reset_index(drop=True)
    merchandise = ~valid["fee"] & ~valid["sku"].isin(context.non_merchandise)
    valid["merchandise"] = merchandise
    return _assemble(valid, context, uci)


def _per_distinct(values: pd.Series, function: Callable[[pd.Series], pd.Series]) -> pd.Series:
    """`function` of each distinct value, spread back over the rows (codes, invoice numbers
    and customer ids repeat thousands of times in a sales file)."""
    codes, uniques = pd.factorize(values.to_numpy(dtype=object))
    result = function(pd.Series(uniques, dtype=str))
    return pd.Series(result.to_numpy()[codes], index=values.index, dtype=result.dtype)


def _upper(values: pd.Series) -> pd.Series:
    return _per_distinct(values, lambda distinct: distinct.str.upper())


def _is_cancellation(order_number: pd.Series) -> pd.Series:
    """UCI: an invoice number starting with C is a cancellation."""
    return _per_distinct(order_number, lambda distinct: distinct.str.startswith(("C", "c")))


def is_non_merchandise(codes: pd.Series) -> pd.Series:
    """UCI: whether each stock code is a fee, adjustment, test or voucher (by list or by
    pattern, without case) rather than merchandise."""
    return _per_distinct(codes, lambda distinct: distinct.str.upper().isin(
        NON_MERCHANDISE_CODES) | distinct.str.fullmatch(NON_MERCHANDISE_PATTERN, case=False))


def _line_kinds(cancellation: pd.Series, quantity: pd.Series, price: pd.Series,
                customer: pd.Series) -> pd.Series:
    """UCI: what each line is (see the module docstring).

    A stock adjustment refunds nothing (its price is 0) and has no customer: in the
    2010-2011 file every negative line outside a C invoice is one (1,336 lines: 862 with no
    description, the others notes such as "check", "damaged", "?", "thrown away").
    """
    kinds = np.full(len(quantity), LINE_ORDINARY, dtype="int16")
    write_off = ~cancellation & (quantity < 0) & (price == 0) & (customer == "")
    kinds[write_off.to_numpy()] = LINE_STOCK_ADJUSTMENT
    kinds[cancellation.to_numpy()] = LINE_CANCELLATION
    return pd.Series(kinds, index=quantity.index)


def _column(values: dict[str, pd.Series], *fields: str) -> str:
    """The file's column name of the first mapped field (Series are named after it)."""
    for name in fields:
        if name in values:
            return str(values[name].name)
    return fields[0]


def _unit_price(values: dict[str, pd.Series], quantity: pd.Series,
                problems: Problems) -> pd.Series:
    if "unit_price" in values:
        price = values["unit_price"]
        problems.add(price.isna(), _column(values, "unit_price"),
                     "is empty, but this column is required", price)
        if "discount" in values:
            rate = values["discount"].fillna(0)
            rate = rate.where(rate <= 1, rate / 100)  # 20 means 20 %
            price = price * (1 - rate)
        return price.round(4)
    amount = values["amount"]
    problems.add(amount.isna(), _column(values, "amount"),
                 "is empty, but this column is required", amount)
    return (amount / quantity.replace(0, np.nan)).round(4)


def _unit_cost(values: dict[str, pd.Series], quantity: pd.Series, price: pd.Series,
               problems: Problems) -> pd.Series:
    if "unit_cost" in values:
        return values["unit_cost"].round(4)
    if "profit" in values:
        cost = ((quantity * price - values["profit"]) / quantity.replace(0, np.nan)).round(4)
        problems.add(cost < 0, _column(values, "profit"),
                     "is larger than the line amount, which would make the unit cost negative",
                     values["profit"])
        return cost
    return pd.Series(np.nan, index=quantity.index)


def _customer_ids(values: pd.Series) -> pd.Series:
    """'17850.0' (a number that went through a spreadsheet) is the customer '17850'."""
    return _per_distinct(values, lambda distinct: distinct.str.replace(
        r"^(\d+)\.0+$", r"\1", regex=True))


def _check_orders(lines: pd.DataFrame, problems: Problems,
                  values: dict[str, pd.Series]) -> None:
    """Lines of one order must agree on the customer and country and lie within a day;
    a line id (when given) must not repeat within its order."""
    ok = ~problems.rejected
    key = [lines["platform"], lines["order_number"]]
    grouped = lines[ok].groupby(["platform", "order_number"], sort=False)
    for column, field_name in (("customer", "customer_id"), ("country", "country")):
        if field_name not in values:
            continue
        distinct = grouped[column].transform("nunique")
        conflict = pd.Series(False, index=lines.index)
        conflict[ok] = (distinct > 1).to_numpy()
        problems.add(conflict, _column(values, field_name),
                     "differs between lines of the same order (one order has one "
                     f"{column})", lines[column])
    times = lines.loc[ok, "local"].groupby([k[ok] for k in key], sort=False)
    span = times.transform("max") - times.transform("min")
    too_long = pd.Series(False, index=lines.index)
    too_long[ok] = (span > MAX_ORDER_SPAN).to_numpy()
    problems.add(too_long, _column(values, "ordered_at"),
                 "is more than a day away from another line of the same order",
                 lines["local"].astype(str))
    if "line_id" in values:
        has_id = ok & (lines["line_id"] != "")
        repeated = pd.Series(False, index=lines.index)
        repeated[has_id] = lines[has_id].duplicated(["platform", "order_number", "line_id"])
        problems.add(repeated, _column(values, "line_id"),
                     "repeats a line id of the same order (a duplicate line)", lines["line_id"])


def _reject_whole_orders(lines: pd.DataFrame, problems: Problems) -> None:
    bad_keys = set(zip(lines.loc[problems.rejected, "platform"],
                       lines.loc[problems.rejected, "order_number"], strict=True))
    if not bad_keys:
        return
    keys = pd.Series(list(zip(lines["platform"], lines["order_number"], strict=True)))
    problems.add(keys.isin(bad_keys).to_numpy() & ~problems.rejected, "",
                 "left out with its order: another line of the same order has a problem",
                 lines["order_number"])


def _assemble(valid: pd.DataFrame, context: SalesContext, uci: bool) -> PreparedSales:
    # Converted once per distinct time: a sales file repeats each order's time on every line.
    codes, distinct = pd.factorize(valid["local"])
    placed = local_to_utc(np.asarray(distinct, dtype="datetime64[ns]"),
                          zoneinfo.ZoneInfo(context.zone))
    for key in ("ordered_at", "sale_date", "sale_hour"):
        valid[key] = placed[key][codes]
    orders = _orders(valid)
    # Every line carries its order's date, hour and country (the first line's).
    header = orders[["platform", "order_number", "o_date", "o_hour", "country"]]
    valid = valid.merge(header.rename(columns={"country": "o_country"}),
                        on=["platform", "order_number"], how="left")
    names = sku_names(valid)
    prepared = PreparedSales(valid, orders, _products(valid, uci, names), _customers(valid),
                             names=names)
    _figures(prepared, uci)
    return prepared


def _orders(valid: pd.DataFrame) -> pd.DataFrame:
    """One row per order: its first line's time (lines may be a minute apart) and details."""
    first = valid.sort_values("ordered_at", kind="stable").drop_duplicates(
        ["platform", "order_number"])
    orders = first[["platform", "order_number", "ordered_at", "sale_date", "sale_hour",
                    "customer", "country", "region", "state", "city", "ship_mode"]].copy()
    orders = orders.rename(columns={"sale_date": "o_date", "sale_hour": "o_hour"})
    return orders.reset_index(drop=True)


def _products(valid: pd.DataFrame, uci: bool, names: pd.DataFrame) -> pd.DataFrame:
    """One row per SKU: its latest name (see `services.imports.names`), first category,
    merchandise flag."""
    products = valid.groupby("sku", sort=True).agg(merchandise=("merchandise", "all"))
    for column in ("category", "subcategory"):
        given = valid.loc[valid[column] != "", ["sku", column]].drop_duplicates("sku")
        products[column] = given.set_index("sku")[column].reindex(products.index).fillna("")
    products["name"] = latest_names(names).reindex(products.index)
    products["name"] = products["name"].fillna(pd.Series(products.index, index=products.index))
    products["uci_code"] = is_non_merchandise(products.index.to_series()).to_numpy() & uci
    return products.reset_index()


def _customers(valid: pd.DataFrame) -> pd.DataFrame:
    """One row per known customer: first date, and the first order's details."""
    known = valid[valid["customer"] != ""].sort_values("ordered_at", kind="stable")
    first = known.drop_duplicates("customer")
    return pd.DataFrame({
        "external_id": first["customer"].to_numpy(), "platform": first["platform"].to_numpy(),
        "first_seen": first["sale_date"].to_numpy(),
        "name": first["customer_name"].to_numpy(), "segment": first["segment"].to_numpy(),
        "country": first["country"].to_numpy(), "region": first["region"].to_numpy()})


def _figures(prepared: PreparedSales, uci: bool) -> None:
    lines = prepared.lines
    value = lines["quantity"] * lines["unit_price"]
    merchandise = lines["merchandise"]
    excluded = lines.loc[~merchandise, "code"].value_counts()
    prepared.excluded = {str(k): int(v) for k, v in excluded.items()}
    totals: dict[str, float | int] = {
        "orders": len(prepared.orders),
        "quantity": int(lines["quantity"].sum()),
        "value_all_lines": money(value.sum()),
        "net_revenue": money(value[merchandise].sum()),
        "excluded_value": money(value[~merchandise].sum()),
        "return_lines": int((lines["quantity"] < 0).sum()),
        "guest_lines": int((lines["customer"] == "").sum()),
        "zero_price_lines": int((lines["unit_price"] == 0).sum()),
        "no_description_lines": int((lines["name"] == "").sum()),
        "duplicate_lines": int(lines.duplicated(
            ["order_number", "platform", "sku", "name", "quantity", "unit_price", "local",
             "customer", "country"]).sum()),
        "products": len(prepared.products),
        "customers": len(prepared.customers),
    }
    # Merchandise given away (price 0) is not sold: its units are not units sold, and an
    # order with no line sold at a price above 0 is no order (SPEC section 3).
    sold = merchandise & (lines["quantity"] > 0) & (lines["unit_price"] > 0)
    free = merchandise & (lines["quantity"] > 0) & (lines["unit_price"] == 0)
    totals["orders_with_sales"] = int(lines.loc[sold, ["platform", "order_number"]]
                                      .drop_duplicates().shape[0])
    totals["free_lines"] = int(free.sum())
    totals["free_units"] = int(lines.loc[free, "quantity"].sum())
    if uci:
        write_off = lines["kind"] == LINE_STOCK_ADJUSTMENT
        totals["cancellation_lines"] = int(lines["cancellation"].sum())
        totals["non_merchandise_on_cancellations"] = int(
            (lines["cancellation"] & lines["fee"] & (lines["quantity"] > 0)).sum())
        totals["stock_adjustment_lines"] = int(write_off.sum())
        totals["stock_adjustment_units"] = int(-lines.loc[write_off, "quantity"].sum())
    prepared.totals = totals
    if len(lines):
        prepared.first_date = pd.Timestamp(lines["local"].min()).date()
        prepared.last_date = pd.Timestamp(lines["local"].max()).date()


# ---------------------------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------------------------
def platform_ids(session: Session, scope: Scope, names: list[str]) -> dict[str, int]:
    """Platform id per name in the file, created when new; limited users may only load into
    their own platforms."""
    ids: dict[str, int] = {}
    for name in names:
        existing = session.scalar(select(Platform).where(Platform.slug == slugify(name)))
        if scope.platform_ids is not None and (existing is None
                                               or existing.id not in scope.platform_ids):
            raise AccessDenied(f"You may not import data for the platform “{name}”.")
        ids[name] = (existing or ensure_platform(session, name)).id
    return ids


def load(session: Session, prepared: PreparedSales, scope: Scope,
         progress: Progress, job_id: int | None = None) -> dict[str, int]:
    """Write the prepared sales: products and customers first, then orders (replacing those
    already present, and marked with `job_id` so the import can be undone) and their lines.
    Runs inside the caller's transaction."""
    lines = prepared.lines
    platforms = platform_ids(session, scope, sorted(lines["platform"].unique()))
    progress("Adding new products", 0.1)
    non_merchandise = rollups.non_merchandise_ids(session)
    # A limited user adds new SKUs and customers but never changes an existing (shared) one.
    shared = not scope.is_limited
    products, new_products = _load_products(session, prepared.products, shared)
    load_names(session, prepared.names, products, shared)
    progress("Adding new customers", 0.2)
    customers, new_customers = _load_customers(session, prepared.customers, platforms, shared)
    progress("Replacing orders already loaded", 0.3)
    order_ids, replaced, replaced_dates = _load_orders(session, prepared.orders, platforms,
                                                       customers, job_id)
    progress("Writing order lines", 0.5)
    _load_lines(session, lines, platforms, products, customers, order_ids)
    progress("Updating the pre-aggregated sales", 0.8)
    if rollups.non_merchandise_ids(session) != non_merchandise:
        rollups.refresh(session)  # a code became a fee: its lines leave every day's figures
    else:
        new_dates = pd.to_datetime(prepared.orders["o_date"])
        days = [*replaced_dates, new_dates.min().date(), new_dates.max().date()]
        rollups.refresh(session, min(days), max(days))
    if not shared:  # how many were new would tell whether a SKU or customer exists anywhere
        return {"orders_replaced": replaced}
    return {"products_new": new_products, "customers_new": new_customers,
            "orders_replaced": replaced}


def _load_products(session: Session, products: pd.DataFrame,
                   shared: bool = True) -> tuple[pd.DataFrame, int]:
    """Insert SKUs not yet in the catalogue (and, with `shared`, mark known UCI fee codes);
    returns id and unit cost per SKU."""
    table = Product.__table__
    existing = {row.sku for row in bulk.rows_in(session, [Product.sku], Product.sku,
                                               products["sku"])}
    new = products[~products["sku"].isin(existing)]
    _insert_many(session, table, [
        {"sku": row.sku, "name": row.name[:255], "category": row.category or None,
         "subcategory": row.subcategory or None, "active": True,
         "is_merchandise": bool(row.merchandise)} for row in new.itertuples()])
    codes = products.loc[products["uci_code"] & products["sku"].isin(existing), "sku"].tolist()
    if codes and shared:  # a code the catalogue knew as merchandise is a fee in UCI data
        session.execute(update(table).where(Product.sku.in_(codes))
                        .values(is_merchandise=False))
    found = bulk.rows_in(session, [Product.sku, Product.id, Product.unit_cost], Product.sku,
                         products["sku"])
    frame = pd.DataFrame(found, columns=["sku", "product_id", "catalog_cost"])
    return frame, len(new)


def _load_customers(session: Session, customers: pd.DataFrame, platforms: dict[str, int],
                    shared: bool = True) -> tuple[dict[str, int], int]:
    """Insert new customers; with `shared`, move an existing customer's first-seen date
    earlier if the file shows an earlier order. Returns the id per external id."""
    if customers.empty:
        return {}, 0
    found = dict(bulk.rows_in(session, [Customer.external_id, Customer.id],
                              Customer.external_id, customers["external_id"]))
    new = customers[~customers["external_id"].isin(found)]
    _insert_many(session, Customer.__table__, [
        {"external_id": row.external_id, "name": row.name or None, "segment": row.segment or None,
         "country": row.country or None, "region": row.region or None,
         "first_seen": pd.Timestamp(row.first_seen).date(),
         "acquisition_platform_id": platforms[row.platform]} for row in new.itertuples()])
    old = customers[customers["external_id"].isin(found)]
    if len(old) and shared:
        session.execute(
            update(Customer.__table__)
            .where(Customer.id == bindparam("b_id"),
                   Customer.first_seen.is_(None) | (Customer.first_seen > bindparam("b_day")))
            .values(first_seen=bindparam("b_day")),
            [{"b_id": found[row.external_id], "b_day": pd.Timestamp(row.first_seen).date()}
             for row in old.itertuples()])
    ids = dict(bulk.rows_in(session, [Customer.external_id, Customer.id], Customer.external_id,
                            customers["external_id"]))
    return ids, len(new)


def _insert_many(session: Session, table: Any, rows: list[dict[str, Any]]) -> None:
    if rows:  # an executemany with no rows would insert one row of defaults
        session.execute(insert(table), rows)


def _staged_orders(session: Session, orders: pd.DataFrame, platforms: dict[str, int],
                   customers: dict[str, int], job_id: int | None) -> Any:
    staging = bulk.staging_table(session, "import_orders", [
        Column("platform_id", Integer), Column("order_number", String(64)),
        Column("ordered_at", DateTime), Column("sale_date", Date),
        Column("sale_hour", SmallInteger), Column("customer_id", Integer),
        Column("country", String(80)), Column("region", String(80)),
        Column("state", String(80)), Column("city", String(80)),
        Column("ship_mode", String(40)), Column("import_job_id", Integer)])
    frame = pd.DataFrame({
        "platform_id": orders["platform"].map(platforms).astype("Int64"),
        "order_number": orders["order_number"],
        "ordered_at": bulk.iso_datetimes(orders["ordered_at"]),
        "sale_date": bulk.iso_dates(orders["o_date"]),
        "sale_hour": orders["o_hour"].astype("Int64"),
        "customer_id": orders["customer"].map(customers).astype("Int64"),
        **{key: orders[key].where(orders[key] != "", None) for key in (
            "country", "region", "state", "city", "ship_mode")},
        "import_job_id": pd.Series(job_id, index=orders.index, dtype="Int64")})
    bulk.insert_frame(session, staging, frame)
    return staging


def _load_orders(session: Session, orders: pd.DataFrame, platforms: dict[str, int],
                 customers: dict[str, int],
                 job_id: int | None) -> tuple[pd.DataFrame, int, list[dt.date]]:
    """Replace orders already in the database by the file's version, set-based, keeping the
    replaced ones for an undo; also returns the first and last date of the replaced orders
    (none when nothing was replaced)."""
    staging = _staged_orders(session, orders, platforms, customers, job_id)
    # correlate(None): inside DELETE FROM orders the subquery must still read orders itself.
    overlap = (select(Order.id).join(staging, and_(staging.c.platform_id == Order.platform_id,
                                                    staging.c.order_number == Order.order_number))
               .correlate(None))
    replaced_dates = [as_date(day) for day in session.execute(
        select(func.min(Order.sale_date), func.max(Order.sale_date))
        .where(Order.id.in_(overlap))).one() if day is not None]
    if replaced_dates and job_id is not None:  # kept so that undoing this import restores them
        replaced_rows.keep(session, job_id, overlap)
    session.execute(delete(OrderLine).where(OrderLine.order_id.in_(overlap)))
    # A DELETE's result is a CursorResult, which counts the rows it deleted.
    replaced = cast(CursorResult[Any],
                    session.execute(delete(Order).where(Order.id.in_(overlap)))).rowcount
    columns = [c.name for c in staging.columns]
    session.execute(insert(Order).from_select(columns, select(*staging.columns)))
    found = session.execute(
        select(Order.id, Order.platform_id, Order.order_number)
        .join(staging, and_(staging.c.platform_id == Order.platform_id,
                            staging.c.order_number == Order.order_number))).all()
    bulk.drop_table(session, staging)
    return (pd.DataFrame(found, columns=["order_id", "platform_id", "order_number"]), replaced,
            replaced_dates)


def _load_lines(session: Session, lines: pd.DataFrame, platforms: dict[str, int],
                products: pd.DataFrame, customers: dict[str, int],
                order_ids: pd.DataFrame) -> None:
    frame = pd.DataFrame({"platform_id": lines["platform"].map(platforms),
                          "order_number": lines["order_number"], "sku": lines["sku"]})
    frame = frame.merge(order_ids, on=["platform_id", "order_number"], how="left")
    frame = frame.merge(products, on="sku", how="left")
    unit_cost = lines["unit_cost"].where(lines["unit_cost"].notna(),
                                         frame["catalog_cost"].astype(float))
    out = pd.DataFrame({
        "order_id": frame["order_id"].astype("Int64"),
        "product_id": frame["product_id"].astype("Int64"),
        "quantity": lines["quantity"].astype("int64"),
        "unit_price": lines["unit_price"].astype(float),
        "unit_cost": unit_cost.astype(float),
        "sale_date": bulk.iso_dates(lines["o_date"]),
        "sale_hour": lines["o_hour"].astype("int64"),
        "platform_id": frame["platform_id"].astype("Int64"),
        "customer_id": lines["customer"].map(customers).astype("Int64"),
        "country": lines["o_country"].where(lines["o_country"] != "", None),
        "line_kind": lines["kind"].astype("int64")})
    bulk.insert_frame(session, OrderLine.__table__, out)
