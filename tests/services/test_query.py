"""The shared query helpers, on SQLite and PostgreSQL."""
from __future__ import annotations

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Product
from services.query import frame_of


def test_frame_of_holds_every_row_and_value_of_the_result(session: Session) -> None:
    """A frame of SQLAlchemy rows equals the frame of the same values read as plain tuples,
    row for row and type for type; no rows give the named, empty columns."""
    stmt = select(Product.id, Product.sku, Product.list_price, Product.active).order_by(Product.id)
    columns = ["product_id", "sku", "list_price", "active"]
    rows = session.execute(stmt).all()
    assert len(rows) > 10
    plain = [(row.id, row.sku, row.list_price, row.active) for row in rows]
    pd.testing.assert_frame_equal(frame_of(rows, columns), pd.DataFrame(plain, columns=columns))
    empty = frame_of(session.execute(stmt.where(Product.id < 0)).all(), columns)
    assert list(empty.columns) == columns and empty.empty
