"""The business's settings: name, currency, time zone, fiscal year start and the ROI/ROAS
benchmarks of the Marketing page.

A setting an admin has changed is a row of `business_settings`; any other takes the
deployment's default (`PULSEBOARD_CURRENCY`, `PULSEBOARD_TIMEZONE`, the constants below),
so a database without stored values behaves as before. Every change is validated as a whole
(one bad value saves nothing) and audited with its old and new value.
"""
from __future__ import annotations

import dataclasses
import logging
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from zoneinfo import available_timezones

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import BusinessSetting, User, utcnow
from models.settings import SETTING_VALUE_LENGTH
from services.admin import Actor, require_admin
from services.audit import record
from services.errors import InvalidInput

log = logging.getLogger(__name__)

NAME_LENGTH = 80
# The largest benchmarks accepted: beyond them a typo (20000 for 200) is more likely.
MAX_ROI_BENCHMARK = 100.0  # 10,000%
MAX_ROAS_BENCHMARK = 100.0  # 100:1
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")


@dataclass(frozen=True)
class BusinessSettings:
    """The settings in force; the defaults are those of SPEC §3 and §7 (ROI 200%, ROAS 4:1)."""

    name: str = "My business"
    currency: str = "USD"
    timezone: str = "UTC"
    fiscal_year_start: int = 1  # the month the fiscal year starts in (1 = January)
    roi_benchmark: float = 2.0  # (revenue − cost) / cost; 2.0 is 200%
    roas_benchmark: float = 4.0  # revenue / cost; 4.0 is 4:1


FIELDS = tuple(field.name for field in dataclasses.fields(BusinessSettings))
LABELS = {"name": "Business name", "currency": "Currency", "timezone": "Time zone",
          "fiscal_year_start": "Fiscal year starts in", "roi_benchmark": "ROI benchmark",
          "roas_benchmark": "ROAS benchmark"}


def _quoted(raw: Any) -> str:
    """The admin's input as a refusal quotes it."""
    return "An empty value" if raw is None or str(raw).strip() == "" else f"“{raw}”"


def _name(raw: Any) -> str:
    text = " ".join(str(raw or "").split())
    if not 0 < len(text) <= NAME_LENGTH:
        raise InvalidInput(f"The business name has 1 to {NAME_LENGTH} characters.")
    return text


def _currency(raw: Any) -> str:
    import pycountry  # its tables load on first use: only when an admin changes the currency

    code = str(raw or "").strip().upper()
    if len(code) != 3 or pycountry.currencies.get(alpha_3=code) is None:
        raise InvalidInput(f"{_quoted(raw)} is not an ISO 4217 currency code "
                           "(e.g. GBP, EUR, USD).")
    return code


def _timezone(raw: Any) -> str:
    name = str(raw or "").strip()
    if name not in _zones():
        raise InvalidInput(f"{_quoted(raw)} is not an IANA time zone (e.g. Europe/London, "
                           "America/New_York, UTC).")
    return name


def _zones() -> set[str]:
    # "localtime" is the server's own zone and "Factory" a placeholder: no business's zone.
    return (available_timezones() - {"localtime", "Factory"}) | {"UTC"}


def _month(raw: Any) -> int:
    text = str(raw if raw is not None else "").strip()
    by_name = {name.lower(): number for number, name in enumerate(MONTHS, 1)}
    month = by_name.get(text.lower()) or (int(text) if text.isdigit() else 0)
    if not 1 <= month <= 12:
        raise InvalidInput(f"{_quoted(raw)} is not a month: the fiscal year starts in a "
                           "month from 1 (January) to 12 (December).")
    return month


def _number(raw: Any, suffix: str) -> float | None:
    """A finite number from the form (“200”, “200%”, “4:1”, 4.0), or None."""
    text = str(raw if raw is not None else "").strip().replace(",", "")
    text = re.sub(rf"\s*{re.escape(suffix)}$", "", text) if suffix else text
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _roi(raw: Any) -> float:
    """The ROI benchmark typed as a percentage (200 or “200%”), kept as a fraction (2.0)."""
    percent = _number(raw, "%")
    if percent is None or not 0 <= percent <= MAX_ROI_BENCHMARK * 100:
        raise InvalidInput(f"{_quoted(raw)} is not an ROI benchmark: give a percentage from "
                           f"0 to {MAX_ROI_BENCHMARK * 100:,.0f} (e.g. 200 for 200%).")
    return round(percent / 100, 6)


def _roas(raw: Any) -> float:
    """The ROAS benchmark typed as revenue per unit of cost (4 or “4:1”)."""
    ratio = _number(raw, ":1")
    if ratio is None or not 0 < ratio <= MAX_ROAS_BENCHMARK:
        raise InvalidInput(f"{_quoted(raw)} is not a ROAS benchmark: give revenue per unit "
                           f"of cost, above 0 and up to {MAX_ROAS_BENCHMARK:.0f} (e.g. 4 for 4:1).")
    return round(ratio, 6)


# How the admin's input of each setting is read and checked (a refusal says why).
PARSERS: dict[str, Callable[[Any], Any]] = {
    "name": _name, "currency": _currency, "timezone": _timezone, "fiscal_year_start": _month,
    "roi_benchmark": _roi, "roas_benchmark": _roas}


def _stored(key: str, value: str) -> Any:
    """A stored value as its type (the stored text is the canonical form `_text` wrote)."""
    if key == "roi_benchmark":
        return PARSERS[key](float(value) * 100)
    return PARSERS[key](value)


def _text(key: str, value: Any) -> str:
    return repr(value) if isinstance(value, float) else str(value)


def describe(key: str, value: Any) -> str:
    """A setting's value as a person reads it: “200%”, “4:1”, “April”."""
    if key == "roi_benchmark":
        return f"{value * 100:g}%"
    if key == "roas_benchmark":
        return f"{value:g}:1"
    if key == "fiscal_year_start":
        return MONTHS[value - 1]
    return str(value)


def business_settings(session: Session, defaults: BusinessSettings) -> BusinessSettings:
    """The settings in force: the stored ones over `defaults` (the deployment's)."""
    stored: dict[str, Any] = {}
    for row in session.scalars(select(BusinessSetting)):
        if row.key not in PARSERS:
            continue  # a setting of a newer version of the app
        try:
            stored[row.key] = _stored(row.key, row.value)
        except (InvalidInput, ValueError):
            log.warning("stored setting %s=%r is invalid; the default %r applies", row.key,
                        row.value, getattr(defaults, row.key))
    return dataclasses.replace(defaults, **stored)


def parse_changes(changes: Mapping[str, Any]) -> dict[str, Any]:
    """Every changed setting read and checked; all problems in one refusal."""
    unknown = sorted(set(changes) - set(PARSERS))
    if unknown:
        raise InvalidInput(f"Unknown setting(s): {', '.join(unknown)}.")
    parsed, problems = {}, []
    for key, raw in changes.items():
        try:
            parsed[key] = PARSERS[key](raw)
        except InvalidInput as problem:
            problems.append(f"{LABELS[key]}: {problem}")
    if problems:
        raise InvalidInput(" ".join(problems) + " Nothing was saved.")
    return parsed


def update_settings(session: Session, actor: Actor, defaults: BusinessSettings,
                    changes: Mapping[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Store the changed settings (admins only), audit each as old → new, and return what
    changed by key. A bad value refuses the whole change."""
    require_admin(actor)
    parsed = parse_changes(changes)
    current = business_settings(session, defaults)
    changed = {key: (getattr(current, key), value) for key, value in parsed.items()
               if value != getattr(current, key)}
    for key, (old, new) in changed.items():
        text = _text(key, new)
        if len(text) > SETTING_VALUE_LENGTH:  # no parser lets one through; the column's bound
            raise InvalidInput(f"{LABELS[key]} is too long.")
        row = session.get(BusinessSetting, key) or BusinessSetting(key=key)
        row.value, row.updated_at, row.updated_by = text, utcnow(), actor.id
        session.add(row)
        record(session, "setting_changed", actor.id, actor.ip, target=key,
               before=describe(key, old), after=describe(key, new))
    session.flush()
    return changed


def list_settings(session: Session, actor: Actor,
                  defaults: BusinessSettings) -> list[dict[str, Any]]:
    """Every setting (admins only): its value in force, whether it is stored or the
    deployment's default, and who changed it last and when (UTC)."""
    require_admin(actor)
    current = business_settings(session, defaults)
    stored = {row.key: (row.updated_at, email) for row, email in session.execute(
        select(BusinessSetting, User.email)
        .outerjoin(User, User.id == BusinessSetting.updated_by))}
    return [{"key": key, "setting": LABELS[key], "value": getattr(current, key),
             "shown": describe(key, getattr(current, key)),
             "source": "changed here" if key in stored else "deployment default",
             "changed_at": stored.get(key, (None, None))[0],
             "changed_by": stored.get(key, (None, None))[1]} for key in FIELDS]


def currency_choices() -> list[tuple[str, str]]:
    """Every ISO 4217 currency as (code, “code — name”), by code."""
    import pycountry  # see `_currency`

    return sorted((c.alpha_3, f"{c.alpha_3} — {c.name}") for c in pycountry.currencies)


def timezone_choices() -> list[str]:
    """Every IANA time zone name, sorted."""
    return sorted(_zones())
