"""Users, their platform access, API tokens, the audit log and import jobs."""
from __future__ import annotations

import datetime as dt
from typing import Optional

from sqlalchemy import Boolean, Column, DateTime, ForeignKey, Integer, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base
from models.catalog import Platform

ROLES = ("admin", "analyst", "viewer")

user_platforms = Table(
    "user_platforms",
    Base.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("platform_id", ForeignKey("platforms.id", ondelete="CASCADE"), primary_key=True),
)


def utcnow() -> dt.datetime:
    """Naive UTC now, the convention for every timestamp column."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class User(Base):
    """A person who logs in; no allowed platforms means access to all of them."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(255), unique=True)
    name: Mapped[Optional[str]] = mapped_column(String(255))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20), default="viewer")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    last_login_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    # Sessions that started before this moment are void (logout, deactivation, new password).
    sessions_valid_after: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    # Light, dark or "system" (follow the operating system's prefers-color-scheme).
    theme: Mapped[str] = mapped_column(String(10), default="system", server_default="system")
    platforms: Mapped[list[Platform]] = relationship(secondary=user_platforms, lazy="selectin")


class ApiToken(Base):
    """A bearer token for the API; only its SHA-256 digest is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[Optional[str]] = mapped_column(String(80))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    last_used_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)
    revoked_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)


class AuditEvent(Base):
    """Something security-relevant that happened, and who did it from where."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, index=True)
    user_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(40), index=True)
    detail: Mapped[Optional[str]] = mapped_column(Text)
    ip: Mapped[Optional[str]] = mapped_column(String(64))


class ImportJob(Base):
    """One file import: what was loaded, rejected and why, by whom and when."""

    __tablename__ = "import_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    source_format: Mapped[Optional[str]] = mapped_column(String(20))  # uci, generic, saved
    platform: Mapped[Optional[str]] = mapped_column(String(80))
    filename: Mapped[str] = mapped_column(String(255))
    size_bytes: Mapped[Optional[int]] = mapped_column(Integer)
    checksum: Mapped[Optional[str]] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(12), default="running")
    rows_read: Mapped[int] = mapped_column(Integer, default=0)
    rows_loaded: Mapped[int] = mapped_column(Integer, default=0)
    rows_rejected: Mapped[int] = mapped_column(Integer, default=0)
    rows_excluded: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[Optional[str]] = mapped_column(Text)  # JSON list of problems
    report: Mapped[Optional[str]] = mapped_column(Text)  # JSON: date range, totals, notes
    # host:pid of the process running it, so a job whose process died is shown as failed.
    worker: Mapped[Optional[str]] = mapped_column(String(120))
    user_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    started_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    finished_at: Mapped[Optional[dt.datetime]] = mapped_column(DateTime)


class ImportMapping(Base):
    """A saved column mapping (file column per field of a kind), reusable for later files."""

    __tablename__ = "import_mappings"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    kind: Mapped[str] = mapped_column(String(20))
    definition: Mapped[str] = mapped_column(Text)  # JSON: kind, columns, date_order
    user_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
