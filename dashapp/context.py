"""Bridges a Dash callback or API request to the service layer.

`fetch(service, ...)` calls `service(session, scope, ...)` with the request's database session
and the logged-in user's scope, so no callback ever handles a session or forgets the scope.
`perform(service, ...)` is its counterpart for writes: one transaction, committed or rolled
back, and refusals audited, so no callback ever commits.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

from flask import current_app, g, request
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

from dashapp.config import business_defaults
from dashapp.extensions import db, db_session
from services.admin import Actor
from services.audit import record
from services.cache import ResultCache, is_cached
from services.errors import AccessDenied
from services.model_store import bump_data_revision
from services.scope import Scope
from services.settings import BusinessSettings, business_settings

T = TypeVar("T")
log = logging.getLogger(__name__)


class NotLoggedIn(RuntimeError):
    """A service was called outside an authenticated request."""


def current_scope() -> Scope:
    """The scope of the logged-in user; refuses to run for anonymous requests."""
    if not current_user.is_authenticated:
        raise NotLoggedIn("login required")
    return current_user.scope


def current_role() -> str:
    """The role of the logged-in user (the previewed user's, under "view as")."""
    if not current_user.is_authenticated:
        raise NotLoggedIn("login required")
    return str(current_user.role)


def result_cache() -> ResultCache:
    """The app's shared cache of service results."""
    return current_app.extensions["result_cache"]


def cached_call(function: Callable[..., T], args: tuple[Any, ...], context: Any,
                compute: Callable[[], T]) -> T:
    """`compute()`, cached per function, arguments, `context`, the user's scope and the data
    version (for callback outputs built from analytics)."""
    return result_cache().get_or_compute(function, current_scope(), args, {"context": context},
                                         compute, _entry_limit())


def stored_call(function: Callable[..., Any], args: tuple[Any, ...], context: Any) -> Any | None:
    """What `cached_call` with the same arguments would return from the cache, or None when
    it would have to compute it (nothing is computed here)."""
    return result_cache().cached_result(function, current_scope(), args, {"context": context})


def _entry_limit() -> int | None:
    """The largest result the cache stores, in bytes (`CACHE_MAX_ENTRY_BYTES`)."""
    return current_app.config.get("CACHE_MAX_ENTRY_BYTES")


def fetch(service: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a read-only service in the current user's scope (cached when it is `@cached`)."""
    scope = current_scope()

    def compute() -> T:
        return service(db_session(), scope, *args, **kwargs)

    try:
        if is_cached(service):
            return result_cache().get_or_compute(service, scope, args, kwargs, compute,
                                                 _entry_limit())
        return compute()
    finally:
        db.session.rollback()  # read-only: release the transaction and any row locks


STALE_CACHE_WARNING = ("the results cache did not answer, so it could not forget the results "
                       "cached before this change; each web worker forgets them when it next "
                       "reaches the cache, and `pulseboard cache clear` does it at once")


def data_changed(models: bool = True) -> bool:
    """Tell the cache and the model store that the data changed (after an import, a demo
    load or a settings change): cached results are stale, and models are trained again
    (`models=False` for a change no model reads, e.g. a payout's status).

    False when the cache's backend is down and did not take the change (see
    `STALE_CACHE_WARNING`)."""
    if models:
        try:
            bump_data_revision(db_session())
            db.session.commit()
        except SQLAlchemyError:
            # A database not yet migrated to the model store: the cache is still cleared.
            db.session.rollback()
            log.warning("the data revision could not be bumped", exc_info=True)
    if result_cache().invalidate():
        return True
    log.warning(STALE_CACHE_WARNING)
    return False


def actor() -> Actor:
    """The logged-in user as the actor of an administrative request."""
    if not current_user.is_authenticated:
        raise NotLoggedIn("login required")
    return Actor(current_user.id, current_user.role, request.remote_addr)


def perform(service: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a service that writes, `service(session, *args, **kwargs)`, for the logged-in user
    in one transaction: commit, or roll back if it fails.

    The arguments say who acts in the service's own terms (`actor()` for the administrative
    services, which refuse anyone but an admin, `actor().id` for the others). A refusal
    (`AccessDenied`) is rolled back and then written to the audit log, in its own commit.
    """
    who = actor()  # refuses anonymous requests before anything is written
    try:
        result = service(db_session(), *args, **kwargs)
        db.session.commit()
        return result
    except AccessDenied:
        db.session.rollback()
        record(db_session(), "access_denied", who.id, who.ip, what=service.__name__)
        db.session.commit()
        raise
    except Exception:
        db.session.rollback()
        raise


# The configuration names that are business settings an admin may change (services.settings).
BUSINESS_SETTINGS = {"BUSINESS_NAME": "name", "CURRENCY": "currency", "TIMEZONE": "timezone",
                     "FISCAL_YEAR_START": "fiscal_year_start", "ROI_BENCHMARK": "roi_benchmark",
                     "ROAS_BENCHMARK": "roas_benchmark"}
_SETTINGS_MEMO = "pulseboard_business_settings"


def setting(name: str) -> Any:
    """A setting of the running app: the business's (currency, time zone, benchmarks, …, as
    stored by an admin, else the deployment's default) or any other configuration value."""
    field = BUSINESS_SETTINGS.get(name)
    if field is None:
        return current_app.config[name]
    return getattr(business(), field)


def business() -> BusinessSettings:
    """The business settings in force, read once per request (or CLI command, or job)."""
    memo = g.get(_SETTINGS_MEMO)
    if memo is None:
        memo = _read_business_settings()
        setattr(g, _SETTINGS_MEMO, memo)
    return memo


def _read_business_settings() -> BusinessSettings:
    defaults = business_defaults(current_app.config)
    try:
        return business_settings(db_session(), defaults)
    except SQLAlchemyError:
        # A database not yet migrated (or unreachable): the deployment's defaults, as before
        # there were stored settings; whatever the request reads next reports the database.
        db.session.rollback()
        log.warning("business settings unreadable; the deployment's defaults apply",
                    exc_info=True)
        return defaults


def settings_changed() -> None:
    """Forget the settings read in this process and every cached result drawn with them."""
    g.pop(_SETTINGS_MEMO, None)
    data_changed()
