"""Saved views: a name for a page URL, kept private or shared with the team or one role.

A view stores the page path and its canonical query string (the caller writes it with the
filter model's URL form). Who may open one: its owner, every admin, and, when it is shared,
the team (every user) or the users of one role. Anyone else is told it does not exist
(`NotFound`), so a private view's id reveals nothing. Opening a view only restores a URL:
the page then applies the *opener's* platform limit, as it does to any URL.
Every change is written to the audit log.
"""
from __future__ import annotations

import re
import secrets
import unicodedata
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from models import ROLES, SHARINGS, SavedView, User
from services.admin import Actor
from services.audit import record
from services.errors import AccessDenied, InvalidInput, NotFound
from services.scope import Scope

SHARING_ROLES = ROLES  # the roles a view can be shared with
MAX_NAME = 120
MAX_QUERY = 4000
ID_BYTES = 9  # 12 URL-safe characters: 72 random bits, not guessable, short enough to read
_PATH = re.compile(r"^/[a-z0-9/-]{0,199}$")


def _clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise InvalidInput("Give the view a name.")
    if len(name) > MAX_NAME:
        raise InvalidInput(f"A view's name has at most {MAX_NAME} characters.")
    if any(unicodedata.category(char).startswith("C") for char in name):
        raise InvalidInput("A view's name cannot contain control characters.")
    return name


def _clean_url(path: str, query: str) -> tuple[str, str]:
    """Only a page path of this site and a plain query string: the permalink redirects to
    them, so anything else (another host, a scheme, a header break) is refused."""
    query = (query or "").lstrip("?")
    if not _PATH.match(path or "") or "//" in path:
        raise InvalidInput("Only a Pulseboard page can be saved as a view.")
    if len(query) > MAX_QUERY or any(char in query for char in "\r\n#\\ "):
        raise InvalidInput("This view's address is too long or malformed to be saved.")
    return path, query


def _sharing(sharing: str, role: str | None) -> str | None:
    """The role a view is shared with (None unless `sharing` is "role")."""
    if sharing not in SHARINGS:
        raise InvalidInput(f"Share a view as one of {', '.join(SHARINGS)}.")
    if sharing != "role":
        return None
    if role not in SHARING_ROLES:
        raise InvalidInput(f"Choose the role to share with: {', '.join(SHARING_ROLES)}.")
    return role


def _may_open(view: SavedView, user_id: int | None, role: str) -> bool:
    return (view.owner_id == user_id or role == "admin" or view.sharing == "team"
            or (view.sharing == "role" and view.shared_role == role))


def _owned(session: Session, actor: Actor, view_id: str) -> SavedView:
    """The view `actor` may change (its owner, or an admin), else NotFound / AccessDenied."""
    view = session.get(SavedView, view_id)
    if view is None or not _may_open(view, actor.id, actor.role):
        raise NotFound("There is no such view.")
    if view.owner_id != actor.id and actor.role != "admin":
        raise AccessDenied("Only the view's owner (or an admin) can change it.")
    return view


def _check_unique(session: Session, owner_id: int, name: str, view_id: str | None) -> None:
    clash = session.scalar(select(SavedView.id).where(
        SavedView.owner_id == owner_id, SavedView.name == name, SavedView.id != (view_id or "")))
    if clash is not None:
        raise InvalidInput(f"You already have a view named “{name}”.")


def url_of(view: SavedView) -> str:
    """The stored page URL of a view."""
    return view.path + (f"?{view.query}" if view.query else "")


def create_view(session: Session, actor: Actor, name: str, path: str, query: str,
                sharing: str = "private", role: str | None = None) -> SavedView:
    """Save `path?query` under `name` for `actor`, shared as asked."""
    name = _clean_name(name)
    path, query = _clean_url(path, query)
    shared_role = _sharing(sharing, role)
    _check_unique(session, actor.id, name, None)
    view = SavedView(id=secrets.token_urlsafe(ID_BYTES), owner_id=actor.id, name=name,
                     path=path, query=query, sharing=sharing, shared_role=shared_role)
    session.add(view)
    session.flush()
    record(session, "view_created", actor.id, actor.ip, view=view.id, name=name,
           url=url_of(view), sharing=sharing, role=shared_role)
    return view


def rename_view(session: Session, actor: Actor, view_id: str, name: str) -> SavedView:
    """Give a view a new name (its owner or an admin)."""
    view = _owned(session, actor, view_id)
    name = _clean_name(name)
    _check_unique(session, view.owner_id, name, view.id)
    record(session, "view_renamed", actor.id, actor.ip, view=view.id, old=view.name, name=name)
    view.name = name
    session.flush()
    return view


def share_view(session: Session, actor: Actor, view_id: str, sharing: str,
               role: str | None = None) -> SavedView:
    """Make a view private, or share it with the team or one role (its owner or an admin)."""
    view = _owned(session, actor, view_id)
    view.shared_role = _sharing(sharing, role)
    view.sharing = sharing
    session.flush()
    record(session, "view_shared", actor.id, actor.ip, view=view.id, sharing=sharing,
           role=view.shared_role)
    return view


def delete_view(session: Session, actor: Actor, view_id: str) -> None:
    """Delete a view (its owner or an admin); its permalink then answers 404."""
    view = _owned(session, actor, view_id)
    record(session, "view_deleted", actor.id, actor.ip, view=view.id, name=view.name)
    session.delete(view)
    session.flush()


def views_for(session: Session, scope: Scope, role: str) -> list[dict[str, Any]]:
    """The views the user may open: their own first, then the shared ones (every view for an
    admin), each by name, with its owner and whether it is the user's."""
    query = select(SavedView, User.email).join(User, User.id == SavedView.owner_id)
    if role != "admin":
        query = query.where(or_(SavedView.owner_id == scope.user_id,
                                SavedView.sharing == "team",
                                (SavedView.sharing == "role") & (SavedView.shared_role == role)))
    rows = [{"id": view.id, "name": view.name, "url": url_of(view), "sharing": view.sharing,
             "role": view.shared_role, "owner": email, "mine": view.owner_id == scope.user_id}
            for view, email in session.execute(query)]
    return sorted(rows, key=lambda row: (not row["mine"], row["name"].lower(), row["id"]))


def view_url(session: Session, scope: Scope, role: str, view_id: str) -> str:
    """The URL behind a permalink, for a user who may open it; NotFound for anyone else."""
    view = session.get(SavedView, view_id) if view_id else None
    if view is None or not _may_open(view, scope.user_id, role):
        raise NotFound("There is no such view.")
    return url_of(view)
