"""Saved views: a named page URL that its owner keeps private or shares with a role or the team."""
from __future__ import annotations

import datetime as dt
from typing import Optional

from sqlalchemy import DateTime, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.accounts import utcnow
from models.base import Base

# Who sees a view besides its owner (and the admins): nobody, everyone, or one role.
SHARINGS = ("private", "team", "role")
THEMES = ("system", "light", "dark")


class SavedView(Base):
    """A named view: its URL (page path and canonical query string) and who may open it."""

    __tablename__ = "saved_views"

    # The permalink id (/v/<id>): random, so a view cannot be found by counting.
    id: Mapped[str] = mapped_column(String(16), primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                          index=True)
    name: Mapped[str] = mapped_column(String(120))
    path: Mapped[str] = mapped_column(String(200))
    query: Mapped[str] = mapped_column(Text, default="")
    sharing: Mapped[str] = mapped_column(String(10), default="private")
    shared_role: Mapped[Optional[str]] = mapped_column(String(20))  # when sharing == "role"
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)
