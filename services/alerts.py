"""Alerts: "tell me when" a KPI of a saved view goes above or below a threshold, or the
anomaly detector (`services.forecast_anomalies`) flags a day of the view, by e-mail, at most
once per business day per alert.

The KPI is the view's value for its own filters and dates in the *recipient's* scope (the
Overview KPIs, `services.overview.kpis`). An anomaly alert fires for flagged days after the
day it last fired (the first time, for any flagged day of the view's range), so one
anomalous day is reported once. Checks run with the digests (`pulseboard digests send-due`,
or `pulseboard alerts check`) and claim each alert as digests do.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from models import ALERT_KINDS, Alert
from services.admin import Actor
from services.audit import record
from services.deliveries import claim, record_delivery, retry_delay, rows_of, unclaimed
from services.digests import recipient_for
from services.errors import InvalidInput, NotFound
from services.metrics import KPI_KEYS, METRICS

ANOMALY_METRICS = ("net_revenue", "orders")  # what the detector watches


def create_alert(session: Session, actor: Actor, view_id: str, kind: str, metric: str,
                 threshold: float | None = None, user_id: int | None = None) -> Alert:
    """An alert on the view for the actor (or, for an admin, for `user_id`)."""
    if kind not in ALERT_KINDS:
        raise InvalidInput(f"An alert is one of {', '.join(ALERT_KINDS)}.")
    allowed = ANOMALY_METRICS if kind == "anomaly" else KPI_KEYS
    if metric not in allowed:
        raise InvalidInput(f"Choose one of {', '.join(allowed)} for this alert.")
    if kind != "anomaly" and threshold is None:
        raise InvalidInput("Give the threshold the KPI is compared with.")
    user = recipient_for(session, actor, view_id, user_id)
    alert = Alert(view_id=view_id, user_id=user.id, kind=kind, metric=metric,
                  threshold=None if kind == "anomaly" else float(threshold or 0.0),
                  active=True, failures=0)
    session.add(alert)
    session.flush()
    record(session, "alert_created", actor.id, actor.ip, alert=alert.id, view=view_id,
           recipient=user.email, rule=rule_words(alert))
    return alert


def delete_alert(session: Session, actor: Actor, alert_id: int) -> None:
    """Remove an alert (its recipient or an admin)."""
    alert = session.get(Alert, alert_id)
    if alert is None or (alert.user_id != actor.id and actor.role != "admin"):
        raise NotFound("There is no such alert.")
    record(session, "alert_deleted", actor.id, actor.ip, alert=alert.id, view=alert.view_id)
    session.delete(alert)
    session.flush()


def rule_words(alert: Alert) -> str:
    """'Net revenue above 10,000', 'an anomalous day of Orders'."""
    label = METRICS[alert.metric].label
    if alert.kind == "anomaly":
        return f"an anomalous day of {label}"
    return f"{label} {alert.kind} {alert.threshold:,.2f}"


def alerts_of(session: Session, actor: Actor) -> list[dict[str, Any]]:
    """The alerts the actor receives (an admin: every alert), by view name."""
    return [{"id": alert.id, "view": name, "view_id": alert.view_id, "recipient": email,
             "rule": rule_words(alert), "last_fired_on": alert.last_fired_on,
             "failures": alert.failures, "last_error": alert.last_error}
            for alert, name, email in rows_of(session, actor, Alert)]


def _still_due(today: dt.date, now: dt.datetime) -> tuple[Any, ...]:
    return (Alert.active.is_(True),
            or_(Alert.last_fired_on.is_(None), Alert.last_fired_on < today),
            or_(Alert.retry_at.is_(None), Alert.retry_at <= now))


def due_alert_ids(session: Session, today: dt.date, now: dt.datetime) -> list[int]:
    """Alerts that may fire today (not fired yet today, not waiting for a retry), free."""
    return list(session.scalars(select(Alert.id).where(*_still_due(today, now),
                                                       unclaimed(Alert, now))
                                .order_by(Alert.id)))


def claim_alert(session: Session, alert_id: int, today: dt.date, now: dt.datetime) -> bool:
    """Take an alert for this checker (see `services.deliveries.claim`)."""
    return claim(session, Alert, alert_id, now, *_still_due(today, now))


def crossed(alert: Alert, value: float | None) -> bool:
    """Whether a KPI value meets an above/below rule (no value: no)."""
    if value is None or alert.threshold is None:
        return False
    return value > alert.threshold if alert.kind == "above" else value < alert.threshold


def new_anomalies(alert: Alert, anomalies: pd.DataFrame) -> pd.DataFrame:
    """The flagged days an anomaly alert has not reported yet, newest first."""
    if anomalies.empty:
        return anomalies
    days = pd.to_datetime(anomalies["day"]).dt.date
    fresh = anomalies.loc[days > alert.last_fired_on] if alert.last_fired_on else anomalies
    return fresh.sort_values("day", ascending=False)


def release(session: Session, alert: Alert) -> None:
    """Nothing to send this time: give the alert back."""
    alert.claimed_until = None
    session.flush()


def finish_alert(session: Session, alert: Alert, recipient: str, today: dt.date,
                 now: dt.datetime, error: str | None = None) -> None:
    """Record a sent alert (it fired today) or a failed send (retried after a backoff)."""
    record_delivery(session, alert, recipient, now, error)
    if error is None:
        alert.last_fired_on, alert.retry_at = today, None
    else:
        alert.retry_at = now + retry_delay(alert.failures)
    session.flush()
