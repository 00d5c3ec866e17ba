"""The churn model on SQLite and PostgreSQL: its hold-out is scored on rows it never saw
(rebuilt here from the raw lines, split by date), next to the recency-only baseline; the
revenue at risk against pandas."""
from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score
from sqlalchemy.orm import Session

from services import customer_churn as churn
from services.cache import ResultCache, backend_from_settings
from services.filters import Filters
from services.sales import resolve
from tests.conftest import TestDatabase
from tests.services.test_customers import expected_base
from tests.services.test_overview import EVERYTHING, SCALE, ts
from tests.services.test_sales_analysis import lines_of, sales_lines


@pytest.fixture
def raw(database: TestDatabase) -> pd.DataFrame:
    """The raw lines of the parametrised database."""
    return lines_of(database)


def pandas_rows(session: Session, raw: pd.DataFrame, filters: Filters, first: dt.date,
                asof: dt.date, until: dt.date) -> pd.DataFrame:
    """Features from the lines up to `asof` and the label from the lines after it, up to
    `until`, computed here from the raw lines."""
    before = expected_base(session, raw, filters, first, asof)
    after = expected_base(session, raw, filters, asof + dt.timedelta(days=1), until)
    recency = (ts(asof) - before["last_order"]).dt.days.astype(float)
    orders = before["orders"].astype(float)
    span = (before["last_order"] - before["first_order"]).dt.days
    rows = pd.DataFrame({
        "customer_id": before.index, "recency_days": recency.to_numpy(),
        "orders": orders.to_numpy(), "net_revenue": before["net_revenue"].to_numpy(),
        "tenure_days": (ts(asof) - before["first_order"]).dt.days.astype(float).to_numpy(),
        "days_between_orders": (span / (orders - 1)).where(orders > 1).to_numpy(),
        "average_order": (before["net_revenue"] / orders).to_numpy()})
    rows = rows.loc[rows["recency_days"] < 365].reset_index(drop=True)
    rows["churned"] = ~rows["customer_id"].isin(after.index)
    return rows


def test_the_holdout_scores_rows_the_model_never_saw(session: Session,
                                                     raw: pd.DataFrame) -> None:
    filters = Filters(range="90d")
    period = resolve(session, EVERYTHING, filters)
    trained = churn.train_churn(session, EVERYTHING, filters, period)
    # Scored with the run just trained (another test may bump the data revision meanwhile).
    result = churn.churn_result(session, EVERYTHING, filters, period, trained)
    assert not result["refused"], result["refused"]
    assert not result["pending"] and result["model"]["run_id"] == trained.run_id
    first = period.first_data
    assert first is not None
    train_at, test_at = result["train_date"], result["test_date"]
    assert (period.end - test_at).days == (test_at - train_at).days == churn.HORIZON_DAYS
    # Training: features to T-180, labels to T-90 -- nothing after the hold-out's start.
    train = pandas_rows(session, raw, filters, first, train_at, test_at)
    test = pandas_rows(session, raw, filters, first, test_at, period.end)
    assert result["holdout"]["train_customers"] == len(train)
    assert result["holdout"]["customers"] == len(test)
    model = churn.fit(train)  # the same deterministic fit, on rows rebuilt from the lines
    risk = model.predict_proba(test[list(churn.FEATURES)])[:, 1]
    labels = test["churned"].to_numpy()
    holdout = result["holdout"]
    assert holdout["model"]["auc"] == pytest.approx(roc_auc_score(labels, risk))
    assert holdout["baseline"]["auc"] == pytest.approx(
        roc_auc_score(labels, test["recency_days"]))
    top = np.argsort(-risk, kind="stable")[:int(np.ceil(len(risk) / 10))]
    assert holdout["model"]["top_decile_precision"] == pytest.approx(labels[top].mean())
    assert holdout["model"]["churn_rate"] == pytest.approx(labels.mean())
    assert holdout["beats_baseline"] == (holdout["model"]["auc"] > holdout["baseline"]["auc"])
    # The listed customers: repeat customers of the view, ranked by risk x revenue.
    listed = result["at_risk"]
    assert (listed["orders"] >= 2).all() and (listed["risk"] >= churn.AT_RISK).all()
    assert listed["value_at_risk"].is_monotonic_decreasing
    in_view = expected_base(session, raw, filters, period.start, period.end).index
    assert listed["customer_id"].isin(in_view).all()
    check_revenue_at_risk(raw, filters, period.end, result)


def check_revenue_at_risk(raw: pd.DataFrame, filters: Filters, end: dt.date,
                          result: dict) -> None:
    """The at-risk customers' net revenue of the last 12 months by category, from pandas."""
    lines = sales_lines(raw, filters, end - dt.timedelta(days=364), end)
    lines = lines.loc[lines["customer_id"].isin(result["at_risk"]["customer_id"])]
    value = lines["quantity"] * lines["price_units"]
    expected = value.groupby(lines["category"]).sum() / SCALE
    got = result["revenue_at_risk"]["by_category"].set_index("category")["net_revenue"]
    assert got.sort_index().tolist() == pytest.approx(expected.sort_index().tolist(), abs=1e-6)
    by_platform = result["revenue_at_risk"]["by_platform"]["net_revenue"].sum()
    assert by_platform == pytest.approx(expected.sum(), abs=1e-6)


def test_too_short_a_history_predicts_nothing(session: Session) -> None:
    filters = Filters(range="30d")
    period = resolve(session, EVERYTHING, filters)
    short = replace(period, first_data=period.end - dt.timedelta(days=200))
    model, metrics = churn.fit_churn(session, EVERYTHING, filters, short)
    assert model is None and "half a year" in metrics["refused"]
    assert metrics["holdout"] is None


def test_the_risk_is_pending_and_not_cached_until_the_model_is_trained(
        session: Session, tmp_path: Path) -> None:
    # A view nobody trains: an order country of its own.
    filters = Filters(range="90d", country="Pending-test country")
    period = resolve(session, EVERYTHING, filters)
    cache = ResultCache(backend_from_settings(None, str(tmp_path)), "sqlite:///pending.db")
    args = (filters, period)

    def answer() -> dict:
        return cache.get_or_compute(churn.churn_risk, EVERYTHING, args, {},
                                    lambda: churn.churn_risk(session, EVERYTHING, *args))
    result = answer()
    assert result["pending"] and result["model"] is None and result["at_risk"].empty
    assert cache.backend.get(cache.key(churn.churn_risk, EVERYTHING, args, {})) is None
    trained = churn.train_churn(session, EVERYTHING, filters, period)
    assert trained.artefact is None and trained.metrics["refused"]  # no sale to learn from
    result = answer()
    assert not result["pending"] and result["refused"] == trained.metrics["refused"]
    assert result["model"]["run_id"] == trained.run_id


def test_suggested_actions_say_how_overdue_the_customer_is() -> None:
    assert churn.suggested_action(94, 30).startswith("Win back with a win-back offer: last "
                                                     "order 94 days ago, usually every 30")
    assert churn.suggested_action(40, 30).startswith("Remind them")
    assert churn.suggested_action(10, 30).startswith("Keep warm")
    assert "no usual rhythm" in churn.suggested_action(60, float("nan"))
