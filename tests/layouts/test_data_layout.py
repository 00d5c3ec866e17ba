"""The Data page offers a user only what the import services would let them do: a
platform-limited analyst sees neither the shared reference kinds nor "Save mapping"."""
from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from dashapp.filters import parse_query
from layouts import data
from services.imports.access import PLATFORM_KINDS, REFERENCE_KINDS
from tests.conftest import ANALYST, LIMITED, callback_request


def components(tree: Any) -> list[Any]:
    """Every component of a layout tree."""
    found = [tree]
    children = getattr(tree, "children", None)
    for child in children if isinstance(children, list) else [children]:
        if child is not None and hasattr(child, "to_plotly_json"):
            found += components(child)
    return found


def by_id(tree: Any, component_id: Any) -> Any:
    """The component with `component_id`."""
    return next(c for c in components(tree) if getattr(c, "id", None) == component_id)


def page_for(app: Flask, email: str) -> Any:
    """The Data page as `email` gets it."""
    with callback_request(app, email):
        return data.layout(parse_query("", data.PARAMS))


@pytest.mark.parametrize("email, kinds, may_save", [
    (ANALYST, PLATFORM_KINDS | REFERENCE_KINDS, True),
    (LIMITED, PLATFORM_KINDS, False),
])
def test_the_wizard_offers_what_the_user_may_import(app: Flask, email: str,
                                                    kinds: frozenset[str],
                                                    may_save: bool) -> None:
    page = page_for(app, email)
    offered = {option["value"] for option in by_id(page, data.KIND).options}
    assert offered == kinds | {data.AUTO_KIND}
    templates = {c.id["kind"] for c in components(page)
                 if isinstance(getattr(c, "id", None), dict)
                 and c.id.get("type") == data.TEMPLATE}
    assert templates == kinds
    assert by_id(page, data.SAVE_MAPPING).disabled is (not may_save)
    text = str(page.to_plotly_json())
    assert ("only a user without a platform limit saves them" in text) is (not may_save)
