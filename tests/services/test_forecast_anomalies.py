"""Anomalies: the demo data's planted days are found with their driver, a quiet series gives
none, and each day's numbers are the raw lines' (pandas, not the service's helpers).

The planted effects need the demo's default size (80,000 lines, seed 42, as `pulseboard
demo-data` loads it): at the suite's 30,000 lines a platform's day holds a handful of
orders and no detector can tell an outage from noise. That database is built once here.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from dashapp.extensions import db
from services.demo_data import PLANTED, generate_demo_data
from services.demo_data.plan import DEFAULT_END
from services.filters import Filters
from services.forecast_anomalies import anomalies, flagged_days, typical_values
from services.sales import resolve
from services.scope import Scope
from tests.conftest import make_app, migrate
from tests.services.test_overview import expected_metrics, read_raw

EVERYTHING = Scope()
DRIVER_SQL = sa.text("""
    SELECT l.sale_date, l.quantity, l.unit_price, f.name AS platform,
           COALESCE(p.category, 'Uncategorised') AS category,
           COALESCE(l.country, 'Unknown') AS country
    FROM order_lines AS l
    JOIN products AS p ON p.id = l.product_id
    JOIN platforms AS f ON f.id = l.platform_id
    WHERE p.is_merchandise
""")
OUTAGE_DAY = DEFAULT_END - dt.timedelta(days=PLANTED["outage"]["days_before_end"])


def cyber_mondays(years: range) -> list[dt.date]:
    """The Monday after the fourth Thursday of November."""
    days = []
    for year in years:
        first = dt.date(year, 11, 1)
        thursday = first + dt.timedelta(days=(3 - first.weekday()) % 7 + 21)
        days.append(thursday + dt.timedelta(days=4))
    return days


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Session]:
    """A session on a SQLite database holding the default demo data."""
    path = Path(tmp_path_factory.mktemp("demo")) / "demo.db"
    app = make_app(f"sqlite:///{path}")
    migrate(app)
    with app.app_context():
        generate_demo_data(db.session)
        db.session.commit()
        yield db.session


def test_the_planted_days_are_found_with_their_driver(demo: Session) -> None:
    filters = Filters(range="all")
    period = resolve(demo, EVERYTHING, filters)
    found = anomalies(demo, EVERYTHING, filters, period, "orders").set_index("day")
    for monday in cyber_mondays(range(2024, 2026)):
        assert monday in found.index, monday
        assert found.loc[monday, "gap"] > 0.5
    outage = found.loc[OUTAGE_DAY]
    assert outage["gap"] < 0 and outage["driver"] == PLANTED["outage"]["platform"]
    assert f"most of the drop on {PLANTED['outage']['platform']}" in outage["text"]
    assert OUTAGE_DAY.strftime("%a") in outage["text"]


def test_each_anomaly_holds_the_raw_lines_numbers(demo: Session) -> None:
    filters = Filters(range="all")
    period = resolve(demo, EVERYTHING, filters)
    found = anomalies(demo, EVERYTHING, filters, period, "net_revenue")
    assert len(found)
    lines = read_raw(demo.connection())
    daily = expected_metrics(lines, lines["day"])["net_revenue"].astype(float)
    daily = daily.reindex(pd.date_range(daily.index.min(), period.asof), fill_value=0.0)
    for row in found.itertuples():
        day = pd.Timestamp(row.day)
        neighbours = [day + pd.Timedelta(weeks=k) for k in (-4, -3, -2, -1, 1, 2, 3, 4)]
        values = daily.reindex(neighbours).dropna()
        assert row.actual == pytest.approx(daily[day], abs=1e-6)
        assert row.typical == pytest.approx(values[values > 0].median(), abs=1e-6)
        assert row.gap == pytest.approx(daily[day] / row.typical - 1, abs=1e-9)


def expected_driver(lines: pd.DataFrame, day: pd.Timestamp, sign: float,
                    asof: dt.date) -> tuple[str, str, float]:
    """The member of each kind whose net revenue on `day` moved most from the median of its
    same weekday ±4 weeks (days above zero, at least three, else 0) in the gap's direction;
    the platform's unless a category's or country's move is larger."""
    best: tuple[str, str, float] | None = None
    for kind in ("platform", "category", "country"):
        per_day = lines.groupby(["day", kind])["value"].sum()
        changes = {}
        for member in sorted(lines[kind].unique()):
            series = per_day.xs(member, level=kind)
            values = [series.get(day + pd.Timedelta(weeks=k), 0.0)
                      for k in (-4, -3, -2, -1, 1, 2, 3, 4)
                      if (day + pd.Timedelta(weeks=k)).date() <= asof]
            traded = [value for value in values if value > 0]
            typical = float(np.median(traded)) if len(traded) >= 3 else 0.0
            changes[member] = (series.get(day, 0.0) - typical) * sign
        name = max(changes, key=lambda member: changes[member])
        change = changes[name] * sign if changes[name] > 0 else 0.0
        if best is None or abs(change) > abs(best[2]):
            best = (kind, name if changes[name] > 0 else "", change)
    assert best is not None
    return best


def test_each_driver_is_the_largest_move_in_the_raw_lines(demo: Session) -> None:
    filters = Filters(range="all")
    period = resolve(demo, EVERYTHING, filters)
    found = anomalies(demo, EVERYTHING, filters, period, "net_revenue")
    assert len(found)
    lines = pd.read_sql(DRIVER_SQL, demo.connection())
    lines["day"] = pd.to_datetime(lines["sale_date"].astype(str).str[:10])
    lines["value"] = lines["quantity"] * pd.to_numeric(lines["unit_price"]).astype(float)
    for row in found.itertuples():
        sign = 1.0 if row.actual >= row.typical else -1.0
        kind, name, change = expected_driver(lines, pd.Timestamp(row.day), sign, period.asof)
        assert (row.driver_kind, row.driver) == (kind, name), row.day
        assert row.driver_change == pytest.approx(change, abs=1e-6)


def test_a_quiet_series_gives_no_anomaly() -> None:
    rng = np.random.default_rng(3)
    days = pd.date_range("2024-01-01", periods=730)
    weekday = np.array([0.9, 0.85, 0.9, 0.95, 1.05, 1.1, 1.25])[days.day_of_week]
    noise = np.exp(rng.normal(0, 0.1, len(days)))
    wide = pd.DataFrame({name: rng.poisson(rate * weekday * noise).astype(float)
                         for name, rate in (("Web", 40), ("Amazon", 25), ("Retail", 15))},
                        index=days)
    assert flagged_days(wide).empty


def test_typical_values_on_chosen_days_are_those_of_every_day() -> None:
    rng = np.random.default_rng(5)
    days = pd.date_range("2024-01-01", periods=120)
    wide = pd.DataFrame({"Web": rng.poisson(30, len(days)).astype(float),
                         "Shop": rng.poisson(2, len(days)).astype(float)}, index=days)
    wide.iloc[::11] = 0.0  # closed days are not neighbours
    chosen = days[[0, 9, 60, 119]]
    every = typical_values(wide)
    # An independent median of the same weekday's trading days up to 4 weeks either side.
    for day in days:
        for column in wide:
            near = [wide.at[day + pd.Timedelta(weeks=k), column]
                    for k in (-4, -3, -2, -1, 1, 2, 3, 4)
                    if day + pd.Timedelta(weeks=k) in wide.index]
            traded = [value for value in near if value > 0]
            expected = float(np.median(traded)) if len(traded) >= 3 else np.nan
            assert every.at[day, column] == pytest.approx(expected, nan_ok=True), (day, column)
    pd.testing.assert_frame_equal(typical_values(wide, chosen), every.loc[chosen])
    with pytest.raises(ValueError):
        typical_values(wide, pd.DatetimeIndex([days[-1] + pd.Timedelta(days=1)]))


def test_a_planted_outage_in_a_quiet_series_is_found() -> None:
    rng = np.random.default_rng(4)
    days = pd.date_range("2024-01-01", periods=365)
    wide = pd.DataFrame({name: rng.poisson(rate, len(days)).astype(float)
                         for name, rate in (("Web", 40), ("Amazon", 25))}, index=days)
    wide.loc["2024-06-12", "Web"] = 4.0
    found = flagged_days(wide)
    assert list(found["day"]) == [pd.Timestamp("2024-06-12")]


@pytest.mark.parametrize("metric", ["orders", "net_revenue"])
def test_a_trained_forecast_lends_the_list_its_per_day_frames(demo: Session,
                                                              metric: str) -> None:
    from services import forecasting

    filters = Filters(range="12m")  # its window starts after the data's first day
    period = resolve(demo, EVERYTHING, filters)
    read = anomalies(demo, EVERYTHING, filters, period, metric)
    forecasting.train_forecast(demo, EVERYTHING, filters, period, metric)
    seen: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        seen.append(statement)

    sa.event.listen(demo.get_bind(), "before_cursor_execute", record)
    try:
        kept = anomalies(demo, EVERYTHING, filters, period, metric)
    finally:
        sa.event.remove(demo.get_bind(), "before_cursor_execute", record)
    # The per-platform, per-category and per-country reads are all kept with the model.
    assert not [sql for sql in seen if any(f"AS {kind}" in sql
                                           for kind in ("platform", "category", "country"))]
    assert not read.empty
    pd.testing.assert_frame_equal(kept, read)
