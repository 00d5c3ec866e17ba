"""B2B sales pipeline: the business's stages, accounts, sales reps, opportunities and their
stage history."""
from __future__ import annotations

import datetime as dt
from typing import Optional

from sqlalchemy import Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, Money

OUTCOMES = ("open", "won", "lost")
# The stages a database starts with when it is given demo data; imports add their own.
STAGES = ("lead", "qualified", "proposal", "negotiation", "won", "lost")
STAGE_LENGTH = 80


class PipelineStage(Base):
    """A stage of the business's pipeline: its place in the order, the probability of winning
    a deal in it (None: the historical win rate is used) and the outcome it means."""

    __tablename__ = "pipeline_stages"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(STAGE_LENGTH), unique=True)
    position: Mapped[int] = mapped_column(Integer)
    probability: Mapped[Optional[float]] = mapped_column()
    outcome: Mapped[str] = mapped_column(String(8), default="open")  # open, won or lost


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
    manager: Mapped[Optional[str]] = mapped_column(String(120))
    quarterly_quota: Mapped[Optional[float]] = mapped_column(Money())


class Opportunity(Base):
    """A deal: its current stage, amount, dates and outcome; an open deal may not yet have an
    amount, an account or a known created date."""

    __tablename__ = "opportunities"
    __table_args__ = (Index("ix_opportunities_created", "created_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[Optional[str]] = mapped_column(String(64), unique=True)
    account_id: Mapped[Optional[int]] = mapped_column(ForeignKey("accounts.id"))
    rep_id: Mapped[Optional[int]] = mapped_column(ForeignKey("sales_reps.id"))
    platform_id: Mapped[Optional[int]] = mapped_column(ForeignKey("platforms.id"))
    stage: Mapped[str] = mapped_column(String(STAGE_LENGTH))
    outcome: Mapped[str] = mapped_column(String(8), default="open")
    amount: Mapped[Optional[float]] = mapped_column(Money())
    probability: Mapped[Optional[float]] = mapped_column()
    product: Mapped[Optional[str]] = mapped_column(String(120))
    created_on: Mapped[Optional[dt.date]] = mapped_column(Date)
    expected_close: Mapped[Optional[dt.date]] = mapped_column(Date)
    closed_on: Mapped[Optional[dt.date]] = mapped_column(Date)


class StageChange(Base):
    """When an opportunity entered a stage (for cycle time per stage)."""

    __tablename__ = "stage_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    opportunity_id: Mapped[int] = mapped_column(
        ForeignKey("opportunities.id", ondelete="CASCADE"), index=True
    )
    stage: Mapped[str] = mapped_column(String(STAGE_LENGTH))
    entered_on: Mapped[dt.date] = mapped_column(Date)
