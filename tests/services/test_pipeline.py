"""The Pipeline services, on SQLite and PostgreSQL, checked against pandas over the raw rows of
`opportunities`, `stage_changes`, `sales_reps` and `accounts` (nothing here calls the
services' helpers for an expected value)."""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from layouts import figures
from models import Platform
from services import pipeline as service
from services.filters import Filters, Period
from services.scope import Scope
from services.spans import PIPELINE, resolve
from tests.conftest import LIMITED_PLATFORM, TestDatabase
from tests.services.test_funnel import HOSTILE, shown_text

OPEN_STAGES = ["lead", "qualified", "proposal", "negotiation"]
EVERYTHING = Scope()
SQL = {
    "deals": """SELECT o.id, o.external_id, o.account_id, o.rep_id, o.platform_id, o.stage,
                       o.outcome, o.amount, o.probability, o.created_on, o.expected_close,
                       o.closed_on, a.name AS account, r.name AS rep, r.team, r.region
                FROM opportunities AS o
                LEFT JOIN accounts AS a ON a.id = o.account_id
                LEFT JOIN sales_reps AS r ON r.id = o.rep_id""",
    "changes": "SELECT id, opportunity_id, stage, entered_on FROM stage_changes",
    "reps": "SELECT id, name, team, region, quarterly_quota FROM sales_reps",
}
DATES = ("created_on", "expected_close", "closed_on", "entered_on")
_RAW: dict[tuple[str, str], pd.DataFrame] = {}


def raw_table(database: TestDatabase, name: str) -> pd.DataFrame:
    """A table as stored, dates as dates and money as floats (read once per database)."""
    if (database.name, name) not in _RAW:
        with database.engine.connect() as connection:
            frame = pd.read_sql(sa.text(SQL[name]), connection)
        for column in DATES:
            if column in frame:
                frame[column] = [None if value is None or pd.isna(value) else
                                 dt.date.fromisoformat(str(value)[:10])
                                 for value in frame[column]]
        for column in ("amount", "probability", "quarterly_quota"):
            if column in frame:
                frame[column] = pd.to_numeric(frame[column]).astype(float)
        _RAW[database.name, name] = frame
    return _RAW[database.name, name]


@pytest.fixture
def deals(database: TestDatabase) -> pd.DataFrame:
    """Every opportunity with its account, rep, team and region."""
    return raw_table(database, "deals")


@pytest.fixture
def changes(database: TestDatabase) -> pd.DataFrame:
    """Every stage change."""
    return raw_table(database, "changes")


@pytest.fixture
def reps(database: TestDatabase) -> pd.DataFrame:
    """Every sales rep."""
    return raw_table(database, "reps")


VIEWS = {
    "12 months vs previous": Filters(range="12m", compare="prev"),
    "all time": Filters(range="all", compare="none"),
    "90 days vs last year": Filters(range="90d", compare="yoy"),
}


@pytest.fixture(params=list(VIEWS))
def view(request: pytest.FixtureRequest, session: Session) -> tuple[Filters, Period]:
    """A view's filters and its dates resolved against the page's own data, as the page does."""
    filters = VIEWS[request.param]
    return filters, resolve(session, EVERYTHING, filters, PIPELINE)


def approx(actual: Any, expected: Any, what: str) -> None:
    """Equal numbers, None/NaN equal to None/NaN."""
    if expected is None or (isinstance(expected, float) and np.isnan(expected)):
        assert actual is None or (isinstance(actual, float) and np.isnan(actual)), what
    else:
        assert actual == pytest.approx(expected, rel=1e-9, abs=1e-9), what


def reached(deals: pd.DataFrame, changes: pd.DataFrame, stage: str) -> pd.Series:
    """Whether each deal entered `stage` (history, or its stage now); won for 'won'."""
    if stage == "won":
        return deals["outcome"] == "won"
    entered = set(changes.loc[changes["stage"] == stage, "opportunity_id"])
    return deals["id"].isin(entered) | (deals["stage"] == stage)


def win_rates(deals: pd.DataFrame, changes: pd.DataFrame) -> dict[str, float | None]:
    """Share won of the closed deals that reached each open stage."""
    closed = deals["outcome"].isin(["won", "lost"])
    rates: dict[str, float | None] = {}
    for stage in OPEN_STAGES:
        chosen = deals.loc[closed & reached(deals, changes, stage)]
        rates[stage] = float((chosen["outcome"] == "won").mean()) if len(chosen) else None
    return rates


def stage_on(deals: pd.DataFrame, changes: pd.DataFrame, day: dt.date) -> pd.Series:
    """Each deal's stage on `day`: its last change by then, else its stage now."""
    before = changes.loc[changes["entered_on"] <= day].sort_values(["entered_on", "id"])
    last = before.groupby("opportunity_id")["stage"].last()
    return deals["id"].map(last).fillna(deals["stage"])


def open_on(deals: pd.DataFrame, changes: pd.DataFrame, day: dt.date) -> dict[str, Any]:
    """Count, value and weighted value of the deals open on `day`."""
    closed_by = deals["closed_on"].map(lambda d: d is not None and d <= day)
    known_close = deals["closed_on"].notna()
    mask = (deals["created_on"] <= day) & ~closed_by & ((deals["outcome"] == "open") | known_close)
    chosen = deals.loc[mask]
    stage = stage_on(deals, changes, day).loc[mask]
    rates = win_rates(deals, changes)
    same = (stage == chosen["stage"]) & chosen["probability"].notna()
    probability = chosen["probability"].where(same, stage.map(rates).astype(float))
    return {"open_deals": len(chosen), "open_value": chosen["amount"].sum(),
            "weighted_value": (chosen["amount"] * probability).sum()}


def closed_in(deals: pd.DataFrame, start: dt.date, end: dt.date) -> dict[str, Any]:
    """Win rate, average won deal, average cycle and won value of deals closed in a range."""
    mask = deals["closed_on"].map(lambda d: d is not None and start <= d <= end) & \
        deals["outcome"].isin(["won", "lost"])
    closed = deals.loc[mask]
    won = closed.loc[closed["outcome"] == "won"]
    cycle = [(c - o).days for c, o in zip(won["closed_on"], won["created_on"], strict=True)]
    return {"win_rate": len(won) / len(closed) if len(closed) else None,
            "avg_deal_size": won["amount"].mean() if len(won) else None,
            "avg_cycle_days": float(np.mean(cycle)) if cycle else None,
            "won_value": won["amount"].sum()}


def test_stage_win_rates_match_pandas(session: Session, deals: pd.DataFrame,
                                      changes: pd.DataFrame) -> None:
    found = service.stage_win_rates(session, EVERYTHING)
    want = win_rates(deals, changes)
    assert set(found) == set(OPEN_STAGES)
    for stage in OPEN_STAGES:
        approx(found[stage], want[stage], stage)


def test_kpis_match_pandas(session: Session, deals: pd.DataFrame, changes: pd.DataFrame,
                           view: tuple[Filters, Period]) -> None:
    filters, period = view
    found = service.pipeline_kpis(session, EVERYTHING, filters, period)
    want = {**open_on(deals, changes, period.end), **closed_in(deals, period.start, period.end)}
    for key in service.KPIS:
        approx(found["kpis"][key]["current"], want[key], key)
    assert found["kpis"]["open_deals"]["current"] > 0
    if period.comparison:  # a comparison the data covers wholly
        compare_start, compare_end = period.comparison
        before = {**open_on(deals, changes, compare_end),
                  **closed_in(deals, compare_start, compare_end)}
        for key in service.KPIS:
            approx(found["kpis"][key]["comparison"], before[key], f"{key} comparison")
        rate = found["kpis"]["win_rate"]
        approx(rate["change"], want["win_rate"] - before["win_rate"], "win rate in points")
        value = found["kpis"]["open_value"]
        approx(value["change"], (want["open_value"] - before["open_value"])
               / before["open_value"], "open value change")
    else:
        assert all(found["kpis"][key]["comparison"] is None for key in service.KPIS)
    probability = found["probability"]
    assert probability["stored"] + probability["estimated"] == want["open_deals"]


def days_in_stage(deals: pd.DataFrame, changes: pd.DataFrame) -> pd.Series:
    """Mean days from entering each stage to entering the next, over finished stays."""
    mine = changes.loc[changes["opportunity_id"].isin(deals["id"])]
    ordered = mine.sort_values(["opportunity_id", "entered_on", "id"])
    ordered = ordered.assign(left=ordered.groupby("opportunity_id")["entered_on"].shift(-1))
    done = ordered.loc[ordered["left"].notna()]
    days = [(b - a).days for a, b in zip(done["entered_on"], done["left"], strict=True)]
    return done.assign(days=days).groupby("stage")["days"].mean()


def test_the_stage_funnel_matches_pandas(session: Session, deals: pd.DataFrame,
                                         changes: pd.DataFrame,
                                         view: tuple[Filters, Period]) -> None:
    filters, period = view
    found = service.stage_funnel(session, EVERYTHING, filters, period).set_index("stage")
    created = deals.loc[deals["created_on"].map(lambda d: period.start <= d <= period.end)]
    assert list(found.index) == [*OPEN_STAGES, "won"]
    counts = {stage: reached(created, changes, stage) for stage in found.index}
    days = days_in_stage(created, changes)
    for i, stage in enumerate(found.index):
        assert int(found.loc[stage, "deals"]) == int(counts[stage].sum()), stage
        approx(found.loc[stage, "value"], created.loc[counts[stage], "amount"].sum(), stage)
        here = (created["outcome"] == "open") & (created["stage"] == stage)
        assert int(found.loc[stage, "open_here"]) == int(here.sum())
        if stage != "won":
            left = counts[stage].sum() - here.sum()
            following = counts[found.index[i + 1]].sum()
            approx(found.loc[stage, "conversion"], following / left if left else np.nan,
                   f"{stage} conversion")
            approx(found.loc[stage, "avg_days"], float(days.get(stage, np.nan)),
                   f"{stage} days")
    assert found["deals"].is_monotonic_decreasing  # the demo walks every stage in order


def quarter_start(day: dt.date) -> dt.date:
    """First day of the calendar quarter."""
    return dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def test_quota_attainment_matches_pandas(session: Session, deals: pd.DataFrame,
                                         reps: pd.DataFrame,
                                         view: tuple[Filters, Period]) -> None:
    filters, period = view
    found = service.quota_attainment(session, EVERYTHING, filters, period).set_index("rep")
    first = quarter_start(period.start)
    last = quarter_start(period.end)
    quarters = (last.year - first.year) * 4 + (last.month - first.month) // 3 + 1
    won = deals.loc[(deals["outcome"] == "won") & deals["closed_on"].map(
        lambda d: d is not None and first <= d <= period.end)]
    by_rep = won.groupby("rep")["amount"].sum()
    assert sorted(found.index) == sorted(reps["name"])
    for rep in reps.itertuples():
        value = float(by_rep.get(rep.name, 0.0))
        approx(found.loc[rep.name, "won_value"], value, rep.name)
        approx(found.loc[rep.name, "quota"], rep.quarterly_quota * quarters, rep.name)
        approx(found.loc[rep.name, "attainment"], value / (rep.quarterly_quota * quarters),
               rep.name)
        assert found.loc[rep.name, "team"] == rep.team
    ranked = found["attainment"].tolist()
    assert ranked == sorted(ranked, reverse=True)
    frame = found.reset_index()
    assert service.top_reps(frame)["rep"].tolist() == frame["rep"].head(5).tolist()
    assert service.bottom_reps(frame)["rep"].tolist() == frame["rep"].iloc[::-1].head(5).tolist()


def month_of(day: dt.date) -> dt.date:
    """First of the month."""
    return day.replace(day=1)


def test_the_forecast_by_month_matches_pandas(session: Session, deals: pd.DataFrame,
                                              changes: pd.DataFrame,
                                              view: tuple[Filters, Period]) -> None:
    filters, period = view
    found = service.forecast_by_month(session, EVERYTHING, filters, period).set_index("month")
    first = month_of(period.start)
    won = deals.loc[(deals["outcome"] == "won") & deals["closed_on"].map(
        lambda d: d is not None and first <= d <= period.end)]
    won_by_month = won.groupby(won["closed_on"].map(month_of))["amount"].sum()
    rates = win_rates(deals, changes)
    opened = deals.loc[(deals["outcome"] == "open") & deals["expected_close"].map(
        lambda d: d is not None and d >= first)]
    probability = opened["probability"].fillna(opened["stage"].map(rates).astype(float))
    weighted = (opened["amount"] * probability).groupby(
        opened["expected_close"].map(month_of)).sum()
    assert found.index[0] == first
    assert set(won_by_month.index) | set(weighted.index) <= set(found.index)
    for month, row in found.iterrows():
        approx(row["won_value"], float(won_by_month.get(month, 0.0)), f"won {month}")
        approx(row["weighted_value"], float(weighted.get(month, 0.0)), f"weighted {month}")
    assert found["weighted_value"].sum() > 0


CHOICES = [("", "", "", "30"), ("proposal", "", "", "14"), ("", "", "Enterprise", "60")]


@pytest.mark.parametrize("stage, rep, team, stale", CHOICES)
def test_open_opportunities_match_pandas(session: Session, deals: pd.DataFrame,
                                         changes: pd.DataFrame, stage: str, rep: str,
                                         team: str, stale: str) -> None:
    filters = Filters(range="12m", compare="none")
    period = resolve(session, EVERYTHING, filters, PIPELINE)
    table = service.open_opportunities(session, EVERYTHING, filters, period, stage, rep, team,
                                       stale)
    mask = (deals["outcome"] == "open") & (deals["created_on"] <= period.end)
    for column, chosen in (("stage", stage), ("rep", rep), ("team", team)):
        if chosen:
            mask &= deals[column] == chosen
    want = deals.loc[mask].set_index("external_id")
    mine = table.set_index("opportunity")
    assert sorted(mine.index) == sorted(want.index) and len(mine) > 0
    assert table["amount"].tolist() == sorted(table["amount"], reverse=True)
    before = changes.loc[changes["entered_on"] <= period.end]
    last = before.groupby("opportunity_id")["entered_on"].max()
    rates = win_rates(deals, changes)
    for deal, row in want.iterrows():
        got = mine.loc[deal]
        assert got["account"] == row["account"] and got["rep"] == row["rep"]
        approx(got["amount"], row["amount"], deal)
        expected_probability = row["probability"] if not pd.isna(row["probability"]) \
            else rates[row["stage"]]
        approx(got["probability"], expected_probability, deal)
        assert got["age_days"] == (period.end - row["created_on"]).days
        since = (period.end - last.get(row["id"], row["created_on"])).days
        assert got["days_since_change"] == since
        assert bool(got["stale"]) == (since > int(stale))


@pytest.mark.parametrize("sort", ["amount", "age_days", "expected_close", "nonsense"])
def test_the_open_deals_come_in_the_chosen_order(session: Session, sort: str) -> None:
    filters = Filters(range="12m", compare="none")
    period = resolve(session, EVERYTHING, filters, PIPELINE)
    table = service.open_opportunities(session, EVERYTHING, filters, period)
    ordered = service.sorted_open(table, sort)
    column = "amount" if sort == "nonsense" else sort
    values = ordered[column].tolist()
    assert values == sorted(values, reverse=column != "expected_close")
    assert sorted(ordered["opportunity"]) == sorted(table["opportunity"])


def platform_scope(session: Session, slug: str) -> Scope:
    """A scope limited to one platform."""
    platform_id = session.scalars(sa.select(Platform.id).where(Platform.slug == slug)).one()
    return Scope(user_id=1, platform_ids=frozenset({platform_id}))


def test_the_platform_limit_and_filter_apply_to_deals(session: Session,
                                                      deals: pd.DataFrame) -> None:
    filters = Filters(range="all", compare="none")
    period = resolve(session, EVERYTHING, filters, PIPELINE)
    platforms = set(deals["platform_id"].dropna().astype(int))
    assert len(platforms) == 1  # every demo deal is on one platform (Wholesale)
    slug = session.scalars(sa.select(Platform.slug).where(
        Platform.id == platforms.pop())).one()
    assert slug != LIMITED_PLATFORM
    # A user limited to another platform sees no deal, no rep and no forecast.
    limited = platform_scope(session, LIMITED_PLATFORM)
    limited_period = resolve(session, limited, filters, PIPELINE)
    kpis = service.pipeline_kpis(session, limited, filters, limited_period)
    assert kpis["kpis"]["open_deals"]["current"] == 0
    assert service.stage_funnel(session, limited, filters, limited_period)["deals"].sum() == 0
    assert service.quota_attainment(session, limited, filters, limited_period).empty
    assert service.open_opportunities(session, limited, filters, limited_period).empty
    assert service.rep_options(session, limited) == {"reps": [], "teams": []}
    # Limited to the deals' platform: the same numbers as everything.
    own = platform_scope(session, slug)
    assert service.pipeline_kpis(session, own, filters, period)["kpis"] == \
        service.pipeline_kpis(session, EVERYTHING, filters, period)["kpis"]
    # The platform filter: another platform leaves out every deal (all have a platform).
    other = replace(filters, platforms=(LIMITED_PLATFORM,))
    assert service.stage_funnel(session, EVERYTHING, other, period)["deals"].sum() == 0
    chosen = replace(filters, platforms=(slug,))
    assert service.stage_funnel(session, EVERYTHING, chosen, period)["deals"].tolist() == \
        service.stage_funnel(session, EVERYTHING, filters, period)["deals"].tolist()


def test_the_pipeline_charts_are_valid_plotly_and_escape_names() -> None:
    """The quota bars with their target line and the monthly bars are valid plotly, and a
    rep's name cannot put markup into them."""
    reps = pd.DataFrame({"rep": [HOSTILE, "Ann"], "attainment": [1.2, 0.5]})
    months = pd.DataFrame({"month": [dt.date(2026, 1, 1), dt.date(2026, 2, 1)],
                           "won": [1.0, np.nan], "weighted": [2.0, 3.0]})
    charts = [figures.with_target_line(figures.ranked_bar_figure(
                  reps, "rep", "rep", "GBP", value="attainment", unit="percent"), 1.0, "quota"),
              figures.monthly_bars_figure(months, [("won", HOSTILE, "#000"),
                                                   ("weighted", "Weighted", "#111")], "GBP"),
              figures.funnel_figure(["Lead", "Won"], [10.0, 2.0], ["lead", "won"], "Value",
                                    unit="money", currency="GBP", selected=("lead",))]
    for chart in charts:
        go.Figure(chart)
        assert json.loads(json.dumps(chart, allow_nan=False)) == chart
        assert "<a" not in shown_text(chart)
    assert charts[0]["layout"]["shapes"][0]["x0"] == 1.0
    assert "&lt;a href=" in shown_text(charts[0]) and "&lt;a href=" in shown_text(charts[1])
