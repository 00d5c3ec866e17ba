"""Platforms (channels): the standard set, slugs, and look-ups within a scope."""
from __future__ import annotations

import re
import unicodedata

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import PLATFORM_KINDS, Platform
from services.errors import InvalidInput
from services.scope import Scope

STANDARD_PLATFORMS: tuple[tuple[str, str], ...] = (
    ("Online Store", "web"),
    ("Instagram", "social"),
    ("Facebook", "social"),
    ("TikTok", "social"),
    ("YouTube", "social"),
    ("Twitter/X", "social"),
    ("LinkedIn", "social"),
    ("Amazon", "marketplace"),
    ("eBay", "marketplace"),
    ("Retail store", "offline"),
    ("Wholesale", "offline"),
)


def slugify(name: str) -> str:
    """URL slug of a platform name: 'Twitter/X' -> 'twitter-x', 'Online Store' -> 'online-store'."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:40]
    if not slug:
        raise InvalidInput(f"“{name}” cannot be used as a platform name.")
    return slug


def guess_kind(name: str) -> str:
    """Kind of a platform from the standard list, 'web' for anything unknown."""
    for standard, kind in STANDARD_PLATFORMS:
        if slugify(standard) == slugify(name):
            return kind
    return "web"


def ensure_platform(session: Session, name: str, kind: str | None = None) -> Platform:
    """The platform called `name`, created (with its slug) if it does not exist yet."""
    slug = slugify(name)
    platform = session.scalar(select(Platform).where(Platform.slug == slug))
    if platform is None:
        kind = kind or guess_kind(name)
        if kind not in PLATFORM_KINDS:
            raise InvalidInput(f"Unknown platform kind “{kind}”: use one of {PLATFORM_KINDS}.")
        platform = Platform(slug=slug, name=name.strip(), kind=kind)
        session.add(platform)
        session.flush()
    return platform


def visible_platforms(session: Session, scope: Scope) -> list[Platform]:
    """Platforms the scope may see, by name."""
    stmt = select(Platform).order_by(Platform.name)
    if scope.platform_ids is not None:
        stmt = stmt.where(Platform.id.in_(sorted(scope.platform_ids)))
    return list(session.scalars(stmt))
