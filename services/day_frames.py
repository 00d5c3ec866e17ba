"""Measures per day and member (platform, category or country) as wide frames: one read, a
row for every day of the lines and a column per member. The anomaly list reads them, and a
trained forecast keeps its view's frames (per platform, category and country) so that list
need not read them again."""
from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
from sqlalchemy import ColumnElement, func
from sqlalchemy.orm import Session

from models import OrderLine, Platform, Product
from services.overview import UNCATEGORISED
from services.rollups import Lines, aggregate_select

# What the per-platform frame holds: the anomaly list judges revenue days and order days.
# A trained forecast keeps it, which holds only while every change to platforms or order
# lines bumps the data revision (`data_changed(models=True)`, as imports and demo loads do).
PLATFORM_MEASURES = ("net_revenue", "orders")
# The other kinds of member a day's change is explained by; their frames hold one measure.
MEMBER_KINDS = ("category", "country")
Frames = dict[str, pd.DataFrame]


def dimensions() -> dict[str, tuple[ColumnElement[Any], list[tuple[Any, Any]]]]:
    """Per member kind, its labelled column and the joins it needs."""
    return {
        "platform": (Platform.name.label("platform"),
                     [(Platform, Platform.id == OrderLine.platform_id)]),
        "country": (func.coalesce(OrderLine.country, "Unknown").label("country"), []),
        "category": (func.coalesce(Product.category, UNCATEGORISED).label("category"),
                     [(Product, Product.id == OrderLine.product_id)]),
    }


def by_day(session: Session, lines: Lines, measures: list[str], kind: str,
           days: list[dt.date] | None = None) -> Frames:
    """Each measure per day (rows, every day of the lines) and member of `kind` (columns), in
    one read; only the given `days` are read (the others are 0) when they are given."""
    member, joins = dimensions()[kind]
    stmt = aggregate_select(lines, measures, [OrderLine.sale_date.label("day"), member], joins)
    if days is not None:
        # Not a date range: a day and its neighbours are 9 days spread over 9 weeks.
        stmt = stmt.where(stmt.selected_columns["day"].in_(days))
    # Tuples, not rows: pandas inspects every Row object (seven times slower at 6,000 rows).
    frame = pd.DataFrame([tuple(row) for row in session.execute(stmt)],
                         columns=["day", member.name, *measures])
    frame["day"] = pd.to_datetime(frame["day"]).dt.normalize()
    every_day = pd.date_range(lines.start, lines.end)
    # Each (day, member) is one group of the query: a pivot, summed only to be safe.
    grouped = frame.groupby(["day", member.name])
    return {measure: grouped[measure].sum().astype(float).unstack(fill_value=0.0)
            .reindex(every_day).fillna(0.0).rename_axis(columns=member.name)
            for measure in measures}


def platform_days(session: Session, lines: Lines) -> Frames:
    """Net revenue and orders per day and platform over the lines."""
    return by_day(session, lines, list(PLATFORM_MEASURES), "platform")


def member_days(session: Session, lines: Lines, measure: str,
                days: list[dt.date] | None = None) -> Frames:
    """The measure per day and category, and per day and country (by kind), over the lines:
    one read each; only the given `days` are read (the others are 0) when they are given."""
    return {kind: by_day(session, lines, [measure], kind, days)[measure]
            for kind in MEMBER_KINDS}


def between(frames: Frames, start: dt.date, end: dt.date) -> Frames:
    """The frames' days from `start` to `end`, with only the members that have any of them
    (what `by_day` over those days reads, once members with nothing are dropped)."""
    days = {measure: frame.loc[pd.Timestamp(start):pd.Timestamp(end)]
            for measure, frame in frames.items()}
    return present(days)


def present(frames: Frames) -> Frames:
    """The frames without the members whose every measure is 0 on every day: a member
    with nothing to show changes no total, no typical day and no driver."""
    shown = None
    for frame in frames.values():
        nonzero = (frame != 0).any()
        shown = nonzero if shown is None else shown | nonzero
    return {measure: frame.loc[:, shown] if shown is not None else frame
            for measure, frame in frames.items()}
