"""The Funnel services, on SQLite and PostgreSQL, checked against pandas over the raw rows of
`funnel_days` and `order_lines` (nothing here calls the services' helpers for an expected
value)."""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from layouts import figures
from models import Platform
from services import funnel as service
from services.filters import Filters, Period
from services.scope import Scope
from services.spans import FUNNEL, resolve
from tests.conftest import LIMITED_PLATFORM, TestDatabase

STEPS = ["sessions", "product_views", "add_to_cart", "checkout", "purchase"]
FUNNEL_SQL = sa.text("""
    SELECT d.date, d.platform_id, f.slug, f.name AS platform, d.sessions, d.product_views,
           d.add_to_cart, d.checkout, d.purchase
    FROM funnel_days AS d JOIN platforms AS f ON f.id = d.platform_id
""")
ORDERS_SQL = sa.text("""
    SELECT l.order_id, l.platform_id, l.sale_date, l.quantity, l.unit_price, p.is_merchandise
    FROM order_lines AS l JOIN products AS p ON p.id = l.product_id
""")
EVERYTHING = Scope()
_RAW: dict[tuple[str, str], pd.DataFrame] = {}


def _read(database: TestDatabase, what: str, sql: sa.TextClause, day: str) -> pd.DataFrame:
    if (database.name, what) not in _RAW:
        with database.engine.connect() as connection:
            frame = pd.read_sql(sql, connection)
        frame["day"] = pd.to_datetime(frame[day].astype(str).str[:10]).dt.date
        _RAW[database.name, what] = frame
    return _RAW[database.name, what]


@pytest.fixture
def days(database: TestDatabase) -> pd.DataFrame:
    """Every funnel day as stored, with its platform's slug and name."""
    return _read(database, "funnel", FUNNEL_SQL, "date")


@pytest.fixture
def lines(database: TestDatabase) -> pd.DataFrame:
    """Every order line with its order, platform, day and whether it is merchandise."""
    return _read(database, "orders", ORDERS_SQL, "sale_date")


def visible(days: pd.DataFrame, filters: Filters, start: dt.date, end: dt.date,
            scope: Scope = EVERYTHING) -> pd.DataFrame:
    """The funnel days a view sees: the dates, the scope and the platform filter only."""
    mask = (days["day"] >= start) & (days["day"] <= end)
    if scope.platform_ids is not None:
        mask &= days["platform_id"].isin(list(scope.platform_ids))
    if filters.platforms:
        mask &= days["slug"].isin(list(filters.platforms))
    return days.loc[mask]


def rate(part: float, whole: float) -> float:
    """part / whole, NaN for an empty whole."""
    return part / whole if whole else np.nan


def assert_close(actual: object, expected: float, what: str) -> None:
    """Equal numbers, NaN equal to NaN."""
    if expected is None or (isinstance(expected, float) and np.isnan(expected)):
        assert actual is None or np.isnan(float(actual)), what  # type: ignore[arg-type]
    else:
        assert float(actual) == pytest.approx(expected, rel=1e-9, abs=1e-12), what  # type: ignore[arg-type]


def scope_of(session: Session, slug: str) -> Scope:
    """A scope limited to one platform."""
    platform_id = session.scalars(sa.select(Platform.id).where(Platform.slug == slug)).one()
    return Scope(user_id=1, platform_ids=frozenset({platform_id}))


def one_platform(days: pd.DataFrame) -> str:
    """The platform with the most purchases (a stable choice on any seed)."""
    totals = days.groupby("slug")["purchase"].sum()
    return str(totals.sort_index().idxmax())


VIEWS = {
    "90 days vs previous": lambda days: Filters(range="90d", compare="prev", grain="week"),
    "all time vs last year, one platform": lambda days: Filters(
        range="all", compare="yoy", grain="month", platforms=(one_platform(days),)),
    "12 months, a product chosen": lambda days: Filters(
        range="12m", compare="none", grain="day", products=("NO-SUCH-SKU",),
        categories=("Anything",)),
}


@pytest.fixture(params=list(VIEWS))
def view(request: pytest.FixtureRequest, session: Session,
         days: pd.DataFrame) -> tuple[Filters, Period]:
    """A view's filters and its dates resolved against the page's own data, as the page does."""
    filters = VIEWS[request.param](days)
    return filters, resolve(session, EVERYTHING, filters, FUNNEL)


def expected_steps(days: pd.DataFrame, filters: Filters, start: dt.date,
                   end: dt.date) -> pd.DataFrame:
    """Counts, step rates and overall rates from the raw days."""
    counts = visible(days, filters, start, end)[STEPS].sum()
    out = pd.DataFrame({"step": STEPS, "count": [int(counts[s]) for s in STEPS]})
    out["step_rate"] = [np.nan] + [rate(counts[b], counts[a])
                                   for a, b in zip(STEPS, STEPS[1:], strict=False)]
    out["overall_rate"] = [rate(counts[s], counts["sessions"]) for s in STEPS]
    return out


def test_steps_match_pandas(session: Session, days: pd.DataFrame,
                            view: tuple[Filters, Period]) -> None:
    filters, period = view
    found = service.funnel_steps(session, EVERYTHING, filters, period)
    want = expected_steps(days, filters, period.start, period.end)
    assert found["step"].tolist() == STEPS
    assert found["count"].tolist() == want["count"].tolist()
    assert int(found["count"].iloc[0]) > 0
    for column in ("step_rate", "overall_rate"):
        for i, value in enumerate(want[column]):
            assert_close(found[column].iloc[i], value, f"{column} {STEPS[i]}")
    lost = [0] + [a - b for a, b in zip(want["count"], want["count"][1:], strict=False)]
    assert found["lost"].tolist() == lost
    if period.comparison:  # a comparison the data covers wholly
        before = expected_steps(days, filters, *period.comparison)
        assert found["compare_count"].tolist() == [float(c) for c in before["count"]]
        for i, value in enumerate(before["overall_rate"]):
            assert_close(found["compare_overall_rate"].iloc[i], value, "compare overall")
    else:
        assert found["compare_count"].isna().all()


def test_the_biggest_drop_is_named_in_words(session: Session, days: pd.DataFrame,
                                            view: tuple[Filters, Period]) -> None:
    filters, period = view
    want = expected_steps(days, filters, period.start, period.end)
    drop = service.biggest_drop(service.funnel_steps(session, EVERYTHING, filters, period))
    left = 1 - want["step_rate"]
    worst = int(left.idxmax())
    assert (drop["after"], drop["before"]) == (STEPS[worst - 1], STEPS[worst])
    assert drop["lost_share"] == pytest.approx(left.max())
    assert f"{left.max():.0%} leave" in drop["text"]
    assert drop["text"].startswith("Most visitors are lost between ")


def test_conversion_by_platform_matches_pandas(session: Session, days: pd.DataFrame,
                                               view: tuple[Filters, Period]) -> None:
    filters, period = view
    found = service.funnel_by_platform(session, EVERYTHING, filters, period)
    seen = visible(days, filters, period.start, period.end)
    assert sorted(found["slug"].unique()) == sorted(seen["slug"].unique())
    pairs = list(zip(STEPS, STEPS[1:], strict=False)) + [("sessions", "purchase")]
    names = [*STEPS[1:], "overall"]
    for slug, rows in seen.groupby("slug"):
        mine = found.loc[found["slug"] == slug].set_index("step")
        counts = rows[STEPS].sum()
        for name, (a, b) in zip(names, pairs, strict=True):
            assert_close(mine.loc[name, "rate"], rate(counts[b], counts[a]), f"{slug} {name}")
            assert int(mine.loc[name, "count"]) == int(counts[b])
        if period.comparison:
            earlier = visible(days, filters, *period.comparison)
            then = earlier.loc[earlier["slug"] == slug, STEPS].sum()
            assert_close(mine.loc["overall", "compare_rate"],
                         rate(then["purchase"], then["sessions"]), f"{slug} compare")
        else:
            assert mine["compare_rate"].isna().all()


def bucket_start(day: dt.date, grain: str) -> dt.date:
    """The Monday or first of the month of a day (the day itself at day grain)."""
    if grain == "week":
        return day - dt.timedelta(days=day.weekday())
    if grain == "month":
        return day.replace(day=1)
    return day


def per_bucket(days: pd.DataFrame, filters: Filters, start: dt.date,
               end: dt.date) -> pd.DataFrame:
    """Sessions, purchases and their ratio per bucket that has funnel days."""
    seen = visible(days, filters, start, end)
    grouped = seen.assign(bucket=seen["day"].map(lambda d: bucket_start(d, filters.grain))) \
        .groupby("bucket")[["sessions", "purchase"]].sum().sort_index()
    grouped["value"] = grouped["purchase"] / grouped["sessions"]
    return grouped


def test_the_conversion_trend_matches_pandas(session: Session, days: pd.DataFrame,
                                             view: tuple[Filters, Period]) -> None:
    filters, period = view
    trend = service.conversion_trend(session, EVERYTHING, filters, period)
    want = per_bucket(days, filters, period.start, period.end)
    mine = trend.set_index("bucket")
    assert list(mine.index)[0] == bucket_start(period.start, filters.grain)
    assert set(want.index) <= set(mine.index)
    for start, row in want.iterrows():
        assert int(mine.loc[start, "sessions"]) == int(row["sessions"])
        assert_close(mine.loc[start, "value"], float(row["value"]), f"bucket {start}")
    assert mine.loc[~mine.index.isin(want.index), "sessions"].eq(0).all()
    last = trend["bucket"].iloc[-1]
    assert trend["complete"].iloc[-1] == (
        (filters.grain == "day") or
        (period.end == (last + dt.timedelta(days=6) if filters.grain == "week"
                        else (pd.Timestamp(last) + pd.offsets.MonthEnd(0)).date())))
    if not (period.compare_start and period.compare_end):
        assert trend["compare_value"].isna().all()
        return
    for row in trend.itertuples():
        first, last = compared_days(row.bucket, filters, period)
        assert row.compare_bucket == first
        if period.first_data and first < period.first_data:
            assert np.isnan(row.compare_value), "a span before the data is a gap"
            continue
        span = visible(days, filters, first, last)
        assert row.compare_sessions == span["sessions"].sum()
        assert_close(row.compare_value, rate(span["purchase"].sum(), span["sessions"].sum()),
                     f"compare {row.bucket}")


def shifted(day: dt.date, filters: Filters, period: Period) -> dt.date:
    """The day a day is compared with (docs/architecture.md, the filter model)."""
    if filters.compare == "prev":
        return day - dt.timedelta(days=period.days)
    if filters.grain == "month":
        return day.replace(year=day.year - 1, day=min(day.day, 28 if day.month == 2 else 31))
    return day - dt.timedelta(days=364)


def compared_days(start: dt.date, filters: Filters, period: Period) -> tuple[dt.date, dt.date]:
    """A bucket's days inside the range, shifted by the comparison."""
    last = (start + dt.timedelta(days=6) if filters.grain == "week" else
            (pd.Timestamp(start) + pd.offsets.MonthEnd(0)).date() if filters.grain == "month"
            else start)
    return (shifted(max(start, period.start), filters, period),
            shifted(min(last, period.end), filters, period))


def test_reconciliation_compares_the_same_platforms_and_days(
        session: Session, days: pd.DataFrame, lines: pd.DataFrame,
        view: tuple[Filters, Period]) -> None:
    filters, period = view
    found = service.reconciliation(session, EVERYTHING, replace(
        filters, products=(), categories=()), period).set_index("slug")
    seen = visible(days, filters, period.start, period.end)
    sale = (lines["quantity"] > 0) & (lines["unit_price"] > 0) & \
        lines["is_merchandise"].astype(bool)
    orders = lines.loc[sale].groupby(["platform_id", "day"])["order_id"].nunique()
    assert sorted(found.index) == sorted(seen["slug"].unique())
    for slug, rows in seen.groupby("slug"):
        recorded = sum(int(orders.get((pid, day), 0))
                       for pid, day in zip(rows["platform_id"], rows["day"], strict=True))
        assert int(found.loc[slug, "funnel_purchases"]) == int(rows["purchase"].sum())
        assert int(found.loc[slug, "orders"]) == recorded
        assert int(found.loc[slug, "days"]) == len(rows)
        assert int(found.loc[slug, "gap"]) == int(rows["purchase"].sum()) - recorded
    total = service.reconciliation_total(found.reset_index())
    assert total["funnel_purchases"] == int(seen["purchase"].sum())
    assert total["gap"] == total["funnel_purchases"] - total["orders"]


def test_a_planted_gap_is_stated(session: Session, days: pd.DataFrame) -> None:
    """Demo funnels match orders exactly; a made-up table with a gap says it in words."""
    frame = pd.DataFrame({"slug": ["a", "b"], "platform": ["A", "B"], "days": [3, 3],
                          "funnel_purchases": [110, 50], "orders": [100, 40]})
    frame["gap"] = frame["funnel_purchases"] - frame["orders"]
    total = service.reconciliation_total(frame)
    assert total["gap"] == 20
    assert total["gap_share"] == pytest.approx(20 / 140)
    assert "20 more purchases than the 140 orders recorded (14.3%)" in total["text"]


def test_a_platform_limited_user_sees_only_their_platform(session: Session,
                                                          days: pd.DataFrame) -> None:
    scope = scope_of(session, LIMITED_PLATFORM)
    filters = Filters(range="all", compare="none", grain="month")
    period = resolve(session, scope, filters, FUNNEL)
    steps = service.funnel_steps(session, scope, filters, period)
    mine = visible(days, filters, period.start, period.end, scope)
    assert set(mine["slug"]) == {LIMITED_PLATFORM}
    assert steps["count"].tolist() == [int(mine[s].sum()) for s in STEPS]
    platforms = service.funnel_by_platform(session, scope, filters, period)
    assert set(platforms["slug"]) == {LIMITED_PLATFORM}
    assert set(service.reconciliation(session, scope, filters, period)["slug"]) == \
        {LIMITED_PLATFORM}
    # Asking for another platform by name shows nothing rather than its numbers.
    other = replace(filters, platforms=("online-store",))
    assert service.funnel_steps(session, scope, other, period)["count"].sum() == 0
    assert service.biggest_drop(service.funnel_steps(session, scope, other, period))["text"] \
        == "No sessions in this view."


HOSTILE = '<a href="//evil.example/">x</a>'


def shown_text(node: object) -> str:
    """Every string a figure may draw, `customdata` (click keys, never drawn) left out."""
    if isinstance(node, dict):
        return " ".join(shown_text(v) for k, v in node.items() if k != "customdata")
    if isinstance(node, list):
        return " ".join(shown_text(v) for v in node)
    return node if isinstance(node, str) else ""


def test_the_funnel_charts_are_valid_plotly_and_escape_names() -> None:
    """The page's builders write plain dicts: plotly's schema still checks them, and a
    platform's name cannot put markup into a chart while its click key stays raw."""
    rates = pd.DataFrame({"label": [HOSTILE, HOSTILE, "B", "B"], "slug": ["h", "h", "b", "b"],
                          "step": ["x", "y", "x", "y"], "rate": [0.1, np.nan, 0.3, 0.4],
                          "compare_rate": [0.2, 0.1, np.nan, 0.3]})
    charts = [figures.funnel_figure(["Sessions", HOSTILE], [10, 5], ["sessions", HOSTILE],
                                    "Visitors", compare=[8.0, np.nan], compare_label="Before"),
              figures.grouped_rate_figure(rates, "label", "slug", "step",
                                          [("x", "X"), ("y", "Y")], "Before", selected=("b",)),
              figures.with_layout(figures.empty_figure("x"), yaxis={"tickformat": ".1%"})]
    for chart in charts:
        go.Figure(chart)  # raises on a property plotly does not know
        assert json.loads(json.dumps(chart, allow_nan=False)) == chart
        assert "<a" not in shown_text(chart)
    assert "&lt;a href=" in shown_text(charts[0]) and "&lt;a href=" in shown_text(charts[1])
    assert HOSTILE in charts[0]["data"][0]["customdata"]
    assert charts[1]["data"][0]["customdata"][0] == "h"
