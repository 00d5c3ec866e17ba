"""Churn risk on the Customers page: a classifier on recency, frequency, monetary value and
tenure, trained and scored with a time-based hold-out, next to a recency-only baseline.

Dates, counting back from the range's last day T (under the view's filters and scope):

- training rows: features from the history up to T − 180 days, label = no order in the
  90 days after that;
- hold-out rows: features up to T − 90 days, label = no order in the last 90 days up to T.
  The model that is scored on them was fitted on the training rows only, whose labels end
  on T − 90: it never saw anything after T − 90;
- the risk shown for today: a model fitted on the hold-out rows (the latest labelled
  window) applied to the features up to T.

Customers are those with an order in the year before the feature date: someone gone for
longer is not a churn *risk*, and would make both model and baseline look better than they
are. Per-customer rows come from SQL (`services.customers.customer_base`).

The fitted classifier, its hold-out scores and every active customer's risk today are stored
(`train_churn`, run by the page's background job); a page view reads the stored risks in SQL
(`churn_risk`) and never calls the classifier.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier  # type: ignore[import-untyped]
from sklearn.metrics import roc_auc_score  # type: ignore[import-untyped]
from sqlalchemy import ColumnElement, Float, ScalarSelect, cast, func, select
from sqlalchemy.orm import Session
from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

from models import Customer, CustomerScore, OrderLine, Platform, Product
from services import model_store
from services.cache import cached
from services.customers import (
    NOT_SET,
    SCORED_FACTS,
    UNKNOWN_COUNTRY,
    customer_base,
    model_inputs,
    model_label,
    scored_in_view,
    train_with_scores,
    whole_history,
)
from services.filters import Filters, Period
from services.metrics import line_measures, money
from services.model_store import ModelKey, Trained
from services.overview import UNCATEGORISED
from services.query import as_date, frame_of, line_conditions
from services.scope import Scope

HORIZON_DAYS = 90  # churn: no order in the next 90 days
ACTIVE_DAYS = 365  # a customer of a feature date bought in the year before it
MIN_ROWS = 200
MIN_CLASS = 20  # of churned and of retained rows, each
AT_RISK = 0.5  # the risk from which a customer is listed as at risk
AT_RISK_SHOWN = 50
AT_RISK_COLUMNS = ("customer_id", "customer", "name", "segment", "country", "orders",
                   "net_revenue", "recency_days", "days_between_orders", "risk",
                   "value_at_risk", "action")
FEATURES = ("recency_days", "orders", "net_revenue", "tenure_days", "days_between_orders",
            "average_order")
METHOD = ("Gradient-boosted trees (scikit-learn HistGradientBoostingClassifier) on recency, "
          "orders, net revenue, tenure, days between orders and average order value. Fitted "
          "on features up to T−180 days with the label 'no order in the next 90 days', "
          "scored on features up to T−90 with the last 90 days as the label it never saw.")
BASELINE = "Recency alone: the longer since the last order, the higher the risk."


def features(base: pd.DataFrame, asof: dt.date) -> pd.DataFrame:
    """Model features per customer from their history up to `asof` (customers who bought in
    the year before it)."""
    recency = np.array([(asof - day).days for day in base["last_order"]], float)
    tenure = np.array([(asof - day).days for day in base["first_order"]], float)
    span = np.array([(b - a).days for a, b in zip(base["first_order"], base["last_order"],
                                                  strict=True)], float)
    orders = base["orders"].to_numpy(dtype=float)
    frame = pd.DataFrame({
        "customer_id": base["customer_id"].to_numpy(), "recency_days": recency,
        "orders": orders, "net_revenue": base["net_revenue"].to_numpy(dtype=float),
        "tenure_days": tenure,
        "days_between_orders": np.where(orders > 1, span / np.maximum(orders - 1, 1), np.nan),
        "average_order": base["net_revenue"].to_numpy(dtype=float) / orders})
    return frame.loc[frame["recency_days"] < ACTIVE_DAYS].reset_index(drop=True)


def labelled(history: pd.DataFrame, later: pd.DataFrame, asof: dt.date) -> pd.DataFrame:
    """Features up to `asof` with `churned` = no order in the horizon after it."""
    rows = features(history, asof)
    rows["churned"] = ~rows["customer_id"].isin(later["customer_id"])
    return rows


def top_decile_precision(churned: np.ndarray, risk: np.ndarray) -> float:
    """The share of churners among the tenth of customers with the highest risk."""
    count = max(1, int(np.ceil(len(risk) / 10)))
    order = np.argsort(-risk, kind="stable")[:count]
    return float(np.mean(churned[order]))


def scores(churned: np.ndarray, risk: np.ndarray) -> dict[str, float]:
    """ROC AUC and top-decile precision of a risk score."""
    return {"auc": float(roc_auc_score(churned, risk)),
            "top_decile_precision": top_decile_precision(churned, risk),
            "churn_rate": float(np.mean(churned))}


def fit(rows: pd.DataFrame) -> HistGradientBoostingClassifier:
    """The classifier fitted on labelled rows (missing gaps are handled by the trees)."""
    model = HistGradientBoostingClassifier(max_iter=100, learning_rate=0.08,
                                           max_leaf_nodes=15, random_state=0)
    # One thread: on a few thousand rows OpenMP's threads only wait for each other, and on a
    # busy 2-core machine a fit took 29 s with them against under a second without.
    with threadpool_limits(limits=1, user_api="openmp"):
        return model.fit(rows[list(FEATURES)], rows["churned"].astype(int))


def risk_of(model: HistGradientBoostingClassifier, rows: pd.DataFrame) -> np.ndarray:
    """Each row's probability of churning under `model` (one thread, as `fit`)."""
    with threadpool_limits(limits=1, user_api="openmp"):
        return model.predict_proba(rows[list(FEATURES)])[:, 1]


def _refusal(rows: pd.DataFrame, name: str) -> str:
    churned = int(rows["churned"].sum())
    if len(rows) < MIN_ROWS or min(churned, len(rows) - churned) < MIN_CLASS:
        return (f"{len(rows):,} customers in the {name} window ({churned:,} churned): the model "
                f"needs at least {MIN_ROWS} customers with {MIN_CLASS} churned and "
                f"{MIN_CLASS} retained.")
    return ""


def suggested_action(recency: float, gap: float | None) -> str:
    """A plain-language next step for an at-risk customer, from how overdue they are."""
    every = gap if gap is not None and not np.isnan(gap) and gap > 0 else None
    usual = f"usually every {every:,.0f}" if every is not None else "no usual rhythm yet"
    facts = f"last order {recency:,.0f} days ago, {usual}"
    if recency > (HORIZON_DAYS // 2 if every is None else 2 * every):
        return f"Win back with a win-back offer: {facts}."
    if every is not None and recency > every:
        return f"Remind them (a reorder reminder or a recommendation): {facts}."
    return f"Keep warm, no discount yet: {facts}; their history puts them at risk."


def churn_key(scope: Scope, filters: Filters, period: Period) -> ModelKey:
    """The stored churn model a view scores: its filters, first day and last day (the range's
    start only chooses whom it scores)."""
    return model_store.model_key("churn", scope, model_label("Churn", filters, period),
                                 **model_inputs(filters, period))


def fit_churn(session: Session, scope: Scope, filters: Filters,
              period: Period) -> tuple[HistGradientBoostingClassifier | None, dict[str, Any]]:
    """The classifier for today's risk (None when the data is too thin) and its evaluation:
    a model fitted on the training window, scored on the hold-out window it never saw."""
    end, first = period.end, period.first_data or period.start
    horizon, day = dt.timedelta(days=HORIZON_DAYS), dt.timedelta(days=1)
    train_at, test_at = end - 2 * horizon, end - horizon
    metrics: dict[str, Any] = {"refused": "", "holdout": None}
    if (train_at - first).days < ACTIVE_DAYS // 2:
        metrics["refused"] = (f"The history before {train_at.isoformat()} is "
                              f"{max(0, (train_at - first).days)} days: the model needs half "
                              "a year of history before its training date.")
        return None, metrics
    train = labelled(whole_history(session, scope, filters, train_at),
                     customer_base(session, scope, filters, train_at + day, test_at), train_at)
    test = labelled(whole_history(session, scope, filters, test_at),
                    customer_base(session, scope, filters, test_at + day, end), test_at)
    metrics["refused"] = _refusal(train, "training") or _refusal(test, "hold-out")
    if metrics["refused"]:
        return None, metrics
    churned = test["churned"].to_numpy()
    holdout: dict[str, Any] = {
        "customers": len(test), "train_customers": len(train),
        "model": scores(churned, risk_of(fit(train), test)),
        "baseline": scores(churned, test["recency_days"].to_numpy())}
    holdout["beats_baseline"] = holdout["model"]["auc"] > holdout["baseline"]["auc"]
    metrics["holdout"] = holdout
    # Today's risk: the same classifier fitted on the latest labelled window.
    return fit(test), metrics


def churn_scores(model: HistGradientBoostingClassifier, history: pd.DataFrame,
                 end: dt.date) -> pd.DataFrame:
    """Every customer of the history active in the year before `end`, with their risk under
    `model` from their features up to `end`: the scores stored with the run."""
    now = features(history, end)
    risk = pd.DataFrame({"customer_id": now["customer_id"], "risk": risk_of(model, now)})
    return history[list(SCORED_FACTS)].merge(risk, on="customer_id")


def train_churn(session: Session, scope: Scope, filters: Filters, period: Period) -> Trained:
    """Fit and evaluate the view's churn model and store it with every active customer's
    risk today (the background job runs this)."""
    def fit() -> tuple[Any, dict[str, Any], pd.DataFrame | None]:
        model, metrics = fit_churn(session, scope, filters, period)
        if model is None:
            return model, metrics, None
        return model, metrics, churn_scores(
            model, whole_history(session, scope, filters, period.end), period.end)
    return train_with_scores(session, churn_key(scope, filters, period), fit)


def churn_result(session: Session, scope: Scope, filters: Filters, period: Period,
                 trained: Trained | None) -> dict[str, Any]:
    """The view's answer from a stored churn model: its hold-out scores and the view's
    customers at risk (two orders or more) ranked by risk × revenue with a suggested action,
    from the risks stored at training; `pending` while no model is stored."""
    horizon = dt.timedelta(days=HORIZON_DAYS)
    result: dict[str, Any] = {"method": METHOD, "baseline_method": BASELINE, "refused": "",
                              "pending": trained is None, "failed": None,
                              "holdout": None, "model": None,
                              "train_date": period.end - 2 * horizon,
                              "test_date": period.end - horizon,
                              "at_risk": pd.DataFrame(columns=list(AT_RISK_COLUMNS)),
                              "at_risk_customers": 0,
                              "revenue_at_risk": revenue_at_risk(session, scope, filters,
                                                                 period, None)}
    if trained is None:
        return result
    result.update(refused=trained.metrics.get("refused", ""),
                  holdout=trained.metrics.get("holdout"), model=model_store.describe(trained))
    if trained.artefact is None:
        return result
    at_risk = at_risk_conditions(trained.run_id, period)
    result["at_risk"], result["at_risk_customers"] = _at_risk(session, at_risk, period)
    if result["at_risk_customers"]:
        result["revenue_at_risk"] = revenue_at_risk(
            session, scope, filters, period,
            select(CustomerScore.customer_id).where(*at_risk).scalar_subquery())
    return result


@cached
def churn_risk(session: Session, scope: Scope, filters: Filters,
               period: Period) -> dict[str, Any]:
    """The view's churn risk scored with its stored model ("pending", and not cached, until
    the background job has trained it)."""
    trained, failed = model_store.stored_or_pending(session, churn_key(scope, filters, period))
    # `failed`: why it is still pending, when its last training failed (Retrain tries again).
    return {**churn_result(session, scope, filters, period, trained), "failed": failed}


def at_risk_conditions(run_id: int, period: Period) -> list[ColumnElement[bool]]:
    """The conditions on a churn run's scores for the view's customers at risk: two orders
    or more, a risk of `AT_RISK` or more."""
    return [*scored_in_view(run_id, period), CustomerScore.orders >= 2,
            CustomerScore.risk >= AT_RISK]


def _at_risk(session: Session, at_risk: list[ColumnElement[bool]],
             period: Period) -> tuple[pd.DataFrame, int]:
    """The view's `AT_RISK_SHOWN` at-risk customers with the highest risk × revenue (from
    the stored risks, in SQL) with a suggested action, and how many are at risk."""
    scores = CustomerScore
    count = session.scalar(select(func.count()).where(*at_risk)) or 0
    value = (scores.risk * cast(scores.net_revenue, Float)).label("value_at_risk")
    stmt = (select(scores.customer_id, Customer.external_id.label("customer"), Customer.name,
                   func.coalesce(Customer.segment, NOT_SET).label("segment"),
                   func.coalesce(Customer.country, UNKNOWN_COUNTRY).label("country"),
                   scores.orders, scores.net_revenue, scores.first_order, scores.last_order,
                   scores.risk, value)
            .join(Customer, Customer.id == scores.customer_id).where(*at_risk)
            .order_by(value.desc(), Customer.external_id).limit(AT_RISK_SHOWN))
    rows = frame_of(session.execute(stmt).all(),
                    ["customer_id", "customer", "name", "segment", "country", "orders",
                     "net_revenue", "first_order", "last_order", "risk", "value_at_risk"])
    first, last = rows["first_order"].map(as_date), rows["last_order"].map(as_date)
    rows["net_revenue"] = rows["net_revenue"].map(money).astype(float)
    rows["recency_days"] = [float((period.end - day).days) for day in last]
    rows["days_between_orders"] = [(b - a).days / (n - 1) for a, b, n in
                                   zip(first, last, rows["orders"], strict=True)]
    rows["action"] = [suggested_action(days, gap) for days, gap in
                      zip(rows["recency_days"], rows["days_between_orders"], strict=True)]
    return rows[list(AT_RISK_COLUMNS)], count


def revenue_at_risk(session: Session, scope: Scope, filters: Filters, period: Period,
                    ids: ScalarSelect[Any] | None) -> dict[str, pd.DataFrame]:
    """The net revenue in the 12 months up to the range's end of the customers `ids` selects
    (those at risk; None: nobody), by category and by platform."""
    empty = {"by_category": pd.DataFrame(columns=["category", "net_revenue"]),
             "by_platform": pd.DataFrame(columns=["platform", "net_revenue"])}
    if ids is None:
        return empty
    start = period.end - dt.timedelta(days=ACTIVE_DAYS - 1)
    # The at-risk customers' lines summed per product and platform in one query on the lines
    # alone (joined to products and platforms, the planner walked every product's lines: 12 s
    # on the UCI file), then named and summed each way from those few rows.
    stmt = (select(OrderLine.product_id, OrderLine.platform_id, line_measures()["net_revenue"])
            .where(*line_conditions(filters, scope, start, period.end),
                   OrderLine.customer_id.in_(ids))
            .group_by(OrderLine.product_id, OrderLine.platform_id))
    rows = frame_of(session.execute(stmt).all(),
                    ["product_id", "platform_id", "net_revenue"])
    categories = dict(session.execute(select(Product.id, func.coalesce(
        Product.category, UNCATEGORISED)).where(Product.id.in_(rows["product_id"].unique()
                                                                .tolist()))).all())
    platforms = dict(session.execute(select(Platform.id, Platform.name)).all())
    rows["category"] = rows["product_id"].map(categories)
    rows["platform"] = rows["platform_id"].map(platforms)
    result = {}
    for key, column in (("by_category", "category"), ("by_platform", "platform")):
        summed = rows.groupby(column)["net_revenue"].sum().map(money).astype(float)
        result[key] = summed.rename_axis(column).reset_index() \
            .sort_values(["net_revenue", column], ascending=[False, True]).reset_index(drop=True)
    return result
