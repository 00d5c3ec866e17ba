"""A user's own settings that are not about data: the colour theme."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import THEMES, User
from services.errors import InvalidInput
from services.scope import Scope


def theme_of(session: Session, scope: Scope) -> str:
    """The user's theme: "light", "dark" or "system" (follow the operating system)."""
    theme = session.scalar(select(User.theme).where(User.id == scope.user_id))
    return theme if theme in THEMES else "system"


def set_theme(session: Session, user_id: int, theme: str) -> str:
    """Store the user's theme; writes nothing when it is already the stored one."""
    if theme not in THEMES:
        raise InvalidInput(f"Choose a theme of {', '.join(THEMES)}.")
    user = session.get(User, user_id)
    if user is not None and user.theme != theme:
        user.theme = theme
        session.flush()
    return theme
