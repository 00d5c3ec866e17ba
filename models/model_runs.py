"""Trained models and the data revision they were trained on.

A model (churn risk, lifetime value, the posting recommendation, the forecast) is trained
once per view inputs and data revision in a background job and stored here with its hold-out
evaluation; the pages score the stored model instead of fitting it in a request. Every run
stays, so its evaluation can be charted over time.
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Optional

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.accounts import utcnow
from models.base import Base

MODEL_RUN_STATUSES = ("running", "done", "failed")


class DataRevision(Base):
    """A single row: the revision of the data, bumped by every import, demo load or
    settings change (durable, unlike the results cache's version, which a cache flush resets)."""

    __tablename__ = "data_revision"

    id: Mapped[int] = mapped_column(primary_key=True)
    revision: Mapped[int] = mapped_column(Integer, default=0)
    changed_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class ModelRun(Base):
    """One training run of one model for one set of inputs at one data revision."""

    __tablename__ = "model_runs"
    __table_args__ = (Index("ix_model_runs_lookup", "kind", "digest", "data_revision"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    digest: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(200))
    data_revision: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(12), default="running")
    started_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    finished_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    seconds: Mapped[Optional[float]] = mapped_column(Float)
    metrics: Mapped[Optional[dict[str, Any]]] = mapped_column(JSON)
    artefact: Mapped[Optional[bytes]] = mapped_column(LargeBinary)
    error: Mapped[Optional[str]] = mapped_column(Text)
    started_by: Mapped[Optional[int]] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))
