"""The health score's components and actions, on SQLite and PostgreSQL, against arithmetic on
the raw order lines in pandas and the rules of docs/insights.md written out again here."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from sqlalchemy.orm import Session

from services import forecasting
from services.filters import Filters
from services.insights import health
from services.sales import resolve
from services.scope import Scope
from tests.services.test_overview import expected_totals, view_lines
from tests.services.test_overview import raw as raw  # noqa: F401 - the raw lines fixture

EVERYTHING = Scope()


def clamp(value: float) -> float:
    return max(0.0, min(100.0, value))


def test_the_components_are_the_raw_lines_arithmetic(session: Session,
                                                     raw: pd.DataFrame) -> None:
    filters = Filters(range="90d", compare="prev")
    period = resolve(session, EVERYTHING, filters)
    result = health(session, EVERYTHING, filters, period)
    got = result["components"].set_index("key")
    now = view_lines(raw, filters, period.start, period.end)
    assert period.compare_start and period.compare_end
    before = view_lines(raw, filters, period.compare_start, period.compare_end)
    current, previous = expected_totals(now), expected_totals(before)

    growth = current["net_revenue"] / previous["net_revenue"] - 1
    assert got.loc["growth", "value"] == pytest.approx(growth)
    assert got.loc["growth", "score"] == pytest.approx(clamp(50 + 250 * growth))
    assert got.loc["margin", "value"] == pytest.approx(current["margin"])
    assert got.loc["margin", "score"] == pytest.approx(clamp(200 * current["margin"]))
    rate = current["returns"] / current["gross_sales"]
    assert got.loc["returns", "value"] == pytest.approx(rate)
    assert got.loc["returns", "score"] == pytest.approx(clamp(100 - 500 * rate))

    sold = now.loc[(now["quantity"] > 0) & now["customer_id"].notna(), "customer_id"]
    earlier = view_lines(raw, filters, raw["day"].min().date(),
                         period.start - dt.timedelta(days=1))
    earlier = earlier.loc[earlier["quantity"] > 0, "customer_id"].dropna()
    repeat = sold.drop_duplicates().isin(set(earlier)).mean()
    assert got.loc["repeat", "value"] == pytest.approx(repeat)
    assert got.loc["repeat", "score"] == pytest.approx(clamp(200 * repeat))

    net = now["quantity"] * now["unit_price"]
    shares = [net.groupby(now["platform_name"]).sum().max() / net.sum(),
              net.groupby(now["sku"]).sum().max() / net.sum()]
    assert got.loc["dependence", "value"] == pytest.approx(max(shares))
    assert got.loc["dependence", "score"] == pytest.approx(
        clamp(100 * (0.80 - max(shares)) / 0.55))

    outlook = forecasting.forecast(session, EVERYTHING, filters, period, "net_revenue", "30")
    last_30 = view_lines(raw, filters, period.asof - dt.timedelta(days=29), period.asof)
    trend = outlook["forecast"]["forecast"].sum() / expected_totals(last_30)["net_revenue"] - 1
    assert got.loc["forecast", "value"] == pytest.approx(trend)

    weights = got["weight"]
    assert weights.sum() == 100
    assert result["score"] == pytest.approx((got["score"] * weights).sum() / weights.sum())
    for component in got.itertuples():
        assert component.sentence and component.label


def test_without_a_comparison_growth_drops_out_and_its_weight_is_shared(
        session: Session) -> None:
    filters = Filters(range="90d", compare="none")
    period = resolve(session, EVERYTHING, filters)
    result = health(session, EVERYTHING, filters, period)
    got = result["components"].set_index("key")
    assert pd.isna(got.loc["growth", "score"])
    assert "no comparison period" in got.loc["growth", "sentence"]
    scored = got.loc[got["score"].notna()]
    assert result["score"] == pytest.approx(
        (scored["score"] * scored["weight"]).sum() / scored["weight"].sum())


def test_actions_carry_their_numbers_and_a_link(session: Session, raw: pd.DataFrame) -> None:
    platform = raw["slug"].value_counts().index[0]
    filters = Filters(range="30d", compare="prev", platforms=(platform,))
    period = resolve(session, EVERYTHING, filters)
    result = health(session, EVERYTHING, filters, period)
    assert len(result["actions"]) <= 3
    urgency = [action["urgency"] for action in result["actions"]]
    assert urgency == sorted(urgency, reverse=True)
    for action in result["actions"]:
        assert any(ch.isdigit() for ch in action["text"]) and action["link"].startswith("/")
    # One chosen platform is all of the view's revenue: that says nothing about dependence.
    dependence = result["components"].set_index("key").loc["dependence", "value"]
    assert dependence < 1
