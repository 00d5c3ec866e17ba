"""The Data page's new parts offer a user only what the services would let them do: the
product form to users without a platform limit, the demo load to an admin on an empty
database; the quality summary shows every reason and gap with its label."""
from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from flask import Flask

from layouts import data
from services.data_quality import GAP_LABELS, LEFT_OUT_LABELS, DataQuality
from tests.conftest import ANALYST, LIMITED, callback_request
from tests.layouts.test_data_layout import components, page_for


def ids_of(tree: Any) -> set[str]:
    """The string ids in a layout tree."""
    return {c.id for c in components(tree) if isinstance(getattr(c, "id", None), str)}


@pytest.mark.parametrize("email, products", [(ANALYST, True), (LIMITED, False)])
def test_the_product_form_is_for_users_without_a_platform_limit(app: Flask, email: str,
                                                                products: bool) -> None:
    page = page_for(app, email)
    fields = {c.id["field"] for c in components(page)
              if isinstance(getattr(c, "id", None), dict) and c.id.get("type") == data.PRODUCT}
    assert bool(fields) is products and (data.PRODUCT_SAVE in ids_of(page)) is products
    assert {data.QUALITY, data.UNDO_CHOICE, data.SALE_SAVE} <= ids_of(page)
    assert ("only a user without a platform limit adds products" in str(page)) is not products


def test_the_summary_offers_the_demo_load_to_an_admin_only(app: Flask) -> None:
    with callback_request(app, ANALYST):
        assert data.DEMO_LOAD in ids_of(data.quality_view(DataQuality(), True))
        assert data.DEMO_LOAD not in ids_of(data.quality_view(DataQuality(), False))
        coverage = [{"kind": "Sales (order lines)", "platform": "Shop", "rows": 8,
                     "first": dt.date(2024, 1, 1), "last": dt.date(2024, 2, 1)}]
        full = data.quality_view(DataQuality(coverage=coverage, lines=8,
                                             left_out=dict.fromkeys(LEFT_OUT_LABELS, 2),
                                             gaps=dict.fromkeys(GAP_LABELS, 4)), False)
    shown = str(full)
    assert all(label in shown for label in [*LEFT_OUT_LABELS.values(), *GAP_LABELS.values()])
    assert "2 (25.0%)" in shown and "2024-02-01" in shown
    assert data.DEMO_LOAD not in ids_of(full)
