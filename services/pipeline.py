"""The Pipeline page: the B2B deals (opportunities), their stages, reps and quotas.

Which date a range filters differs by question, and each function says which: deals
*created* in the range (the stage funnel), deals *closed* in the range (win rate, deal size,
cycle, quota attainment, won per month), deals *open at the range's last day* (the open
pipeline KPIs), and open deals by *expected close* (the forecast). The product filter never
applies (a deal has no product); the platform filter keeps the deals of the chosen platforms
and the deals without a platform (it says nothing about them), while a platform-limited user
sees only deals of their platforms. Sums and counts are taken in the database.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import (
    ColumnElement,
    Float,
    SQLColumnExpression,
    String,
    and_,
    case,
    cast,
    exists,
    false,
    func,
    null,
    or_,
    select,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from models import STAGES, Account, Opportunity, Platform, SalesRep, StageChange
from services.cache import cached
from services.filters import Filters, Period
from services.metrics import money
from services.periods import month_start
from services.query import as_date, bucket
from services.scope import Scope

CLOSED = STAGES[-1]  # the stage a won or lost deal ends in
OPEN_STAGES = STAGES[:-1]
WON = "won"
FUNNEL_STAGES = (*OPEN_STAGES, WON)
STAGE_LABELS = {"lead": "Lead", "qualified": "Qualified", "proposal": "Proposal",
                "negotiation": "Negotiation", WON: "Won"}
STALE_CHOICES = ("14", "30", "60", "90")
KPIS = ("open_value", "weighted_value", "open_deals", "win_rate", "avg_deal_size",
        "avg_cycle_days", "won_value")
RATIO_KPIS = frozenset({"win_rate"})  # a change in points, not relative


class days_between(FunctionElement):  # noqa: N801 - SQL function naming
    """Whole days from the second date column to the first (later − earlier)."""

    type = Float()
    name = "days_between"
    inherit_cache = True


@compiles(days_between, "sqlite")
def _days_between_sqlite(element: days_between, compiler: SQLCompiler, **kw: Any) -> str:
    later, earlier = list(element.clauses)
    return (f"(julianday({compiler.process(later, **kw)}) - "
            f"julianday({compiler.process(earlier, **kw)}))")


@compiles(days_between, "postgresql")
def _days_between_pg(element: days_between, compiler: SQLCompiler, **kw: Any) -> str:
    later, earlier = list(element.clauses)
    return f"CAST(({compiler.process(later, **kw)} - {compiler.process(earlier, **kw)}) AS FLOAT)"


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
    """Deals created by `day` and not closed by it."""
    return and_(Opportunity.created_on <= day,
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

@cached
def stage_win_rates(session: Session, scope: Scope) -> dict[str, float | None]:
    """Per open stage: the share won of the closed deals that reached it (all history).

    This is the probability of a deal at that stage when none is stored.
    """
    rates: dict[str, float | None] = {}
    closed = Opportunity.outcome.in_(("won", "lost"))
    for stage in OPEN_STAGES:
        entered = or_(exists().where(StageChange.opportunity_id == Opportunity.id,
                                     StageChange.stage == stage), Opportunity.stage == stage)
        won, total = session.execute(
            select(func.count().filter(Opportunity.outcome == "won"), func.count())
            .where(closed, entered, *deal_conditions(Filters(), scope))).one()
        rates[stage] = won / total if total else None
    return rates


def _probability(stage: SQLColumnExpression[Any], rates: dict[str, float | None],
                 stored: bool = True) -> ColumnElement[Any]:
    """A deal's probability: the stored one (if `stored`), else its stage's win rate."""
    known = {key: value for key, value in rates.items() if value is not None}
    estimated: ColumnElement[Any] = case(known, value=stage, else_=null()) if known else null()
    return func.coalesce(Opportunity.probability, estimated) if stored else estimated


# --- KPIs -------------------------------------------------------------------------------------

def _open_totals(session: Session, scope: Scope, filters: Filters, day: dt.date,
                 rates: dict[str, float | None]) -> dict[str, Any]:
    """Open deals on `day`: count, value and weighted value (stored probability while the deal
    is still at the stage it has now, else the win rate of the stage it had then)."""
    stage = _stage_at(day)
    same_stage = and_(stage == Opportunity.stage, Opportunity.probability.is_not(None))
    probability = case((same_stage, Opportunity.probability),
                       else_=_probability(stage, rates, stored=False))
    count, value, weighted, stored = session.execute(
        select(func.count(), func.sum(Opportunity.amount),
               func.sum(Opportunity.amount * probability),
               func.count().filter(same_stage))
        .where(_open_at(day), *deal_conditions(filters, scope))).one()
    return {"open_deals": int(count), "open_value": money(value),
            "weighted_value": money(weighted), "stored_probabilities": int(stored)}


def _closed_totals(session: Session, scope: Scope, filters: Filters, start: dt.date,
                   end: dt.date) -> dict[str, Any]:
    """Deals closed in the range: win rate, average won deal, average cycle, won value."""
    won = Opportunity.outcome == "won"
    row = session.execute(
        select(func.count().filter(won), func.count(),
               func.sum(Opportunity.amount).filter(won),
               func.avg(days_between(Opportunity.closed_on, Opportunity.created_on))
               .filter(won))
        .where(_between(Opportunity.closed_on, start, end),
               Opportunity.outcome.in_(("won", "lost")), *deal_conditions(filters, scope))).one()
    wins, closed, won_value, cycle = row
    return {"won_deals": int(wins), "closed_deals": int(closed),
            "win_rate": wins / closed if closed else None, "won_value": money(won_value),
            "avg_deal_size": money(won_value) / wins if wins else None,
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
    probability, and the stage win rates used for the others.
    """
    rates = stage_win_rates(session, scope)

    def totals(start: dt.date, end: dt.date) -> dict[str, Any]:
        return {**_open_totals(session, scope, filters, end, rates),
                **_closed_totals(session, scope, filters, start, end)}

    current = totals(period.start, period.end)
    # Only a comparison the data covers wholly: a partly observed period is no base.
    previous = totals(*period.comparison) if period.comparison else None
    kpis = {key: {"current": current[key],
                  "comparison": previous[key] if previous else None,
                  "change": _change(key, current[key], previous[key]) if previous else None}
            for key in KPIS}
    return {"kpis": kpis,
            "probability": {"stored": current["stored_probabilities"],
                            "estimated": current["open_deals"] - current["stored_probabilities"],
                            "stage_win_rates": rates},
            "counts": {key: current[key] for key in ("won_deals", "closed_deals")}}


# --- the stage funnel -------------------------------------------------------------------------

def _reached(stage: str) -> ColumnElement[bool]:
    """The deal entered `stage` (its history says so, or it is there now); won for 'won'."""
    if stage == WON:
        return Opportunity.outcome == "won"
    return or_(exists().where(StageChange.opportunity_id == Opportunity.id,
                              StageChange.stage == stage), Opportunity.stage == stage)


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
    """Deals created in the range: how many reached each stage and their value, how many are
    still open there, conversion to the next stage, average days in the stage.

    Conversion from a stage = deals that reached the next one / deals that left this one
    (reached it and are not still open in it). Columns: stage, label, deals, value,
    open_here, conversion, avg_days, stays, win_rate (history's win rate from the stage).
    """
    conditions = [Opportunity.created_on.between(period.start, period.end),
                  *deal_conditions(filters, scope)]
    measures: list[ColumnElement[Any]] = []
    for stage in FUNNEL_STAGES:
        reached = _reached(stage)
        here = and_(Opportunity.outcome == "open", Opportunity.stage == stage)
        measures += [func.count().filter(reached), func.sum(Opportunity.amount).filter(reached),
                     func.count().filter(here)]
    row = session.execute(select(*measures).where(*conditions)).one()
    days = _days_in_stage(session, conditions)
    rates = stage_win_rates(session, scope)
    frame = pd.DataFrame({
        "stage": list(FUNNEL_STAGES), "label": [STAGE_LABELS[s] for s in FUNNEL_STAGES],
        "deals": [int(row[3 * i]) for i in range(len(FUNNEL_STAGES))],
        "value": [money(row[3 * i + 1]) for i in range(len(FUNNEL_STAGES))],
        "open_here": [int(row[3 * i + 2]) for i in range(len(FUNNEL_STAGES))]})
    left = frame["deals"] - frame["open_here"]
    next_deals = frame["deals"].shift(-1)
    frame["conversion"] = (next_deals / left).where(left > 0)
    frame.loc[frame["stage"] == WON, "conversion"] = np.nan
    frame["avg_days"] = [days.get(s, (np.nan, 0))[0] for s in FUNNEL_STAGES]
    frame["stays"] = [days.get(s, (np.nan, 0))[1] for s in FUNNEL_STAGES]
    frame["win_rate"] = [rates.get(s) if s != WON else 1.0 for s in FUNNEL_STAGES]
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
    frame = pd.DataFrame(session.execute(stmt).all(),
                         columns=["rep", "team", "region", "quarterly_quota", "won_value",
                                  "won_deals"])
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

def _per_month(session: Session, date_column: Any, value: SQLColumnExpression[Any],
               conditions: Sequence[ColumnElement[bool]], name: str) -> pd.DataFrame:
    month = bucket(date_column, "month").label("month")
    rows = session.execute(select(month, func.sum(value), func.count())
                           .where(*conditions).group_by(month)).all()
    frame = pd.DataFrame(rows, columns=["month", name, f"{name}_deals"])
    frame["month"] = frame["month"].map(as_date)
    frame[name] = frame[name].map(money).astype(float)
    return frame


@cached
def forecast_by_month(session: Session, scope: Scope, filters: Filters,
                      period: Period) -> pd.DataFrame:
    """Per month from the range's first: the value won (deals closed that month, up to the
    range's end) and the weighted value of today's open deals by expected close month (past
    months hold overdue deals; the forecast runs on past the range's end).

    Columns: month, won_value, won_value_deals, weighted_value, weighted_value_deals,
    open_value.
    """
    rates = stage_win_rates(session, scope)
    deals = deal_conditions(filters, scope)
    first = month_start(period.start)
    won = _per_month(session, Opportunity.closed_on, Opportunity.amount,
                     [Opportunity.outcome == "won",
                      _between(Opportunity.closed_on, first, period.end), *deals], "won_value")
    is_open = [Opportunity.outcome == "open", Opportunity.expected_close >= first, *deals]
    weighted = _per_month(session, Opportunity.expected_close,
                          Opportunity.amount * _probability(Opportunity.stage, rates), is_open,
                          "weighted_value")
    value = _per_month(session, Opportunity.expected_close, Opportunity.amount, is_open,
                       "open_value")[["month", "open_value"]]
    months = sorted({*won["month"], *weighted["month"], first, month_start(period.end)})
    every = pd.DataFrame({"month": _months(months[0], months[-1])})
    frame = every.merge(won, on="month", how="left").merge(weighted, on="month", how="left") \
        .merge(value, on="month", how="left")
    counts = ["won_value_deals", "weighted_value_deals"]
    frame[counts] = frame[counts].fillna(0).astype(int)
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
    """Deals open now, created by the range's end, in the chosen stage, rep and team ('' for
    all): age and days since the last stage change at the range's end, stale when that is
    more than `stale_days`; the probability stored or, when none is, the stage's win rate.

    Columns: opportunity, account, rep, team, region, stage, amount, probability,
    probability_source, weighted_value, created_on, age_days, expected_close,
    last_change, days_since_change, stale; the largest first.
    """
    rates = stage_win_rates(session, scope)
    last_change = (select(func.max(StageChange.entered_on))
                   .where(StageChange.opportunity_id == Opportunity.id,
                          StageChange.entered_on <= period.end)
                   .correlate(Opportunity).scalar_subquery())
    conditions = [Opportunity.outcome == "open", Opportunity.created_on <= period.end,
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
    frame = pd.DataFrame(session.execute(stmt).all(), columns=[
        "opportunity", "account", "rep", "team", "region", "stage", "amount", "stored",
        "created_on", "expected_close", "last_change"])
    return _open_table(frame, rates, period.end, int(stale_days))


def _open_table(frame: pd.DataFrame, rates: dict[str, float | None], asof: dt.date,
                stale_days: int) -> pd.DataFrame:
    """Derived columns of the open deals (a few hundred rows, already filtered in SQL)."""
    frame["opportunity"] = frame["opportunity"].astype(str)
    frame["amount"] = frame["amount"].map(money).astype(float)
    stored = pd.to_numeric(frame.pop("stored"), errors="coerce").astype(float)
    estimated = frame["stage"].map(lambda s: rates.get(s)).astype(float)
    frame.insert(7, "probability", stored.fillna(estimated))
    frame.insert(8, "probability_source", np.where(stored.notna(), "stored",
                                                   np.where(estimated.notna(), "stage win rate",
                                                            "none")))
    frame.insert(9, "weighted_value", frame["amount"] * frame["probability"])
    for column in ("created_on", "expected_close", "last_change"):
        frame[column] = frame[column].map(lambda day: None if day is None else as_date(day))
    frame.insert(11, "age_days", [(asof - day).days for day in frame["created_on"]])
    frame["days_since_change"] = [(asof - day).days for day in frame["last_change"]]
    frame["stale"] = frame["days_since_change"] > stale_days
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
    """How the weighted pipeline was weighed, in words."""
    probability = kpis["probability"]
    stored, estimated = probability["stored"], probability["estimated"]
    if not stored and not estimated:
        return "No open deals at the range's end."
    parts = []
    if stored:
        parts.append(f"{stored} open deal{'s' if stored != 1 else ''} weighed by the "
                     "probability stored on it")
    if estimated:
        parts.append(f"{estimated} by the historical win rate of deals that reached its stage")
    return "Weighted pipeline: " + "; ".join(parts) + "."

