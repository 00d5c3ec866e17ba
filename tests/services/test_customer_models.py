"""The lifetime-value models against published results and simulated customers, and the
hold-out on the demo data: the models see only the lines before the cut-off."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from services import customers as service
from services.customer_models import (
    BgNbd,
    GammaGamma,
    bgnbd_expected,
    fit_bgnbd,
    fit_gamma_gamma,
)
from services.filters import Filters, Period
from services.sales import resolve
from services.scope import Scope
from tests.conftest import TestDatabase
from tests.services.test_customers import expected_base
from tests.services.test_overview import EVERYTHING, ts
from tests.services.test_sales_analysis import lines_of

# Fader, Hardie & Lee (2005), CDNOW sample: the fitted parameters (weeks) and the worked example
# of their spreadsheet note: a customer with x = 2, t_x = 30.43, T = 38.86 expects 1.226
# purchases in the next 39 weeks.
CDNOW = BgNbd(r=0.243, alpha=4.414, a=0.793, b=2.426)


def test_bgnbd_conditional_expectation_matches_the_published_example() -> None:
    value = bgnbd_expected(CDNOW, 39.0, np.array([2.0]), np.array([30.43]), np.array([38.86]))
    assert value[0] == pytest.approx(1.226, abs=5e-4)
    # The same in days through the public method.
    days = CDNOW.expected_orders(39 * 7, np.array([2]), np.array([30.43 * 7]),
                                 np.array([38.86 * 7]))
    assert days[0] == pytest.approx(1.226, abs=5e-4)


def simulate_bgnbd(truth: BgNbd, customers: int, seed: int) -> tuple[np.ndarray, ...]:
    """Histories drawn from the BG/NBD story (weeks): Poisson buying at a Gamma rate, dropping
    out after each purchase with a Beta probability."""
    rng = np.random.default_rng(seed)
    rates = rng.gamma(truth.r, 1 / truth.alpha, customers)
    drop = rng.beta(truth.a, truth.b, customers)
    horizon = rng.uniform(20, 60, customers)
    x, t_x = np.zeros(customers), np.zeros(customers)
    for i in range(customers):
        t = 0.0
        while True:
            t += rng.exponential(1 / rates[i])
            if t > horizon[i]:
                break
            x[i], t_x[i] = x[i] + 1, t
            if rng.random() < drop[i]:
                break
    return x, t_x, horizon


def test_bgnbd_recovers_the_parameters_of_simulated_customers() -> None:
    truth = BgNbd(r=0.5, alpha=8.0, a=1.5, b=3.0)
    x, t_x, horizon = simulate_bgnbd(truth, 6000, seed=3)
    fitted = fit_bgnbd(x, t_x * 7, horizon * 7)
    assert fitted.r == pytest.approx(truth.r, rel=0.15)
    assert fitted.alpha == pytest.approx(truth.alpha, rel=0.2)
    assert fitted.a / (fitted.a + fitted.b) == pytest.approx(truth.a / (truth.a + truth.b),
                                                             rel=0.15)


def test_gamma_gamma_recovers_the_mean_order_value_of_simulated_customers() -> None:
    truth = GammaGamma(p=6.25, q=3.74, v=15.44)  # Fader & Hardie (2013), CDNOW
    rng = np.random.default_rng(5)
    orders = rng.integers(2, 8, 4000)
    nu = rng.gamma(truth.q, 1 / truth.v, len(orders))
    means = np.array([rng.gamma(truth.p, 1 / scale, n).mean() for scale, n in zip(nu, orders,
                                                                                   strict=True)])
    fitted = fit_gamma_gamma(orders.astype(float), means)
    population = truth.p * truth.v / (truth.q - 1)
    assert fitted.p * fitted.v / (fitted.q - 1) == pytest.approx(population, rel=0.1)
    # A customer's expected value lies between their own mean and the population's.
    value = fitted.expected_value(np.array([3.0]), np.array([100.0]), population)[0]
    assert min(100.0, population) < value < max(100.0, population)


@pytest.fixture
def raw(database: TestDatabase) -> pd.DataFrame:
    """The raw lines of the parametrised database."""
    return lines_of(database)


def test_the_holdout_is_scored_on_lines_the_model_never_saw(session: Session,
                                                            raw: pd.DataFrame) -> None:
    filters = Filters(range="90d")
    period = resolve(session, EVERYTHING, filters)
    trained = service.train_clv(session, EVERYTHING, filters, period)
    # Scored with the run just trained (another test may bump the data revision meanwhile).
    result = service.clv_result(session, EVERYTHING, filters, period, trained)
    assert not result["refused"], result["refused"]
    assert not result["pending"] and result["model"]["run_id"] == trained.run_id
    cutoff = period.end - dt.timedelta(days=service.HOLDOUT_DAYS)
    assert result["holdout"]["cutoff"] == cutoff
    # The same evaluation from pandas' rows: the calibration holds only the lines up to the
    # cut-off, the scores only the lines after it.
    first = period.first_data
    assert first is not None
    before = expected_base(session, raw, filters, first, cutoff)
    after = expected_base(session, raw, filters, cutoff + dt.timedelta(days=1), period.end)
    def frame(expected: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({"customer_id": expected.index, "orders": expected["orders"],
                             "net_revenue": expected["net_revenue"],
                             "first_order": [day.date() for day in expected["first_order"]],
                             "last_order": [day.date() for day in expected["last_order"]]}
                            ).reset_index(drop=True)
    again = service.evaluate_holdout(frame(before), frame(after), cutoff)
    assert again["customers"] == result["holdout"]["customers"] == len(before)
    assert again["actual_revenue"] == pytest.approx(
        after.loc[after.index.isin(before.index), "net_revenue"].sum())
    for side in ("model", "baseline"):
        for key, value in again[side].items():
            assert result["holdout"][side][key] == pytest.approx(value, rel=1e-6), (side, key)
    # The baseline by hand: repeat orders per day since the first order, carried forward.
    days = np.array([(cutoff - day.date()).days for day in before["first_order"]], float)
    rate = np.where(days > 0, (before["orders"].to_numpy() - 1) / np.where(days > 0, days, 1), 0)
    actual = after["orders"].reindex(before.index).fillna(0).to_numpy()
    assert result["holdout"]["baseline"]["orders_mae"] == pytest.approx(
        np.mean(np.abs(rate * service.HOLDOUT_DAYS - actual)))
    # Scored: exactly the view's customers, each with the stored models' prediction.
    expected = expected_values(session, raw, filters, period, trained.artefact)
    in_view = expected.loc[expected["last_order"] >= ts(period.start)]
    assert result["scored_customers"] == len(in_view)
    assert result["total_predicted"] == pytest.approx(in_view["predicted_value"].sum())
    listed = result["customers"]
    top = in_view.sort_values("predicted_value", ascending=False).head(service.CLV_LISTED)
    assert listed["predicted_value"].tolist() == pytest.approx(top["predicted_value"].tolist())
    assert set(listed["customer"]) <= set(in_view["external_id"])


def expected_values(session: Session, raw: pd.DataFrame, filters: Filters, period: Period,
                    models: tuple, scope: Scope = EVERYTHING) -> pd.DataFrame:
    """Every customer of the history up to the range's end with the 12-month prediction of
    the stored models, their inputs rebuilt here from the lines (days; x = repeat orders,
    t_x = last order − first, T = end − first, m = mean order value)."""
    assert period.first_data is not None
    history = expected_base(session, raw, filters, period.first_data, period.end, scope)
    bgnbd, gamma = models
    x = history["orders"].to_numpy(float) - 1
    t_x = (history["last_order"] - history["first_order"]).dt.days.to_numpy(float)
    t = (ts(period.end) - history["first_order"]).dt.days.to_numpy(float)
    m = history["net_revenue"].to_numpy(float) / (x + 1)
    orders = bgnbd.expected_orders(service.CLV_DAYS, x, t_x, t)
    value = gamma.expected_value(x + 1, np.clip(m, 0, None), float(np.mean(m)))
    return history.assign(predicted_orders=orders, predicted_value=orders * value)


def stored_scores(session: Session, run_id: int) -> pd.DataFrame:
    """The scores stored with a run, read straight from its table, by customer id."""
    return pd.read_sql(sa.text("SELECT * FROM customer_scores WHERE run_id = :run"),
                       session.connection(), params={"run": run_id}).set_index("customer_id")


def test_the_stored_values_are_the_models_predictions_and_retraining_replaces_them(
        session: Session, raw: pd.DataFrame) -> None:
    filters = Filters(range="30d")
    period = resolve(session, EVERYTHING, filters)
    trained = service.train_clv(session, EVERYTHING, filters, period)
    assert trained.artefact is not None and trained.artefact[1] is not None
    expected = expected_values(session, raw, filters, period, trained.artefact)
    stored = stored_scores(session, trained.run_id)
    assert sorted(stored.index) == sorted(expected.index)
    expected = expected.loc[stored.index]
    assert stored["predicted_orders"].tolist() == pytest.approx(
        expected["predicted_orders"].tolist())
    assert stored["predicted_value"].tolist() == pytest.approx(
        expected["predicted_value"].tolist())
    assert stored["orders"].tolist() == expected["orders"].tolist()
    assert stored["risk"].isna().all()
    again = service.train_clv(session, EVERYTHING, filters, period)
    assert again.run_id != trained.run_id
    assert stored_scores(session, trained.run_id).empty
    assert len(stored_scores(session, again.run_id)) == len(stored)
    # An overlapping earlier training that finishes last keeps the newer run's scores.
    service.store_scores(session, service.clv_key(EVERYTHING, filters, period),
                         trained.run_id, [])
    assert len(stored_scores(session, again.run_id)) == len(stored)


def test_too_short_a_history_refuses_to_predict(session: Session) -> None:
    filters = Filters(range="90d")
    period = resolve(session, EVERYTHING, filters)
    short = period.__class__(period.start, period.end, None, None, period.asof, "",
                             first_data=period.end - dt.timedelta(days=100))
    models, metrics = service.fit_clv(session, EVERYTHING, filters, short)
    assert models is None and "days" in metrics["refused"] and metrics["holdout"] is None
