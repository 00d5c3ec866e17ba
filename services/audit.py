"""The audit log: who did what, when, from where."""
from __future__ import annotations

import datetime as dt
import json
from typing import Any

from sqlalchemy.orm import Session

from models import AuditEvent, utcnow


def record(session: Session, action: str, user_id: int | None = None, ip: str | None = None,
           at: dt.datetime | None = None, **detail: Any) -> AuditEvent:
    """Add an audit event (flushed; the caller's transaction commits it)."""
    event = AuditEvent(action=action, user_id=user_id, ip=ip, at=at or utcnow(),
                       detail=json.dumps(detail, default=str, sort_keys=True) if detail else None)
    session.add(event)
    session.flush()
    return event
