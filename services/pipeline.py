"""The Pipeline page: the B2B deals (opportunities), their stages, reps and quotas.

Which date a range filters differs by question, and each function says which: deals
*created* in the range (the stage funnel), deals *closed* in the range (win rate, deal size,
cycle, quota attainment, won per month), deals *open at the range's last day* (the open
pipeline KPIs), and open deals by *expected close* (the forecast). The product filter never
applies (it picks catalogue products; a deal's product is a CRM's free text); the platform
filter keeps the deals of the chosen platforms and the deals without a platform (it says
nothing about them), while a platform-limited user sees only deals of their platforms.
Sums and counts are taken in the database.

The stages are the business's own (`pipeline_stages`: order, default probability, outcome),
read once per request by `stage_order`. An open deal may lack an amount (left out of value
sums, counted), an account or a created date (counted as open on every day, and in the stage
funnel whatever the range).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import (
    ColumnElement,
    RowMapping,
    SQLColumnExpression,
    String,
    Subquery,
    and_,
    case,
    cast,
    false,
    func,
    null,
    or_,
    select,
)
from sqlalchemy.orm import Session

from models import Account, Opportunity, Platform, SalesRep, StageChange
from models.pipeline import PipelineStage
from services.cache import cached, reuse
from services.filters import Filters, Period
from services.metrics import money
from services.periods import month_start
from services.query import as_date, bucket, days_between, frame_of
from services.scope import Scope

WON = "won"  # the funnel's last step: the outcome, whatever the won stage is called
STALE_CHOICES = ("14", "30", "60", "90")
KPIS = ("open_value", "weighted_value", "open_deals", "win_rate", "avg_deal_size",
        "avg_cycle_days", "won_value")
RATIO_KPIS = frozenset({"win_rate"})  # a change in points, not relative


# --- the stages -------------------------------------------------------------------------------

@dataclass(frozen=True)
class Stages:
    """The business's stages: the open ones in order, each stage's rank (won and lost stages
    rank after every open one) and the default probabilities an admin or an import set."""

    open: tuple[str, ...]
    ranks: dict[str, int]
    defaults: dict[str, float]

    @property
    def funnel(self) -> tuple[str, ...]:
        """The funnel's steps: the open stages, then won."""
        return (*self.open, WON)


def stage_label(stage: str) -> str:
    """How a stage is named on the page: 'lead' is 'Lead', 'Engaging' stays."""
    return "Won" if stage == WON else stage[:1].upper() + stage[1:]


@cached
def stage_order(session: Session, scope: Scope) -> Stages:
    """The stages from `pipeline_stages`, in their order (shared by every platform)."""
    rows = session.execute(select(PipelineStage.name, PipelineStage.outcome,
                                  PipelineStage.probability)
                           .order_by(PipelineStage.position, PipelineStage.id)).all()
    opened = tuple(name for name, outcome, _p in rows if outcome == "open")
    ranks = {name: rank for rank, name in enumerate(opened, 1)}
    ranks.update({name: len(opened) + 1 for name, outcome, _p in rows if outcome != "open"})
    defaults = {name: float(p) for name, outcome, p in rows
                if outcome == "open" and p is not None}
    return Stages(opened, ranks, defaults)


# --- which deals ------------------------------------------------------------------------------

def deal_conditions(filters: Filters, scope: Scope) -> list[ColumnElement[bool]]:
    """The scope (strict: only the user's platforms) and the platform filter (deals of the
    chosen platforms, and deals without a platform, which it cannot judge)."""
    conditions: list[ColumnElement[bool]] = []
    if scope.platform_ids is not None:
        conditions.append(Opportunity.platform_id.in_(sorted(scope.platform_ids))
                          if scope.platform_ids else false())
    if filters.platforms:
        conditions.append(or_(Opportunity.platform_id.is_(None), Opportunity.platform_id.in_(
            select(Platform.id).where(Platform.slug.in_(filters.platforms)))))
    return conditions


def _between(column: Any, start: dt.date, end: dt.date) -> ColumnElement[bool]:
    return and_(column.is_not(None), column.between(start, end))


def _open_at(day: dt.date) -> ColumnElement[bool]:
    """Deals created by `day` (or on an unknown day) and not closed by it."""
    return and_(or_(Opportunity.created_on.is_(None), Opportunity.created_on <= day),
                or_(Opportunity.closed_on.is_(None), Opportunity.closed_on > day),
                or_(Opportunity.outcome == "open", Opportunity.closed_on.is_not(None)))


def _stage_at(day: dt.date) -> ColumnElement[Any]:
    """The stage a deal was in on `day`: its last stage change by then, else its stage now."""
    last = (select(StageChange.stage)
            .where(StageChange.opportunity_id == Opportunity.id, StageChange.entered_on <= day)
            .order_by(StageChange.entered_on.desc(), StageChange.id.desc())
            .limit(1).correlate(Opportunity).scalar_subquery())
    return func.coalesce(last, Opportunity.stage)


# --- the probability of an open deal ----------------------------------------------------------

def _deal_rows(stages: Stages, conditions: Sequence[ColumnElement[bool]]) -> Subquery:
    """One row per deal meeting `conditions`: its outcome, stage, amount and created date,
    its number of stage changes and, per open stage, whether its history entered it
    (`entered_0`, … in the stages' order). The history is joined once and grouped per deal,
    instead of a lookup per deal and stage (2 × stages lookups per deal)."""
    entered = [func.max(case((StageChange.stage == stage, 1), else_=0)).label(f"entered_{i}")
               for i, stage in enumerate(stages.open)]
    kept = (Opportunity.id, Opportunity.outcome, Opportunity.stage, Opportunity.amount,
            Opportunity.created_on)
    return (select(*kept, func.count(StageChange.id).label("changes"), *entered)
            .outerjoin(StageChange, StageChange.opportunity_id == Opportunity.id)
            .where(*conditions).group_by(*kept).subquery("deals"))


def _reached(stage: str, stages: Stages, deals: Subquery) -> ColumnElement[bool]:
    """The deal (a row of `_deal_rows`) entered `stage`: its history says so, or it is there
    now, or (a deal without history, as CRM exports are) its stage now comes later in the
    order; won for 'won'."""
    if stage == WON:
        return deals.c.outcome == "won"
    rank = case(stages.ranks, value=deals.c.stage, else_=0) if stages.ranks else null()
    return or_(deals.c[f"entered_{stages.open.index(stage)}"] == 1, deals.c.stage == stage,
               and_(deals.c.changes == 0, rank >= stages.ranks.get(stage, 0)))


def _win_rates(session: Session, scope: Scope, stages: Stages) -> dict[str, float | None]:
    """Per open stage: the share won of the closed deals that reached it (all history)."""
    if not stages.open:
        return {}
    deals = _deal_rows(stages, [Opportunity.outcome.in_(("won", "lost")),
                                *deal_conditions(Filters(), scope)])
    won = deals.c.outcome == "won"
    measures: list[ColumnElement[Any]] = []
    for stage in stages.open:  # one query for every stage: won and closed that reached it
        reached = _reached(stage, stages, deals)
        measures += [func.count().filter(and_(won, reached)), func.count().filter(reached)]
    row = session.execute(select(*measures).select_from(deals)).one()
    return {stage: row[2 * i] / row[2 * i + 1] if row[2 * i + 1] else None
            for i, stage in enumerate(stages.open)}


@cached
def stage_win_rates(session: Session, scope: Scope) -> dict[str, float | None]:
    """Per open stage: the share won of the closed deals that reached it (all history).

    This is the probability of a deal at that stage when none is stored on the deal or as
    the stage's default.
    """
    return _win_rates(session, scope, reuse(stage_order, session, scope))


@dataclass(frozen=True)
class Weights:
    """The stages and their historical win rates: what weighs an open deal."""

    stages: Stages
    win_rates: dict[str, float | None]

    @property
    def probabilities(self) -> dict[str, float | None]:
        """Per open stage, the probability of a deal without its own: the stage's default
        when one is set, else the historical win rate."""
        return {**self.win_rates, **self.stages.defaults}


def stage_weights(session: Session, scope: Scope) -> Weights:
    """The stages and their win rates (cached once for the four services that weigh deals:
    the win rates scan every closed deal's history)."""
    return Weights(reuse(stage_order, session, scope), reuse(stage_win_rates, session, scope))


def _probability(stage: SQLColumnExpression[Any], rates: dict[str, float | None],
                 stored: bool = True) -> ColumnElement[Any]:
    """A deal's probability: the stored one (if `stored`), else its stage's win rate."""
    known = {key: value for key, value in rates.items() if value is not None}
    estimated: ColumnElement[Any] = case(known, value=stage, else_=null()) if known else null()
    return func.coalesce(Opportunity.probability, estimated) if stored else estimated


# --- KPIs -------------------------------------------------------------------------------------

Measures = dict[str, ColumnElement[Any]]


def _open_measures(day: dt.date, weights: Weights) -> tuple[ColumnElement[bool], Measures]:
    """Which deals are open on `day`, and the sums over them: count, value and weighted value
    (stored probability while the deal is still at the stage it has now, else the
    probability of the stage it had then), how many were weighed by a stored probability or
    a stage default, and how many have no amount."""
    is_open = _open_at(day)
    stage = _stage_at(day)
    same_stage = and_(stage == Opportunity.stage, Opportunity.probability.is_not(None))
    probability = case((same_stage, Opportunity.probability),
                       else_=_probability(stage, weights.probabilities, stored=False))
    weighed = sorted(weights.stages.defaults)  # stages whose default probability weighs a deal
    by_default = and_(~same_stage, stage.in_(weighed)) if weighed else false()
    return is_open, {
        "open_deals": func.count().filter(is_open),
        "open_value": func.sum(Opportunity.amount).filter(is_open),
        "weighted_value": func.sum(Opportunity.amount * probability).filter(is_open),
        "stored_probabilities": func.count().filter(and_(is_open, same_stage)),
        "default_probabilities": func.count().filter(and_(is_open, by_default)),
        "open_without_amount": func.count().filter(and_(is_open, Opportunity.amount.is_(None)))}


def _closed_measures(start: dt.date, end: dt.date) -> tuple[ColumnElement[bool], Measures]:
    """Which deals closed in the range, and the sums over them: won and closed deals, won
    value, average cycle of the won ones."""
    closed = and_(_between(Opportunity.closed_on, start, end),
                  Opportunity.outcome.in_(("won", "lost")))
    won = and_(closed, Opportunity.outcome == "won")
    return closed, {
        "won_deals": func.count().filter(won), "closed_deals": func.count().filter(closed),
        "won_value": func.sum(Opportunity.amount).filter(won),
        "avg_cycle_days": func.avg(days_between(Opportunity.closed_on, Opportunity.created_on))
        .filter(won)}


def _totals(row: RowMapping, prefix: str) -> dict[str, Any]:
    """One period's KPIs from the combined row (its columns are named `prefix_measure`)."""
    counts = {key: int(row[f"{prefix}_{key}"]) for key in (
        "open_deals", "stored_probabilities", "default_probabilities", "open_without_amount",
        "won_deals", "closed_deals")}
    sums = {key: money(row[f"{prefix}_{key}"]) for key in (
        "open_value", "weighted_value", "won_value")}
    wins, closed, cycle = counts["won_deals"], counts["closed_deals"], \
        row[f"{prefix}_avg_cycle_days"]
    return {**counts, **sums, "win_rate": wins / closed if closed else None,
            "avg_deal_size": sums["won_value"] / wins if wins else None,
            "avg_cycle_days": float(cycle) if cycle is not None else None}


def _change(key: str, current: float | None, comparison: float | None) -> float | None:
    if current is None or comparison is None:
        return None
    if key in RATIO_KPIS:
        return current - comparison
    return (current - comparison) / abs(comparison) if comparison else None


@cached
def pipeline_kpis(session: Session, scope: Scope, filters: Filters,
                  period: Period) -> dict[str, Any]:
    """The KPI cards with the comparison period: open and weighted pipeline at the range's
    last day, win rate, average deal size, average cycle and won value of deals closed in it.

    `probability` says how the weighted value was weighed: how many open deals had a stored
    probability, how many a stage default, and the stage win rates used for the others;
    `counts` how many open deals have no amount (left out of the values).
    """
    weights = stage_weights(session, scope)
    spans = {"current": (period.start, period.end)}
    if period.comparison:  # only a comparison the data covers wholly: a partial one is no base
        spans["comparison"] = period.comparison
    # One pass over the deals for both periods: each sum keeps only its own deals (FILTER).
    which: list[ColumnElement[bool]] = []
    measures: list[ColumnElement[Any]] = []
    for name, (start, end) in spans.items():
        for deals, sums in (_open_measures(end, weights), _closed_measures(start, end)):
            which.append(deals)
            measures += [measure.label(f"{name}_{key}") for key, measure in sums.items()]
    row = session.execute(select(*measures).where(or_(*which),
                                                  *deal_conditions(filters, scope))).one()
    current = _totals(row._mapping, "current")
    previous = _totals(row._mapping, "comparison") if period.comparison else None
    kpis = {key: {"current": current[key],
                  "comparison": previous[key] if previous else None,
                  "change": _change(key, current[key], previous[key]) if previous else None}
            for key in KPIS}
    return {"kpis": kpis,
            "probability": {"stored": current["stored_probabilities"],
                            "default": current["default_probabilities"],
                            "estimated": current["open_deals"] - current["stored_probabilities"]
                            - current["default_probabilities"],
                            "stage_win_rates": weights.win_rates,
                            "stage_defaults": weights.stages.defaults},
            "counts": {key: current[key] for key in ("won_deals", "closed_deals",
                                                     "open_without_amount")}}


# --- the stage funnel -------------------------------------------------------------------------

def _days_in_stage(session: Session, conditions: Sequence[ColumnElement[bool]]) -> dict[str, Any]:
    """Average days from entering each stage to entering the next, over finished stays."""
    following = func.lead(StageChange.entered_on).over(
        partition_by=StageChange.opportunity_id,
        order_by=(StageChange.entered_on, StageChange.id))
    stays = (select(StageChange.stage.label("stage"), StageChange.entered_on.label("entered"),
                    following.label("left"))
             .join(Opportunity, Opportunity.id == StageChange.opportunity_id)
             .where(*conditions).subquery())
    rows = session.execute(
        select(stays.c.stage, func.avg(days_between(stays.c.left, stays.c.entered)),
               func.count()).where(stays.c.left.is_not(None)).group_by(stays.c.stage)).all()
    return {stage: (float(days), int(count)) for stage, days, count in rows}


@cached
def stage_funnel(session: Session, scope: Scope, filters: Filters,
                 period: Period) -> pd.DataFrame:
    """Deals created in the range (and deals without a created date, whatever the range): how
    many reached each stage and their value, how many are still open there, conversion to the
    next stage, average days in the stage.

    Conversion from a stage = deals that reached the next one / deals that left this one
    (reached it and are not still open in it). Columns: stage, label, deals, value,
    no_amount (deals left out of the value), undated (deals without a created date),
    open_here, conversion, avg_days, stays, win_rate (history's win rate from the stage).
    """
    weights = stage_weights(session, scope)
    stages = weights.stages
    steps = stages.funnel
    conditions = [or_(Opportunity.created_on.is_(None),
                      Opportunity.created_on.between(period.start, period.end)),
                  *deal_conditions(filters, scope)]
    deals = _deal_rows(stages, conditions)
    measures: list[ColumnElement[Any]] = []
    for stage in steps:
        reached = _reached(stage, stages, deals)
        here = and_(deals.c.outcome == "open", deals.c.stage == stage)
        measures += [func.count().filter(reached), func.sum(deals.c.amount).filter(reached),
                     func.count().filter(here),
                     func.count().filter(and_(reached, deals.c.amount.is_(None))),
                     func.count().filter(and_(reached, deals.c.created_on.is_(None)))]
    row = session.execute(select(*measures).select_from(deals)).one()
    days = _days_in_stage(session, conditions)
    rates = weights.win_rates
    width = len(measures) // len(steps)

    def column(offset: int) -> list[Any]:
        return [row[width * i + offset] for i in range(len(steps))]

    frame = pd.DataFrame({
        "stage": list(steps), "label": [stage_label(s) for s in steps],
        "deals": [int(n) for n in column(0)], "value": [money(v) for v in column(1)],
        "no_amount": [int(n) for n in column(3)], "undated": [int(n) for n in column(4)],
        "open_here": [int(n) for n in column(2)]})
    left = frame["deals"] - frame["open_here"]
    next_deals = frame["deals"].shift(-1)
    frame["conversion"] = (next_deals / left).where(left > 0)
    frame.loc[frame["stage"] == WON, "conversion"] = np.nan
    frame["avg_days"] = [days.get(s, (np.nan, 0))[0] for s in steps]
    frame["stays"] = [days.get(s, (np.nan, 0))[1] for s in steps]
    frame["win_rate"] = [rates.get(s) if s != WON else 1.0 for s in steps]
    frame["win_rate"] = frame["win_rate"].astype(float)
    return frame


# --- quota attainment -------------------------------------------------------------------------

def quarter_start(day: dt.date) -> dt.date:
    """The first day of the calendar quarter of `day`."""
    return dt.date(day.year, (day.month - 1) // 3 * 3 + 1, 1)


def quarters_of(period: Period) -> tuple[dt.date, int]:
    """Where the quarters the range touches begin, and how many there are."""
    first = quarter_start(period.start)
    last = quarter_start(period.end)
    return first, (last.year - first.year) * 4 + (last.month - first.month) // 3 + 1


@cached
def quota_attainment(session: Session, scope: Scope, filters: Filters,
                     period: Period) -> pd.DataFrame:
    """Every rep's won value in the quarters the range touches (from the first one's start to
    the range's end: a quarter in progress counts to date) against their quota for them.

    Columns: rep, team, region, won_value, won_deals, quota, attainment (None without a
    quota), window_start, window_end, quarters; the best first.
    """
    start, quarters = quarters_of(period)
    won = and_(Opportunity.rep_id == SalesRep.id, Opportunity.outcome == "won",
               _between(Opportunity.closed_on, start, period.end),
               *deal_conditions(filters, scope))
    stmt = (select(SalesRep.name, SalesRep.team, SalesRep.region, SalesRep.quarterly_quota,
                   func.coalesce(func.sum(Opportunity.amount), 0), func.count(Opportunity.id))
            .select_from(SalesRep).outerjoin(Opportunity, won)
            .group_by(SalesRep.id, SalesRep.name, SalesRep.team, SalesRep.region,
                      SalesRep.quarterly_quota))
    if scope.platform_ids is not None:  # a limited user sees the reps of their deals only
        stmt = stmt.where(_reps_in_scope(scope))
    frame = frame_of(session.execute(stmt).all(),
                     ["rep", "team", "region", "quarterly_quota", "won_value", "won_deals"])
    frame["won_value"] = frame["won_value"].map(money).astype(float)
    frame["won_deals"] = frame["won_deals"].astype(int)
    quota = pd.to_numeric(frame.pop("quarterly_quota"), errors="coerce").astype(float)
    frame["quota"] = quota * quarters
    frame["attainment"] = (frame["won_value"] / frame["quota"]).where(frame["quota"] > 0)
    frame["window_start"], frame["window_end"], frame["quarters"] = start, period.end, quarters
    return frame.sort_values(["attainment", "won_value", "rep"], ascending=[False, False, True],
                             na_position="last", ignore_index=True)


def _reps_in_scope(scope: Scope) -> ColumnElement[bool]:
    """Reps with a deal the scope can see (the subquery keeps its own FROM: the outer query
    may join opportunities itself)."""
    return SalesRep.id.in_(select(Opportunity.rep_id)
                           .where(*deal_conditions(Filters(), scope)).correlate(None))


def top_reps(frame: pd.DataFrame, count: int = 5) -> pd.DataFrame:
    """The reps with the highest attainment (reps without a quota left out)."""
    return frame.loc[frame["attainment"].notna()].head(count).reset_index(drop=True)


def bottom_reps(frame: pd.DataFrame, count: int = 5) -> pd.DataFrame:
    """The reps with the lowest attainment, lowest first."""
    rated = frame.loc[frame["attainment"].notna()]
    return rated.iloc[::-1].head(count).reset_index(drop=True)


# --- the forecast by month --------------------------------------------------------------------

@cached
def forecast_by_month(session: Session, scope: Scope, filters: Filters,
                      period: Period) -> pd.DataFrame:
    """Per month from the range's first: the value won (deals closed that month, up to the
    range's end) and the weighted value of today's open deals by expected close month (past
    months hold overdue deals; the forecast runs on past the range's end).

    Columns: month, won_value, won_value_deals, weighted_value, weighted_value_deals,
    open_value; and, the same on every row, open_no_amount (open deals of these months left
    out of the values: no amount) and open_no_close (open deals left out: no expected close).
    """
    probabilities = stage_weights(session, scope).probabilities
    first = month_start(period.start)
    won = and_(Opportunity.outcome == "won", _between(Opportunity.closed_on, first, period.end))
    is_open = and_(Opportunity.outcome == "open", or_(Opportunity.expected_close >= first,
                                                      Opportunity.expected_close.is_(None)))
    # One pass: a won deal counts in its closed month, an open one in its expected close
    # month (None: no expected close, counted apart).
    deals = (select(case((won, Opportunity.closed_on), else_=Opportunity.expected_close)
                    .label("day"), won.label("won"), Opportunity.amount.label("amount"),
                    (Opportunity.amount * _probability(Opportunity.stage, probabilities))
                    .label("weighted"))
             .where(or_(won, is_open), *deal_conditions(filters, scope)).subquery("deals"))
    month = bucket(deals.c.day, "month").label("month")
    opened = ~deals.c.won
    rows = session.execute(
        select(month, func.sum(deals.c.amount).filter(deals.c.won),
               func.count().filter(deals.c.won), func.sum(deals.c.weighted).filter(opened),
               func.count().filter(opened), func.sum(deals.c.amount).filter(opened),
               func.count().filter(and_(opened, deals.c.amount.is_(None))))
        .group_by(month)).all()
    found = frame_of(rows, ["month", "won_value", "won_value_deals", "weighted_value",
                            "weighted_value_deals", "open_value", "no_amount"])
    undated = found["month"].isna()
    no_close = int(found.loc[undated, "weighted_value_deals"].sum())
    found = found.loc[~undated].copy()
    found["month"] = found["month"].map(as_date)
    for name in ("won_value", "weighted_value", "open_value"):
        found[name] = found[name].map(money).astype(float)
    months = sorted({*found["month"], first, month_start(period.end)})
    frame = pd.DataFrame({"month": _months(months[0], months[-1])}).merge(
        found.drop(columns="no_amount"), on="month", how="left")
    counts = ["won_value_deals", "weighted_value_deals"]
    frame[counts] = frame[counts].fillna(0).astype(int)
    frame["open_no_amount"], frame["open_no_close"] = int(found["no_amount"].sum()), no_close
    return frame.fillna({"won_value": 0.0, "weighted_value": 0.0, "open_value": 0.0})


def _months(first: dt.date, last: dt.date) -> list[dt.date]:
    months, day = [], first
    while day <= last:
        months.append(day)
        day = month_start(day + dt.timedelta(days=32))
    return months


# --- the open opportunities -------------------------------------------------------------------

@cached
def open_opportunities(session: Session, scope: Scope, filters: Filters, period: Period,
                       stage: str = "", rep: str = "", team: str = "",
                       stale_days: str = "30") -> pd.DataFrame:
    """Deals open now, created by the range's end (or on an unknown day), in the chosen stage,
    rep and team ('' for all): age and days since the last stage change at the range's end
    (None without a created date or change), stale when that is more than `stale_days`; the
    probability stored or, when none is, the stage's default, else its win rate.

    Columns: opportunity, account, rep, team, region, stage, amount, probability,
    probability_source, weighted_value, created_on, age_days, expected_close,
    last_change, days_since_change, stale; the largest first.
    """
    weights = stage_weights(session, scope)
    last_change = (select(func.max(StageChange.entered_on))
                   .where(StageChange.opportunity_id == Opportunity.id,
                          StageChange.entered_on <= period.end)
                   .correlate(Opportunity).scalar_subquery())
    conditions = [Opportunity.outcome == "open",
                  or_(Opportunity.created_on.is_(None), Opportunity.created_on <= period.end),
                  *deal_conditions(filters, scope)]
    conditions += [condition for chosen, condition in (
        (stage, Opportunity.stage == stage), (rep, SalesRep.name == rep),
        (team, SalesRep.team == team)) if chosen]
    stmt = (select(func.coalesce(Opportunity.external_id, cast(Opportunity.id, String))
                   .label("opportunity"), Account.name, SalesRep.name, SalesRep.team,
                   SalesRep.region, Opportunity.stage, Opportunity.amount,
                   Opportunity.probability, Opportunity.created_on,
                   Opportunity.expected_close, func.coalesce(last_change, Opportunity.created_on))
            .join(Account, Account.id == Opportunity.account_id, isouter=True)
            .join(SalesRep, SalesRep.id == Opportunity.rep_id, isouter=True)
            .where(*conditions).order_by(Opportunity.amount.desc(), Opportunity.id))
    frame = frame_of(session.execute(stmt).all(), [
        "opportunity", "account", "rep", "team", "region", "stage", "amount", "stored",
        "created_on", "expected_close", "last_change"])
    return _open_table(frame, weights.probabilities, weights.stages.defaults, period.end,
                       int(stale_days))


def _days_to(asof: dt.date, days: pd.Series) -> pd.Series:
    """Whole days from each date to `asof` (NaN for an unknown date)."""
    return pd.Series([np.nan if day is None else float((asof - day).days) for day in days],
                     index=days.index, dtype=float)


def _open_table(frame: pd.DataFrame, rates: dict[str, float | None],
                defaults: dict[str, float], asof: dt.date, stale_days: int) -> pd.DataFrame:
    """Derived columns of the open deals (a few hundred rows, already filtered in SQL)."""
    frame["opportunity"] = frame["opportunity"].astype(str)
    amount = pd.to_numeric(frame["amount"], errors="coerce").astype(float)
    frame["amount"] = amount.map(money).where(amount.notna())  # NaN: no amount
    stored = pd.to_numeric(frame.pop("stored"), errors="coerce").astype(float)
    estimated = frame["stage"].map(lambda s: rates.get(s)).astype(float)
    frame.insert(7, "probability", stored.fillna(estimated))
    source = np.where(frame["stage"].isin(list(defaults)), "stage default", "stage win rate")
    frame.insert(8, "probability_source", np.where(
        stored.notna(), "stored", np.where(estimated.notna(), source, "none")))
    frame.insert(9, "weighted_value", frame["amount"] * frame["probability"])
    for column in ("created_on", "expected_close", "last_change"):
        frame[column] = frame[column].map(lambda day: None if day is None else as_date(day))
    frame.insert(11, "age_days", _days_to(asof, frame["created_on"]))
    frame["days_since_change"] = _days_to(asof, frame["last_change"])
    frame["stale"] = (frame["days_since_change"] > stale_days).astype(bool)
    return frame


# The orders the open-deals table offers; the soonest expected close first, else largest first.
OPEN_SORTS = ("amount", "weighted_value", "probability", "age_days", "days_since_change",
              "expected_close")


def sorted_open(table: pd.DataFrame, sort: str) -> pd.DataFrame:
    """The open deals in the chosen order (ties by deal id)."""
    column = sort if sort in OPEN_SORTS else "amount"
    ascending = column == "expected_close"
    return table.sort_values([column, "opportunity"], ascending=[ascending, True],
                             na_position="last", ignore_index=True)


@cached
def rep_options(session: Session, scope: Scope) -> dict[str, list[str]]:
    """The reps and teams the open-deals table can be filtered by, alphabetically."""
    stmt = select(SalesRep.name, SalesRep.team)
    if scope.platform_ids is not None:
        stmt = stmt.where(_reps_in_scope(scope))
    rows = session.execute(stmt).all()
    return {"reps": sorted({name for name, _team in rows}),
            "teams": sorted({team for _name, team in rows if team})}


def stage_note(kpis: dict[str, Any]) -> str:
    """How the weighted pipeline was weighed, and which open deals have no amount, in words."""
    probability = kpis["probability"]
    stored, default, estimated = (probability["stored"], probability.get("default", 0),
                                  probability["estimated"])
    if not stored and not default and not estimated:
        return "No open deals at the range's end."
    parts = []
    if stored:
        parts.append(f"{stored} open deal{'s' if stored != 1 else ''} weighed by the "
                     "probability stored on it")
    if default:
        parts.append(f"{default} by its stage's default probability")
    if estimated:
        parts.append(f"{estimated} by the historical win rate of deals that reached its stage")
    text = "Weighted pipeline: " + "; ".join(parts) + "."
    return text + no_amount_note(kpis["counts"].get("open_without_amount", 0))


def no_amount_note(count: int) -> str:
    """' 3 open deals have no amount and are left out of the values.' ('' for none)."""
    if not count:
        return ""
    return (f" {count:,} open deal{'s have' if count != 1 else ' has'} no amount and "
            f"{'are' if count != 1 else 'is'} left out of the values.")
