"""The names a SKU is sold under: the product keeps the latest, the others stay listed.

A SKU's description changes in real files (UCI: "HAND WARMER RED POLKA DOT" became "HAND
WARMER RED RETROSPOT"). Every name is kept in `product_names` with the first and last day a
line carried it; the product's own name is the one on its latest line (by the line's time,
then its place in the file), and the drill-down lists the others ("also sold as …").

Names come from lines with a price above zero: stock movements carry notes in the
description instead ("amazon", "damaged", "?"). A SKU that only has such lines takes its
names from all of them, so it still gets one.
"""
from __future__ import annotations

import pandas as pd
from sqlalchemy import bindparam, update
from sqlalchemy.orm import Session

from models import Product
from models.catalog import ProductName
from services.imports import bulk

NAME_LENGTH = 255  # products.name and product_names.name


def sku_names(lines: pd.DataFrame) -> pd.DataFrame:
    """Per SKU and name of the file's valid lines: `first_seen`, `last_seen` (local days) and
    `latest` (True for the SKU's latest name)."""
    named = lines.loc[lines["name"] != "", ["row", "sku", "name", "unit_price", "local",
                                            "sale_date"]]
    priced = named["unit_price"] > 0
    named = named.loc[priced | ~priced.groupby(named["sku"]).transform("any")]
    named = named.assign(name=named["name"].str.slice(0, NAME_LENGTH))
    names = named.groupby(["sku", "name"], sort=False).agg(
        first_seen=("sale_date", "min"), last_seen=("sale_date", "max"),
        last_time=("local", "max"), last_row=("row", "max")).reset_index()
    names = names.sort_values(["sku", "last_time", "last_row"], ascending=[True, False, False])
    names["latest"] = ~names["sku"].duplicated()
    return names[["sku", "name", "first_seen", "last_seen", "latest"]].reset_index(drop=True)


def latest_names(names: pd.DataFrame) -> pd.Series:
    """The latest name of each SKU, indexed by SKU."""
    return names.loc[names["latest"]].set_index("sku")["name"]


def load_names(session: Session, names: pd.DataFrame, products: pd.DataFrame,
               shared: bool = True) -> None:
    """Merge the file's names into `product_names` (the seen days widen, never shrink) and,
    with `shared`, give each product the name it was last sold under (see `_rename`).

    `products` has `sku` and `product_id`. A limited user (not `shared`) records names only
    for products that have none yet (the ones the import created) and renames nothing.
    """
    if names.empty:
        return
    frame = names.merge(products[["sku", "product_id"]], on="sku")
    table = ProductName.__table__
    stored = pd.DataFrame(bulk.rows_in(
        session, [table.c.product_id, table.c.name, table.c.first_seen, table.c.last_seen],
        table.c.product_id, frame["product_id"].tolist()),
        columns=["product_id", "name", "first_seen", "last_seen"])
    if not shared:
        frame = frame.loc[~frame["product_id"].isin(stored["product_id"])]
    merged = _merged(frame, stored)
    bulk.upsert(session, table, [
        {"product_id": int(row.product_id), "name": row.name,
         "first_seen": row.first_seen, "last_seen": row.last_seen}
        for row in merged.itertuples()], key=("product_id", "name"),
        update=("first_seen", "last_seen"))
    if shared:
        _rename(session, merged)


def _merged(frame: pd.DataFrame, stored: pd.DataFrame) -> pd.DataFrame:
    """The file's names and the stored ones of the same products, one row per name: the
    earliest first day, the latest last day; `latest` where the file's latest name is."""
    old = stored.loc[stored["product_id"].isin(frame["product_id"])].assign(latest=False)
    both = pd.concat([frame[["product_id", "name", "first_seen", "last_seen", "latest"]], old],
                     ignore_index=True)
    # As datetimes while grouping: the min and max of date objects run in Python, per group.
    days = ["first_seen", "last_seen"]
    for column in days:  # one column at a time: an empty frame's apply returns it unchanged
        both[column] = pd.to_datetime(both[column])
    merged = both.groupby(["product_id", "name"], as_index=False).agg(
        first_seen=("first_seen", "min"), last_seen=("last_seen", "max"),
        latest=("latest", "any"))
    for column in days:
        merged[column] = merged[column].dt.date
    return merged


def _rename(session: Session, merged: pd.DataFrame) -> None:
    """Each product takes the name seen last (on the same last day, the file's latest),
    unless its name is none it was sold under: a catalogue file named it, and that stays."""
    ranked = merged.sort_values(["product_id", "last_seen", "latest"],
                                ascending=[True, False, False])
    winners = ranked.drop_duplicates("product_id")
    current = pd.DataFrame(bulk.rows_in(session, [Product.id, Product.name], Product.id,
                                        winners["product_id"].tolist()),
                           columns=["product_id", "name"])
    sold_as = current.merge(merged[["product_id", "name"]], on=["product_id", "name"])
    winners = winners.loc[winners["product_id"].isin(sold_as["product_id"])
                          & ~winners.set_index(["product_id", "name"]).index.isin(
                              current.set_index(["product_id", "name"]).index)]
    if winners.empty:
        return
    session.execute(update(Product.__table__).where(Product.id == bindparam("b_id"))
                    .values(name=bindparam("b_name")),
                    [{"b_id": int(row.product_id), "b_name": row.name}
                     for row in winners.itertuples()])
