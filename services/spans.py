"""Which days a page's data covers: the span its date range is resolved against.

The sales pages resolve "All time", the presets and the date pickers against the days with
a sale. The Funnel and Pipeline pages filter other tables, so they resolve against their own:
the funnel days, and the days deals were created, changed stage or closed. A business that
imports only a CRM file then gets a working "All time" on the Pipeline page, and a page
whose data ends earlier than the sales opens on its own last 30 days. A page names its span
in `layouts.pages.Page.span`; `resolve` is the one place that turns filters into dates.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, union_all
from sqlalchemy.orm import Session

from models import FunnelDay, Opportunity, StageChange
from services.cache import cached
from services.filters import SALES_WORDS, Filters, Period, SpanWords, resolve_period
from services.pipeline import deal_conditions
from services.query import as_date, scope_condition
from services.sales import data_bounds
from services.scope import Scope

Bounds = tuple[dt.date | None, dt.date | None]
SALES = "sales"
FUNNEL = "funnel"
PIPELINE = "pipeline"


def _days(first: Any, last: Any) -> Bounds:
    return (None if first is None else as_date(first)), (None if last is None else as_date(last))


@cached
def funnel_bounds(session: Session, scope: Scope) -> Bounds:
    """First and last funnel day the scope can see (None, None without any)."""
    return _days(*session.execute(select(func.min(FunnelDay.date), func.max(FunnelDay.date))
                                  .where(scope_condition(scope, FunnelDay.platform_id))).one())


@cached
def pipeline_bounds(session: Session, scope: Scope) -> Bounds:
    """First and last day a deal the scope can see was created, changed stage or closed
    (None, None without any). An expected close is a plan, not an event: it never extends
    the span, so "All time" and the presets end on the last thing that happened."""
    deals = deal_conditions(Filters(), scope)
    days = union_all(
        select(Opportunity.created_on.label("day")).where(*deals),
        select(Opportunity.closed_on.label("day")).where(*deals),
        select(StageChange.entered_on.label("day"))
        .join(Opportunity, Opportunity.id == StageChange.opportunity_id).where(*deals),
    ).subquery()
    return _days(*session.execute(select(func.min(days.c.day), func.max(days.c.day))).one())


@dataclass(frozen=True)
class Span:
    """A page's data span: how its bounds are read and how its dates' words name it."""

    bounds: Callable[[Session, Scope], Bounds]
    words: SpanWords


SPANS: dict[str, Span] = {
    SALES: Span(data_bounds, SALES_WORDS),
    FUNNEL: Span(funnel_bounds, SpanWords("funnel data", "the first funnel day", "funnel")),
    PIPELINE: Span(pipeline_bounds, SpanWords("pipeline data", "the first deal", "pipeline")),
}


def span_bounds(session: Session, scope: Scope, span: str = SALES) -> Bounds:
    """The first and last day of a span's data the scope can see."""
    return SPANS[span].bounds(session, scope)


@cached
def resolve(session: Session, scope: Scope, filters: Filters, span: str = SALES) -> Period:
    """The concrete dates of `filters` against the days of the span's data the scope can
    see, the label naming that data ("all pipeline data, 7 Nov 2024 – 31 Oct 2026")."""
    first, last = span_bounds(session, scope, span)
    return resolve_period(filters, first, last, words=SPANS[span].words)
