"""Running a declared panel inside a request: its source called in the user's scope with the
filters that apply to it, and the rows it shows. Callbacks, exports and the API all use
this, so a panel's chart, its download and its API entry are the same numbers."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dashapp.context import fetch
from dashapp.filters import View
from layouts.panels import Panel, effective
from services.filters import Filters, Period


def source_key(panel: Panel) -> tuple[Any, ...]:
    """Panels with equal keys are answered by one call of one source."""
    return (panel.source, panel.applies)


def source_data(panel: Panel, view: View, period: Period) -> tuple[Any, Filters, Period]:
    """The result of the panel's source for the view, with the filters and dates used."""
    filters, dates = effective(panel, view, period)
    choices = [view.page[name] for name in panel.source.choices]
    return fetch(panel.source.service, filters, dates, *choices), filters, dates


def panel_rows(panel: Panel, view: View, period: Period) -> Any:
    """What the panel shows for the view (the numbers its chart, export and API entry hold)."""
    data, _filters, _dates = source_data(panel, view, period)
    return panel.rows(data, view)


def grouped(panels: Sequence[Panel]) -> list[list[Panel]]:
    """The panels in declaration order, grouped by the source call that answers them."""
    groups: dict[tuple[Any, ...], list[Panel]] = {}
    for panel in panels:
        groups.setdefault(source_key(panel), []).append(panel)
    return list(groups.values())


def gated(panels: Sequence[Panel]) -> list[Panel]:
    """The first panel of each group shown only in some views (it stands for its group:
    `callbacks.panels.draw_group` asks it whether the group is shown)."""
    return [group[0] for group in grouped(panels) if group[0].when is not None]


def delivered(panels: Sequence[Panel]) -> list[Panel]:
    """The first panel of each group every view shows: the page delivers these groups'
    cached answers in one callback (`callbacks.panels.register_delivery`)."""
    return [group[0] for group in grouped(panels) if group[0].when is None]


def shown_gates(panels: Sequence[Panel], view: View) -> list[str]:
    """The gate ids of the gated groups this view shows: the browser passes the view on to
    those groups' callbacks only (assets/pulseboard.js `passShown`)."""
    return [panel.gate_id for panel in gated(panels) if panel.shown(view)]
