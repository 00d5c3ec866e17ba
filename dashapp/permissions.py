"""Who may do what: the role rules of pages, imports, exports and administration, in one place.

Roles (SPEC §8): admin (everything), analyst (read, import, export), viewer (read). The
`may_*` rules answer for a role; the `can_*` rules for the logged-in user of this request,
who may also be an admin previewing the app as someone else ("view as"). That preview is
read-only: it shows what the other user sees, but nothing is imported, exported or
administered under their name.

Platform limits are applied by the services to every query and write; only
`can_write_shared_data` reads one here, to leave out of the page what the services would
refuse anyway.
"""
from __future__ import annotations

from collections.abc import Collection

from flask_login import current_user

ADMIN_ROLES = frozenset({"admin"})
IMPORT_ROLES = frozenset({"admin", "analyst"})
EXPORT_ROLES = frozenset({"admin", "analyst"})  # viewers read, they do not export
# The Data page imports and exports: a viewer has nothing to do there.
DATA_PAGE_ROLES = IMPORT_ROLES | EXPORT_ROLES
ADMIN_PAGE_ROLES = ADMIN_ROLES


def may_open(role: str, page_roles: Collection[str] | None) -> bool:
    """Whether a user with `role` may open a page open to `page_roles` (None: everyone)."""
    return page_roles is None or role in page_roles


def may_import(role: str) -> bool:
    """Whether the role imports files (also checked again by the import job)."""
    return role in IMPORT_ROLES


def may_export(role: str) -> bool:
    """Whether the role downloads data."""
    return role in EXPORT_ROLES


def may_administer(role: str) -> bool:
    """Whether the role manages users, tokens and previews ("view as")."""
    return role in ADMIN_ROLES


def _acting_in_person() -> bool:
    """Logged in, and not previewing the app as someone else."""
    return current_user.is_authenticated and not current_user.viewed_by


def may_retrain(role: str) -> bool:
    """Whether the role may train a page's model again by hand (a view trains its missing
    models for any role: a viewer's panels must fill in too)."""
    return role in IMPORT_ROLES


def can_retrain() -> bool:
    """Whether the logged-in user may train a model again now."""
    return _acting_in_person() and may_retrain(current_user.role)


def can_import() -> bool:
    """Whether the logged-in user may import files now."""
    return _acting_in_person() and may_import(current_user.role)


def can_export() -> bool:
    """Whether the logged-in user may download data now."""
    return _acting_in_person() and may_export(current_user.role)


def can_administer() -> bool:
    """Whether the logged-in user may act as an administrator now (e.g. start "view as")."""
    return _acting_in_person() and may_administer(current_user.role)


def can_write_shared_data() -> bool:
    """Whether the logged-in user may import the data every platform shares (catalogue,
    customers, influencers, pipeline) and save column mappings: only without a platform
    limit (`services.imports.access` refuses the others)."""
    return can_import() and not current_user.scope.is_limited
