"""Each customer's score under a stored customer model (lifetime value, churn risk).

Written once, when the model is trained (`services.customers.store_scores`), for every
customer the model scores, with the per-customer facts the Customers page lists next to the
score; the page aggregates these rows in SQL instead of rebuilding the features and calling
the model on every refresh. A row belongs to its run: the run's key holds the scope and the
inputs it was trained on, and its data revision, so scores are read only through a run
`services.model_store.stored` finds for the view.
"""
from __future__ import annotations

import datetime as dt
from typing import Optional

from sqlalchemy import Date, Float, ForeignKey, Index, Integer
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, Money


class CustomerScore(Base):
    """One customer's score under one training run, with the history it was scored on."""

    __tablename__ = "customer_scores"
    # A view reads its run's customers with an order in its range: the last order from the
    # range's first day on (a 30-day view reads a tenth of the run's rows); the most valuable
    # customers are read down the predicted value.
    __table_args__ = (Index("ix_customer_scores_run_last_order", "run_id", "last_order"),
                      Index("ix_customer_scores_run_value", "run_id", "predicted_value"))

    run_id: Mapped[int] = mapped_column(ForeignKey("model_runs.id", ondelete="CASCADE"),
                                        primary_key=True)
    # No foreign key, as in order_lines: an undone import removes customers in bulk, and the
    # run's data revision already retires its scores.
    customer_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    first_order: Mapped[dt.date] = mapped_column(Date)
    last_order: Mapped[dt.date] = mapped_column(Date)
    orders: Mapped[int] = mapped_column(Integer)
    net_revenue: Mapped[float] = mapped_column(Money())
    # Lifetime value runs: expected orders and net revenue in the next 12 months.
    predicted_orders: Mapped[Optional[float]] = mapped_column(Float)
    predicted_value: Mapped[Optional[float]] = mapped_column(Float)
    # Churn runs: the probability of no order in the next 90 days.
    risk: Mapped[Optional[float]] = mapped_column(Float)
