"""Pipeline data as CRMs export it: a generated file in the shape of the public CRM sample
(8,800 opportunities, stages Prospecting / Engaging / Won / Lost, US dates, prospects without
an engage date, open deals without a close value or an account) and its sales-team file,
imported on SQLite and PostgreSQL; every number of the Pipeline page is then checked against
pandas over the generated rows (not over the database).
"""
from __future__ import annotations

import datetime as dt
import string
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from models.pipeline import PipelineStage
from services import pipeline as service
from services.activity import data_status
from services.filters import Filters, Period, format_range
from services.imports.entities import stage_outcome
from services.imports.report import REJECTED, SUCCEEDED
from services.scope import Scope
from services.spans import PIPELINE, SALES, resolve
from tests.conftest import make_app, migrate
from tests.fixtures.imports import (  # noqa: F401 - the fixtures are used by name
    Fresh,
    empty_postgres,
    fresh_sqlite_fixture,
    imports_postgres_url_fixture,
    sqlite_template_fixture,
)

EVERYTHING = Scope()
Crm = tuple[pd.DataFrame, pd.DataFrame]  # the generated opportunities and sales team
DEALS = 8_800
STAGE_SHARES = {"Won": 0.48, "Lost": 0.29, "Engaging": 0.14, "Prospecting": 0.09}
PRODUCTS = {"GTX Basic": 550, "GTX Pro": 4_821, "MG Special": 55, "MG Advanced": 3_393,
            "GTX Plus Pro": 5_482, "GTX Plus Basic": 1_096, "GTK 500": 26_768}
OFFICES = ("Central", "East", "West")
FIRST_DAY = dt.date(2016, 10, 20)
HEADER = ("opportunity_id,sales_agent,product,account,deal_stage,engage_date,close_date,"
          "close_value")


def us_date(day: dt.date | None) -> str:
    """12/31/2016, without leading zeros as US exports write it; '' for none."""
    return "" if day is None else f"{day.month}/{day.day}/{day.year}"


def generate(seed: int = 19) -> Crm:
    """The opportunities (as typed values) and the sales team, in the CRM sample's shape."""
    rng = np.random.default_rng(seed)
    managers = [f"Manager {name}" for name in ("Brinkmann", "Cabrera", "Hartman", "Bryant",
                                               "Olson", "Gardner")]
    agents = [f"Agent {letter}{k}" for k, letter in enumerate(string.ascii_uppercase[:30])]
    team = pd.DataFrame({"sales_agent": agents,
                         "manager": [managers[k % 6] for k in range(len(agents))],
                         "regional_office": [OFFICES[(k % 6) // 2] for k in range(len(agents))]})
    accounts = [f"Account {k:02d}" for k in range(85)]
    stages = rng.choice(list(STAGE_SHARES), DEALS, p=list(STAGE_SHARES.values()))
    product = rng.choice(list(PRODUCTS), DEALS)
    engage = [FIRST_DAY + dt.timedelta(days=int(d)) for d in rng.integers(0, 430, DEALS)]
    cycle = rng.integers(1, 139, DEALS)
    closed = np.isin(stages, ["Won", "Lost"])
    frame = pd.DataFrame({
        "opportunity_id": [f"{k:04X}{''.join(rng.choice(list('ABCDEFGHJKLMNPQRSTUVWXYZ'), 4))}"
                           for k in range(DEALS)],
        "sales_agent": rng.choice(agents, DEALS), "product": product,
        "account": rng.choice(accounts, DEALS), "deal_stage": stages,
        "engage_date": [None if s == "Prospecting" else day for s, day in zip(stages, engage,
                                                                               strict=True)],
        "close_date": [day + dt.timedelta(days=int(c)) if shut else None
                       for day, c, shut in zip(engage, cycle, closed, strict=True)],
    })
    price = frame["product"].map(PRODUCTS).astype(float)
    value = np.round(price * rng.uniform(0.9, 1.1, DEALS))
    frame["close_value"] = np.where(stages == "Won", value,
                                    np.where(stages == "Lost", 0.0, np.nan))
    # Open deals often have no account yet (a fifth of them engaged, half of the prospects).
    missing = ((stages == "Engaging") & (rng.random(DEALS) < 0.2)) | \
        ((stages == "Prospecting") & (rng.random(DEALS) < 0.5))
    frame.loc[missing, "account"] = None
    return frame, team


def crm_csv(frame: pd.DataFrame) -> bytes:
    """The opportunities as the CRM writes them: US dates, empty cells for the unknown."""
    out = frame.copy()
    for column in ("engage_date", "close_date"):
        out[column] = out[column].map(us_date)
    out["close_value"] = out["close_value"].map(lambda v: "" if pd.isna(v) else f"{v:.0f}")
    return out.fillna("").to_csv(index=False).encode()


@pytest.fixture(scope="module", name="crm")
def crm_fixture() -> Crm:
    """The generated opportunities and sales team."""
    return generate()


@pytest.fixture(scope="module", name="loaded",
                params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def loaded_fixture(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
                   crm: Crm) -> Iterator[dict[str, Any]]:
    """An empty migrated database with the CRM file and then its sales-team file imported."""
    if request.param == "sqlite":
        path = Path(tmp_path_factory.mktemp("crm")) / "crm.db"
        url = f"sqlite:///{path}"
        migrate(make_app(url))
        engine = sa.create_engine(url)
    else:  # the import tests' database, emptied: the module's tests only read it
        url = request.getfixturevalue("imports_postgres_url")
        engine = empty_postgres(url)
    fresh = Fresh(request.param, url, engine)
    frame, team = crm
    reports = {"pipeline": fresh.run(crm_csv(frame), "sales_pipeline.csv"),
               "sales_team": fresh.run(team.to_csv(index=False).encode(), "sales_teams.csv")}
    yield {"fresh": fresh, "reports": reports}
    engine.dispose()


@pytest.fixture(name="session")
def crm_session(loaded: dict[str, Any]) -> Iterator[Session]:
    """A session on the loaded database."""
    with loaded["fresh"].session() as session:
        yield session


def approx(actual: Any, expected: Any, what: str) -> None:
    """Equal numbers, None/NaN equal to None/NaN."""
    if expected is None or (isinstance(expected, float) and np.isnan(expected)):
        assert actual is None or (isinstance(actual, float) and np.isnan(actual)), what
    else:
        assert actual == pytest.approx(expected, rel=1e-9, abs=1e-9), what


# --- pandas on the generated rows ---------------------------------------------------------------

def open_stages(frame: pd.DataFrame) -> list[str]:
    """The open stages in the order the file first names them."""
    return [s for s in frame["deal_stage"].drop_duplicates() if s in ("Prospecting", "Engaging")]


def outcome(frame: pd.DataFrame) -> pd.Series:
    """won, lost or open, by the stage."""
    return frame["deal_stage"].map({"Won": "won", "Lost": "lost"}).fillna("open")


def reached(frame: pd.DataFrame, stage: str) -> pd.Series:
    """A deal without history reached every stage up to its own (a closed one: all open)."""
    order = open_stages(frame)
    if stage == "won":
        return frame["deal_stage"] == "Won"
    rank = frame["deal_stage"].map({s: i for i, s in enumerate(order)}).fillna(len(order))
    return rank >= order.index(stage)


def win_rates(frame: pd.DataFrame) -> dict[str, float]:
    """Share won of the closed deals that reached each open stage."""
    closed = frame["deal_stage"].isin(["Won", "Lost"])
    return {s: float((frame.loc[closed & reached(frame, s), "deal_stage"] == "Won").mean())
            for s in open_stages(frame)}


def is_open_on(frame: pd.DataFrame, day: dt.date) -> pd.Series:
    """Created by `day` (or undated) and not closed by it."""
    created = frame["engage_date"].map(lambda d: d is None or d <= day)
    closed = frame["close_date"].map(lambda d: d is not None and d <= day)
    return created & ~closed


def closed_in(frame: pd.DataFrame, start: dt.date, end: dt.date) -> dict[str, Any]:
    """Win rate, deal size, cycle and won value of the deals closed in a range."""
    mask = frame["close_date"].map(lambda d: d is not None and start <= d <= end)
    closed = frame.loc[mask]
    won = closed.loc[closed["deal_stage"] == "Won"]
    cycle = [(c - o).days for c, o in zip(won["close_date"], won["engage_date"], strict=True)]
    return {"win_rate": len(won) / len(closed) if len(closed) else None,
            "avg_deal_size": won["close_value"].mean() if len(won) else None,
            "avg_cycle_days": float(np.mean(cycle)) if cycle else None,
            "won_value": float(won["close_value"].sum())}


def open_kpis(frame: pd.DataFrame, day: dt.date) -> dict[str, Any]:
    """Open deals on `day`: count, value, weighted value by their stage's win rate."""
    chosen = frame.loc[is_open_on(frame, day)]
    probability = chosen["deal_stage"].map(win_rates(frame)).astype(float)
    return {"open_deals": len(chosen), "open_value": float(chosen["close_value"].sum()),
            "weighted_value": float((chosen["close_value"] * probability).sum()),
            "open_without_amount": int(chosen["close_value"].isna().sum())}


PERIODS = {
    "all": Period(dt.date(2016, 10, 1), dt.date(2017, 12, 31), None, None,
                  dt.date(2017, 12, 31), "all"),
    "H2 2017 vs H1": Period(dt.date(2017, 7, 1), dt.date(2017, 12, 31), dt.date(2017, 1, 1),
                            dt.date(2017, 6, 30), dt.date(2017, 12, 31), "H2"),
}


@pytest.fixture(params=list(PERIODS), name="period")
def period_fixture(request: pytest.FixtureRequest) -> Period:
    """A range over the file's dates, with and without a comparison."""
    return PERIODS[request.param]


# --- the imports ---------------------------------------------------------------------------------

def test_the_crm_file_loads_every_row(loaded: dict[str, Any],
                                      crm: Crm) -> None:
    frame, team = crm
    report = loaded["reports"]["pipeline"]
    assert report.status == SUCCEEDED, report.to_text()
    assert report.kind == "pipeline" and report.rows_loaded == DEALS == report.rows_read
    assert report.mapping == {"opportunity_id": "opportunity_id", "rep": "sales_agent",
                              "product": "product", "account": "account",
                              "stage": "deal_stage", "created_on": "engage_date",
                              "expected_close": "close_date", "amount": "close_value"}
    still_open = frame.loc[outcome(frame) == "open"]
    assert report.totals["open deals without an amount (shown as “no amount”)"] == \
        int(still_open["close_value"].isna().sum())
    assert report.totals["open deals without an account (shown as “unknown account”)"] == \
        int(still_open["account"].isna().sum())
    assert report.totals["open deals without a created date"] == \
        int(still_open["engage_date"].isna().sum())
    # Month/day/year recognised from the values (days above 12 in the middle), no guess.
    assert not any("could be read" in note for note in report.notes)
    dated = frame["engage_date"].dropna()
    assert report.first_date == min(dated).isoformat()
    assert report.last_date == max(dated).isoformat()
    assert any("New stages" in note for note in report.notes)
    teams = loaded["reports"]["sales_team"]
    assert teams.status == SUCCEEDED and teams.kind == "sales_team", teams.to_text()
    assert teams.totals == {"inserted": 0, "updated": len(team)}


def test_the_stages_come_from_the_file_in_its_order(session: Session,
                                                    crm: Crm) -> None:
    frame, _team = crm
    rows = session.execute(sa.select(PipelineStage.name, PipelineStage.outcome)
                           .order_by(PipelineStage.position)).all()
    assert [name for name, _o in rows] == list(frame["deal_stage"].drop_duplicates())
    assert dict(rows) == {name: stage_outcome(name) for name, _o in rows}
    stages = service.stage_order(session, EVERYTHING)
    assert list(stages.open) == open_stages(frame)
    assert stages.defaults == {}  # the file has no probability column


def test_the_deals_are_stored_as_the_file_says(loaded: dict[str, Any],
                                               crm: Crm) -> None:
    frame, team = crm
    with loaded["fresh"].engine.connect() as connection:
        stored = pd.read_sql(sa.text(
            "SELECT o.external_id, o.stage, o.outcome, o.amount, o.product, o.created_on, "
            "o.closed_on, a.name AS account, r.name AS rep FROM opportunities AS o "
            "LEFT JOIN accounts AS a ON a.id = o.account_id "
            "LEFT JOIN sales_reps AS r ON r.id = o.rep_id"), connection)
        reps = pd.read_sql(sa.text("SELECT name, team, region, manager FROM sales_reps"),
                           connection).set_index("name")
    stored = stored.set_index("external_id").loc[frame["opportunity_id"]]
    assert (stored["stage"].to_numpy() == frame["deal_stage"].to_numpy()).all()
    assert (stored["outcome"].to_numpy() == outcome(frame).to_numpy()).all()
    assert (stored["product"].to_numpy() == frame["product"].to_numpy()).all()
    assert stored["account"].isna().sum() == frame["account"].isna().sum()
    assert stored["amount"].isna().sum() == frame["close_value"].isna().sum()
    approx(float(stored["amount"].sum()), float(frame["close_value"].sum()), "amounts")
    created = stored["created_on"].map(lambda d: None if d is None or pd.isna(d)
                                       else dt.date.fromisoformat(str(d)[:10]))
    assert created.tolist() == frame["engage_date"].tolist()  # month/day/year read right
    indexed = team.set_index("sales_agent")
    assert (reps.loc[indexed.index, "team"] == indexed["manager"]).all()
    assert (reps.loc[indexed.index, "manager"] == indexed["manager"]).all()
    assert (reps.loc[indexed.index, "region"] == indexed["regional_office"]).all()


def test_importing_the_file_again_changes_nothing(loaded: dict[str, Any],
                                                  crm: Crm) -> None:
    fresh = loaded["fresh"]
    before = fresh.checksum()
    report = fresh.run(crm_csv(crm[0]), "sales_pipeline.csv")
    assert report.status == SUCCEEDED and not any("New stages" in n for n in report.notes)
    assert fresh.checksum() == before


# --- the Pipeline page's numbers -----------------------------------------------------------------

def test_the_kpis_match_pandas(session: Session, crm: Crm,
                               period: Period) -> None:
    frame, _team = crm
    found = service.pipeline_kpis(session, EVERYTHING, Filters(), period)
    want = {**open_kpis(frame, period.end), **closed_in(frame, period.start, period.end)}
    for key in service.KPIS:
        approx(found["kpis"][key]["current"], want[key], key)
    assert found["counts"]["open_without_amount"] == want["open_without_amount"] > 0
    if period.comparison:
        before = {**open_kpis(frame, period.comparison[1]), **closed_in(frame, *period.comparison)}
        for key in service.KPIS:
            approx(found["kpis"][key]["comparison"], before[key], f"{key} comparison")
    probability = found["probability"]
    assert probability["stored"] == probability["default"] == 0
    assert probability["estimated"] == want["open_deals"]
    for stage, rate in win_rates(frame).items():
        approx(probability["stage_win_rates"][stage], rate, stage)
    note = service.stage_note(found)
    assert f"{want['open_without_amount']:,} open deals have no amount" in note


def test_the_stage_funnel_matches_pandas(session: Session,
                                         crm: Crm,
                                         period: Period) -> None:
    frame, _team = crm
    found = service.stage_funnel(session, EVERYTHING, Filters(), period).set_index("stage")
    mine = frame.loc[frame["engage_date"].map(
        lambda d: d is None or period.start <= d <= period.end)]
    assert list(found.index) == [*open_stages(frame), "won"]
    assert list(found["label"]) == [*open_stages(frame), "Won"]
    steps = list(found.index)
    for i, stage in enumerate(steps):
        got = found.loc[stage]
        hit = reached(mine, stage) if stage == "won" else \
            reached(mine, stage).reindex(mine.index)
        assert int(got["deals"]) == int(hit.sum()), stage
        approx(float(got["value"]), float(mine.loc[hit, "close_value"].sum()), stage)
        assert int(got["no_amount"]) == int(mine.loc[hit, "close_value"].isna().sum()), stage
        assert int(got["undated"]) == int(mine.loc[hit, "engage_date"].isna().sum()), stage
        here = int((mine["deal_stage"] == stage).sum()) if stage != "won" else 0
        assert int(got["open_here"]) == here, stage
        if stage != "won":
            left = int(hit.sum()) - here
            following = int((reached(mine, steps[i + 1])).sum())
            approx(got["conversion"], following / left if left else np.nan, stage)
            approx(got["avg_days"], np.nan, stage)  # a CRM export has no stage history


def test_quota_attainment_matches_pandas(session: Session,
                                         crm: Crm,
                                         period: Period) -> None:
    frame, team = crm
    found = service.quota_attainment(session, EVERYTHING, Filters(), period).set_index("rep")
    first, _quarters = service.quarters_of(period)
    won = frame.loc[(frame["deal_stage"] == "Won") & frame["close_date"].map(
        lambda d: first <= d <= period.end if d is not None else False)]
    by_rep = won.groupby("sales_agent")["close_value"].agg(["sum", "count"])
    assert sorted(found.index) == sorted(team["sales_agent"])
    for row in team.itertuples():
        got = found.loc[row.sales_agent]
        approx(float(got["won_value"]), float(by_rep["sum"].get(row.sales_agent, 0.0)),
               row.sales_agent)
        assert int(got["won_deals"]) == int(by_rep["count"].get(row.sales_agent, 0))
        assert got["team"] == row.manager and got["region"] == row.regional_office
        assert pd.isna(got["attainment"])  # the sample gives no quotas
    assert service.top_reps(found.reset_index()).empty


def month_of(day: dt.date) -> dt.date:
    """First of the month."""
    return day.replace(day=1)


def test_the_forecast_matches_pandas(session: Session, crm: Crm,
                                     period: Period) -> None:
    frame, _team = crm
    found = service.forecast_by_month(session, EVERYTHING, Filters(), period).set_index("month")
    first = month_of(period.start)
    won = frame.loc[(frame["deal_stage"] == "Won") & frame["close_date"].map(
        lambda d: d is not None and first <= d <= period.end)]
    by_month = won.groupby(won["close_date"].map(month_of))["close_value"].sum()
    assert found.index[0] == first and set(by_month.index) <= set(found.index)
    for month, row in found.iterrows():
        approx(row["won_value"], float(by_month.get(month, 0.0)), f"won {month}")
        assert row["weighted_value"] == 0.0  # open deals have no expected close
    still_open = int((outcome(frame) == "open").sum())
    assert (found["open_no_close"] == still_open).all() and (found["open_no_amount"] == 0).all()


@pytest.mark.parametrize("stage", ["", "Prospecting", "Engaging"])
def test_the_open_deals_match_pandas(session: Session, crm: Crm,
                                     stage: str) -> None:
    frame, _team = crm
    period = PERIODS["all"]
    table = service.open_opportunities(session, EVERYTHING, Filters(), period, stage)
    want = frame.loc[(outcome(frame) == "open") & frame["engage_date"].map(
        lambda d: d is None or d <= period.end)]
    if stage:
        want = want.loc[want["deal_stage"] == stage]
    mine = table.set_index("opportunity").loc[want["opportunity_id"]]
    assert len(table) == len(want) > 0
    assert (mine["account"].isna().to_numpy() == want["account"].isna().to_numpy()).all()
    assert mine["amount"].isna().all()  # open deals have no close value
    rates = win_rates(frame)
    for (deal, got), row in zip(mine.iterrows(), want.itertuples(), strict=True):
        approx(got["probability"], rates[row.deal_stage], deal)
        assert got["probability_source"] == "stage win rate"
        age = np.nan if row.engage_date is None else float((period.end - row.engage_date).days)
        approx(got["age_days"], age, deal)
        approx(got["days_since_change"], age, deal)
        assert bool(got["stale"]) == (not np.isnan(age) and age > 30)


def test_the_pipeline_panels_draw_the_crm_data(session: Session) -> None:
    """The open deals and stages show what is missing in words."""
    from layouts import pipeline as layout

    period = PERIODS["all"]
    table = service.open_opportunities(session, EVERYTHING, Filters(), period)
    rows = layout.open_rows(table, "USD", "30")
    assert {row["amount_text"] for row in rows} == {"no amount"}
    assert "unknown account" in {row["account"] for row in rows}
    funnel = service.stage_funnel(session, EVERYTHING, Filters(), period)
    assert "no amount" in str(layout.stage_table(funnel, "USD", ""))
    assert "n/a: these deals have no stage history" in layout.days_note(funnel)


def test_all_time_is_the_crm_files_own_span(session: Session, crm: Crm) -> None:
    """A database with a CRM file and no sales: the Pipeline page's dates come from the
    deals (engaged or closed), where the sales span would give nothing to choose."""
    frame, _team = crm
    days = [day for column in ("engage_date", "close_date") for day in frame[column]
            if day is not None]
    everything = Filters(range="all", compare="none")
    assert resolve(session, EVERYTHING, everything, SALES).first_data is None
    period = resolve(session, EVERYTHING, everything, PIPELINE)
    assert (period.start, period.end) == (min(days), max(days))
    assert period.label == f"all pipeline data, {format_range(min(days), max(days))}"
    assert data_status(session, EVERYTHING, PIPELINE)["last_day"] == max(days)


# --- the rules of the kind ----------------------------------------------------------------------

SMALL_HEAD = "Deal ID,Account,Stage,Amount,Created,Close date\n"


def test_won_and_lost_are_recognised_in_any_case(fresh_sqlite: Fresh) -> None:
    report = fresh_sqlite.run((SMALL_HEAD + "D1,Acme,Closed Won,100,2024-01-10,2024-02-01\n"
                               "D2,Acme,CLOSED LOST,0,2024-01-11,2024-02-02\n"
                               "D3,,Demo booked,,,\n").encode(), "deals.csv")
    assert report.status == SUCCEEDED, report.to_text()
    with fresh_sqlite.session() as session:
        stages = dict(session.execute(sa.select(PipelineStage.name, PipelineStage.outcome)).all())
        outcomes: dict[str, str] = dict(session.execute(sa.text(
            "SELECT external_id, outcome FROM opportunities")).all())
        closed: dict[str, Any] = dict(session.execute(sa.text(
            "SELECT external_id, closed_on FROM opportunities")).all())
    assert stages == {"Closed Won": "won", "CLOSED LOST": "lost", "Demo booked": "open"}
    assert outcomes == {"D1": "won", "D2": "lost", "D3": "open"}
    assert closed["D3"] is None and str(closed["D1"])[:10] == "2024-02-01"
    # A later file spelling a stage otherwise uses the stored one.
    again = fresh_sqlite.run((SMALL_HEAD + "D4,Acme,closed-won,50,2024-03-01,2024-03-09\n"
                              ).encode(), "more.csv")
    assert again.status == SUCCEEDED and fresh_sqlite.scalar(
        "SELECT stage FROM opportunities WHERE external_id = 'D4'") == "Closed Won"
    assert fresh_sqlite.scalar("SELECT COUNT(*) FROM pipeline_stages") == 3


def test_a_closed_deal_needs_an_amount_an_account_and_dates(fresh_sqlite: Fresh) -> None:
    report = fresh_sqlite.run((SMALL_HEAD + "D1,,Won,,,\n").encode(), "deals.csv")
    assert report.status == REJECTED
    problems = {problem["column"] for problem in report.problems}
    assert problems == {"Account", "Amount", "Created", "Close date"}
    assert fresh_sqlite.scalar("SELECT COUNT(*) FROM pipeline_stages") == 0


def test_an_ambiguous_date_column_asks_and_the_chosen_order_is_used(fresh_sqlite: Fresh) -> None:
    from services.imports.mapping import ColumnMapping

    body = SMALL_HEAD + "D1,Acme,Engaging,,03/04/2024,\n"
    guessed = fresh_sqlite.run(body.encode(), "deals.csv", dry_run=True)
    assert any("could be read as day/month or as month/day" in n for n in guessed.notes)
    columns = {"opportunity_id": "Deal ID", "account": "Account", "stage": "Stage",
               "amount": "Amount", "created_on": "Created", "expected_close": "Close date"}
    mapping = ColumnMapping("pipeline", columns, date_order="mdy")
    assert fresh_sqlite.run(body.encode(), "deals.csv", mapping=mapping).status == SUCCEEDED
    assert str(fresh_sqlite.scalar("SELECT created_on FROM opportunities"))[:10] == "2024-03-04"


def test_the_old_closed_stage_with_an_outcome_still_imports(fresh_sqlite: Fresh) -> None:
    head = "Opportunity ID,Account,Stage,Outcome,Amount,Created,Closed on\n"
    report = fresh_sqlite.run((head + "O1,Acme,closed,won,10,2024-01-01,2024-02-01\n"
                               "O2,Acme,closed,lost,10,2024-01-01,2024-02-01\n"
                               "O3,Acme,proposal,lost,10,2024-01-01,2024-02-01\n").encode())
    assert report.status == SUCCEEDED, report.to_text()
    with fresh_sqlite.session() as session:
        rows: dict[str, str] = dict(session.execute(sa.text(
            "SELECT external_id, stage || ':' || outcome FROM opportunities")).all())
    assert rows == {"O1": "Won:won", "O2": "Lost:lost", "O3": "proposal:lost"}


@pytest.mark.parametrize("kind", ["pipeline", "sales_team"])
def test_a_platform_limited_user_may_not_import_them(fresh_sqlite: Fresh, kind: str,
                                                      crm: Crm) -> None:
    frame, team = crm
    data = crm_csv(frame.head(5)) if kind == "pipeline" else team.to_csv(index=False).encode()
    limited = Scope(user_id=7, platform_ids=frozenset({1}))
    report = fresh_sqlite.run(data, f"{kind}.csv", scope=limited)
    assert report.status == REJECTED and report.kind == kind
    assert "only a user without a platform limit" in report.errors[0]
    assert fresh_sqlite.scalar("SELECT COUNT(*) FROM sales_reps") == 0


def test_an_admin_renames_moves_and_weighs_a_stage(fresh_sqlite: Fresh) -> None:
    from services import admin
    from services.errors import AccessDenied, InvalidInput

    body = (SMALL_HEAD + "D1,Acme,Engaging,100,2024-01-10,\n"
            "D2,Acme,Prospecting,50,2024-01-11,\n"
            "D3,Acme,Won,80,2024-01-12,2024-02-01\n")
    assert fresh_sqlite.run(body.encode(), "deals.csv").status == SUCCEEDED
    boss, viewer = admin.Actor(1, "admin"), admin.Actor(2, "viewer")
    with fresh_sqlite.session() as session:
        stages = {stage["name"]: stage for stage in admin.list_stages(session, boss)}
        assert [s["name"] for s in stages.values()] == ["Engaging", "Prospecting", "Won"]
        with pytest.raises(AccessDenied):
            admin.update_stage(session, viewer, stages["Engaging"]["id"], "Engaged", 2, None)
        with pytest.raises(InvalidInput):
            admin.update_stage(session, boss, stages["Engaging"]["id"], "won", 2, None)
        admin.update_stage(session, boss, stages["Engaging"]["id"], "Engaged", 2, 0.4)
        session.commit()
        order = service.stage_order(session, EVERYTHING)
        assert order.open == ("Prospecting", "Engaged") and order.defaults == {"Engaged": 0.4}
        period = Period(dt.date(2024, 1, 1), dt.date(2024, 3, 31), None, None,
                        dt.date(2024, 3, 31), "q1")
        table = service.open_opportunities(session, EVERYTHING, Filters(), period)
        engaged = table.set_index("opportunity").loc["D1"]
        assert engaged["stage"] == "Engaged" and engaged["probability"] == 0.4
        assert engaged["probability_source"] == "stage default"
        kpis = service.pipeline_kpis(session, EVERYTHING, Filters(), period)
        assert kpis["probability"]["default"] == 1
        approx(kpis["kpis"]["weighted_value"]["current"], 100 * 0.4 + 50 * 1.0, "weighted")
