"""The business's own settings (name, currency, time zone, fiscal year, benchmarks), one row
per setting an admin has changed; a setting without a row takes its deployment default."""
from __future__ import annotations

import datetime as dt
from typing import Optional

from sqlalchemy import DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from models.accounts import utcnow
from models.base import Base

SETTING_KEY_LENGTH = 40
SETTING_VALUE_LENGTH = 120


class BusinessSetting(Base):
    """One stored business setting, as text (`services.settings` parses and validates it)."""

    __tablename__ = "business_settings"

    key: Mapped[str] = mapped_column(String(SETTING_KEY_LENGTH), primary_key=True)
    value: Mapped[str] = mapped_column(String(SETTING_VALUE_LENGTH))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    updated_by: Mapped[Optional[int]] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"))
