"""B2B sales pipeline: accounts, sales reps, opportunities and their stage history."""
from __future__ import annotations

import datetime as dt
from typing import Optional

from sqlalchemy import Date, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, Money

STAGES = ("lead", "qualified", "proposal", "negotiation", "closed")
OUTCOMES = ("open", "won", "lost")


class Account(Base):
    """A business customer in the pipeline."""

    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(160), unique=True)
    segment: Mapped[Optional[str]] = mapped_column(String(40))
    country: Mapped[Optional[str]] = mapped_column(String(80))


class SalesRep(Base):
    """A salesperson with a team, a region and a quota for the period."""

    __tablename__ = "sales_reps"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    team: Mapped[Optional[str]] = mapped_column(String(80))
    region: Mapped[Optional[str]] = mapped_column(String(80))
    quarterly_quota: Mapped[Optional[float]] = mapped_column(Money())


class Opportunity(Base):
    """A deal: its current stage, amount, dates and outcome."""

    __tablename__ = "opportunities"
    __table_args__ = (Index("ix_opportunities_created", "created_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[Optional[str]] = mapped_column(String(64), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    rep_id: Mapped[Optional[int]] = mapped_column(ForeignKey("sales_reps.id"))
    platform_id: Mapped[Optional[int]] = mapped_column(ForeignKey("platforms.id"))
    stage: Mapped[str] = mapped_column(String(20))
    outcome: Mapped[str] = mapped_column(String(8), default="open")
    amount: Mapped[float] = mapped_column(Money())
    probability: Mapped[Optional[float]] = mapped_column()
    created_on: Mapped[dt.date] = mapped_column(Date)
    expected_close: Mapped[Optional[dt.date]] = mapped_column(Date)
    closed_on: Mapped[Optional[dt.date]] = mapped_column(Date)


class StageChange(Base):
    """When an opportunity entered a stage (for cycle time per stage)."""

    __tablename__ = "stage_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    opportunity_id: Mapped[int] = mapped_column(
        ForeignKey("opportunities.id", ondelete="CASCADE"), index=True
    )
    stage: Mapped[str] = mapped_column(String(20))
    entered_on: Mapped[dt.date] = mapped_column(Date)
