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
"""
from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier  # type: ignore[import-untyped]
from sklearn.metrics import roc_auc_score  # type: ignore[import-untyped]
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import OrderLine, Platform, Product
from services.cache import cached
from services.customers import customer_base
from services.filters import Filters, Period
from services.metrics import line_measures, money
from services.overview import UNCATEGORISED
from services.query import line_conditions
from services.scope import Scope

HORIZON_DAYS = 90  # churn: no order in the next 90 days
ACTIVE_DAYS = 365  # a customer of a feature date bought in the year before it
MIN_ROWS = 200
MIN_CLASS = 20  # of churned and of retained rows, each
AT_RISK = 0.5  # the risk from which a customer is listed as at risk
AT_RISK_SHOWN = 50
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
    return model.fit(rows[list(FEATURES)], rows["churned"].astype(int))


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


@cached
def churn_risk(session: Session, scope: Scope, filters: Filters,
               period: Period) -> dict[str, Any]:
    """The hold-out scores of the churn model and of the baseline, and the view's customers
    at risk (two orders or more), ranked by risk × revenue, with a suggested action."""
    end = period.end
    first = period.first_data or period.start
    horizon = dt.timedelta(days=HORIZON_DAYS)
    train_at, test_at = end - 2 * horizon, end - horizon
    result: dict[str, Any] = {"method": METHOD, "baseline_method": BASELINE, "refused": "",
                              "holdout": None, "trained_at": dt.datetime.now(dt.UTC)
                              .replace(microsecond=0).isoformat(),
                              "train_date": train_at, "test_date": test_at,
                              "at_risk": pd.DataFrame(), "at_risk_customers": 0,
                              "revenue_at_risk": revenue_at_risk(session, scope, filters,
                                                                 period, set())}
    if (train_at - first).days < ACTIVE_DAYS // 2:
        result["refused"] = (f"The history before {train_at.isoformat()} is "
                             f"{max(0, (train_at - first).days)} days: the model needs half a "
                             "year of history before its training date.")
        return result
    day = dt.timedelta(days=1)
    train = labelled(customer_base(session, scope, filters, first, train_at),
                     customer_base(session, scope, filters, train_at + day, test_at), train_at)
    test = labelled(customer_base(session, scope, filters, first, test_at),
                    customer_base(session, scope, filters, test_at + day, end), test_at)
    result["refused"] = _refusal(train, "training") or _refusal(test, "hold-out")
    if result["refused"]:
        return result
    model = fit(train)
    churned = test["churned"].to_numpy()
    result["holdout"] = {
        "customers": len(test), "train_customers": len(train),
        "model": scores(churned, model.predict_proba(test[list(FEATURES)])[:, 1]),
        "baseline": scores(churned, test["recency_days"].to_numpy())}
    result["holdout"]["beats_baseline"] = (result["holdout"]["model"]["auc"]
                                           > result["holdout"]["baseline"]["auc"])
    result["at_risk"], result["at_risk_customers"] = _at_risk(
        session, scope, filters, period, fit(test))
    result["revenue_at_risk"] = revenue_at_risk(session, scope, filters, period,
                                                set(result["at_risk"].get("customer_id", ())))
    return result


def _at_risk(session: Session, scope: Scope, filters: Filters, period: Period,
             model: HistGradientBoostingClassifier) -> tuple[pd.DataFrame, int]:
    """The view's repeat customers scored today, at-risk ones ranked by risk × revenue."""
    first = period.first_data or period.start
    history = customer_base(session, scope, filters, first, period.end)
    now = features(history, period.end)
    in_view = customer_base(session, scope, filters, period.start, period.end)["customer_id"]
    now = now.loc[now["customer_id"].isin(in_view) & (now["orders"] >= 2)].copy()
    if now.empty:
        return pd.DataFrame(), 0
    now["risk"] = model.predict_proba(now[list(FEATURES)])[:, 1]
    now = now.loc[now["risk"] >= AT_RISK]
    now["value_at_risk"] = now["risk"] * now["net_revenue"]
    names = history.set_index("customer_id")[["customer", "name", "segment", "country"]]
    now = now.join(names, on="customer_id").sort_values(["value_at_risk", "customer"],
                                                        ascending=[False, True])
    now["action"] = [suggested_action(days, gap) for days, gap in
                     zip(now["recency_days"], now["days_between_orders"], strict=True)]
    return now.reset_index(drop=True), len(now)


def revenue_at_risk(session: Session, scope: Scope, filters: Filters, period: Period,
                    ids: set[int]) -> dict[str, pd.DataFrame]:
    """The net revenue in the 12 months up to the range's end of the customers `ids` (those
    at risk), by category and by platform."""
    empty = {"by_category": pd.DataFrame(columns=["category", "net_revenue"]),
             "by_platform": pd.DataFrame(columns=["platform", "net_revenue"])}
    if not ids:
        return empty
    start = period.end - dt.timedelta(days=ACTIVE_DAYS - 1)
    conditions = [*line_conditions(filters, scope, start, period.end),
                  OrderLine.customer_id.is_not(None)]
    net = line_measures()["net_revenue"]
    category = func.coalesce(Product.category, UNCATEGORISED).label("category")
    by_category = (select(OrderLine.customer_id, category, net)
                   .join(Product, Product.id == OrderLine.product_id).where(*conditions)
                   .group_by(OrderLine.customer_id, category))
    by_platform = (select(OrderLine.customer_id, Platform.name.label("platform"), net)
                   .join(Platform, Platform.id == OrderLine.platform_id).where(*conditions)
                   .group_by(OrderLine.customer_id, Platform.name))
    result = {}
    for key, stmt, column in (("by_category", by_category, "category"),
                              ("by_platform", by_platform, "platform")):
        rows = pd.DataFrame(session.execute(stmt).all(),
                            columns=["customer_id", column, "net_revenue"])
        rows = rows.loc[rows["customer_id"].isin(ids)]
        summed = rows.groupby(column)["net_revenue"].sum().map(money)
        result[key] = summed.sort_values(ascending=False).rename_axis(column).reset_index()
    return result
