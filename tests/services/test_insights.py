"""The health score's components and actions, on SQLite and PostgreSQL, against arithmetic on
the raw order lines in pandas and the rules of docs/insights.md written out again here."""
from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy.orm import Session

from services import forecasting, model_store
from services.filters import Filters, Period
from services.insights import health, repeat_rate
from services.overview import kpis
from services.sales import resolve
from services.scope import Scope
from tests.services.test_overview import expected_totals, view_lines
from tests.services.test_overview import raw as raw  # noqa: F401 - the raw lines fixture

EVERYTHING = Scope()


def train(session: Session, filters: Filters, period: Period) -> None:
    """Train the view's forecast model (as the background job does) unless it is stored."""
    if model_store.stored(session, forecasting.forecast_key(EVERYTHING, filters,
                                                            period)) is None:
        forecasting.train_forecast(session, EVERYTHING, filters, period)


def clamp(value: float) -> float:
    return max(0.0, min(100.0, value))


def test_the_components_are_the_raw_lines_arithmetic(session: Session,
                                                     raw: pd.DataFrame) -> None:
    filters = Filters(range="90d", compare="prev")
    period = resolve(session, EVERYTHING, filters)
    train(session, filters, period)
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
    assert outlook["shown"] in ("model", "baseline")  # scored from the stored model
    last_30 = view_lines(raw, filters, period.asof - dt.timedelta(days=29), period.asof)
    trend = outlook["forecast"]["forecast"].sum() / expected_totals(last_30)["net_revenue"] - 1
    assert got.loc["forecast", "value"] == pytest.approx(trend)

    weights = got["weight"]
    assert weights.sum() == 100
    assert result["score"] == pytest.approx((got["score"] * weights).sum() / weights.sum())
    for component in got.itertuples():
        assert component.sentence and component.label


def test_an_untrained_view_scores_the_seasonal_naive_trend(session: Session,
                                                            raw: pd.DataFrame) -> None:
    platform = raw["slug"].value_counts().index[-1]
    filters = Filters(range="30d", compare="none", platforms=(platform,))
    period = resolve(session, EVERYTHING, filters)
    period = replace(period, asof=period.asof - dt.timedelta(days=3))  # trained nowhere else
    assert model_store.stored(session, forecasting.forecast_key(EVERYTHING, filters,
                                                                period)) is None
    got = health(session, EVERYTHING, filters, period)["components"].set_index("key")
    lines = view_lines(raw, filters, raw["day"].min().date(), period.asof)
    daily = (lines["quantity"] * lines["unit_price"]).groupby(lines["day"]).sum().reindex(
        pd.date_range(raw["day"].min(), period.asof), fill_value=0.0)
    traded = daily[daily > 0]
    ahead = sum(traded[traded.index.day_of_week == day.day_of_week].iloc[-4:].mean()
                for day in pd.date_range(period.asof + dt.timedelta(days=1), periods=30))
    trend = ahead / daily.iloc[-30:].sum() - 1
    assert got.loc["forecast", "value"] == pytest.approx(trend)
    assert "seasonal-naive" in got.loc["forecast", "sentence"]


# Without a category: the customer sets; with one, from order_lines: at 90 days look-ups
# per customer, at 12 months one pass over the earlier customers.
@pytest.mark.parametrize(("days", "by_category"), [("90d", False), ("90d", True),
                                                   ("12m", False), ("12m", True)])
def test_the_repeat_rate_is_the_raw_lines_customers(session: Session, raw: pd.DataFrame,
                                                    days: str, by_category: bool) -> None:
    chosen = (raw["category"].value_counts().index[0],) if by_category else ()
    filters = Filters(range=days, categories=chosen)
    period = resolve(session, EVERYTHING, filters)
    lines = view_lines(raw, filters, raw["day"].min().date(), period.end)
    sales = lines.loc[(lines["quantity"] > 0) & (lines["unit_price"] > 0)
                      & lines["customer_id"].notna()]
    now = set(sales.loc[sales["day"] >= pd.Timestamp(period.start), "customer_id"])
    before = set(sales.loc[sales["day"] < pd.Timestamp(period.start), "customer_id"])
    assert now
    assert repeat_rate(session, EVERYTHING, filters, period) == (len(now), len(now & before))
    # The health card takes the number of customers from the KPIs: the same rule.
    assert kpis(session, EVERYTHING, filters, period)["customers"]["current"] == len(now)


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


def test_the_health_card_reads_the_kpi_cards_figures_from_the_cache(
        session: Session, tmp_path: Path) -> None:
    """One Overview refresh computes the KPIs and the platform split once: the health card
    takes them from the results cache the KPI cards and the platform chart filled."""
    from services.cache import ResultCache, backend_from_settings
    from services.overview import kpi_cards, revenue_by_platform

    cache = ResultCache(backend_from_settings(None, str(tmp_path)), "sqlite:///health.db")
    filters = Filters(range="90d")
    period = resolve(session, EVERYTHING, filters)

    def through_cache(service: object) -> object:
        return cache.get_or_compute(service, EVERYTHING, (filters, period), {},
                                    lambda: service(session, EVERYTHING, filters, period))

    through_cache(kpi_cards)
    through_cache(revenue_by_platform)
    before = cache.stats()["hits"]
    card = through_cache(health)
    assert cache.stats()["hits"] - before == 2  # the KPIs and the platforms
    uncached = health(session, EVERYTHING, filters, period)  # the same answer without it
    assert isinstance(card, dict) and card["score"] == uncached["score"]
    pd.testing.assert_frame_equal(card["components"], uncached["components"])
