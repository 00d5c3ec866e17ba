"""Business settings through the service, on SQLite and PostgreSQL: stored over the
deployment's defaults, validated as a whole (a bad value saves nothing), admins only, and
every change audited as old → new."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import AuditEvent, BusinessSetting
from services import settings
from services.errors import AccessDenied, InvalidInput
from tests.conftest import ADMIN, ANALYST
from tests.services.test_admin import actor

DEFAULTS = settings.BusinessSettings(name="Test shop", currency="GBP", timezone="Europe/London")


def changes_of(session: Session) -> list[dict[str, str]]:
    """The audited setting changes, oldest first, as their detail."""
    return [json.loads(detail) for detail in session.scalars(
        select(AuditEvent.detail).where(AuditEvent.action == "setting_changed")
        .order_by(AuditEvent.id))]


def stored_rows(session: Session) -> int:
    """How many settings are stored."""
    return session.scalar(select(func.count()).select_from(BusinessSetting)) or 0


def test_without_stored_values_the_deployment_defaults_apply(session: Session) -> None:
    assert settings.business_settings(session, DEFAULTS) == DEFAULTS
    assert (DEFAULTS.fiscal_year_start, DEFAULTS.roi_benchmark,
            DEFAULTS.roas_benchmark) == (1, 2.0, 4.0)  # SPEC §7: ROI 200%, ROAS 4:1


def test_a_change_round_trips_and_is_audited_old_to_new(session: Session) -> None:
    boss = actor(session, ADMIN)
    before = len(changes_of(session))
    changed = settings.update_settings(session, boss, DEFAULTS, {
        "name": "  Acme   Retail ", "currency": "eur", "timezone": "America/New_York",
        "fiscal_year_start": "April", "roi_benchmark": "150%", "roas_benchmark": "3.5:1"})
    assert set(changed) == set(settings.FIELDS)
    read = settings.business_settings(session, DEFAULTS)
    assert read == settings.BusinessSettings("Acme Retail", "EUR", "America/New_York", 4,
                                             1.5, 3.5)
    audited = {event["target"]: event for event in changes_of(session)[before:]}
    assert audited["currency"]["before"] == "GBP" and audited["currency"]["after"] == "EUR"
    assert audited["roi_benchmark"]["before"] == "200%"
    assert audited["roi_benchmark"]["after"] == "150%"
    assert audited["fiscal_year_start"]["after"] == "April"
    event = session.scalars(select(AuditEvent).where(AuditEvent.action == "setting_changed")
                            .order_by(AuditEvent.id.desc())).first()
    assert event is not None and event.user_id == boss.id and event.ip == boss.ip
    # Saving the same values again changes and audits nothing.
    again = settings.update_settings(session, boss, DEFAULTS, {
        "currency": "EUR", "roas_benchmark": 3.5, "fiscal_year_start": 4})
    assert again == {} and len(changes_of(session)) == before + len(settings.FIELDS)
    listed = {row["key"]: row for row in settings.list_settings(session, boss, DEFAULTS)}
    assert listed["currency"]["source"] == "changed here"
    assert listed["currency"]["changed_by"] == ADMIN
    assert listed["roas_benchmark"]["shown"] == "3.5:1"


@pytest.mark.parametrize("field, bad, message", [
    ("currency", "XYZ", "not an ISO 4217 currency code"),
    ("currency", "pounds", "not an ISO 4217 currency code"),
    ("timezone", "Mars/Olympus", "not an IANA time zone"),
    ("timezone", "localtime", "not an IANA time zone"),
    ("roi_benchmark", "-10", "not an ROI benchmark"),
    ("roi_benchmark", "lots", "not an ROI benchmark"),
    ("roas_benchmark", 0, "not a ROAS benchmark"),
    ("roas_benchmark", float("nan"), "not a ROAS benchmark"),
    ("roas_benchmark", None, "An empty value is not a ROAS benchmark"),
    ("fiscal_year_start", 13, "not a month"),
    ("name", "   ", "business name has 1 to"),
])
def test_a_bad_value_is_refused_and_nothing_is_saved(session: Session, field: str, bad: object,
                                                     message: str) -> None:
    rows, audited = stored_rows(session), len(changes_of(session))
    with pytest.raises(InvalidInput, match=message) as refused:
        settings.update_settings(session, actor(session, ADMIN), DEFAULTS,
                                 {"currency": "EUR", "name": "Fine name", field: bad})
    assert "Nothing was saved" in str(refused.value)
    assert stored_rows(session) == rows and len(changes_of(session)) == audited
    assert settings.business_settings(session, DEFAULTS) == DEFAULTS


def test_only_admins_change_or_list_settings(session: Session) -> None:
    analyst = actor(session, ANALYST)
    with pytest.raises(AccessDenied):
        settings.update_settings(session, analyst, DEFAULTS, {"currency": "EUR"})
    with pytest.raises(AccessDenied):
        settings.list_settings(session, analyst, DEFAULTS)
    assert stored_rows(session) == 0


def test_a_corrupt_stored_value_falls_back_to_the_default(session: Session) -> None:
    session.add_all([BusinessSetting(key="currency", value="???"),
                     BusinessSetting(key="roas_benchmark", value="5.0"),
                     BusinessSetting(key="from_a_newer_version", value="x")])
    session.flush()
    read = settings.business_settings(session, DEFAULTS)
    assert read.currency == DEFAULTS.currency and read.roas_benchmark == 5.0
