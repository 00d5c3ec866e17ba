"""The panel registry: each chart, table or card of a page is declared once, as a `Panel`.

A panel names the service that computes it (`Source`), what of that result it shows
(`rows`), how it is drawn (`draw`), which filters apply to it, its export and its key in the
page's API response. Everything else is derived from that one declaration: the Dash callback
that fills it (`callbacks.panels`), its CSV/XLSX export (`callbacks.exports`), its entry in
`/api/v1/<page>` (`dashapp.api`) and in the OpenAPI description, and its card in the layout
(`panel_card`). See docs/architecture.md.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd
from dash import html

from dashapp.filters import View
from layouts.components import chart_card, graph
from layouts.shell import XFILTER
from services.filters import (
    CUSTOM,
    DEFAULT_GRAIN,
    GRAINS,
    Filters,
    Period,
    comparison_name,
    format_range,
)
from services.settings import BusinessSettings

# Every filter a panel may obey; `Panel.applies` lists those it does.
FILTERS = frozenset({"platform", "product", "category", "grain", "compare", "country",
                     "state"})
TIMELESS = FILTERS - {"grain"}  # what a chart without time on an axis obeys
NO_COMPARE = TIMELESS - {"compare"}  # ... and one without a comparison
# The Dash property each kind of panel fills.
PROPERTIES = {"graph": "figure", "html": "children", "grid": "rowData"}
GATE_SUFFIX = "-gate"  # a gated panel group's store (`Panel.gate_id`)
DUE_SUFFIX = "-due"  # the store that sends a group's view when it is not cached (`Panel.due_id`)


@dataclass(frozen=True)
class Source:
    """The service call behind one or more panels.

    `service(session, scope, filters, period, *choices)`, with the page choices named in
    `choices` in that order; `narrow` may change the filters first (a drill-down puts its
    product in place of the product filter). Panels with an equal source and equal
    `applies` are filled by one callback from one call.
    """

    service: Callable[..., Any]
    choices: tuple[str, ...] = ()
    narrow: Callable[[Filters, Mapping[str, str]], Filters] | None = None


@dataclass(frozen=True)
class Context:
    """What a panel's `draw` may use besides its rows: the view as the URL has it, the
    filters and dates the panel's source was actually called with, and display settings."""

    view: View
    filters: Filters
    period: Period
    currency: str
    empty: str  # why a chart of this view would be empty, in words
    data: Any = None  # the source's whole result (some panels show a part of it)
    # The business's settings in force (benchmarks, fiscal year, …; `currency` is its currency).
    business: BusinessSettings = BusinessSettings()


@dataclass(frozen=True)
class Drawn:
    """A drawn panel: its body (figure, children or grid rows), a note under it and, for
    panels with `lead`, a line above it."""

    body: Any
    note: str = ""
    lead: Any = None


def same(data: Any, _view: View) -> Any:
    """The panel shows its source's result as it is."""
    return data


def table_of(rows: Any, _view: View) -> pd.DataFrame:
    """A panel's rows as the table its export writes: frames as they are, a dict as one row."""
    if isinstance(rows, pd.DataFrame):
        return rows
    if isinstance(rows, Mapping):
        return pd.DataFrame([dict(rows)])
    return pd.DataFrame(list(rows))


@dataclass(frozen=True)
class Panel:
    """One chart, table or card of a page, declared once."""

    key: str  # DOM id of the body (or the chart name of a clickable chart) and export key
    title: str
    source: Source
    draw: Callable[[Any, Context], Drawn]
    api_key: str | tuple[str, ...]  # a tuple: the rows are a dict, and these keys of it
    rows: Callable[[Any, View], Any] = same
    kind: str = "graph"
    applies: frozenset[str] = TIMELESS
    time_axis: bool = False  # say so when granularity is not applied (hours, weekdays)
    xfilter: str | None = None  # the dimension a click on the chart filters by
    subtitle: str | None = None
    export_title: str | None = None
    table: Callable[[Any, View], pd.DataFrame] = table_of
    api_extra: tuple[tuple[str, Callable[[Any], Any]], ...] = ()  # from the source's result
    lead: bool = False
    height: int = 340
    toolbar: bool = True
    when: Callable[[View], bool] | None = None  # shown (and in the API) only when true
    placeholder: Any = None  # the body before the first callback fills it (html panels)
    tools: Callable[[View], Any] | None = field(default=None, compare=False)

    @property
    def component_id(self) -> str | dict[str, str]:
        """The id of the panel's body: clickable charts carry their dimension."""
        if self.xfilter:
            return {"type": XFILTER, "dim": self.xfilter, "chart": self.key}
        return self.key

    @property
    def note_id(self) -> str:
        """The id of the note under the body."""
        return f"{self.key}-note"

    @property
    def lead_id(self) -> str:
        """The id of the line above the body."""
        return f"{self.key}-lead"

    @property
    def api_keys(self) -> tuple[str, ...]:
        """The keys this panel fills in the page's API response."""
        keys = (self.api_key,) if isinstance(self.api_key, str) else self.api_key
        return keys + tuple(name for name, _extra in self.api_extra)

    @property
    def prop(self) -> str:
        """The Dash property the body fills."""
        return PROPERTIES[self.kind]

    def shown(self, view: View) -> bool:
        """Whether the panel is part of this view (a drill-down hides the overview)."""
        return self.when is None or self.when(view)

    @property
    def gate_id(self) -> str:
        """The store that passes the view on to the panel's callback only while the panel is
        shown (panels with a `when`; see `callbacks.panels`)."""
        return f"{self.key}{GATE_SUFFIX}"

    @property
    def due_id(self) -> str:
        """The store through which the page's delivery of cached panels passes the view on
        to the panel's group when its answer is not cached (see `callbacks.panels`)."""
        return f"{self.key}{DUE_SUFFIX}"


# The filters a panel may not obey, as (Filters field, its "not set" value).
# Each filter: the field it sets and the field's unset value (of that field's type).
_RESETS: dict[str, tuple[str, Any]] = {
    "platform": ("platforms", ()), "product": ("products", ()),
    "category": ("categories", ()), "country": ("country", ""), "state": ("state", "")}


def effective(panel: Panel, view: View, period: Period) -> tuple[Filters, Period]:
    """The filters and dates the panel's source is called with: filters it does not obey
    are reset (so they can neither change nor split its numbers), then narrowed."""
    filters = view.filters
    if "grain" not in panel.applies:
        filters = replace(filters, grain=DEFAULT_GRAIN)
    if "compare" not in panel.applies:
        filters = replace(filters, compare="none")
        period = replace(period, compare_start=None, compare_end=None)
    filters = replace(filters, **{name: unset for key, (name, unset) in _RESETS.items()
                                  if key not in panel.applies})
    if panel.source.narrow is not None:
        filters = panel.source.narrow(filters, view.page)
    return filters, period


def not_applied(panel: Panel, view: View) -> str:
    """Name the chosen settings this panel does not use, instead of ignoring them silently."""
    filters = view.filters
    names = []
    if panel.time_axis and "grain" not in panel.applies and filters.grain != DEFAULT_GRAIN:
        names.append(f"granularity ({GRAINS[filters.grain].lower()})")
    if "compare" not in panel.applies and filters.compare != "none":
        name = comparison_name(filters) or ""
        names.append(f"comparison ({name if filters.compare == CUSTOM else name.lower()})")
    names += [f"{key} ({getattr(filters, key)})" for key in ("country", "state")
              if key not in panel.applies and getattr(filters, key)]
    names += [key for key, (name, _unset) in _RESETS.items()
              if key not in panel.applies and key not in ("country", "state")
              and getattr(filters, name)]
    return f"Not applied to this panel: {', '.join(names)}." if names else ""


def empty_message(filters: Filters, period: Period, platform_names: Mapping[str, str]) -> str:
    """Why a chart is empty, in words: 'No sales to France on Instagram in 1–30 Apr 2011.'"""
    if period.first_data is None:
        return "No sales data yet: load the demo data (pulseboard demo-data) or import a file."
    where = f" to {filters.country}" if filters.country else ""
    if filters.platforms:
        where += " on " + ", ".join(platform_names.get(slug, slug) for slug in filters.platforms)
    what = " for the selected products" if filters.products or filters.categories else ""
    text = f"No sales{where}{what} in {format_range(period.start, period.end)}"
    last = period.last_data
    if last and (period.start < period.first_data or period.end > last):
        # The range reaches past the data: say where the data is.
        text += (f"; the data runs from {format_range(period.first_data, period.first_data)} "
                 f"to {format_range(last, last)}")
    return text + "."


def panel_body(panel: Panel) -> Any:
    """The component the panel's callback fills."""
    if panel.kind == "graph":
        return graph(panel.component_id, panel.height, toolbar=panel.toolbar)
    if panel.kind == "grid":
        raise ValueError(f"{panel.key}: a grid panel's layout gives its own body")
    return html.Div(panel.placeholder, id=panel.key, className="panel-body")


def panel_card(panel: Panel, view: View, body: Any = None) -> Any:
    """The panel's card: title, tools, export buttons, body, the note under it."""
    content = body if body is not None else panel_body(panel)
    if panel.lead:
        content = html.Div([html.P(id=panel.lead_id, className="panel-lead mb-1"), content])
    return chart_card(panel.title, content, panel.note_id,
                      tools=panel.tools(view) if panel.tools else None,
                      subtitle=panel.subtitle, export_key=panel.key,
                      height=panel.height if panel.kind == "graph" and body is None else None)


def by_key(panels: Sequence[Panel]) -> dict[str, Panel]:
    """The panels by key; refuses two panels with one key."""
    found: dict[str, Panel] = {}
    for panel in panels:
        if panel.key in found:
            raise ValueError(f"two panels are declared as {panel.key!r}")
        found[panel.key] = panel
    return found
