"""The order-country picker, one control for every page that filters by the order country
(`Filters.country`): its id, URL parameter and options."""
from __future__ import annotations

from dash import dcc

from dashapp.filters import View
from layouts.shell import PAGE_PARAM
from services.filters import ParamSpec

ALL_COUNTRIES = ""
COUNTRY = {"type": PAGE_PARAM, "name": "country"}
# A page that declares this parameter gets the picker's options filled (callbacks.country).
COUNTRY_PARAM = ParamSpec("country", default=ALL_COUNTRIES)


def country_picker(view: View) -> dcc.Dropdown:
    """The country choice; its options are filled by a callback (no query at layout time)."""
    chosen = view.filters.country
    return dcc.Dropdown(id=COUNTRY, options=country_options([], chosen), value=chosen,
                        clearable=False, searchable=True, className="country-picker")


def country_options(countries: list[str], chosen: str) -> list[dict[str, str]]:
    """The picker's options: every country with orders, and a linked one even without."""
    if chosen and chosen not in countries:
        countries = [*countries, chosen]
    return [{"label": "All countries", "value": ALL_COUNTRIES},
            *[{"label": name, "value": name} for name in countries]]
