"""The churn model on SQLite and PostgreSQL: its hold-out is scored on rows it never saw
(rebuilt here from the raw lines, split by date), next to the recency-only baseline; the
revenue at risk against pandas."""
from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score
from sqlalchemy.orm import Session

from services import customer_churn as churn
from services.cache import ResultCache, backend_from_settings
from services.filters import Filters, Period
from services.sales import resolve
from services.scope import Scope
from tests.conftest import TestDatabase
from tests.services.test_customer_models import stored_scores
from tests.services.test_customers import expected_base
from tests.services.test_overview import EVERYTHING, SCALE, platform_id, platform_slugs, ts
from tests.services.test_sales_analysis import lines_of, sales_lines


@pytest.fixture
def raw(database: TestDatabase) -> pd.DataFrame:
    """The raw lines of the parametrised database."""
    return lines_of(database)


def pandas_features(session: Session, raw: pd.DataFrame, filters: Filters, first: dt.date,
                    asof: dt.date, scope: Scope = EVERYTHING) -> pd.DataFrame:
    """Features from the lines up to `asof` of the customers who bought in the year before
    it, computed here from the raw lines."""
    before = expected_base(session, raw, filters, first, asof, scope)
    recency = (ts(asof) - before["last_order"]).dt.days.astype(float)
    orders = before["orders"].astype(float)
    span = (before["last_order"] - before["first_order"]).dt.days
    rows = pd.DataFrame({
        "customer_id": before.index, "recency_days": recency.to_numpy(),
        "orders": orders.to_numpy(), "net_revenue": before["net_revenue"].to_numpy(),
        "tenure_days": (ts(asof) - before["first_order"]).dt.days.astype(float).to_numpy(),
        "days_between_orders": (span / (orders - 1)).where(orders > 1).to_numpy(),
        "average_order": (before["net_revenue"] / orders).to_numpy()})
    return rows.loc[rows["recency_days"] < 365].reset_index(drop=True)


def pandas_rows(session: Session, raw: pd.DataFrame, filters: Filters, first: dt.date,
                asof: dt.date, until: dt.date) -> pd.DataFrame:
    """Features from the lines up to `asof` and the label from the lines after it, up to
    `until`, computed here from the raw lines."""
    rows = pandas_features(session, raw, filters, first, asof)
    after = expected_base(session, raw, filters, asof + dt.timedelta(days=1), until)
    rows["churned"] = ~rows["customer_id"].isin(after.index)
    return rows


def expected_at_risk(session: Session, raw: pd.DataFrame, filters: Filters, period: Period,
                     model: Any, scope: Scope = EVERYTHING) -> pd.DataFrame:
    """The view's customers at risk today from pandas: the stored model asked for the risk
    of the features rebuilt from the lines up to the range's end, the view's repeat
    customers (an order in the range, two or more in all) with a risk of 0.5 or more."""
    assert period.first_data is not None
    rows = pandas_features(session, raw, filters, period.first_data, period.end, scope)
    rows["risk"] = model.predict_proba(rows[list(churn.FEATURES)])[:, 1]
    in_view = expected_base(session, raw, filters, period.start, period.end, scope).index
    rows = rows.loc[rows["customer_id"].isin(in_view) & (rows["orders"] >= 2)
                    & (rows["risk"] >= churn.AT_RISK)]
    return rows.assign(value_at_risk=rows["risk"] * rows["net_revenue"]) \
        .sort_values("value_at_risk", ascending=False)


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
    # The listed customers: the view's repeat customers at risk, ranked by risk x revenue,
    # as the stored model says of the features rebuilt here.
    expected = expected_at_risk(session, raw, filters, period, trained.artefact)
    listed = result["at_risk"]
    assert result["at_risk_customers"] == len(expected) > 0
    assert len(listed) == min(churn.AT_RISK_SHOWN, len(expected))
    assert listed["customer_id"].isin(expected["customer_id"]).all()
    assert listed["value_at_risk"].tolist() == pytest.approx(
        expected["value_at_risk"].head(len(listed)).tolist())
    by_id = expected.set_index("customer_id")
    assert listed["risk"].tolist() == pytest.approx(
        by_id.loc[listed["customer_id"], "risk"].tolist())
    assert listed["recency_days"].tolist() == by_id.loc[listed["customer_id"],
                                                        "recency_days"].tolist()
    check_revenue_at_risk(raw, filters, period.end, set(expected["customer_id"]), result)


def check_revenue_at_risk(raw: pd.DataFrame, filters: Filters, end: dt.date,
                          at_risk: set[int], result: dict) -> None:
    """The at-risk customers' net revenue of the last 12 months by category, from pandas."""
    lines = sales_lines(raw, filters, end - dt.timedelta(days=364), end)
    lines = lines.loc[lines["customer_id"].isin(at_risk)]
    value = lines["quantity"] * lines["price_units"]
    expected = value.groupby(lines["category"]).sum() / SCALE
    got = result["revenue_at_risk"]["by_category"].set_index("category")["net_revenue"]
    assert got.sort_index().tolist() == pytest.approx(expected.sort_index().tolist(), abs=1e-6)
    by_platform = result["revenue_at_risk"]["by_platform"]["net_revenue"].sum()
    assert by_platform == pytest.approx(expected.sum(), abs=1e-6)


def test_the_stored_risks_are_the_models_predictions_and_retraining_replaces_them(
        session: Session, raw: pd.DataFrame) -> None:
    filters = Filters(range="90d")
    period = resolve(session, EVERYTHING, filters)
    assert period.first_data is not None
    trained = churn.train_churn(session, EVERYTHING, filters, period)
    stored = stored_scores(session, trained.run_id)
    # Every customer active in the year before the range's end, with the stored model's
    # risk of their features rebuilt here from the lines.
    rows = pandas_features(session, raw, filters, period.first_data, period.end) \
        .set_index("customer_id")
    assert sorted(stored.index) == sorted(rows.index)
    rows = rows.loc[stored.index]
    expected = trained.artefact.predict_proba(rows[list(churn.FEATURES)])[:, 1]
    assert stored["risk"].tolist() == pytest.approx(expected.tolist())
    assert stored["orders"].tolist() == rows["orders"].astype(int).tolist()
    assert stored["net_revenue"].tolist() == pytest.approx(rows["net_revenue"].tolist())
    assert stored["predicted_value"].isna().all()
    # Retraining stores the new run's scores in place of the old run's.
    again = churn.train_churn(session, EVERYTHING, filters, period)
    assert again.run_id != trained.run_id
    assert stored_scores(session, trained.run_id).empty
    assert len(stored_scores(session, again.run_id)) == len(stored)


def test_a_limited_user_reads_only_the_scores_of_their_own_scope(
        session: Session, raw: pd.DataFrame) -> None:
    inside = platform_slugs(raw)[0]
    scope = Scope(user_id=None, platform_ids=frozenset({platform_id(raw, inside)}))
    busiest = str(raw["category"].value_counts().index[0])
    filters = Filters(range="90d", categories=(busiest,))  # a view no other test trains
    period = resolve(session, EVERYTHING, filters)
    churn.train_churn(session, EVERYTHING, filters, period)
    limited = resolve(session, scope, filters)
    # The wider scope's scores are stored for the same view: the limited user gets none.
    assert churn.churn_key(scope, filters, limited) != churn.churn_key(EVERYTHING, filters,
                                                                      period)
    assert churn.churn_risk(session, scope, filters, limited)["pending"]
    trained = churn.train_churn(session, scope, filters, limited)
    result = churn.churn_risk(session, scope, filters, limited)
    assert result["model"]["run_id"] == trained.run_id and not result["refused"]
    # Their scores hold only their platform's activity: a customer who also buys elsewhere
    # has only the allowed part counted.
    assert limited.first_data is not None
    rows = pandas_features(session, raw, filters, limited.first_data, limited.end, scope) \
        .set_index("customer_id")
    stored = stored_scores(session, trained.run_id)
    assert sorted(stored.index) == sorted(rows.index)
    assert stored["net_revenue"].tolist() == pytest.approx(
        rows.loc[stored.index, "net_revenue"].tolist())
    expected = expected_at_risk(session, raw, filters, limited, trained.artefact, scope)
    assert result["at_risk_customers"] == len(expected)
    assert result["at_risk"]["customer_id"].isin(expected["customer_id"]).all()


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
